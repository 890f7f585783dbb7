"""Typed incident events: the only thing the store keeps.

An event is an envelope (who, when it happened, when it was recorded, which incident, its place
in the incident's history and in the global commit order) around a body whose shape depends on
its kind. Bodies are pydantic models, validated when a command makes them and again when the fold
reads them; the store keeps them as JSON.

Kinds unknown to this version (written by a newer warroom) are kept and shown generically, never
refused, so that an older terminal in the room keeps working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Phase, Status

# Idempotency keys become event ids through uuid5 in this namespace, so that every process
# derives the same id for the same side effect (an escalation level, a page).
EVENT_NAMESPACE = uuid.UUID("6f1b3c1e-2d7a-4c55-9a8e-0b7c1d2e3f40")


def idempotent_id(key: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, key))


def new_event_id() -> str:
    # moved out by the event-kinds refactor
    return str(uuid.uuid4())  # noqa: TID251


class EventKind(StrEnum):
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    PHASE_CHANGED = "phase_changed"
    ROLE_ASSIGNED = "role_assigned"
    ROLE_RELEASED = "role_released"
    NOTE = "note"
    DECISION = "decision"
    ACTION_ITEM = "action_item"
    ACTION_DONE = "action_done"
    COMMUNICATION_SENT = "communication_sent"
    ESCALATED = "escalated"
    ALERT_ATTACHED = "alert_attached"
    ALERT_RESOLVED = "alert_resolved"
    CHECKLIST_DONE = "checklist_done"
    AMENDED = "amended"
    RETITLED = "retitled"


KIND_LABELS: dict[str, str] = {
    EventKind.DECLARED: "declared",
    EventKind.ACKNOWLEDGED: "ack",
    EventKind.STATUS_CHANGED: "status",
    EventKind.SEVERITY_CHANGED: "severity",
    EventKind.PHASE_CHANGED: "phase",
    EventKind.ROLE_ASSIGNED: "role",
    EventKind.ROLE_RELEASED: "role",
    EventKind.NOTE: "note",
    EventKind.DECISION: "decision",
    EventKind.ACTION_ITEM: "action",
    EventKind.ACTION_DONE: "action",
    EventKind.COMMUNICATION_SENT: "comms",
    EventKind.ESCALATED: "escalate",
    EventKind.ALERT_ATTACHED: "alert",
    EventKind.ALERT_RESOLVED: "alert",
    EventKind.CHECKLIST_DONE: "check",
    EventKind.AMENDED: "edit",
    EventKind.RETITLED: "title",
}


class Body(BaseModel):
    """Base of every event body. Unknown fields are ignored so newer writers stay readable."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: ClassVar[str]


class Declared(Body):
    kind: ClassVar[str] = EventKind.DECLARED
    title: str = Field(min_length=1)
    severity: Severity
    service: str | None = None
    summary: str | None = None
    # When the impact began (defaults to detection) and when it was detected (defaults to the
    # event's time); both feed MTTD.
    started_at: datetime | None = None
    detected_at: datetime | None = None
    source: str = "manual"


class Acknowledged(Body):
    kind: ClassVar[str] = EventKind.ACKNOWLEDGED
    note: str | None = None


class StatusChanged(Body):
    kind: ClassVar[str] = EventKind.STATUS_CHANGED
    from_status: Status
    to_status: Status
    reason: str | None = None


class SeverityChanged(Body):
    kind: ClassVar[str] = EventKind.SEVERITY_CHANGED
    from_severity: Severity
    to_severity: Severity
    reason: str | None = None
    assessment: dict[str, Any] | None = None


class PhaseChanged(Body):
    kind: ClassVar[str] = EventKind.PHASE_CHANGED
    from_phase: Phase
    to_phase: Phase


class RoleAssigned(Body):
    kind: ClassVar[str] = EventKind.ROLE_ASSIGNED
    role: Role
    person: str = Field(min_length=1)
    previous: str | None = None


class RoleReleased(Body):
    kind: ClassVar[str] = EventKind.ROLE_RELEASED
    role: Role
    person: str


class Note(Body):
    kind: ClassVar[str] = EventKind.NOTE
    text: str = Field(min_length=1)


