"""The escalation clock: which levels have fired, which is next, when, and who it pages.

Pure: the policy, the incident's state (its `escalations` come from `escalated` events) and `now`
decide everything, so every screen and every engine process computes the same answer.

Timing. A level's delay (`after`) is measured from the incident's detection, so the seed's
ladder pages L2 at T+5 min, L3 at T+10 and L4 at T+15. A level also waits at least its gap
after the previous level really fired: an engine that was down, or an incident declared with a
backdated detection, climbs the ladder one step at a time (each level gets its full window)
instead of paging everybody at once. A manual "escalate now" never delays what follows.

Stops. Acknowledgement freezes the climb (nothing more fires by itself; "escalate now" still
works, a human asked for it). Resolution ends it. A reopened incident that was never
acknowledged climbs on from where it was.

Hold. An `escalation_held` event keeps the ladder from starting before a time: the alert
receiver holds it while an auto-remediation runs, while a non-critical team is notified in
business hours, or until the next business morning for an alert that can wait. While held, the
ladder's start is the hold's end (L1 fires then, L2 its delay after...). The hold stops counting
once any level fires after it was set (a manual "escalate now", or L1 when it ran out); a later
hold replaces an earlier one, and a hold that ends at or before its own time releases it.

Lapse. A ladder nobody touched for its whole length plus LAPSE_MARGIN (a day) is stale: an
imported history, a room whose engine never ran. Its levels are not fired by timeout any more
(paging people now for a week-old incident is noise that teaches them to ignore pages); the pane
says "lapsed", and "escalate now" still pages. Anything that happens on the incident (a reopen,
a severity change, a note, a level fired) restarts the count.

Repeat. With `repeat = N` the whole ladder runs again up to N times, each pass starting
`repeat_after` after the previous pass's last level fired. Each level fires exactly once per
incident per pass: its event id is idempotent_id("{incident}:escalation:{cycle}:{level}").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import computed_field

from warroom.domain.alerts.state import LadderHold
from warroom.domain.common.errors import TransitionRefused
from warroom.domain.common.jsonable import Seconds, UtcTime
from warroom.domain.common.timefmt import format_clock, format_duration, shift
from warroom.domain.config.model import Config, Level, Policy, Target, default_config
from warroom.domain.incident.events import NewEvent, idempotent_id
from warroom.domain.incident.kinds.paging import Escalated, EscalationHeld
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import EscalationRecord, IncidentState
from warroom.domain.incident.status import Status
from warroom.domain.oncall.rotation import who_is_on_call

Fired = dict[tuple[int, int], datetime]  # (cycle, level) -> when it fired

# How long past its last level an untouched ladder stays live (see "Lapse" above): long enough
# for an engine that was down for hours to catch up, short enough that last week's forgotten
# incident never pages anyone.
LAPSE_MARGIN = timedelta(hours=24)


def escalation_event_id(incident_id: str, cycle: int, level: int) -> str:
    return idempotent_id(f"{incident_id}:escalation:{cycle}:{level}")


def hold_ladder(until: datetime, reason: str, actor: str, at: datetime | None = None,
                cause: str = "manual", event_id: str | None = None) -> list[NewEvent]:
    """The event that holds (or, with `until` <= `at`, releases) an incident's ladder."""
    body = EscalationHeld(until=until.astimezone(UTC), reason=reason, cause=cause)
    return [NewEvent.of(body, actor, at, event_id)]


def active_hold(state: IncidentState) -> LadderHold | None:
    """The hold in force: set, and no level fired since it was set."""
    hold = state.escalation_hold
    if hold is None:
        return None
    if any(r.at >= hold.at for r in state.escalations):
        return None
    return hold


def ladder_start(state: IncidentState) -> datetime:
    """Where the delays are measured from: detection (the seed's T+0), or the end of a hold."""
    hold = active_hold(state)
    if hold is not None and hold.until > state.detected_at:
        return hold.until
    return state.detected_at


def fired_steps(state: IncidentState) -> Fired:
    fired: Fired = {}
    for r in state.escalations:
        fired.setdefault((r.cycle, r.level), r.at)
    return fired


