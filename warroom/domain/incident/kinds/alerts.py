"""Alerts on the timeline: alerts attached and resolved, and what the alert receiver records
(each notification as it arrived, its decisions, the auto-remediation it ran)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from warroom.domain.alerts.state import AlertRoute
from warroom.domain.incident.events import Event, Kind, Tone
from warroom.domain.incident.state import AlertRecord, IncidentState

MAX_KEYS_LISTED = 200  # alert keys an `alert_received` event lists
PAYLOADS_REMEMBERED = 64  # distinct payload contents an incident's state refers back to


class AlertAttached(Kind):
    """An alert fires on the incident (again: the fold counts repeats)."""

    kind = "alert_attached"
    label = "alert"
    tone = Tone.ALERT
    text_field = "summary"

    source: str
    key: str
    summary: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    repeat: int | None = None  # the alert's n-th repeat notification (the fold counts them)

    def describe(self) -> str:
        # A body written without a summary names its key (one written with "" says nothing).
        what = self.summary if "summary" in self.model_fields_set else self.key
        again = f" (repeat {self.repeat})" if self.repeat else ""
        return f"alert {self.source}: {what}{again}"

    def apply(self, state: IncidentState, event: Event) -> None:
        existing = state.alerts.get(self.key)
        if existing is None:
            state.alerts[self.key] = AlertRecord(
                key=self.key, source=self.source, summary=self.summary, firing=True,
                first_at=event.at, last_at=event.at,
            )
        else:
            existing.firing = True
            existing.resolved_at = None
            existing.last_at = event.at
            existing.count += 1
        if state.alert_route is not None:
            state.alert_route.alerts_cleared_at = None  # an alert fires (again)


class AlertResolved(Kind):
    kind = "alert_resolved"
    label = "alert"
    tone = Tone.CLEAR

    source: str
    key: str

    def describe(self) -> str:
        return f"alert resolved {self.source}: {self.key}"

    def apply(self, state: IncidentState, event: Event) -> None:
        existing = state.alerts.get(self.key)
        if existing is not None:
            existing.firing = False
            existing.resolved_at = event.at
            existing.last_at = event.at


class AlertReceived(Kind):
    """One notification as it arrived, with how it was mapped."""

    kind = "alert_received"
    label = "alert"
    tone = Tone.QUIET

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

    def describe(self) -> str:
        counts = []
        if self.firing:
            counts.append(f"{self.firing} firing")
        if self.resolved:
            counts.append(f"{self.resolved} resolved")
        what = "acknowledge" if self.action == "acknowledge" else ", ".join(counts) or "no alerts"
        again = " (the same payload again: kept once)" if self.same_as else ""
        return f"{self.format} notification received: {what}{again}"

    def apply(self, state: IncidentState, event: Event) -> None:
        """Remember which event keeps each recent distinct payload (most recent last)."""
        if not self.content_hash:
            return
        state.payloads.pop(self.content_hash, None)
        state.payloads[self.content_hash] = self.same_as or event.event_id
        while len(state.payloads) > PAYLOADS_REMEMBERED:
            del state.payloads[next(iter(state.payloads))]


class AlertDecision(Kind):
    """One step of the receiver's decisions, in words, with its reason."""

    kind = "alert_decision"
    label = "route"
    tone = Tone.QUIET

    step: str  # mapped | route | oncall | clocks | remediation | closed
    text: str = Field(min_length=1)
    # On the "route" step: what the fold keeps (alerts.state.AlertRoute).
    route: str | None = None
    dedup_key: str | None = None
    remediation_until: datetime | None = None
    remediation_command: str | None = None
    auto_resolve: bool | None = None
    fallback_until: datetime | None = None
    fallback_reason: str | None = None
    fallback_cause: str | None = None

    def describe(self) -> str:
        return self.text

    def apply(self, state: IncidentState, event: Event) -> None:
        if self.route is not None:
            state.alert_route = AlertRoute(
                route=self.route, dedup_key=self.dedup_key or "",
                remediation_until=self.remediation_until,
                remediation_command=self.remediation_command,
                auto_resolve=bool(self.auto_resolve), fallback_until=self.fallback_until,
                fallback_reason=self.fallback_reason, fallback_cause=self.fallback_cause,
            )


class AlertsCleared(Kind):
    kind = "alerts_cleared"
    label = "alert"
    tone = Tone.QUIET

    count: int = 0

    def describe(self) -> str:
        return f"all {self.count} alerts resolved: the fix can be verified (Monitoring)"

    def apply(self, state: IncidentState, event: Event) -> None:
        if state.alert_route is None:
            state.alert_route = AlertRoute(route="manual", dedup_key="")
        state.alert_route.alerts_cleared_at = event.at


class RemediationStarted(Kind):
    kind = "remediation_started"
    label = "remedy"
    tone = Tone.QUIET

    alert: str
    command: str

    def describe(self) -> str:
        return f"auto-remediation started for {self.alert}: {self.command}"


class RemediationFinished(Kind):
    kind = "remediation_finished"
    label = "remedy"
    tone = Tone.QUIET

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

    def describe(self) -> str:
        if self.timed_out:
            how = "timed out"
        elif self.error:
            how = f"could not run: {self.error}"
        else:
            how = f"exit {self.exit_code}"
        out = self.output.strip()
        tail = f": {out.splitlines()[-1][:200]}" if out else ""
        return f"auto-remediation {how} for {self.alert}{tail}"
