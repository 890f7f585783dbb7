"""The incident's life: declared, acknowledged, its status, severity and phase, its title and
checklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from warroom.domain.incident.events import Event, Kind, Tone
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState, SeverityChange, StatusChange
from warroom.domain.incident.status import PHASE_FOR_STATUS, Phase, Status


class Declared(Kind):
    """The first event of every incident: the fold starts its state from it (`start`)."""

    kind = "declared"
    label = "declared"
    tone = Tone.ALARM

    title: str = Field(min_length=1)
    severity: Severity
    service: str | None = None
    summary: str | None = None
    # When the impact began (defaults to detection) and when it was detected (defaults to the
    # event's time); both feed MTTD.
    started_at: datetime | None = None
    detected_at: datetime | None = None
    source: str = "manual"

    def describe(self) -> str:
        svc = f" [{self.service}]" if self.service else ""
        return f"declared {self.severity}{svc}: {self.title}"

    def start(self, event: Event) -> IncidentState:
        detected = self.detected_at or event.at
        return IncidentState(
            id=event.incident_id,
            title=self.title,
            summary=self.summary,
            service=self.service,
            source=self.source,
            severity=self.severity,
            version=event.version,
            declared_at=event.at,
            declared_by=event.actor,
            started_at=self.started_at or detected,
            detected_at=detected,
            severity_history=[SeverityChange(
                at=event.at, actor=event.actor, from_severity=None, to_severity=self.severity
            )],
            status_history=[StatusChange(
                at=event.at, actor=event.actor, from_status=None, to_status=Status.INVESTIGATING
            )],
            last_event_at=event.at,
            last_actor=event.actor,
            last_kind=event.kind,
        )


class Acknowledged(Kind):
    kind = "acknowledged"
    label = "ack"
    tone = Tone.GOOD
    text_field = "note"

    note: str | None = None

    def describe(self) -> str:
        return "acknowledged" + (f": {self.note}" if self.note else "")

    def apply(self, state: IncidentState, event: Event) -> None:
        if state.acknowledged_at is None:
            state.acknowledged_at = event.at
            state.acknowledged_by = event.actor
        state.check("acknowledge", event.at)
        state.advance_phase(Phase.TRIAGE)


class StatusChanged(Kind):
    kind = "status_changed"
    label = "status"
    tone = Tone.STATUS
    text_field = "reason"

    from_status: Status
    to_status: Status
    reason: str | None = None

    def describe(self) -> str:
        r = f" ({self.reason})" if self.reason else ""
        return f"status {self.from_status} -> {self.to_status}{r}"

    def apply(self, state: IncidentState, event: Event) -> None:
        to, frm = self.to_status, state.status
        state.status = to
        state.status_history.append(
            StatusChange(at=event.at, actor=event.actor, from_status=frm, to_status=to)
        )
        if to == Status.IDENTIFIED:
            state.identified_at = state.identified_at or event.at
            state.check("root_cause", event.at)
        elif to == Status.MONITORING:
            state.fix_deployed_at = event.at
            state.check("fix_deployed", event.at)
        elif to == Status.RESOLVED:
            state.resolved_at = event.at
            if state.first_resolved_at is None:
                state.first_resolved_at = event.at
            if frm == Status.MONITORING:
                state.check("verify", event.at)
        if to == Status.INVESTIGATING:
            # A failed fix or a reopened incident is back in response, whatever phase it reached.
            state.resolved_at = None
            state.phase = Phase.RESPONSE
            if frm == Status.MONITORING:
                state.fix_deployed_at = None
                state.checklist.pop("fix_deployed", None)
        else:
            state.advance_phase(PHASE_FOR_STATUS[to])


class SeverityChanged(Kind):
    kind = "severity_changed"
    label = "severity"
    tone = Tone.SEVERITY
    text_field = "reason"

    from_severity: Severity
    to_severity: Severity
    reason: str | None = None
    assessment: dict[str, Any] | None = None

    def describe(self) -> str:
        why = [self.reason] if self.reason else []
        a = self.assessment or {}
        if a.get("decided_by") and a.get("reason"):
            # Why the matrix moved it: a change no one can explain is a change no one trusts.
            why.append(f"matrix: {a['decided_by']}: {a['reason']}")
        r = f" ({'; '.join(str(w) for w in why)})" if why else ""
        return f"severity {self.from_severity} -> {self.to_severity}{r}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.severity_history.append(SeverityChange(
            at=event.at, actor=event.actor, from_severity=state.severity,
            to_severity=self.to_severity,
        ))
        state.severity = self.to_severity
        state.check("triage", event.at)
        if state.acknowledged:
            state.advance_phase(Phase.RESPONSE)


class PhaseChanged(Kind):
    kind = "phase_changed"
    label = "phase"
    tone = Tone.PHASE

    from_phase: Phase
    to_phase: Phase

    def describe(self) -> str:
        return f"phase {self.from_phase} -> {self.to_phase}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.phase = self.to_phase


class ChecklistDone(Kind):
    kind = "checklist_done"
    label = "check"
    tone = Tone.QUIET

    item: str

    def describe(self) -> str:
        return f"checklist: {self.item} done"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.check(self.item, event.at)
        if self.item == "triage" and state.acknowledged:
            state.advance_phase(Phase.RESPONSE)


class Retitled(Kind):
    kind = "retitled"
    label = "title"
    tone = Tone.QUIET

    title: str = Field(min_length=1)

    def describe(self) -> str:
        return f"title -> {self.title}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.title = self.title


class ServiceChanged(Kind):
    """The incident's service corrected (a typo at declaration, or the cause found elsewhere):
    its runbook, team and escalation policy follow the new name from here on."""

    kind = "service_changed"
    label = "service"
    tone = Tone.QUIET

    service: str | None = None  # None: no service
    previous: str | None = None

    def describe(self) -> str:
        return f"service {self.previous or '(none)'} -> {self.service or '(none)'}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.service = self.service
