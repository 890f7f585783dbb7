"""Drills: `warroom drill list|run|score` and `warroom replay INC-N --from ROOM`.

A drill runs in its own room (its own database, marked as a drill in its metadata), never in
the team's: its incidents never reach the real metrics, its pages are never delivered, its
messages say [DRILL]. Without --db a drill uses drill.db in the data directory, not the room
$WARROOM_DB names.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line, safe
from warroom.domain.common.errors import InvalidInput

if TYPE_CHECKING:
    from warroom.domain.drills.scenario import DrillClock, Scenario

MAX_SPEED = 100_000.0



def _usage(ctx: Context) -> int:
    raise InvalidInput("say what to do: warroom drill list | run SCENARIO | score")


def drill_context(ctx: Context) -> Context:
    """The drill's room: --db when given, else drill.db in the data directory (never the room
    $WARROOM_DB names: a drill is not run in the team's room by accident)."""
    given = getattr(ctx.args, "db", None)
    db = given or str(ctx.settings.data_dir() / "drill.db")
    return dataclasses.replace(ctx, db=db, _loaded=None)


def drill_list(ctx: Context) -> int:
    from warroom.drills.files import list_scenarios

    found = list_scenarios()
    if ctx.json:
        emit_json([{"name": f.name, "path": str(f.path), "description": f.scenario.meta.description,
                    "severity": f.scenario.meta.severity, "service": f.scenario.meta.service,
                    "duration_s": f.scenario.meta.duration.total_seconds(),
                    "steps": len(f.scenario.steps)} for f in found])
        return 0
    from warroom.domain.drills.scenario import format_offset

    for f in found:
        m = f.scenario.meta
        line(f"{f.name:<24} {m.severity:<6} {safe(m.service or '-'):<10} "
             f"{format_offset(m.duration)[1:]:>5} {len(f.scenario.steps):>3} steps  "
             f"{safe(m.description)}")
    if not found:
        line("no scenarios found")
    return 0


def plan_clock(scenario: Scenario, real_now: datetime, speed: float) -> DrillClock:
    """The drill clock: it starts now, or at the scenario's pinned time of day (the latest
    one before now), and runs `speed` times real time."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from warroom.domain.drills.scenario import DrillClock, pinned_start

    if not 0 < speed <= MAX_SPEED:
        raise InvalidInput(f"--speed {speed:g}: give a speed above 0 and at most {MAX_SPEED:g}")
    real_now = real_now.replace(microsecond=0)
    start = real_now
    if scenario.meta.start:
        try:
            tz = ZoneInfo(scenario.meta.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {scenario.meta.timezone!r}") from None
        start = pinned_start(real_now, scenario.meta.start, tz)
    return DrillClock(start=start, real_start=real_now, speed=speed)


async def _play(ctx: Context, scenario: Scenario, original_json: str | None = None) -> int:
    from warroom.domain.drills.scenario import format_offset
    from warroom.drills.runner import DrillRunner, Played, mark_drill_room

    a = ctx.args
    clock = plan_clock(scenario, ctx.now(), a.speed)
    config = ctx.config
    played: list[Played] = []

    def show(p: Played) -> None:
        played.append(p)
        if not ctx.json:
            line(safe(p.line()))

    async with await ctx.store(write=True) as store:
        await mark_drill_room(store, scenario, clock, original_json)
        if not ctx.json:
            real = scenario.meta.duration / clock.speed
            line(f"DRILL {safe(scenario.meta.name)} in {safe(ctx.db)}: "
                 f"{format_offset(scenario.meta.duration)[1:]} of drill at {clock.speed:g}x"
                 + ("" if a.instant else f" (about {format_offset(real)[1:]} real)")
                 + (f", the drill clock starting at {clock.start:%Y-%m-%d %H:%MZ} "
                    f"({scenario.meta.start} {scenario.meta.timezone})"
                    if scenario.meta.start else "")
                 + f". Respond with: warroom --db {safe(ctx.db)}")
        runner = DrillRunner(store, config, scenario, clock, instant=a.instant, on_played=show)
        result = await runner.run()
    if ctx.json:
        emit_json({"drill": scenario.meta.name, "db": ctx.db, "speed": clock.speed,
                   "start": clock.start, "incidents": result.incidents,
                   "played": [dataclasses.asdict(p) for p in played]})
    else:
        line(f"done: score it with warroom drill score --db {safe(ctx.db)}")
    return 0


async def drill_run(ctx: Context) -> int:
    from warroom.drills.files import find_scenario, load_scenario

    scenario = load_scenario(find_scenario(ctx.args.scenario))
    return await _play(drill_context(ctx), scenario)


async def replay(ctx: Context) -> int:
    from warroom.domain.drills.replay import replay_scenario
    from warroom.domain.drills.scenario import Step
    from warroom.domain.incident.state import parse_incident_id
    from warroom.store import open_store

    a = ctx.args
    incident = parse_incident_id(a.incident)
    async with await open_store(a.from_, readonly=True, create=False,
                                lock_timeout=ctx.lock_timeout) as source:
        state = await source.get(incident)
        events = await source.events(incident)
    scenario = replay_scenario(state, events)
    if not a.blind:
        # Seen: what the original responders did arrives as facts at its original offsets.
        scenario = scenario.model_copy(update={"steps": [*scenario.steps, *(
            Step(at=off, fact=f"(original) {text}") for off, text in scenario.original)]})
    drill = drill_context(ctx)
    if drill.db == a.from_:
        raise InvalidInput("a replay runs in its own drill room: give a --db other than --from")
    return await _play(drill, scenario, state.model_dump_json())


async def drill_score(ctx: Context) -> int:
    from warroom.domain.drills.scenario import DrillClock, Scenario
    from warroom.domain.drills.scorecard import Scorecard, incident_card, render_markdown
    from warroom.domain.incident.state import IncidentState
    from warroom.drills.runner import MARK_CLOCK, MARK_ENDED, MARK_ORIGINAL, MARK_SCENARIO

    ctx = drill_context(ctx)
    async with await ctx.store(write=False) as store:
        name = await store.room_mark("drill")
        if name is None:
            raise InvalidInput(f"{ctx.db} is not a drill room: nothing to score")
        scenario_json = await store.room_mark(MARK_SCENARIO)
        clock_json = await store.room_mark(MARK_CLOCK)
        original_json = await store.room_mark(MARK_ORIGINAL)
        ended = await store.room_mark(MARK_ENDED)
        summaries = await store.summaries()
        states = [await store.get(s.id) for s in reversed(summaries)]
    scenario = Scenario.model_validate_json(scenario_json) if scenario_json else None
    clock = DrillClock.model_validate_json(clock_json) if clock_json else None
    original = IncidentState.model_validate_json(original_json) if original_json else None
    end = ctx.now()
    if ended:  # the scenario ran to its end: score the drill as of then
        end = datetime.fromisoformat(ended)
    elif clock is not None:  # still running (or stopped): as of the drill clock now
        end = clock.now(end)
        if scenario is not None:
            end = min(end, clock.start + scenario.meta.duration)
    cards = [incident_card(s, max(end, s.last_event_at),
                           original if i == 0 else None,
                           scenario.original if (scenario and i == 0) else None)
             for i, s in enumerate(states)]
    card = Scorecard(drill=True, scenario=scenario.meta.name if scenario else name,
                     replay_of=scenario.meta.replay_of if scenario else None, incidents=cards)
    if ctx.json or ctx.args.format == "json":
        emit_json(card)
    else:
        sys.stdout.write(render_markdown(card))
    return 0
