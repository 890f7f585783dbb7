"""An incident's current state, and the fold that computes it from its events.

The state is never edited directly: `fold(events)` and `apply(state, event)` are the only ways to
get one, and the store's cached copy is checked against a fresh fold by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from warroom.domain.alerts.state import AlertRoute, LadderHold
from warroom.domain.incident.events import (
    AlertAttached,
    AlertResolved,
    Amended,
    Body,
    CommunicationSent,
    Declared,
    Event,
    EventKind,
    parse_body,
)
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import PHASE_FOR_STATUS, Phase, Status

_PHASE_ORDER = list(Phase)

# Bump when the fold computes something new: a store opened for writing rebuilds every cached
# state from the log, so the projection always equals the fold of this version.
FOLD_VERSION = "2"


class RoleHolder(BaseModel):
    person: str
    since: datetime


class RoleStint(BaseModel):
    role: Role
    person: str
    start: datetime
    end: datetime | None = None


class SeverityChange(BaseModel):
    at: datetime
    actor: str
    from_severity: Severity | None
    to_severity: Severity


class StatusChange(BaseModel):
    at: datetime
    actor: str
    from_status: Status | None
    to_status: Status


class DecisionRecord(BaseModel):
    id: str
    text: str
    at: datetime
    actor: str


class ActionRecord(BaseModel):
    id: str
    text: str
    owner: str | None
    at: datetime
    actor: str
    done_at: datetime | None = None
    done_by: str | None = None


class CommunicationRecord(BaseModel):
    id: str
    template: str
    audience: str
    channel: str | None
    at: datetime
    actor: str


class DeliveryRecord(BaseModel):
    """One outcome of delivering a page (see warroom/domain/oncall/paging.py, which folds them)."""

    recipient: str  # a handle, or "policy:NAME" for a policy's own channel
    channel: str  # webhook | command
    attempt: int
    outcome: str  # delivered | failed | cancelled | claimed
    at: datetime
    detail: str = ""
    retry_at: datetime | None = None  # a failure that will be retried then


class EscalationRecord(BaseModel):
    level: int
    targets: list[str]
    at: datetime
    reason: str
    cycle: int = 0
    actor: str | None = None
    event_id: str | None = None
    policy: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    unresolved: list[str] = Field(default_factory=list)
    deliveries: list[DeliveryRecord] = Field(default_factory=list)


class AlertRecord(BaseModel):
    key: str
    source: str
    summary: str
    firing: bool
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None = None
    count: int = 1


class IncidentState(BaseModel):
    id: str
    title: str
    summary: str | None = None
    service: str | None = None
    source: str = "manual"
    severity: Severity
    status: Status = Status.INVESTIGATING
    phase: Phase = Phase.DETECTION
    version: int = 0

    declared_at: datetime
    declared_by: str
    started_at: datetime
    detected_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    identified_at: datetime | None = None
    fix_deployed_at: datetime | None = None  # latest move to Monitoring
    resolved_at: datetime | None = None  # latest move to Resolved, None while open
    first_resolved_at: datetime | None = None  # first move to Resolved (MTTR)

    roles: dict[Role, RoleHolder] = Field(default_factory=dict)
    role_history: list[RoleStint] = Field(default_factory=list)
    severity_history: list[SeverityChange] = Field(default_factory=list)
    status_history: list[StatusChange] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    action_items: list[ActionRecord] = Field(default_factory=list)
    communications: list[CommunicationRecord] = Field(default_factory=list)
    escalations: list[EscalationRecord] = Field(default_factory=list)
    alerts: dict[str, AlertRecord] = Field(default_factory=dict)
    checklist: dict[str, datetime] = Field(default_factory=dict)
    amendments: dict[str, str] = Field(default_factory=dict)  # target event id -> amending id
    escalation_hold: LadderHold | None = None  # set by escalation_held events (escalation.py)
    alert_route: AlertRoute | None = None  # set by the alert receiver's events (alerts.py)
    # content hash -> the alert_received event that keeps that payload (the most recent few
    # distinct ones): a notification repeating one of them is recorded by reference.
    payloads: dict[str, str] = Field(default_factory=dict)

    last_event_at: datetime
    last_actor: str
    last_kind: str

    @property
    def number(self) -> int:
        return int(self.id.rsplit("-", 1)[-1])

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def firing_alerts(self) -> list[AlertRecord]:
        return [a for a in self.alerts.values() if a.firing]

    def holder(self, role: Role) -> str | None:
        h = self.roles.get(role)
        return h.person if h else None

    def roles_of(self, person: str) -> list[Role]:
        return [r for r, h in self.roles.items() if h.person == person]


class FoldError(ValueError):
    """The events do not start with a declaration or belong to different incidents."""


def fold(events: Iterable[Event]) -> IncidentState:
    state: IncidentState | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise FoldError("no events to fold")
    return state


def apply(state: IncidentState | None, event: Event) -> IncidentState:
    """Apply one committed event. Mutates and returns `state` (a fresh one for a declaration).

    Events are facts that already happened: apply never refuses one. Validation is the commands'
    job, before the store accepts an event.
    """
    body = parse_body(event.kind, event.data)
    if state is None:
        if not isinstance(body, Declared):
            raise FoldError(f"{event.incident_id}: history must start with a declaration")
        return _declare(event, body)
    if event.incident_id != state.id:
        raise FoldError(f"event of {event.incident_id} applied to {state.id}")
    if event.version != state.version + 1:
        raise FoldError(
            f"{state.id}: event version {event.version} after version {state.version}"
        )
    state.version = event.version
    state.last_event_at = event.at
    state.last_actor = event.actor
    state.last_kind = event.kind
    if body is not None:
        _APPLY.get(event.kind, _ignore)(state, event, body)
    return state


def _declare(event: Event, body: Declared) -> IncidentState:
    detected = body.detected_at or event.at
    return IncidentState(
        id=event.incident_id,
        title=body.title,
        summary=body.summary,
        service=body.service,
        source=body.source,
        severity=body.severity,
        version=event.version,
        declared_at=event.at,
        declared_by=event.actor,
        started_at=body.started_at or detected,
        detected_at=detected,
        severity_history=[SeverityChange(
            at=event.at, actor=event.actor, from_severity=None, to_severity=body.severity
        )],
        status_history=[StatusChange(
            at=event.at, actor=event.actor, from_status=None, to_status=Status.INVESTIGATING
        )],
        last_event_at=event.at,
        last_actor=event.actor,
        last_kind=event.kind,
    )


def _ignore(state: IncidentState, event: Event, body: Body) -> None:
    return None


def _advance_phase(state: IncidentState, phase: Phase) -> None:
    """Phases only move forward on their own; reopening is handled by the status move."""
    if _PHASE_ORDER.index(phase) > _PHASE_ORDER.index(state.phase):
        state.phase = phase


def _check(state: IncidentState, item: str, at: datetime) -> None:
    state.checklist.setdefault(item, at)


def _acknowledged(state: IncidentState, event: Event, body: Body) -> None:
    if state.acknowledged_at is None:
        state.acknowledged_at = event.at
        state.acknowledged_by = event.actor
    _check(state, "acknowledge", event.at)
    _advance_phase(state, Phase.TRIAGE)


def _status(state: IncidentState, event: Event, body: Body) -> None:
    to = Status(event.data["to_status"])
    frm = state.status
    state.status = to
    state.status_history.append(
        StatusChange(at=event.at, actor=event.actor, from_status=frm, to_status=to)
    )
    if to == Status.IDENTIFIED:
        state.identified_at = state.identified_at or event.at
        _check(state, "root_cause", event.at)
    elif to == Status.MONITORING:
        state.fix_deployed_at = event.at
        _check(state, "fix_deployed", event.at)
    elif to == Status.RESOLVED:
        state.resolved_at = event.at
        if state.first_resolved_at is None:
            state.first_resolved_at = event.at
        if frm == Status.MONITORING:
            _check(state, "verify", event.at)
    if to == Status.INVESTIGATING:
        # A failed fix or a reopened incident is back in response, whatever phase it reached.
        state.resolved_at = None
        state.phase = Phase.RESPONSE
        if frm == Status.MONITORING:
            state.fix_deployed_at = None
            state.checklist.pop("fix_deployed", None)
    else:
        _advance_phase(state, PHASE_FOR_STATUS[to])


def _severity(state: IncidentState, event: Event, body: Body) -> None:
    to = Severity(event.data["to_severity"])
    state.severity_history.append(SeverityChange(
        at=event.at, actor=event.actor, from_severity=state.severity, to_severity=to
    ))
    state.severity = to
    _check(state, "triage", event.at)
    if state.acknowledged:
        _advance_phase(state, Phase.RESPONSE)


def _phase(state: IncidentState, event: Event, body: Body) -> None:
    state.phase = Phase(event.data["to_phase"])


def _role_assigned(state: IncidentState, event: Event, body: Body) -> None:
    role = Role(event.data["role"])
    person = event.data["person"]
    _end_stint(state, role, event.at)
    state.roles[role] = RoleHolder(person=person, since=event.at)
    state.role_history.append(RoleStint(role=role, person=person, start=event.at))
    if all(r in state.roles for r in ASSEMBLED_ROLES):
        _check(state, "assemble", event.at)
    if role == Role.INCIDENT_COMMANDER and state.acknowledged:
        _advance_phase(state, Phase.RESPONSE)


# The response team is formed once these roles are held (the seed's "Assembly" item).
ASSEMBLED_ROLES = (Role.INCIDENT_COMMANDER, Role.TECH_LEAD, Role.COMMUNICATIONS_LEAD)


def _end_stint(state: IncidentState, role: Role, at: datetime) -> None:
    for stint in reversed(state.role_history):
        if stint.role == role and stint.end is None:
            stint.end = at
            break


def _role_released(state: IncidentState, event: Event, body: Body) -> None:
    role = Role(event.data["role"])
    state.roles.pop(role, None)
    _end_stint(state, role, event.at)


def _decision(state: IncidentState, event: Event, body: Body) -> None:
    state.decisions.append(DecisionRecord(
        id=event.event_id, text=event.data["text"], at=event.at, actor=event.actor
    ))


def _action_item(state: IncidentState, event: Event, body: Body) -> None:
    state.action_items.append(ActionRecord(
        id=event.event_id,
        text=event.data["text"],
        owner=event.data.get("owner"),
        at=event.at,
        actor=event.actor,
    ))


def _action_done(state: IncidentState, event: Event, body: Body) -> None:
    for item in state.action_items:
        if item.id == event.data["item"] and item.done_at is None:
            item.done_at = event.at
            item.done_by = event.actor


def _communication(state: IncidentState, event: Event, body: Body) -> None:
    assert isinstance(body, CommunicationSent)
    state.communications.append(CommunicationRecord(
        id=event.event_id,
        template=body.template,
        audience=body.audience,
        channel=body.channel,
        at=event.at,
        actor=event.actor,
    ))
    if body.audience in CUSTOMER_AUDIENCES:
        _check(state, "first_update", event.at)


CUSTOMER_AUDIENCES = frozenset({"customers", "status page", "statuspage", "public"})


def _escalated(state: IncidentState, event: Event, body: Body) -> None:
    state.escalations.append(EscalationRecord(
        level=event.data["level"],
        targets=list(event.data.get("targets") or []),
        at=event.at,
        reason=event.data.get("reason", "timeout"),
        cycle=event.data.get("cycle", 0),
        actor=event.actor,
        event_id=event.event_id,
        policy=event.data.get("policy"),
        labels=dict(event.data.get("labels") or {}),
        unresolved=list(event.data.get("unresolved") or []),
    ))


def _alert_attached(state: IncidentState, event: Event, body: Body) -> None:
    assert isinstance(body, AlertAttached)
    existing = state.alerts.get(body.key)
    if existing is None:
        state.alerts[body.key] = AlertRecord(
            key=body.key,
            source=body.source,
            summary=body.summary,
            firing=True,
            first_at=event.at,
            last_at=event.at,
        )
    else:
        existing.firing = True
        existing.resolved_at = None
        existing.last_at = event.at
        existing.count += 1
    if state.alert_route is not None:
        state.alert_route.alerts_cleared_at = None  # an alert fires (again)


def _alert_resolved(state: IncidentState, event: Event, body: Body) -> None:
    assert isinstance(body, AlertResolved)
    existing = state.alerts.get(body.key)
    if existing is not None:
        existing.firing = False
        existing.resolved_at = event.at
        existing.last_at = event.at


def _checklist(state: IncidentState, event: Event, body: Body) -> None:
    _check(state, event.data["item"], event.at)
    if event.data["item"] == "triage" and state.acknowledged:
        _advance_phase(state, Phase.RESPONSE)


def _amended(state: IncidentState, event: Event, body: Body) -> None:
    assert isinstance(body, Amended)
    state.amendments[body.target] = event.event_id
    # Amending a decision or an action item changes what the postmortem lists.
    if body.text is not None:
        for record in (*state.decisions, *state.action_items):
            if record.id == body.target:
                record.text = body.text


def _retitled(state: IncidentState, event: Event, body: Body) -> None:
    state.title = event.data["title"]


_APPLY = {
    EventKind.ACKNOWLEDGED: _acknowledged,
    EventKind.STATUS_CHANGED: _status,
    EventKind.SEVERITY_CHANGED: _severity,
    EventKind.PHASE_CHANGED: _phase,
    EventKind.ROLE_ASSIGNED: _role_assigned,
    EventKind.ROLE_RELEASED: _role_released,
    EventKind.DECISION: _decision,
    EventKind.ACTION_ITEM: _action_item,
    EventKind.ACTION_DONE: _action_done,
    EventKind.COMMUNICATION_SENT: _communication,
    EventKind.ESCALATED: _escalated,
    EventKind.ALERT_ATTACHED: _alert_attached,
    EventKind.ALERT_RESOLVED: _alert_resolved,
    EventKind.CHECKLIST_DONE: _checklist,
    EventKind.AMENDED: _amended,
    EventKind.RETITLED: _retitled,
}


def register_apply(kind: str, fn) -> None:  # type: ignore[no-untyped-def]
    """Let another module fold its own event kinds into the state."""
    _APPLY[kind] = fn


def parse_incident_id(text: str) -> str:
    """INC-42 from "INC-42", "inc-42", "#42" or "42"."""
    from warroom.domain.common.errors import InvalidInput

    t = text.strip().upper().lstrip("#")
    if t.startswith("INC-"):
        t = t[4:]
    if not t.isdigit() or int(t) <= 0:
        raise InvalidInput(f"{text!r} is not an incident id: incident ids look like INC-42")
    return f"INC-{int(t)}"