def lapsed_at(policy: Policy, state: IncidentState) -> datetime:
    """When the ladder lapses if nothing happens on the incident: its last activity (or the
    end of a hold), plus the ladder's length for this severity, plus LAPSE_MARGIN."""
    span = max((lvl.after for lvl in policy.levels if lvl.applies_to(state.severity)),
               default=timedelta(0))
    # The latest activity the record shows; each list's own times, since the last event's
    # time may be backdated (a note of what happened last week, written now).
    anchor = max([state.last_event_at, state.declared_at, ladder_start(state),
                  *(r.at for r in state.escalations), *(c.at for c in state.status_history),
                  *(c.at for c in state.severity_history)])
    return shift(anchor, span + LAPSE_MARGIN)


@dataclass(frozen=True)
class Step:
    cycle: int
    level: int  # 1-based
    due_at: datetime


def next_step(policy: Policy, severity: Severity, start: datetime, fired: Fired) -> Step | None:
    """The next level to fire (ignoring acknowledgement and resolution), or None at the top of
    the last pass."""
    levels = policy.levels
    cycle_start = start
    for cycle in range(policy.repeat + 1):
        done = sorted((lvl, at) for (c, lvl), at in fired.items() if c == cycle)
        top = done[-1][0] if done else 0
        last_at = max((at for _, at in done), default=None)
        candidates = [i for i in range(top + 1, len(levels) + 1)
                      if levels[i - 1].applies_to(severity)]
        if candidates:
            n = candidates[0]
            due = shift(cycle_start, levels[n - 1].after)
            if done and last_at is not None and 1 <= top <= len(levels):
                gap = levels[n - 1].after - levels[top - 1].after
                due = max(due, shift(last_at, gap))
            elif done and last_at is not None:
                due = max(due, last_at)
            return Step(cycle, n, due)
        if last_at is None:
            return None  # nothing in this pass applies to the severity: nothing ever will
        cycle_start = shift(last_at, policy.repeat_after)
    return None


# ---- resolving targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    spec: str  # the target as written: "primary", "team_lead"...
    handle: str | None  # who it is, or None if nobody could be found
    label: str  # "primary (sre)", "team lead (payments)", "alice"
    problem: str | None = None  # why nobody, for the timeline


def resolve_target(config: Config, policy: Policy, target: Target, service: str | None,
                   at: datetime) -> Resolved:
    spec = str(target)
    if target.kind == "person":
        return Resolved(spec, target.name, target.name)
    if target.kind == "rotation":
        rotation = (config.rotations.get(target.name) if target.name
                    else config.rotation_for(service, policy))
        if rotation is None:
            return Resolved(spec, None, target.label, f"{target.slot}: no rotation configured")
        oncall = who_is_on_call(rotation, at)
        who = oncall.holder(target.slot or "primary")
        label = f"{target.slot} ({rotation.name})"
        if who is None:
            return Resolved(spec, None, label, f"{target.slot}: nobody on {rotation.name}")
        return Resolved(spec, who, label)
    role = target.name
    if role in ("cto", "ceo"):
        who = getattr(config.org, role)
        label = target.label
        return Resolved(spec, who, label, None if who else f"{label}: not configured")
    team_name, team = config.team_for(service)
    label = target.label + (f" ({team_name})" if team_name else "")
    if team is None:
        why = (f"no team for service {service!r}" if service else "the incident has no service")
        return Resolved(spec, None, label, f"{target.label}: {why}")
    who = getattr(team, "lead" if role == "team_lead" else role)
    return Resolved(spec, who, label, None if who else f"{label}: not configured")


def resolve_level(config: Config, policy: Policy, level: Level, service: str | None,
                  at: datetime) -> list[Resolved]:
    return [resolve_target(config, policy, t, service, at) for t in level.targets]


# ---- deciding what fires -----------------------------------------------------------------------


