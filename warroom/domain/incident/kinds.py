"""Event kinds beyond the core ones of events.py: paging outcomes, escalation holds, and what
the alert receiver records. They are registered with the fold here, in a module that imports
only the event and state models, so that every process that folds events (the store, the CLI,
the dashboard) knows them without loading configuration, routing or templates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from warroom.domain.alerts.state import AlertRoute, LadderHold
from warroom.domain.incident.events import (
    DESCRIBERS,
    KIND_LABELS,
    Body,
    Event,
    register_body,
)
from warroom.domain.incident.state import DeliveryRecord, IncidentState, register_apply

# ---- paging outcomes ---------------------------------------------------------------------------

PAGE_DELIVERED = "page_delivered"
PAGE_FAILED = "page_failed"
PAGE_CANCELLED = "page_cancelled"
PAGE_CLAIMED = "page_claimed"
PAGE_KINDS = (PAGE_DELIVERED, PAGE_FAILED, PAGE_CANCELLED, PAGE_CLAIMED)


class _PageBody(Body):
    cycle: int = 0
    level: int = Field(ge=1)
    to: str  # handle, or "policy:NAME"
    channel: str  # webhook | command
    attempt: int = Field(default=1, ge=1)
    detail: str = ""


class PageDelivered(_PageBody):
    kind: ClassVar[str] = PAGE_DELIVERED


class PageFailed(_PageBody):
    kind: ClassVar[str] = PAGE_FAILED
    retry_at: datetime | None = None  # None: no more attempts


class PageCancelled(_PageBody):
    """Retries stopped because the incident was acknowledged or resolved meanwhile."""

    kind: ClassVar[str] = PAGE_CANCELLED


class PageClaimed(_PageBody):
    kind: ClassVar[str] = PAGE_CLAIMED
    claim: int = Field(default=1, ge=1)


for _cls in (PageDelivered, PageFailed, PageCancelled, PageClaimed):
    register_body(_cls)


def _record(state: IncidentState, event: Event, outcome: str) -> None:
    d = event.data
    for rec in reversed(state.escalations):
        if rec.cycle == d.get("cycle", 0) and rec.level == d.get("level"):
            retry = d.get("retry_at")
            rec.deliveries.append(DeliveryRecord(
                recipient=d["to"], channel=d["channel"], attempt=d.get("attempt", 1),
                outcome=outcome, at=event.at, detail=d.get("detail", ""),
                retry_at=datetime.fromisoformat(retry.replace("Z", "+00:00")) if retry else None,
            ))
            return


register_apply(PAGE_DELIVERED, lambda s, e, b: _record(s, e, "delivered"))
register_apply(PAGE_FAILED, lambda s, e, b: _record(s, e, "failed"))
register_apply(PAGE_CANCELLED, lambda s, e, b: _record(s, e, "cancelled"))
register_apply(PAGE_CLAIMED, lambda s, e, b: _record(s, e, "claimed"))


def who(d: dict[str, Any]) -> str:
    to = str(d.get("to", "?"))
    return f"{to[7:]} policy channel" if to.startswith("policy:") else to


def _describe_delivered(d: dict[str, Any]) -> str:
    tries = f" (attempt {d.get('attempt')})" if d.get("attempt", 1) > 1 else ""
    detail = f": {d['detail']}" if d.get("detail") else ""
    return f"page L{d.get('level')} delivered to {who(d)} via {d.get('channel')}{tries}{detail}"


def _describe_failed(d: dict[str, Any]) -> str:
    then = "retrying" if d.get("retry_at") else "GAVE UP"
    return (f"page L{d.get('level')} to {who(d)} via {d.get('channel')} FAILED "
            f"(attempt {d.get('attempt')}, {then}): {d.get('detail', '')}")


DESCRIBERS[PAGE_DELIVERED] = _describe_delivered
DESCRIBERS[PAGE_FAILED] = _describe_failed
DESCRIBERS[PAGE_CANCELLED] = lambda d: (
    f"page L{d.get('level')} to {who(d)} via {d.get('channel')} not retried: "
    f"{d.get('detail', '')}")
DESCRIBERS[PAGE_CLAIMED] = lambda d: (
    f"page L{d.get('level')} to {who(d)} via {d.get('channel')} taken over "
    f"(its engine stopped): {d.get('detail', '')}")
KIND_LABELS[PAGE_DELIVERED] = "page"
KIND_LABELS[PAGE_FAILED] = "page"
KIND_LABELS[PAGE_CANCELLED] = "page"
KIND_LABELS[PAGE_CLAIMED] = "page"


# ---- escalation holds --------------------------------------------------------------------------

ESCALATION_HELD = "escalation_held"


class EscalationHeld(Body):
    """Hold the ladder until `until` (before its first level fires); `until` at or before the
    event's own time releases a hold."""

    kind: ClassVar[str] = ESCALATION_HELD
    until: datetime
    reason: str = Field(min_length=1)
    cause: str = "manual"  # remediation | queued | notify | manual


register_body(EscalationHeld)
KIND_LABELS[ESCALATION_HELD] = "hold"


def _describe_hold(d: dict) -> str:  # type: ignore[type-arg]
    until = str(d.get("until", "?")).replace("T", " ")[:16]
    return f"escalation held until {until}Z: {d.get('reason', '')}"


DESCRIBERS[ESCALATION_HELD] = _describe_hold


def _apply_hold(state: IncidentState, event: Event, body: Body) -> None:
    assert isinstance(body, EscalationHeld)
    if body.until <= event.at:
        state.escalation_hold = None
    else:
        state.escalation_hold = LadderHold(until=body.until, reason=body.reason,
                                           cause=body.cause, at=event.at, actor=event.actor)


