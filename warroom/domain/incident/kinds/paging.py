"""Paging people: escalation levels fired, the ladder held, and each page's delivery outcome.

What to page and when is decided in warroom/domain/oncall/ (escalation.py, paging.py); these are
the facts that decision leaves on the incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field
from pydantic_core import to_jsonable_python

from warroom.domain.alerts.state import LadderHold
from warroom.domain.incident.events import Event, Kind, Tone
from warroom.domain.incident.state import DeliveryRecord, EscalationRecord, IncidentState


class Escalated(Kind):
    """An escalation level fired (by the engine, or a person's "escalate now")."""

    kind = "escalated"
    label = "escalate"
    tone = Tone.ALARM

    level: int = Field(ge=1)
    targets: list[str] = Field(default_factory=list)
    reason: str = "timeout"  # timeout | manual
    policy: str | None = None
    cycle: int = 0
    # How each target was chosen ("bob": "secondary (sre)"), targets nobody could be found for
    # ("director: no team for service 'x'"), and when the level was due (oncall/escalation.py).
    labels: dict[str, str] = Field(default_factory=dict)
    unresolved: list[str] = Field(default_factory=list)
    due_at: datetime | None = None
    # True: recorded by `--no-deliver` (a drill). Nobody sends its pages, not even an engine
    # that later finds them undelivered: a drill must never page people for real.
    drill: bool | None = None

    @property
    def how(self) -> str:
        return "escalated manually" if self.reason == "manual" else "escalated"

    @property
    def paged(self) -> str:
        return ", ".join(self.targets) or "nobody"

    def describe(self) -> str:
        again = f" (repeat {self.cycle})" if self.cycle else ""
        missing = f"; could not page {', '.join(self.unresolved)}" if self.unresolved else ""
        drill = " (drill: no page sent)" if self.drill else ""
        return f"{self.how} to L{self.level}{again}: paged {self.paged}{missing}{drill}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.escalations.append(EscalationRecord(
            level=self.level, targets=list(self.targets), at=event.at, reason=self.reason,
            cycle=self.cycle, actor=event.actor, event_id=event.event_id, policy=self.policy,
            labels=dict(self.labels), unresolved=list(self.unresolved),
            drill=bool(self.drill),
        ))


class EscalationHeld(Kind):
    """Hold the ladder until `until` (before its first level fires); `until` at or before the
    event's own time releases a hold."""

    kind = "escalation_held"
    label = "hold"
    tone = Tone.QUIET

    until: datetime
    reason: str = Field(min_length=1)
    cause: str = "manual"  # remediation | queued | notify | manual

    def describe(self) -> str:
        until = str(to_jsonable_python(self.until)).replace("T", " ")[:16]  # as the log holds it
        return f"escalation held until {until}Z: {self.reason}"

    def apply(self, state: IncidentState, event: Event) -> None:
        if self.until <= event.at:
            state.escalation_hold = None
        else:
            state.escalation_hold = LadderHold(until=self.until, reason=self.reason,
                                               cause=self.cause, at=event.at, actor=event.actor)


class PageOutcome(Kind):
    """What happened to one page (a level's message to one recipient over one channel). The
    event ids say which page and attempt: see warroom/domain/oncall/paging.py."""

    label = "page"
    tone = Tone.QUIET
    outcome: ClassVar[str]  # as DeliveryRecord.outcome says it

    cycle: int = 0
    level: int = Field(ge=1)
    to: str  # handle, or "policy:NAME"
    channel: str  # webhook | command
    attempt: int = Field(default=1, ge=1)
    detail: str = ""

    @property
    def recipient(self) -> str:
        """The handle, or "NAME policy channel"."""
        return f"{self.to[7:]} policy channel" if self.to.startswith("policy:") else self.to

    def apply(self, state: IncidentState, event: Event) -> None:
        for rec in reversed(state.escalations):
            if rec.cycle == self.cycle and rec.level == self.level:
                rec.deliveries.append(DeliveryRecord(
                    recipient=self.to, channel=self.channel, attempt=self.attempt,
                    outcome=self.outcome, at=event.at, detail=self.detail,
                    retry_at=self.retry(),
                ))
                return

    def retry(self) -> datetime | None:
        """When this page will be tried again: only a failure says."""
        return None


class PageDelivered(PageOutcome):
    kind = "page_delivered"
    outcome = "delivered"

    def describe(self) -> str:
        tries = f" (attempt {self.attempt})" if self.attempt > 1 else ""
        detail = f": {self.detail}" if self.detail else ""
        return (f"page L{self.level} delivered to {self.recipient} via {self.channel}"
                f"{tries}{detail}")


class PageFailed(PageOutcome):
    kind = "page_failed"
    outcome = "failed"

    retry_at: datetime | None = None  # None: no more attempts

    def retry(self) -> datetime | None:
        return self.retry_at

    def describe(self) -> str:
        then = "retrying" if self.retry_at else "GAVE UP"
        return (f"page L{self.level} to {self.recipient} via {self.channel} FAILED "
                f"(attempt {self.attempt}, {then}): {self.detail}")


class PageCancelled(PageOutcome):
    """Retries stopped because the incident was acknowledged or resolved meanwhile."""

    kind = "page_cancelled"
    outcome = "cancelled"

    def describe(self) -> str:
        return (f"page L{self.level} to {self.recipient} via {self.channel} not retried: "
                f"{self.detail}")


class PageClaimed(PageOutcome):
    """An engine takes over a page whose own engine stopped."""

    kind = "page_claimed"
    outcome = "claimed"

    claim: int = Field(default=1, ge=1)

    def describe(self) -> str:
        return (f"page L{self.level} to {self.recipient} via {self.channel} taken over "
                f"(its engine stopped): {self.detail}")


class PageWithheld(PageCancelled):
    """A page a drill room would have sent: recorded, never delivered (the engine refuses to
    deliver any page from a drill room, whatever the configuration says). Final, like a
    cancelled page, so no engine takes it over later."""

    kind = "page_withheld"
    outcome = "cancelled"

    def describe(self) -> str:
        return f"drill: would page {self.recipient} via {self.channel} (L{self.level})"
