"""Feeding a scenario into a drill room on the drill clock.

The runner marks the room as a drill (its own metadata: every process that opens it reads the
same marker), then walks the drill clock from the scenario's start to its end: at each step's
offset it feeds the step in (an alert through the real receiver, so deduplication and routing
behave as in life; a fact as a note from "scenario"; a severity change), and between steps it
runs the escalation engine at the exact drill instants its levels fall due. Every write is
stamped with the instant being played, not with whatever the clock read when the process got
round to it, so two runs of one scenario at one speed write the same events in the same order.

`speed` N: N drill seconds per real second. `instant`: no real waiting at all (tests, and
`drill run --instant` to prepare a room for a debrief).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from warroom.domain.alerts.formats import parse_notification
from warroom.domain.common.errors import InvalidInput
from warroom.domain.config.model import Config
from warroom.domain.drills.scenario import DrillClock, Scenario, Step, format_offset
from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.escalation.engine import Engine
from warroom.ingest.receiver import AlertReceiver
from warroom.store.base import Store
from warroom.store.execute import BACKGROUND, execute

log = logging.getLogger("warroom.drills")

SCENARIO_ACTOR = "scenario"
# How long the runner sleeps at most before looking again (a person's action may have made
# a level due sooner, or stopped one): real seconds.
MAX_REAL_SLEEP = 1.0

# Room markers (Store.room_mark): what makes a room a drill, and what the scorecard reads.
MARK_DRILL = "drill"
MARK_SCENARIO = "drill_scenario"
MARK_CLOCK = "drill_clock"
MARK_ORIGINAL = "drill_original"
MARK_ENDED = "drill_ended"  # the drill instant the scenario's end was reached


@dataclass(frozen=True)
class Played:
    """One thing the scenario did, at its drill offset (what a run prints, and what two runs
    of one scenario must agree on)."""

    offset: str
    what: str
    incident: str | None

    def line(self) -> str:
        return f"{self.offset:>8}  {self.incident or '-':<7} {self.what}"


@dataclass
class DrillResult:
    played: list[Played] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)


async def mark_drill_room(store: Store, scenario: Scenario, clock: DrillClock,
                          original_state_json: str | None = None) -> None:
    """Make (or keep) this room a drill. A room that already holds real incidents is refused:
    a real room never becomes a drill, nor its figures drill figures."""
    if not await store.is_drill():
        if await store.summaries(limit=1):
            raise InvalidInput(f"{store.location} holds incidents and is not a drill room: "
                               "give a drill its own --db")
        await store.set_room_mark(MARK_DRILL, scenario.meta.name)
    await store.set_room_mark(MARK_SCENARIO, scenario.model_dump_json())
    await store.set_room_mark(MARK_CLOCK, clock.model_dump_json())
    if await store.room_mark(MARK_ENDED) is not None:
        await store.set_room_mark(MARK_ENDED, "")  # a new run in a reused room is not over
    if original_state_json is not None:
        await store.set_room_mark(MARK_ORIGINAL, original_state_json)


class DrillRunner:
    def __init__(self, store: Store, config: Config, scenario: Scenario, clock: DrillClock, *,
                 instant: bool = False, real_clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 on_played: Callable[[Played], None] | None = None) -> None:
        self.store = store
        self.config = config
        self.scenario = scenario
        self.clock = clock
        self.instant = instant
        self.real_clock = real_clock or (lambda: datetime.now(UTC))
        self.sleep = sleep or asyncio.sleep
        self.on_played = on_played
        self.now = clock.start  # the drill instant being played
        self.incident: str | None = None  # the scenario's incident (facts go there)
        self.result = DrillResult()
        self.engine = Engine(store, config, clock=lambda: self.now, actor="engine",
                             local_attempts=1)
        self.receiver = AlertReceiver(store, config, clock=lambda: self.now, remediate=False)

    # ---- the clock ---------------------------------------------------------------------------

    @property
    def end(self) -> datetime:
        return self.clock.start + self.scenario.meta.duration

    async def _advance_to(self, target: datetime) -> None:
        """Let drill time reach `target`, ticking the engine whenever a level falls due on the
        way (at its exact due instant)."""
        while True:
            due = self.engine.next_due
            stop = target if due is None or due <= self.now or due > target else due
            if not self.instant:
                wait = self.clock.real_delay(self.clock.now(self.real_clock()), stop)
                if wait > 0:
                    await self.sleep(min(wait, MAX_REAL_SLEEP))
                    if wait > MAX_REAL_SLEEP:
                        # Look again on the way: a person may have declared an incident (its
                        # ladder starts) or acknowledged one (its ladder stops).
                        self.now = min(max(self.now, self.clock.now(self.real_clock())), stop)
                        await self._tick()
                        continue
            self.now = max(self.now, stop)
            await self._tick()
            if stop >= target:
                return

    async def _tick(self) -> None:
        fired = await self.engine.tick(self.now)
        await self.engine.drain()
        for f in fired:
            self._played(f"engine: L{f.level} fired ({f.reason}): "
                         f"{', '.join(f.targets) or 'nobody'}", f.incident_id)

    # ---- running -----------------------------------------------------------------------------

    async def run(self) -> DrillResult:
        try:
            if not any(s.alert is not None for s in self.scenario.steps):
                await self._incident(self.now)  # no alert opens it: the scenario declares it
            await self._tick()
            for step in self.scenario.schedule():
                await self._advance_to(self.clock.start + step.at)
                await self._play(step)
                await self._tick()  # what the step changed (a new incident's ladder starts now)
            await self._advance_to(self.end)
            self._played("drill clock reached the scenario's end", None)
            await self.store.set_room_mark(MARK_ENDED, self.now.isoformat())
        finally:
            await self.receiver.drain()
            await self.receiver.close()
            await self.engine.close()
        return self.result

    def _played(self, what: str, incident: str | None) -> None:
        p = Played(format_offset(self.now - self.clock.start), what, incident)
        self.result.played.append(p)
        if incident and incident not in self.result.incidents:
            self.result.incidents.append(incident)
        if self.on_played is not None:
            self.on_played(p)

    async def _play(self, step: Step) -> None:
        at = self.now
        if step.alert is not None:
            n = parse_notification(step.alert, step.format)
            r = await self.receiver.receive(n, now=at)
            await self.receiver.drain()
            if r.incident_id is not None and (r.opened or self.incident is None):
                self.incident = r.incident_id
            self._played(f"alert: {r.message}", r.incident_id)
            return
        incident = await self._incident(at)
        if step.fact is not None:
            text = step.fact
            await execute(self.store, incident,
                          lambda s: commands.add_note(s, text, SCENARIO_ACTOR, at),
                          retry=BACKGROUND)
            self._played(f"fact: {text}", incident)
            return
        assert step.severity is not None
        to = Severity(step.severity)
        reason = step.reason or "the scenario says so"
        result = await execute(
            self.store, incident,
            lambda s: [] if s.severity == to else commands.change_severity(
                s, to, SCENARIO_ACTOR, at, reason=reason),
            retry=BACKGROUND)
        self._played(f"severity -> {to.value}" + ("" if result.events else " (already)"),
                     incident)

    async def _incident(self, at: datetime) -> str:
        """The scenario's incident: the one its alerts opened, else one declared now from the
        scenario's meta (a scenario that starts with a fact)."""
        if self.incident is not None:
            return self.incident
        meta = self.scenario.meta
        result = await execute(self.store, None, lambda _: commands.declare(
            meta.description or meta.name, Severity(meta.severity), SCENARIO_ACTOR, at,
            service=meta.service, source="drill"), retry=BACKGROUND)
        self.incident = result.incident_id
        self._played(f"declared {meta.severity}: {meta.description or meta.name}",
                     self.incident)
        return self.incident