def _event(config: Config, policy_name: str, policy: Policy, state: IncidentState, step: Step,
           at: datetime, actor: str, reason: str, drill: bool = False) -> NewEvent:
    level = policy.levels[step.level - 1]
    resolved = resolve_level(config, policy, level, state.service, at)
    targets: list[str] = []
    labels: dict[str, str] = {}
    for r in resolved:
        if r.handle and r.handle not in labels:
            targets.append(r.handle)
            labels[r.handle] = r.label
        elif r.handle:
            labels[r.handle] += f", {r.label}"
    body = Escalated(
        level=step.level, targets=targets, reason=reason, policy=policy_name, cycle=step.cycle,
        labels=labels, unresolved=[r.problem for r in resolved if r.problem],
        due_at=step.due_at, drill=drill or None,
    )
    return NewEvent.of(body, actor, at, escalation_event_id(state.id, step.cycle, step.level))


def due_escalations(config: Config, state: IncidentState, now: datetime,
                    actor: str = "engine", drill: bool = False) -> list[NewEvent]:
    """The escalation events that should be recorded as of `now` (usually none or one; several
    when levels share a delay). Each is stamped `now`, the time the pages go out. `drill`: an
    engine that sends no pages marks its levels so that no other engine sends them either."""
    if state.status == Status.RESOLVED or state.acknowledged_at is not None:
        return []
    policy_name, policy = config.policy_for(state.service)
    if now >= lapsed_at(policy, state):
        return []
    fired = fired_steps(state)
    start = ladder_start(state)
    out: list[NewEvent] = []
    while True:
        step = next_step(policy, state.severity, start, fired)
        if step is None or step.due_at > now:
            return out
        out.append(_event(config, policy_name, policy, state, step, now, actor, "timeout",
                          drill))
        fired[(step.cycle, step.level)] = now


def escalate_now(state: IncidentState, config: Config, actor: str, now: datetime,
                 drill: bool = False) -> list[NewEvent]:
    """The dashboard's `e` and `warroom escalate`: fire the next level at once (one level)."""
    if state.status == Status.RESOLVED:
        raise TransitionRefused(f"{state.id} is resolved: there is nobody left to escalate to")
    policy_name, policy = config.policy_for(state.service)
    step = next_step(policy, state.severity, ladder_start(state), fired_steps(state))
    if step is None:
        top = max((r.level for r in state.escalations), default=0)
        raise TransitionRefused(
            f"{state.id} is already at the top of escalation policy {policy_name!r}"
            + (f" (L{top} paged)" if top else "")
        )
    return [_event(config, policy_name, policy, state, step, now, actor, "manual", drill)]


def next_due_at(config: Config, state: IncidentState,
                now: datetime | None = None) -> datetime | None:
    """When this incident next needs the engine (None: frozen, ended, at the top, or lapsed:
    due only after its ladder lapses, or, given `now`, lapsed by then)."""
    if state.status == Status.RESOLVED or state.acknowledged_at is not None:
        return None
    _, policy = config.policy_for(state.service)
    step = next_step(policy, state.severity, ladder_start(state), fired_steps(state))
    lapse = lapsed_at(policy, state)
    if step is None or step.due_at >= lapse or (now is not None and now >= lapse):
        return None
    return step.due_at


# ---- the escalation pane -----------------------------------------------------------------------


@dataclass(frozen=True)
class PagedPerson:
    handle: str
    label: str  # how they were chosen: "secondary (sre), team lead (payments)"
    delivery: str  # "delivered via webhook", "failed 2/5, retrying", "no channel configured"...
    delivered: bool
    failed: bool  # every channel gave up (final failure)


@dataclass(frozen=True)
class LevelView:
    level: int
    after: Seconds
    targets: list[str]  # as configured: "secondary", "team_lead"
    target_labels: list[str]  # for people: "secondary", "team lead"
    applies: bool  # False: skipped for this severity
    state: str  # fired | next | frozen | pending | skipped | ended
    fired_at: UtcTime | None = None
    reason: str | None = None  # timeout | manual
    actor: str | None = None
    paged: list[PagedPerson] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    due_at: UtcTime | None = None  # the next level's due time
    would_page: list[str] = field(default_factory=list)  # who an unfired level pages now


