"""What-if for on-call and escalation (`warroom oncall simulate`, issue 17.5): who each level
of the ladder would page, and when, for an incident declared at the moments a rotation is most
likely to surprise someone: each handoff (and a minute before it, when the ladder climbs across
the handoff), each override's start and end, each daylight-saving change of a rotation's zone,
and any hours of the day the caller names.

Nobody acknowledges in a simulation: the ladder climbs to its top (the first pass; further
passes repeat it). Each level's targets are resolved at the moment that level fires, with the
overrides in force then, exactly as the engine resolves them (`resolve_target`), so a level
firing after a handoff pages the new shift.

Pure: the configuration, the window and the hours are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Annotated

from pydantic import Field

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.jsonable import Seconds, UtcTime
from warroom.domain.config.model import Config, Policy, Rotation, Target
from warroom.domain.incident.severity import Severity
from warroom.domain.oncall.escalation import Fired, next_step, resolve_target
from warroom.domain.oncall.rotation import shift_start, week_at, who_is_on_call

MAX_MOMENTS = 2000  # a window that would print more is a typo (a year of hourly --at ...)
BEFORE_HANDOFF = timedelta(minutes=1)


@dataclass(frozen=True)
class Moment:
    at: UtcTime
    why: tuple[str, ...]  # "handoff sre (bob -> carol)", "DST Europe/Berlin +01:00 -> +02:00"


@dataclass(frozen=True)
class SimulatedPage:
    level: int
    after: Annotated[Seconds, Field(serialization_alias="after_s")]  # from the declaration
    at: UtcTime
    target: str  # the target as labelled: "primary (sre)", "team lead (payments)"
    person: str | None  # None: nobody would be paged (why in `problem`)
    problem: str | None = None
    override: str | None = None  # "covers bob: dentist"


@dataclass(frozen=True)
class Simulation:
    declared_at: UtcTime
    why: tuple[str, ...]
    severity: str
    service: str | None
    policy: str
    pages: tuple[SimulatedPage, ...]
    repeats: int  # the ladder runs again this many times if nobody acknowledges


def policy_rotations(config: Config, policy: Policy, service: str | None) -> list[Rotation]:
    """The rotations the ladder's targets name (bare "primary" means the service's own)."""
    found: dict[str, Rotation] = {}
    for level in policy.levels:
        for target in level.targets:
            if target.kind != "rotation":
                continue
            rotation = (config.rotations.get(target.name) if target.name
                        else config.rotation_for(service, policy))
            if rotation is not None:
                found.setdefault(rotation.name, rotation)
    return list(found.values())


def dst_changes(tz: tzinfo, since: datetime, until: datetime) -> list[tuple[datetime, str]]:
    """Each instant in [since, until) where the zone's UTC offset changes, with "+01:00 ->
    +02:00". Found day by day, then to the second by bisection."""
    out: list[tuple[datetime, str]] = []
    day = timedelta(days=1)
    a = since
    while a < until:
        b = min(a + day, until)
        off_a, off_b = a.astimezone(tz).utcoffset(), b.astimezone(tz).utcoffset()
        if off_a != off_b:
            lo, hi = a, b
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == off_a:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(microsecond=0)
            out.append((hi, f"{_offset(off_a)} -> {_offset(off_b)}"))
        a = b
    return out


def _offset(td: timedelta | None) -> str:
    minutes = int((td or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def moments(config: Config, rotations: Iterable[Rotation], since: datetime, until: datetime,
            hours: Iterable[time] = (), hours_tz: tzinfo = UTC) -> list[Moment]:
    """The declaration times worth simulating in [since, until), each with why."""
    why: dict[datetime, list[str]] = {}

    def add(at: datetime, reason: str) -> None:
        at = at.astimezone(UTC)
        if since <= at < until:
            why.setdefault(at, []).append(reason)

    for r in rotations:
        week = max(week_at(r, since), 0)
        while (start := shift_start(r, week)) < until:
            if week > 0:
                old, new = who_is_on_call(r, start - BEFORE_HANDOFF), who_is_on_call(r, start)
                change = f"{old.primary or 'nobody'} -> {new.primary or 'nobody'}"
            else:
                change = f"first shift: {who_is_on_call(r, start).primary or 'nobody'}"
            add(start - BEFORE_HANDOFF, f"1m before handoff {r.name}")
            add(start, f"handoff {r.name} ({change})")
            week += 1
            if len(why) > MAX_MOMENTS:
                break
        for o in r.overrides:
            add(o.start, f"override starts: {o.person} covers {o.slot} on {r.name}")
            add(o.end, f"override ends: {o.person} hands {o.slot} on {r.name} back")
        for at, change in dst_changes(r.tz, since, until):
            add(at, f"daylight saving {r.timezone} {change}")
    for hour in hours:
        day = since.astimezone(hours_tz).date() - timedelta(days=1)
        while True:
            at = datetime.combine(day, hour, tzinfo=hours_tz).astimezone(UTC)
            if at >= until:
                break
            add(at, f"{hour:%H:%M} {getattr(hours_tz, 'key', None) or 'local'}")
            day += timedelta(days=1)
            if len(why) > MAX_MOMENTS:
                break
    if len(why) > MAX_MOMENTS:
        raise InvalidInput(f"the window holds more than {MAX_MOMENTS} moments to simulate: "
                           "give a shorter --from/--to or fewer --at hours")
    return [Moment(at, tuple(reasons)) for at, reasons in sorted(why.items())]


def simulate(config: Config, declared_at: datetime, severity: Severity, service: str | None,
             why: tuple[str, ...] = ()) -> Simulation:
    """The first pass of the ladder for an incident declared (and detected) at `declared_at`
    that nobody acknowledges."""
    name, policy = config.policy_for(service)
    fired: Fired = {}
    pages: list[SimulatedPage] = []
    while (step := next_step(policy, severity, declared_at, fired)) is not None \
            and step.cycle == 0:
        level = policy.levels[step.level - 1]
        for target in level.targets:
            r = resolve_target(config, policy, target, service, step.due_at)
            pages.append(SimulatedPage(step.level, step.due_at - declared_at, step.due_at,
                                       r.label, r.handle, r.problem,
                                       _override(config, policy, target, service, step.due_at)))
        fired[(step.cycle, step.level)] = step.due_at
    return Simulation(declared_at, why, severity.value, service, name, tuple(pages),
                      policy.repeat)


def _override(config: Config, policy: Policy, target: Target, service: str | None,
              at: datetime) -> str | None:
    """Who an override in force replaces, for a rotation target (as `oncall` says it)."""
    if target.kind != "rotation":
        return None
    rotation = (config.rotations.get(target.name) if target.name
                else config.rotation_for(service, policy))
    if rotation is None:
        return None
    for o in who_is_on_call(rotation, at).overrides_applied:
        if o.slot == (target.slot or "primary"):
            reason = f": {o.reason}" if o.reason else ""
            return f"covers {o.replaces or 'nobody'}{reason}"
    return None
