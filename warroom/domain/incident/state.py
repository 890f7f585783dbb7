"""An incident's current state: what the fold of its events says (warroom/domain/incident/fold.py).

The state is never edited directly: `fold(events)` and `apply(state, event)` are the only ways to
get one (each event kind's `apply` changes it), and the store's cached copy is checked against a
fresh fold by the tests.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.alerts.state import AlertRoute, LadderHold
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Phase, Status

_PHASE_ORDER = list(Phase)


class _Deferred(BaseModel):
    """Built on first use, not at import: a command that never validates a state (`warroom
    list` reads summary rows) does not pay for building these models (issue 15)."""

    model_config = ConfigDict(defer_build=True)


class RoleHolder(_Deferred):
    person: str
    since: datetime


class RoleStint(_Deferred):
    role: Role
    person: str
    start: datetime
    end: datetime | None = None


class SeverityChange(_Deferred):
    at: datetime
    actor: str
    from_severity: Severity | None
    to_severity: Severity


class StatusChange(_Deferred):
    at: datetime
    actor: str
    from_status: Status | None
    to_status: Status


class DecisionRecord(_Deferred):
    id: str
    text: str
    at: datetime
    actor: str


class ActionRecord(_Deferred):
    id: str
    text: str
    owner: str | None
    at: datetime
    actor: str
    done_at: datetime | None = None
    done_by: str | None = None


class CommunicationRecord(_Deferred):
    id: str
    template: str
    audience: str
    channel: str | None
    at: datetime
    actor: str


class DeliveryRecord(_Deferred):
    """One outcome of delivering a page (warroom/domain/incident/kinds/paging.py folds them)."""

    recipient: str  # a handle, or "policy:NAME" for a policy's own channel
    channel: str  # webhook | command
    attempt: int
    outcome: str  # delivered | failed | cancelled | claimed
    at: datetime
    detail: str = ""
    retry_at: datetime | None = None  # a failure that will be retried then


class EscalationRecord(_Deferred):
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
    drill: bool = False  # fired with --no-deliver: its pages are never sent


class AlertRecord(_Deferred):
    key: str
    source: str
    summary: str
    firing: bool
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None = None
    count: int = 1


class IncidentState(_Deferred):
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
    escalation_hold: LadderHold | None = None  # set by escalation_held events (kinds/paging.py)
    alert_route: AlertRoute | None = None  # set by the alert receiver's events (kinds/alerts.py)
    # content hash -> the alert_received event that keeps that payload (the most recent few
    # distinct ones): a notification repeating one of them is recorded by reference.
    payloads: dict[str, str] = Field(default_factory=dict)
    postmortem_at: datetime | None = None  # when the postmortem meets (postmortem_scheduled)

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

    # ---- for the kinds' `apply` -----------------------------------------------------------

    def check(self, item: str, at: datetime) -> None:
        """Tick a checklist item; the first tick's time stays."""
        self.checklist.setdefault(item, at)

    def advance_phase(self, phase: Phase) -> None:
        """Phases only move forward on their own; reopening is handled by the status move."""
        if _PHASE_ORDER.index(phase) > _PHASE_ORDER.index(self.phase):
            self.phase = phase


def parse_incident_id(text: str) -> str:
    """INC-42 from "INC-42", "inc-42", "#42" or "42"."""
    from warroom.domain.common.errors import InvalidInput

    t = text.strip().upper().lstrip("#")
    if t.startswith("INC-"):
        t = t[4:]
    if not t.isdigit() or int(t) <= 0:
        raise InvalidInput(f"{text!r} is not an incident id: incident ids look like INC-42")
    return f"INC-{int(t)}"
