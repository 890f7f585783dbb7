"""`warroom oncall simulate`: who each escalation level would page, and when, for an incident
declared at each handoff, override edge and daylight-saving change of a window (and at the
hours given): the way to check a rotation before it surprises someone at 3 a.m.
(warroom/domain/oncall/simulate.py holds the pure part.)"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line, safe, when
from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.timefmt import format_duration
from warroom.domain.config.model import WEEKDAY_TITLES
from warroom.domain.incident.severity import Severity
from warroom.domain.oncall.simulate import moments, policy_rotations
from warroom.domain.oncall.simulate import simulate as simulate_at

_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
MAX_WINDOW = timedelta(days=366)


def _window(ctx: Context) -> tuple[datetime, datetime]:
    a = ctx.args
    if a.since is None or a.until is None:
        raise InvalidInput("oncall simulate needs --from DATE and --to DATE")
    since = ctx.time(a.since, "--from", lookup=True)
    until = ctx.time(a.until, "--to", lookup=True)
    assert since is not None and until is not None
    if _DATE.match(a.until):
        until += timedelta(days=1)  # a bare date: the whole of that day
    if until <= since:
        raise InvalidInput(f"--to {when(until)} is not after --from {when(since)}")
    if until - since > MAX_WINDOW:
        raise InvalidInput("the window is longer than a year: give a shorter --from/--to")
    return since, until


def _hours(texts: list[str]) -> list[time]:
    hours = []
    for text in texts:
        try:
            hours.append(time.fromisoformat(text.strip() if len(text.strip()) != 4
                                            else "0" + text.strip()))
        except ValueError:
            raise InvalidInput(f"--at {text[:40]!r}: with simulate, an hour of the day "
                               "(HH:MM)") from None
    return hours


def simulate(ctx: Context) -> int:
    a = ctx.args
    since, until = _window(ctx)
    severity = Severity.parse(a.severity)
    hours = _hours(a.at or [])
    config = ctx.config
    if a.service is not None:
        warning = config.unknown_service(a.service, "the simulation")
        if warning:
            import sys

            sys.stderr.write(f"warroom: warning: {safe(warning)}\n")
    try:
        policy_name, policy = config.policy_for(a.service)
    except KeyError as e:
        raise InvalidInput(f"no escalation policy {e}") from None
    rotations = policy_rotations(config, policy, a.service)
    if a.rotation:
        rotations = [r for r in rotations if r.name == a.rotation]
        if not rotations:
            raise InvalidInput(f"the ladder of {safe(a.service or 'the default service')} "
                               f"pages no rotation {a.rotation!r}")
    # Hours are where the people on call live: the ladder's (first) rotation's zone.
    zone: tzinfo = rotations[0].tz if rotations else ctx.local_tz
    found = moments(config, rotations, since, until, hours, zone)
    runs = [simulate_at(config, m.at, severity, a.service, m.why) for m in found]
    if ctx.json:
        emit_json({
            "window": {"from": since, "to": until}, "severity": severity.value,
            "service": a.service, "policy": policy_name,
            "rotations": [r.name for r in rotations], "acknowledged": False,
            "simulations": runs,
        })
        return 0
    line(f"oncall simulate: {severity.value} on {safe(a.service or '(no service)')}, policy "
         f"{safe(policy_name)}; declared at each moment below, nobody acknowledges, overrides "
         "applied")
    line(f"window:  {when(since)} -> {when(until)}")
    for r in rotations:
        line(f"rotation {safe(r.name)} ({r.timezone}, handoff "
             f"{WEEKDAY_TITLES[r.handoff.weekday]} {r.handoff.time:%H:%M} local)")
    if not runs:
        line("nothing to simulate in this window (no handoff, override or daylight-saving "
             "change; give --at HH:MM for hours of the day)")
        return 0
    for run in runs:
        local = run.declared_at.astimezone(zone)
        line()
        line(f"{when(run.declared_at)}  {local:%a %H:%M %Z}  {safe('; '.join(run.why))}")
        for p in run.pages:
            offset = "+" + (format_duration(p.after) if p.after else "0m")
            at_local = p.at.astimezone(zone)
            who = safe(p.person) if p.person else f"NOBODY ({safe(p.problem or 'unresolved')})"
            extra = f"  (override: {safe(p.override)})" if p.override else ""
            line(f"  L{p.level} {offset:<6} {at_local:%H:%M} {at_local.tzname() or '':<5} "
                 f"{safe(p.target):<28} "
                 f"{who}{extra}")
        if run.repeats:
            line(f"  (unacknowledged, the ladder runs again {run.repeats} more time"
                 f"{'s' if run.repeats > 1 else ''})")
    return 0

