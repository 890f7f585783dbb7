"""A scenario built from a past incident's log: its alerts and severity changes at their
original offsets (from the incident's first event), the rest of what its responders did kept
aside as `original` (shown in the scorecard; hidden from the drill with --blind).

Pure and ordered by the log's versions, so the same incident gives the same scenario every
time: two replays at one speed feed the same events in the same order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from warroom.domain.incident.events import Event
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.kinds.alerts import AlertReceived
from warroom.domain.incident.kinds.lifecycle import SeverityChanged
from warroom.domain.incident.state import IncidentState

from .scenario import Meta, Scenario, Step

# Kinds the drill machinery writes itself: not the original responders' actions.
_MACHINE_KINDS = frozenset({"declared", "alert_received", "severity_changed", "escalated",
                            "page_delivered", "page_failed", "page_cancelled", "page_claimed",
                            "page_withheld", "escalation_held"})


def replay_scenario(state: IncidentState, events: Sequence[Event]) -> Scenario:
    """The scenario that re-lives `state` (the incident) from its events."""
    origin = state.declared_at  # the log's first event: the scenario's +0m
    steps: list[Step] = []
    original: list[tuple[timedelta, str]] = []
    payloads: dict[str, object] = {}
    # What the receiver wrote beside each alert (routing decisions, the on-call's role, the
    # initial status) comes back when the replayed alert goes through the receiver again.
    machines = {e.actor for e in events if e.kind == AlertReceived.kind} | {"engine"}
    for e in sorted(events, key=lambda e: e.version):
        offset = max(e.at - origin, timedelta(0))
        if e.kind == AlertReceived.kind:
            # A repeat keeps its payload once: the post it repeats holds it.
            payload = e.data.get("payload") or payloads.get(str(e.data.get("same_as")))
            payloads[e.event_id] = payload
            if isinstance(payload, dict):
                steps.append(Step(at=offset, alert=payload,
                                  format=_format(str(e.data.get("format", "auto")))))
            continue
        if e.kind == SeverityChanged.kind:
            steps.append(Step(at=offset, severity=str(e.data["to_severity"]),
                              reason=f"as in {state.id}"))
            continue
        if e.kind in _MACHINE_KINDS or e.actor in machines:
            continue
        original.append((offset, f"{e.actor}: {describe(e)}"))
    end = (state.resolved_at or state.last_event_at) - origin
    meta = Meta(name=f"replay-{state.id}", description=f"Replay of {state.id}: {state.title}",
                severity=state.severity_history[0].to_severity.value,
                service=state.service, duration=max(end, timedelta(minutes=1)),
                replay_of=state.id)
    return Scenario(meta=meta, steps=steps, original=original)


def _format(name: str) -> str:
    return name if name in ("alertmanager", "pagerduty") else "auto"