@dataclass(frozen=True)
class EscalationView:
    incident_id: str
    policy: str
    cycle: int  # the pass shown (0 = first)
    passes: int  # 1 + repeat
    levels: list[LevelView]
    history: list[EscalationRecord]  # every level fired, every pass, in order
    next_level: int | None
    next_cycle: int | None
    next_due_at: UtcTime | None
    countdown: Seconds | None  # next_due_at - now (negative: due, the engine is late)
    frozen: bool
    acknowledged_by: str | None
    acknowledged_at: UtcTime | None
    ended: bool
    resolved_at: UtcTime | None
    exhausted: bool  # the top of the last pass fired: nothing left to climb
    held_until: UtcTime | None = None  # the ladder waits for this (escalation_held)
    hold_reason: str | None = None
    lapsed_at: UtcTime | None = None  # the ladder went stale then: nothing fires by itself

    @property
    def current_level(self) -> int:
        return max((r.level for r in self.history if r.cycle == self.cycle), default=0)

    @computed_field(alias="status_text")  # type: ignore[prop-decorator]
    @property
    def status_line(self) -> str:
        """status_text(), in the JSON."""
        return self.status_text()

    def status_text(self) -> str:
        """One line for the pane's header; says everything in words, not only colour."""
        if self.ended:
            at = f" at {self.resolved_at:%H:%MZ}" if self.resolved_at else ""
            return f"ended: resolved{at}" + (f" at L{self.current_level}"
                                             if self.current_level else "")
        if self.frozen:
            at = f" at {self.acknowledged_at:%H:%MZ}" if self.acknowledged_at else ""
            return (f"frozen: acknowledged by {self.acknowledged_by}{at}"
                    + (f" at L{self.current_level}" if self.current_level else " before L1"))
        if self.lapsed_at is not None:
            return (f"lapsed {self.lapsed_at:%Y-%m-%d %H:%MZ}: nothing happened for a day, "
                    f"so nobody is paged (escalate by hand)")
        if self.exhausted:
            return f"top of the ladder: L{self.current_level} paged, nobody acknowledged"
        if self.next_level is None or self.countdown is None:
            return "no level applies to this severity"
        again = f" (repeat {self.next_cycle})" if self.next_cycle else ""
        if self.held_until is not None and self.countdown.total_seconds() > 0:
            return (f"held until {self.held_until:%H:%MZ} ({self.hold_reason}): "
                    f"L{self.next_level}{again} in {format_clock(self.countdown)}")
        if self.countdown.total_seconds() <= 0:
            return f"L{self.next_level}{again} due now"
        return f"L{self.next_level}{again} in {format_clock(self.countdown)}"


