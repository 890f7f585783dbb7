"""The drill's scorecard, from the drill room's incidents: each checklist target met or missed
with its time, the customer-update cadence kept or not, who held which role and when, the
escalations that fired, and for a replay the original incident's times beside the drill's.

Times are offsets from each incident's detection, so a drill and its original compare whatever
day each ran. Pure: `now` is the drill clock's end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from warroom.domain.incident.clocks import ClockState, response_clocks
from warroom.domain.incident.kinds.records import CUSTOMER_AUDIENCES
from warroom.domain.incident.severity import SEVERITIES
from warroom.domain.incident.state import IncidentState

from .scenario import format_offset


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    target: str
    result: str  # met | missed | late | open | no target | waiting
    done_at: str | None  # offset from detection, "+4m10s"
    original: str | None = None  # a replay: the original's offset


@dataclass(frozen=True)
class Stint:
    role: str
    person: str
    start: str
    end: str | None


@dataclass(frozen=True)
class Fired:
    level: int
    at: str
    targets: list[str]
    reason: str
    pages: list[str]


@dataclass(frozen=True)
class IncidentCard:
    incident: str
    title: str
    severity: str
    status: str
    acknowledged: str | None
    resolved: str | None
    targets: list[Target]
    cadence: str  # "kept (3 updates, every 15m)" / "missed: 22m gap after +10m" / "none"
    cadence_kept: bool | None
    roles: list[Stint]
    escalations: list[Fired]
    original_acknowledged: str | None = None
    original_resolved: str | None = None
    original_actions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scorecard:
    drill: bool
    scenario: str | None
    replay_of: str | None
    incidents: list[IncidentCard]


_RESULT = {ClockState.DONE: "met", ClockState.DONE_LATE: "late", ClockState.MISSED: "missed",
           ClockState.OVERDUE: "missed", ClockState.RUNNING: "open",
           ClockState.WAITING: "waiting", ClockState.NO_TARGET: "no target"}


def _off(state: IncidentState, at: datetime | None) -> str | None:
    return None if at is None else format_offset(at - state.detected_at)


def _cadence(state: IncidentState, now: datetime) -> tuple[str, bool | None]:
    every = SEVERITIES[state.severity].update_every
    if every is None:
        return f"none required for {state.severity.value}", None
    times = sorted(c.at for c in state.communications if c.audience in CUSTOMER_AUDIENCES)
    end = state.resolved_at or now
    marks = [state.detected_at, *times, end]
    worst = max(((b - a, a) for a, b in pairwise(marks)),
                default=(timedelta(0), state.detected_at))
    n = len(times)
    if worst[0] <= every:
        return f"kept ({n} update{'s' if n != 1 else ''}, every {format_offset(every)[1:]})", True
    return (f"missed: {format_offset(worst[0])[1:]} without an update after "
            f"{_off(state, worst[1])} (target every {format_offset(every)[1:]})", False)


def incident_card(state: IncidentState, now: datetime,
                  original: IncidentState | None = None,
                  original_actions: list[tuple[timedelta, str]] | None = None) -> IncidentCard:
    clocks = response_clocks(state, now)
    orig_clocks = ({c.key: c for c in response_clocks(original, original.last_event_at)}
                   if original is not None else {})
    targets = []
    for c in clocks:
        o = orig_clocks.get(c.key)
        targets.append(Target(
            key=c.key, label=c.label, target=c.target_text, result=_RESULT.get(c.state, c.state),
            done_at=_off(state, c.done_at),
            original=(_off(original, o.done_at) or "not done") if (o and original) else None))
    cadence, kept = _cadence(state, now)
    roles = [Stint(s.role.value, s.person, _off(state, s.start) or "",
                   _off(state, s.end)) for s in state.role_history]
    fired = [Fired(r.level, _off(state, r.at) or "", list(r.targets), r.reason,
                   [f"{d.recipient} via {d.channel}: {d.detail or d.outcome}"
                    for d in r.deliveries]) for r in state.escalations]
    return IncidentCard(
        incident=state.id, title=state.title, severity=state.severity.value,
        status=state.status.value, acknowledged=_off(state, state.acknowledged_at),
        resolved=_off(state, state.first_resolved_at), targets=targets, cadence=cadence,
        cadence_kept=kept, roles=roles, escalations=fired,
        original_acknowledged=_off(original, original.acknowledged_at) if original else None,
        original_resolved=_off(original, original.first_resolved_at) if original else None,
        original_actions=[f"{format_offset(o)} {t}" for o, t in (original_actions or [])],
    )


def render_markdown(card: Scorecard) -> str:
    """The scorecard as Markdown (a drill's debrief document). Untrusted text verbatim."""
    head = "# Drill scorecard" if card.drill else "# Scorecard (NOT a drill room)"
    out = [head, ""]
    if card.scenario:
        out.append(f"Scenario: {card.scenario}")
    if card.replay_of:
        out.append(f"Replay of: {card.replay_of} (original times side by side)")
    if not card.incidents:
        out.append("No incident in this drill room.")
    side = card.replay_of is not None
    for inc in card.incidents:
        out += ["", f"## {inc.incident} {inc.severity} {inc.status}: {inc.title}", ""]
        ack = inc.acknowledged or "never"
        res = inc.resolved or "not resolved"
        if side:
            ack += f" (original: {inc.original_acknowledged or 'never'})"
            res += f" (original: {inc.original_resolved or 'not resolved'})"
        out += [f"- Acknowledged: {ack}", f"- Resolved: {res}",
                f"- Update cadence: {inc.cadence}", "", "### Checklist", ""]
        cols = "| item | target | result | done at |" + (" original |" if side else "")
        out += [cols, "|---|---|---|---|" + ("---|" if side else "")]
        for t in inc.targets:
            row = f"| {t.label} | {t.target} | {t.result} | {t.done_at or '-'} |"
            out.append(row + (f" {t.original or '-'} |" if side else ""))
        out += ["", "### Roles", ""]
        out += [f"- {s.role}: {s.person} from {s.start}" + (f" to {s.end}" if s.end else "")
                for s in inc.roles] or ["- nobody took a role"]
        out += ["", "### Escalations", ""]
        for f in inc.escalations:
            out.append(f"- L{f.level} at {f.at} ({f.reason}): {', '.join(f.targets) or 'nobody'}")
            out += [f"  - {p}" for p in f.pages]
        if not inc.escalations:
            out.append("- none fired")
        if inc.original_actions:
            out += ["", "### What the original responders did", ""]
            out += [f"- {a}" for a in inc.original_actions]
    return "\n".join(out) + "\n"
