"""Incident commands: declare, list, show, and every state change the dashboard makes."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from warroom.cli.context import Context
from warroom.cli.output import (
    ago,
    emit_json,
    event_json,
    event_line,
    incident_json,
    line,
    row_line,
    safe,
    when,
)
from warroom.domain.common.jsonable import to_json
from warroom.domain.incident import commands
from warroom.domain.incident.checklist import parse_item
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.kinds.records import meeting_text
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import (
    SEVERITIES,
    Assessment,
    DataRisk,
    Reputation,
    SecurityImpact,
    Severity,
    suggest_severity,
)
from warroom.domain.incident.state import IncidentState, parse_incident_id
from warroom.domain.incident.status import Phase, Status, allowed_moves
from warroom.store.base import AppendResult
from warroom.store.execute import Decide, execute


def _assessment(args: argparse.Namespace) -> Assessment | None:
    values = {
        "revenue_per_minute": args.revenue_per_min,
        "users_affected_pct": args.users_pct,
        "data_risk": DataRisk(args.data_risk) if args.data_risk else None,
        "security": SecurityImpact(args.security) if args.security else None,
        "reputation": Reputation(args.reputation) if args.reputation else None,
        "recovery_hours": args.recovery_hours,
    }
    if all(v is None for v in values.values()):
        return None
    return Assessment(**values)


def _report(ctx: Context, result: AppendResult) -> int:
    if ctx.json:
        emit_json({
            "incident_id": result.incident_id,
            "version": result.version,
            "duplicate": result.duplicate,
            "events": [event_json(e) for e in result.events],
        })
    else:
        for e in result.events:
            line(f"{e.incident_id} v{e.version}: {safe(describe(e))}")
    return 0


async def _mutate(ctx: Context, decide: Decide) -> int:
    incident_id = parse_incident_id(ctx.args.incident)
    async with await ctx.store(write=True) as store:
        result = await execute(store, incident_id, decide,
                               expected_version=ctx.args.expect_version,
                               retry=ctx.retry(ctx.args.expect_version))
    return _report(ctx, result)


async def declare(ctx: Context) -> int:
    a = ctx.args
    events = commands.declare(
        a.title,
        Severity.parse(a.severity),
        ctx.actor,
        at=ctx.time(a.at),
        service=a.service,
        summary=a.summary,
        started_at=ctx.time(a.started_at, "--started-at"),
        detected_at=ctx.time(a.detected_at, "--detected-at"),
        source="cli",
    )
    async with await ctx.store(write=True) as store:
        result = await execute(store, None, lambda _: events)
    _warn_service(ctx, a.service, result.incident_id)
    return _report(ctx, result)


def _warn_service(ctx: Context, name: str | None, incident_id: str) -> None:
    """Say on stderr when `name` is not a configured service. A broken configuration file
    never stops a declaration in an outage: it only loses the warning."""
    import sys

    from warroom.domain.config.fields import ConfigError

    try:
        warning = ctx.config.unknown_service(name, incident_id)
    except ConfigError:
        return
    if warning:
        sys.stderr.write(f"warroom: warning: {safe(warning)}\n")


async def service(ctx: Context) -> int:
    a = ctx.args
    at = ctx.time(a.at)
    incident_id = parse_incident_id(a.incident)
    code = await _mutate(ctx, lambda s: commands.change_service(s, a.service, ctx.actor, at))
    _warn_service(ctx, a.service, incident_id)
    return code


async def ack(ctx: Context) -> int:
    at = ctx.time(ctx.args.at)
    return await _mutate(ctx, lambda s: commands.acknowledge(s, ctx.actor, at, ctx.args.note))


async def status(ctx: Context) -> int:
    a = ctx.args
    at, to = ctx.time(a.at), Status.parse(a.status)

    def decide(s: IncidentState) -> list[Any]:
        events = commands.change_status(s, to, ctx.actor, at, a.reason)
        if a.cause:
            events += commands.record_fact(s, "root_cause", a.cause, ctx.actor, at)
        if a.impact:
            events += commands.record_fact(s, "impact", a.impact, ctx.actor, at)
        return events

    return await _mutate(ctx, decide)


async def schedule_postmortem(ctx: Context) -> int:
    a = ctx.args
    at = ctx.time(a.at)
    meets_at = ctx.time(a.meets_at, "TIME", lookup=True)
    assert meets_at is not None
    return await _mutate(
        ctx, lambda s: commands.schedule_postmortem(s, meets_at, ctx.actor, at))


async def fact(ctx: Context) -> int:
    a = ctx.args
    at, name = ctx.time(a.at), commands.parse_fact(a.fact)
    return await _mutate(ctx, lambda s: commands.record_fact(s, name, a.text, ctx.actor, at))


async def severity(ctx: Context) -> int:
    at = ctx.time(ctx.args.at)
    assessment = _assessment(ctx.args)
    if ctx.args.severity:
        to = Severity.parse(ctx.args.severity)
    elif assessment is not None:
        to = suggest_severity(assessment).severity
    else:
        from warroom.domain.common.errors import InvalidInput

        raise InvalidInput("give a severity (SEV-1..SEV-4) or assessment options to compute one")
    code = await _mutate(ctx, lambda s: commands.change_severity(
        s, to, ctx.actor, at, ctx.args.reason, assessment))
    if assessment is not None and not ctx.json and not ctx.args.severity:
        # A confirmation records only "triage done": say why the matrix kept the level too.
        s = suggest_severity(assessment)
        line(f"matrix: {s.severity.value} decided by {s.decided_by.criterion}: "
             f"{s.decided_by.reason}")
    return code


def assess(ctx: Context) -> int:
    assessment = _assessment(ctx.args)
    if assessment is None:
        from warroom.domain.common.errors import InvalidInput

        raise InvalidInput("give at least one criterion, e.g. --users-pct 40")
    s = suggest_severity(assessment)
    if ctx.json:
        emit_json({
            "severity": s.severity.value,
            "decided_by": {"criterion": s.decided_by.criterion, "reason": s.decided_by.reason},
            "criteria": [
                {"criterion": r.criterion, "severity": r.severity.value, "reason": r.reason}
                for r in s.all
            ],
        })
        return 0
    line(f"suggested {s.severity.value} ({SEVERITIES[s.severity].name}): decided by "
         f"{s.decided_by.criterion}: {s.decided_by.reason}")
    for r in s.all:
        line(f"  {r.criterion:<15} {r.severity.value}  {r.reason}")
    return 0


async def assign(ctx: Context) -> int:
    at, role = ctx.time(ctx.args.at), Role.parse(ctx.args.role)
    return await _mutate(
        ctx, lambda s: commands.assign_role(s, role, ctx.args.person, ctx.actor, at)
    )


async def release(ctx: Context) -> int:
    at, role = ctx.time(ctx.args.at), Role.parse(ctx.args.role)
    return await _mutate(ctx, lambda s: commands.release_role(s, role, ctx.actor, at))


async def note(ctx: Context) -> int:
    at, a = ctx.time(ctx.args.at), ctx.args
    return await _mutate(
        ctx, lambda s: commands.add_note(s, a.text, ctx.actor, at, kind=a.kind, owner=a.owner)
    )


async def done(ctx: Context) -> int:
    at = ctx.time(ctx.args.at)
    return await _mutate(ctx, lambda s: commands.complete_action(s, ctx.args.item, ctx.actor, at))


async def check(ctx: Context) -> int:
    at, item = ctx.time(ctx.args.at), parse_item(ctx.args.item)
    return await _mutate(ctx, lambda s: commands.complete_checklist(s, item.key, ctx.actor, at))


async def phase(ctx: Context) -> int:
    at, to = ctx.time(ctx.args.at), Phase.parse(ctx.args.phase)
    return await _mutate(ctx, lambda s: commands.change_phase(s, to, ctx.actor, at))


async def retitle(ctx: Context) -> int:
    at = ctx.time(ctx.args.at)
    return await _mutate(ctx, lambda s: commands.retitle(s, ctx.args.title, ctx.actor, at))


async def edit(ctx: Context) -> int:
    from warroom.domain.common.errors import InvalidInput

    a = ctx.args
    at, new_at = ctx.time(a.at), ctx.time(a.time, "--time")
    incident_id = parse_incident_id(a.incident)
    async with await ctx.store(write=True) as store:
        events = await store.events(incident_id)
        target = next((e for e in events if e.seq == a.seq), None)
        if target is None:
            raise InvalidInput(f"{incident_id} has no timeline entry #{a.seq}")
        result = await execute(
            store, incident_id,
            lambda s: commands.amend(s, target.event_id, ctx.actor, a.text, new_at, a.reason, at),
            expected_version=a.expect_version, retry=ctx.retry(a.expect_version),
        )
    return _report(ctx, result)


def _sort_open(s: Any) -> tuple[int, Any]:
    # Most severe first, then oldest first: the one burning longest is on top.
    return (int(s.severity[-1]), s.declared_at)


async def list_incidents(ctx: Context) -> int:
    async with await ctx.store(write=False) as store:
        rows = await store.summaries(open_only=not ctx.args.all, limit=ctx.args.limit)
    if not ctx.args.all:
        rows.sort(key=_sort_open)
    if ctx.json:
        emit_json([{
            "id": r.id, "title": r.title, "severity": r.severity, "status": r.status,
            "phase": r.phase, "service": r.service, "version": r.version,
            "declared_at": r.declared_at, "acknowledged_at": r.acknowledged_at,
            "resolved_at": r.resolved_at,
        } for r in rows])
        return 0
    if not rows:
        line("no open incidents" if not ctx.args.all else "no incidents")
        return 0
    now = ctx.now()
    for r in rows:
        acked = "acked" if r.acknowledged_at else "UNACKED"
        line(f"{r.id:<8} {r.severity}  {r.status:<13} {acked:<7} {ago(r.declared_at, now):>10}  "
             f"{safe(r.service or '-'):<12} {safe(r.title)}")
    return 0


def _show_lines(state: IncidentState, events: list[Any], ctx: Context,
                last: int | None = None, now: datetime | None = None,
                messages: bool = False) -> None:
    from warroom.domain.incident.clocks import response_clocks, severity_profile
    from warroom.domain.incident.timeline import timeline_rows

    now = now or ctx.now()
    line(f"{state.id}  {state.severity.value}  {state.status.value}  ({state.phase.value})  "
         f"version {state.version}")
    line(f"title:     {safe(state.title)}")
    profile = severity_profile(state.severity)
    line(f"response:  {profile.text()}")
    line(f"war room:  {profile.war_room_text()}")
    if state.service:
        line(f"service:   {safe(state.service)}")
    if state.summary:
        line(f"summary:   {safe(state.summary)}")
    line(f"declared:  {when(state.declared_at)} by {safe(state.declared_by)} "
         f"({ago(state.declared_at, now)})")
    if state.acknowledged_at:
        line(f"acked:     {when(state.acknowledged_at)} by {safe(state.acknowledged_by)}")
    else:
        line("acked:     NOT ACKNOWLEDGED")
    if state.resolved_at:
        line(f"resolved:  {when(state.resolved_at)}")
    if state.postmortem_at:
        line(f"postmortem: {meeting_text(state.postmortem_at)}")
    moves = ", ".join(m.value for m in allowed_moves(state.status))
    line(f"next:      {moves}")
    line("roles:")
    for role in Role:
        holder = state.holder(role)
        line(f"  {role.title:<22} {safe(holder) if holder else '(vacant)'}")
    open_items = [a for a in state.action_items if a.done_at is None]
    if open_items:
        line("open action items:")
        for a in open_items:
            owner = f" ({safe(a.owner)})" if a.owner else ""
            line(f"  [{a.id[:8]}] {safe(a.text)}{owner}")
    line("checklist:")
    for c in response_clocks(state, now):
        mark = "x" if c.done_at else " "
        line(f"  [{mark}] {c.label:<22} {safe(c.owner_text()):<26} {c.target_text:<22} "
             f"{c.text()}")
    if messages:
        _sent_lines(state)
    line("timeline:")
    rows = timeline_rows(events, by_time=True)
    if last:
        rows = rows[-last:]
    for row in rows:
        later = f"  ({row.recorded_note})" if row.recorded_note else ""
        edited = "  (edited)" if row.edited else ""
        line("  " + row_line(row) + later + edited)


def _sent_lines(state: IncidentState) -> None:
    """What had gone out: the messages marked sent and the pages (escalation levels fired)."""
    line("messages sent:" if state.communications else "messages sent: none")
    for c in state.communications:
        channel = f" via {safe(c.channel)}" if c.channel else ""
        line(f"  {when(c.at)}  {safe(c.template):<14} to {safe(c.audience)}{channel} "
             f"(by {safe(c.actor)})")
    line("pages:" if state.escalations else "pages: none")
    for x in state.escalations:
        drill = "  (drill: not delivered)" if x.drill else ""
        line(f"  {when(x.at)}  level {x.level}: {safe(', '.join(x.targets) or '-')}{drill}")


async def show(ctx: Context) -> int:
    incident_id = parse_incident_id(ctx.args.incident)
    if ctx.args.as_of is not None:
        return await _show_as_of(ctx, incident_id)
    async with await ctx.store(write=False) as store:
        state = await store.get(incident_id)
        events = await store.events(incident_id)
    if ctx.json:
        from warroom.domain.incident.clocks import severity_profile

        # Commit order (by seq) for scripts; each entry carries `at` and `recorded_at`.
        if ctx.args.last:
            events = events[-ctx.args.last :]
        data = incident_json(state, events)
        data["severity_profile"] = to_json(severity_profile(state.severity))
        emit_json(data)
    else:
        _show_lines(state, events, ctx, ctx.args.last)
    return 0


async def _show_as_of(ctx: Context, incident_id: str) -> int:
    """`show --as-of`: the fold of what had been committed by then, never of what happened by
    then (warroom/domain/incident/timetravel.py says why)."""
    from warroom.domain.common.errors import InvalidInput
    from warroom.domain.incident.clocks import response_clocks, severity_profile, update_clock
    from warroom.domain.incident.fold import fold
    from warroom.domain.incident.timetravel import VIEW, known_at, later_backdated

    cut = ctx.time(ctx.args.as_of, "--as-of")
    assert cut is not None
    async with await ctx.store(write=False) as store:
        events = await store.events(incident_id)
        if not events:
            await store.get(incident_id)  # the usual "no such incident" (exit 4)
    known = known_at(events, cut)
    if not known:
        raise InvalidInput(f"{incident_id} was not declared yet at {when(cut)} (recorded at "
                           f"{when(events[0].recorded_at)})")
    state = fold(known)
    hidden = later_backdated(events, cut)
    shown = known[-ctx.args.last:] if ctx.args.last else known
    if ctx.json:
        data = incident_json(state, shown)
        data["as_of"] = {
            "at": cut, "view": VIEW, "events_known": len(known), "events_total": len(events),
            "left_out_backdated": [e.seq for e in hidden],
        }
        data["severity_profile"] = to_json(severity_profile(state.severity))
        data["clocks"] = [*response_clocks(state, cut), update_clock(state, cut)]
        emit_json(data)
        return 0
    line(f"AS OF {when(cut)}: as the room knew it (events recorded by then: {len(known)} of "
         f"{len(events)}; clocks computed at that time)")
    if hidden:
        seqs = ", ".join(f"#{e.seq}" for e in hidden)
        line(f"left out: {len(hidden)} entr{'y' if len(hidden) == 1 else 'ies'} backdated to "
             f"before then but recorded after ({seqs})")
    _show_lines(state, known, ctx, ctx.args.last, now=cut, messages=True)
    return 0


async def tail(ctx: Context) -> int:
    only = parse_incident_id(ctx.args.incident) if ctx.args.incident else None
    async with await ctx.store(write=False) as store:
        cursor = ctx.args.since
        while True:
            batch = await store.events_since(cursor, limit=1000)
            if not batch:
                break
            _print_events(ctx, batch, only)
            cursor = batch[-1].seq
        if ctx.args.follow:
            async for batch in store.subscribe(cursor):
                _print_events(ctx, batch, only)
    return 0


def _print_events(ctx: Context, batch: list[Any], only: str | None) -> None:
    for e in batch:
        if only and e.incident_id != only:
            continue
        if ctx.json:
            emit_json(event_json(e))
        else:
            line(event_line(e))
    if not ctx.json:
        import sys

        sys.stdout.flush()