def escalation_view(policy: Policy, state: IncidentState, now: datetime, *,
                    config: Config | None = None, policy_name: str = "default") -> EscalationView:
    """Everything the escalation pane shows. With `config`, unfired levels show who they would
    page now and each paged person's delivery status says whether they have a channel."""
    cfg = config or default_config()
    fired = fired_steps(state)
    step = next_step(policy, state.severity, ladder_start(state), fired)
    ended = state.status == Status.RESOLVED
    frozen = not ended and state.acknowledged_at is not None
    cycles_fired = [c for c, _ in fired]
    cycle = step.cycle if step else max(cycles_fired, default=0)
    records = {(r.cycle, r.level): r for r in reversed(state.escalations)}
    levels: list[LevelView] = []
    for i, level in enumerate(policy.levels, start=1):
        common = dict(level=i, after=level.after, targets=[str(t) for t in level.targets],
                      target_labels=[t.label for t in level.targets],
                      applies=level.applies_to(state.severity))
        rec = records.get((cycle, i))
        if rec is not None:
            levels.append(LevelView(
                **common, state="fired", fired_at=rec.at, reason=rec.reason, actor=rec.actor,
                paged=[_paged(cfg, policy, rec, h) for h in rec.targets],
                unresolved=list(rec.unresolved),
            ))
            continue
        if not common["applies"]:
            levels.append(LevelView(**common, state="skipped"))
            continue
        is_next = step is not None and step.cycle == cycle and step.level == i
        at = step.due_at if is_next and step and step.due_at > now else now
        would = [r.handle or f"({r.problem})"
                 for r in resolve_level(cfg, policy, level, state.service, at)]
        if ended:
            kind = "ended"
        elif is_next:
            kind = "frozen" if frozen else "next"
        else:
            kind = "pending" if not frozen else "frozen"
        levels.append(LevelView(**common, state=kind, due_at=step.due_at if is_next and step
                                else None, would_page=would))
    lapse = lapsed_at(policy, state)
    lapsed = not (ended or frozen) and step is not None and now >= lapse
    due = step.due_at if step and not lapsed else None
    hold = active_hold(state)
    if hold is not None and hold.until <= state.detected_at:
        hold = None
    return EscalationView(
        incident_id=state.id,
        policy=policy_name,
        cycle=cycle,
        passes=policy.repeat + 1,
        levels=levels,
        history=list(state.escalations),
        next_level=step.level if step else None,
        next_cycle=step.cycle if step else None,
        next_due_at=due if not (ended or frozen) else None,
        countdown=(due - now) if due is not None and not (ended or frozen) else None,
        frozen=frozen,
        acknowledged_by=state.acknowledged_by,
        acknowledged_at=state.acknowledged_at,
        ended=ended,
        resolved_at=state.resolved_at,
        exhausted=step is None and bool(state.escalations),
        held_until=hold.until if hold is not None and not (ended or frozen) else None,
        hold_reason=hold.reason if hold is not None and not (ended or frozen) else None,
        lapsed_at=lapse if lapsed else None,
    )


def escalation_view_for(config: Config, state: IncidentState, now: datetime) -> EscalationView:
    """The view with the incident's own policy (its service's, its team's, or the default)."""
    name, policy = config.policy_for(state.service)
    return escalation_view(policy, state, now, config=config, policy_name=name)


def _paged(config: Config, policy: Policy, rec: EscalationRecord, handle: str) -> PagedPerson:
    label = rec.labels.get(handle, "")
    mine = [d for d in rec.deliveries if d.recipient == handle]
    person = config.people.get(handle)
    channels = person.channels if person else []
    if not mine:
        if rec.drill:
            return PagedPerson(handle, label, "not sent (drill: --no-deliver)", False, False)
        if not channels:
            text = "in the room only (no channel configured)"
        else:
            text = "sending via " + ", ".join(channels)
        return PagedPerson(handle, label, text, False, False)
    by_channel: dict[str, list] = {}
    for d in mine:
        by_channel.setdefault(d.channel, []).append(d)
    parts: list[str] = []
    delivered = failed_all = False
    finals = 0
    for channel, records in by_channel.items():
        last = records[-1]
        if any(r.outcome == "delivered" for r in records):
            delivered = True
            parts.append(f"delivered via {channel}")
        elif last.outcome == "failed" and last.retry_at is None:
            finals += 1
            parts.append(f"{channel} FAILED after {last.attempt} attempts")
        elif last.outcome == "failed":
            parts.append(f"{channel} failed {last.attempt}/{config.notifier.attempts}, "
                         f"retrying")
        elif last.outcome == "cancelled" and last.detail.startswith("drill:"):
            parts.append(f"{channel} not sent (drill room)")  # PageWithheld
        elif last.outcome == "cancelled":
            parts.append(f"{channel} stopped ({last.detail})" if last.detail
                         else f"{channel} stopped")
        else:
            parts.append(f"{channel} sending")
    failed_all = not delivered and finals == len(by_channel)
    return PagedPerson(handle, label, "; ".join(parts), delivered, failed_all)


def countdown_text(view: EscalationView) -> str:
    """"L2 in 4:59" / "frozen" / "ended": the short form for a list row."""
    if view.ended:
        return "ended"
    if view.frozen:
        return "frozen (acked)"
    if view.countdown is None:
        return "top" if view.exhausted else "-"
    if view.countdown.total_seconds() <= 0:
        return f"L{view.next_level} due"
    return f"L{view.next_level} in {format_duration(view.countdown, precise=True)}"