class Decision(Body):
    kind: ClassVar[str] = EventKind.DECISION
    text: str = Field(min_length=1)


class ActionItem(Body):
    kind: ClassVar[str] = EventKind.ACTION_ITEM
    text: str = Field(min_length=1)
    owner: str | None = None


class ActionDone(Body):
    kind: ClassVar[str] = EventKind.ACTION_DONE
    item: str  # event id of the action item


class CommunicationSent(Body):
    kind: ClassVar[str] = EventKind.COMMUNICATION_SENT
    template: str  # initial, update, resolution, rca or a team's own
    audience: str  # customers, support, engineering, leadership, sales, internal...
    channel: str | None = None
    text: str = ""


class Escalated(Body):
    kind: ClassVar[str] = EventKind.ESCALATED
    level: int = Field(ge=1)
    targets: list[str] = Field(default_factory=list)
    reason: str = "timeout"  # timeout | manual
    policy: str | None = None
    cycle: int = 0
    # How each target was chosen ("bob": "secondary (sre)"), targets nobody could be found for
    # ("director: no team for service 'x'"), and when the level was due (see escalation.py).
    labels: dict[str, str] = Field(default_factory=dict)
    unresolved: list[str] = Field(default_factory=list)
    due_at: datetime | None = None


class AlertAttached(Body):
    kind: ClassVar[str] = EventKind.ALERT_ATTACHED
    source: str
    key: str
    summary: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    repeat: int | None = None  # the alert's n-th repeat notification (the fold counts them)


class AlertResolved(Body):
    kind: ClassVar[str] = EventKind.ALERT_RESOLVED
    source: str
    key: str


class ChecklistDone(Body):
    kind: ClassVar[str] = EventKind.CHECKLIST_DONE
    item: str


class Amended(Body):
    """The scribe's correction of an earlier event: the log stays append-only."""

    kind: ClassVar[str] = EventKind.AMENDED
    target: str  # event id
    text: str | None = None
    at: datetime | None = None
    reason: str | None = None


class Retitled(Body):
    kind: ClassVar[str] = EventKind.RETITLED
    title: str = Field(min_length=1)


BODIES: dict[str, type[Body]] = {
    cls.kind: cls
    for cls in (
        Declared,
        Acknowledged,
        StatusChanged,
        SeverityChanged,
        PhaseChanged,
        RoleAssigned,
        RoleReleased,
        Note,
        Decision,
        ActionItem,
        ActionDone,
        CommunicationSent,
        Escalated,
        AlertAttached,
        AlertResolved,
        ChecklistDone,
        Amended,
        Retitled,
    )
}


def register_body(cls: type[Body]) -> type[Body]:
    """Let another module (alerts, paging) add its own event kinds."""
    BODIES[cls.kind] = cls
    return cls