register_apply(ESCALATION_HELD, _apply_hold)


# ---- the alert receiver ------------------------------------------------------------------------

ALERT_RECEIVED = "alert_received"
ALERT_DECISION = "alert_decision"
ALERTS_CLEARED = "alerts_cleared"
REMEDIATION_STARTED = "remediation_started"
REMEDIATION_FINISHED = "remediation_finished"
MAX_KEYS_LISTED = 200
PAYLOADS_REMEMBERED = 64  # distinct payload contents an incident's state refers back to


class AlertReceived(Body):
    """One notification as it arrived, with how it was mapped."""

    kind: ClassVar[str] = ALERT_RECEIVED
    format: str
    version: str = ""
    dedup_key: str
    action: str
    firing: int = 0
    resolved: int = 0
    alerts: list[dict[str, str]] = Field(default_factory=list)  # [{key, status}], capped
    mapping: dict[str, Any] = Field(default_factory=dict)
    payload: Any = None  # the JSON as posted, when it fits alerts.payload_bytes
    payload_text: str | None = None  # else its first payload_bytes, as text
    payload_size: int = 0
    kept: str = "full"  # full | truncated | dropped: <why> | repeat: <why>
    client: str | None = None
    content_hash: str | None = None  # of the payload as posted (automation.payload_hash)
    same_as: str | None = None  # a repeat: the event that keeps this exact payload


class AlertDecision(Body):
    """One step of the receiver's decisions, in words, with its reason."""

    kind: ClassVar[str] = ALERT_DECISION
    step: str  # mapped | route | oncall | clocks | remediation | closed
    text: str = Field(min_length=1)
    # On the "route" step: what the fold keeps (alert_state.AlertRoute).
    route: str | None = None
    dedup_key: str | None = None
    remediation_until: datetime | None = None
    remediation_command: str | None = None
    auto_resolve: bool | None = None
    fallback_until: datetime | None = None
    fallback_reason: str | None = None
    fallback_cause: str | None = None


class AlertsCleared(Body):
    kind: ClassVar[str] = ALERTS_CLEARED
    count: int = 0


class RemediationStarted(Body):
    kind: ClassVar[str] = REMEDIATION_STARTED
    alert: str
    command: str


class RemediationFinished(Body):
    kind: ClassVar[str] = REMEDIATION_FINISHED
    alert: str
    command: str
    exit_code: int | None = None  # None: it could not start, or was killed at the timeout
    timed_out: bool = False
    output: str = ""
    output_truncated: bool = False
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


for _cls in (AlertReceived, AlertDecision, AlertsCleared, RemediationStarted,
             RemediationFinished):
    register_body(_cls)
KIND_LABELS.update({ALERT_RECEIVED: "alert", ALERT_DECISION: "route", ALERTS_CLEARED: "alert",
                    REMEDIATION_STARTED: "remedy", REMEDIATION_FINISHED: "remedy"})


def _d_received(d: dict[str, Any]) -> str:
    counts = []
    if d.get("firing"):
        counts.append(f"{d['firing']} firing")
    if d.get("resolved"):
        counts.append(f"{d['resolved']} resolved")
    what = "acknowledge" if d.get("action") == "acknowledge" else ", ".join(counts) or "no alerts"
    again = " (the same payload again: kept once)" if d.get("same_as") else ""
    return f"{d.get('format', '?')} notification received: {what}{again}"


def _d_finished(d: dict[str, Any]) -> str:
    if d.get("timed_out"):
        how = "timed out"
    elif d.get("error"):
        how = f"could not run: {d['error']}"
    else:
        how = f"exit {d.get('exit_code')}"
    out = (d.get("output") or "").strip()
    tail = f": {out.splitlines()[-1][:200]}" if out else ""
    return f"auto-remediation {how} for {d.get('alert', '?')}{tail}"


DESCRIBERS.update({
    ALERT_RECEIVED: _d_received,
    ALERT_DECISION: lambda d: str(d.get("text", "")),
    ALERTS_CLEARED: lambda d: (f"all {d.get('count', 0)} alerts resolved: the fix can be "
                               "verified (Monitoring)"),
    REMEDIATION_STARTED: lambda d: f"auto-remediation started for {d.get('alert', '?')}: "
                                   f"{d.get('command', '')}",
    REMEDIATION_FINISHED: _d_finished,
})


def _apply_decision(state: IncidentState, event: Event, body: Body) -> None:
    assert isinstance(body, AlertDecision)
    if body.route is not None:
        state.alert_route = AlertRoute(
            route=body.route, dedup_key=body.dedup_key or "",
            remediation_until=body.remediation_until,
            remediation_command=body.remediation_command,
            auto_resolve=bool(body.auto_resolve), fallback_until=body.fallback_until,
            fallback_reason=body.fallback_reason, fallback_cause=body.fallback_cause,
        )


def _apply_cleared(state: IncidentState, event: Event, body: Body) -> None:
    if state.alert_route is None:
        state.alert_route = AlertRoute(route="manual", dedup_key="")
    state.alert_route.alerts_cleared_at = event.at


def _apply_received(state: IncidentState, event: Event, body: Body) -> None:
    """Remember which event keeps each recent distinct payload (most recent last)."""
    assert isinstance(body, AlertReceived)
    if not body.content_hash:
        return
    state.payloads.pop(body.content_hash, None)
    state.payloads[body.content_hash] = body.same_as or event.event_id
    while len(state.payloads) > PAYLOADS_REMEMBERED:
        del state.payloads[next(iter(state.payloads))]


register_apply(ALERT_RECEIVED, _apply_received)
register_apply(ALERT_DECISION, _apply_decision)
register_apply(ALERTS_CLEARED, _apply_cleared)