def parse_body(kind: str, data: dict[str, Any]) -> Body | None:
    """The typed body, or None for a kind this version does not know."""
    model = BODIES.get(kind)
    if model is None:
        return None
    return model.model_validate(data)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a command produced and the store has not yet accepted.

    `at` None means "now, by the store's clock" (the database server's, for PostgreSQL).
    """

    kind: str
    actor: str
    data: dict[str, Any]
    at: datetime | None = None
    event_id: str = field(default_factory=new_event_id)

    @classmethod
    def of(
        cls, body: Body, actor: str, at: datetime | None = None, event_id: str | None = None
    ) -> NewEvent:
        return cls(
            kind=body.kind,
            actor=actor,
            data=body.model_dump(mode="json", exclude_none=True),
            at=at,
            event_id=event_id or new_event_id(),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """An event the store committed: `seq` is its place in the global commit order."""

    seq: int
    event_id: str
    incident_id: str
    version: int
    kind: str
    actor: str
    at: datetime
    recorded_at: datetime
    data: dict[str, Any]

    @property
    def body(self) -> Body | None:
        return parse_body(self.kind, self.data)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "incident_id": self.incident_id,
            "version": self.version,
            "kind": self.kind,
            "actor": self.actor,
            "at": iso(self.at),
            "recorded_at": iso(self.recorded_at),
            "text": describe(self),
            "data": self.data,
        }


def iso(dt: datetime) -> str:
    """UTC ISO 8601 with a Z, the same form pydantic writes for the state."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _s(d: dict[str, Any], key: str, default: str = "?") -> str:
    v = d.get(key)
    return default if v is None else str(v)


def describe(event: Event | NewEvent) -> str:
    """One line saying what happened, for timelines, conflict messages and `tail`.

    The result contains untrusted text verbatim: callers render it literally.
    """
    k, d = event.kind, event.data
    if k == EventKind.DECLARED:
        svc = f" [{d['service']}]" if d.get("service") else ""
        return f"declared {_s(d, 'severity')}{svc}: {_s(d, 'title')}"
    if k == EventKind.ACKNOWLEDGED:
        return "acknowledged" + (f": {d['note']}" if d.get("note") else "")
    if k == EventKind.STATUS_CHANGED:
        r = f" ({d['reason']})" if d.get("reason") else ""
        return f"status {_s(d, 'from_status')} -> {_s(d, 'to_status')}{r}"
    if k == EventKind.SEVERITY_CHANGED:
        r = f" ({d['reason']})" if d.get("reason") else ""
        return f"severity {_s(d, 'from_severity')} -> {_s(d, 'to_severity')}{r}"
    if k == EventKind.PHASE_CHANGED:
        return f"phase {_s(d, 'from_phase')} -> {_s(d, 'to_phase')}"
    if k == EventKind.ROLE_ASSIGNED:
        title = _role_title(d.get("role"))
        if d.get("previous"):
            return f"{title} handed off {d['previous']} -> {_s(d, 'person')}"
        return f"{title}: {_s(d, 'person')}"
    if k == EventKind.ROLE_RELEASED:
        return f"{_role_title(d.get('role'))} released by {_s(d, 'person')}"
    if k == EventKind.NOTE:
        return _s(d, "text", "")
    if k == EventKind.DECISION:
        return f"DECISION: {_s(d, 'text', '')}"
    if k == EventKind.ACTION_ITEM:
        owner = f" (owner {d['owner']})" if d.get("owner") else ""
        return f"ACTION: {_s(d, 'text', '')}{owner}"
    if k == EventKind.ACTION_DONE:
        return f"action done: {_s(d, 'text', _s(d, 'item'))}"
    if k == EventKind.COMMUNICATION_SENT:
        ch = f" via {d['channel']}" if d.get("channel") else ""
        return f"{_s(d, 'template')} message sent to {_s(d, 'audience')}{ch}"
    if k == EventKind.ESCALATED:
        who = ", ".join(d.get("targets") or []) or "nobody"
        how = "escalated manually" if d.get("reason") == "manual" else "escalated"
        again = f" (repeat {d['cycle']})" if d.get("cycle") else ""
        missing = f"; could not page {', '.join(d['unresolved'])}" if d.get("unresolved") else ""
        return f"{how} to L{_s(d, 'level')}{again}: paged {who}{missing}"
    if k == EventKind.ALERT_ATTACHED:
        again = f" (repeat {d['repeat']})" if d.get("repeat") else ""
        return f"alert {_s(d, 'source')}: {_s(d, 'summary', _s(d, 'key'))}{again}"
    if k == EventKind.ALERT_RESOLVED:
        return f"alert resolved {_s(d, 'source')}: {_s(d, 'key')}"
    if k == EventKind.CHECKLIST_DONE:
        return f"checklist: {_s(d, 'item')} done"
    if k == EventKind.AMENDED:
        parts = []
        if d.get("text") is not None:
            parts.append(f"text -> {d['text']}")
        if d.get("at"):
            parts.append(f"time -> {d['at']}")
        return "edited an entry: " + ("; ".join(parts) or "no change")
    if k == EventKind.RETITLED:
        return f"title -> {_s(d, 'title')}"
    described = DESCRIBERS.get(k)
    if described is not None:
        return described(d)
    return f"{k}: " + ", ".join(f"{key}={value}" for key, value in sorted(d.items()))


# Other modules register one-line descriptions for their own kinds here.
DESCRIBERS: dict[str, Any] = {}


def _role_title(value: Any) -> str:
    try:
        return Role(value).title
    except ValueError:
        return str(value)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)
