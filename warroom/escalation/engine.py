"""The escalation engine: fires due levels on every open incident and delivers their pages.

Any number of engines may run on one room (every writing dashboard runs one, plus a headless
`warroom engine` for when nobody is looking). They agree without talking to each other: a
level's event id is derived from (incident, pass, level), so whichever engine appends it first
wins and the others get `duplicate=True`. Only the winner delivers that level's pages. Every
delivery outcome is an event keyed by (page, attempt), and a page whose engine died is taken
over by another after `notifier.stall_after` (at-least-once delivery).

Usage from a screen:
    engine = Engine(store, config, actor="engine")
    task = asyncio.create_task(engine.run(stop_event))
    ...
    await engine.escalate_now("INC-3", actor="carol")   # the dashboard's `e`
Nothing here writes to the terminal; see the "warroom.escalation" logger.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.background import Background
from warroom.domain.config.model import Config
from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import FoldError, apply
from warroom.domain.incident.kinds.paging import (
    PageCancelled,
    PageDelivered,
    PageFailed,
    PageWithheld,
)
from warroom.domain.incident.state import EscalationRecord, IncidentState
from warroom.domain.oncall import escalation as esc
from warroom.domain.oncall.paging import (
    Page,
    delivery_stopped,
    pages_for,
    stalled_pages,
)
from warroom.escalation.notify import DeliveryResult, Notifier
from warroom.store.base import AppendResult, Store
from warroom.store.errors import Conflict, NotFound, StoreError
from warroom.store.execute import BACKGROUND, NEVER, Retry, execute

log = logging.getLogger("warroom.escalation.engine")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def shifted_clock(start: datetime) -> Clock:
    """A clock that reads `start` now and runs at real speed from there (drills, --now)."""
    import time

    t0 = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


@dataclass(frozen=True)
class FiredLevel:
    """A level this process recorded (and so pages for)."""

    incident_id: str
    level: int
    cycle: int
    targets: list[str]
    reason: str
    at: datetime
    event: Event


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt's outcome, for whoever wants to show it as it happens."""

    page: Page
    attempt: int
    result: DeliveryResult
    final: bool


class Engine:
    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        clock: Clock = system_clock,
        actor: str = "engine",
        deliver: bool = True,
        notifier: Notifier | None = None,
        base_dir: Path | None = None,
        local_attempts: int | None = None,
        on_fired: Callable[[FiredLevel], None] | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
        max_sleep: float = 30.0,
        min_interval: float = 0.05,
        retry: Retry = BACKGROUND,
    ) -> None:
        """`local_attempts`: attempts this process makes per page before leaving the rest to
        other engines' stall recovery (a one-shot CLI uses 1); None: all of them. `retry`: how
        long the engine's own writes (levels, page outcomes, claims) decide again when another
        process changed the incident first; a person's `escalate_now` never does."""
        self.store = store
        self.config = config
        self.clock = clock
        self.actor = actor
        self.deliver = deliver and config.notifier.enabled
        # False (--no-deliver): a drill; its levels say so, and no engine ever pages them.
        self.record_deliveries = deliver
        self.notifier = notifier or Notifier(config.notifier, base_dir=base_dir)
        self.local_attempts = local_attempts
        self.on_fired = on_fired
        self.on_delivery = on_delivery
        self.max_sleep = max_sleep
        self.min_interval = min_interval
        self.retry = retry
        self.next_due: datetime | None = None
        self._states: dict[str, IncidentState] = {}
        self._tasks = Background()
        self._inflight: set[tuple[str, int, int, str, str]] = set()
        self._drill_room = False  # once the room says it is a drill, it stays one

    # ---- evaluating --------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> list[FiredLevel]:
        """Evaluate every open incident once as of `now`; record what is due, start its pages.

        Returns the levels this process recorded (not those another engine won)."""
        now = now or self.clock()
        fired: list[FiredLevel] = []
        summaries = await self.store.summaries(open_only=True)
        open_ids = {s.id for s in summaries}
        for gone in set(self._states) - open_ids:
            del self._states[gone]
        next_due: datetime | None = None
        for s in summaries:
            try:
                state = self._states.get(s.id)
                if state is None or state.version != s.version:
                    state = await self._brought_forward(s.id, state)
                due = esc.next_due_at(self.config, state, now)
                if due is not None and due <= now:
                    fired.extend(await self._fire(s.id, now))
                    state = self._states.get(s.id, state)
                    due = esc.next_due_at(self.config, state, now)
                if due is not None and (next_due is None or due < next_due):
                    next_due = due
                if self.deliver:
                    await self._recover_stalled(state, now)
            except NotFound:
                self._states.pop(s.id, None)
            except (StoreError, Conflict) as e:
                log.warning("%s: %s", s.id, e)
            except Exception:  # one bad incident must not stop the room's escalations
                log.exception("%s: escalation check failed", s.id)
        self.next_due = next_due
        return fired

    async def _brought_forward(self, incident_id: str,
                               cached: IncidentState | None) -> IncidentState:
        """The incident's state now, kept in `_states`: the cached one with the events since
        folded onto it, else the store's.

        Every engine ticks at each commit in the room (at most every `min_interval`), and in an
        alert storm each tick found most open incidents changed by a few small events on a big
        state (every alert it holds): reading each whole state again was a sixth of a busy
        dashboard's time (issue 15). The fold is the projection's own, so both agree."""
        if cached is not None:
            try:
                for event in await self.store.events(incident_id,
                                                     after_version=cached.version):
                    cached = apply(cached, event)
            except FoldError:  # the history moved under us (a rebuild): read it whole
                pass
            else:
                self._states[incident_id] = cached
                return cached
        state = await self.store.get(incident_id)
        self._states[incident_id] = state
        return state

    async def _fire(self, incident_id: str, now: datetime) -> list[FiredLevel]:
        """Record the levels due as of `now`, one at a time, each decided on the state it is
        appended to (several engines race here; the idempotent ids make the race harmless:
        a level another engine recorded first comes back as a duplicate, and it pages)."""
        out: list[FiredLevel] = []
        recorded: set[str] = set()

        def next_level(state: IncidentState) -> list[NewEvent]:
            self._states[incident_id] = state
            return esc.due_escalations(self.config, state, now, self.actor,
                                       drill=not self.record_deliveries)[:1]

        while True:
            result = await execute(self.store, incident_id, next_level, retry=self.retry)
            if not result.events:
                return out
            if result.events[0].event_id in recorded:
                # The log has the level but the state does not show it fired: deciding again
                # would only repeat it. Never expected; stop rather than spin.
                log.warning("%s: level %s recorded but not folded", incident_id,
                            result.events[0].data.get("level"))
                return out
            recorded.add(result.events[0].event_id)
            if result.duplicate:
                continue  # another engine fired it: it pages, not us
            out.extend(await self._after_escalation(result))

    async def _after_escalation(self, result: AppendResult) -> list[FiredLevel]:
        state = await self.store.get(result.incident_id)
        self._states[state.id] = state
        out: list[FiredLevel] = []
        for event in result.events:
            rec = next((r for r in state.escalations if r.event_id == event.event_id), None)
            if rec is None:
                continue
            f = FiredLevel(state.id, rec.level, rec.cycle, list(rec.targets), rec.reason,
                           rec.at, event)
            out.append(f)
            log.info("%s: L%d fired (%s), paged %s", state.id, rec.level, rec.reason,
                     ", ".join(rec.targets) or "nobody")
            if self.on_fired is not None:
                _safely(self.on_fired, f)
            if self.deliver or await self.in_drill_room():
                self._start_pages(state, rec)
        return out

    async def in_drill_room(self) -> bool:
        """Whether the room is a drill (its own marker, read by every engine of the room)."""
        if not self._drill_room:
            try:
                self._drill_room = await self.store.is_drill()
            except StoreError as e:
                log.warning("could not read the room's drill marker: %s", e)
        return self._drill_room

    async def escalate_now(self, incident_id: str, actor: str, now: datetime | None = None,
                           expected_version: int | None = None) -> AppendResult:
        """Fire the next level now (one level), and page it from here.

        Raises TransitionRefused when resolved or at the top, Conflict when the incident moved
        past `expected_version` (the version the person saw). duplicate=True means the same
        level had just been fired by an engine (its pages are on their way from there)."""
        at = now or self.clock()
        result = await execute(self.store, incident_id,
                               lambda s: esc.escalate_now(s, self.config, actor, at,
                                                          drill=not self.record_deliveries),
                               expected_version=expected_version,
                               retry=NEVER if expected_version is not None else self.retry)
        if not result.duplicate:
            await self._after_escalation(result)
        return result

    # ---- paging ------------------------------------------------------------------------------

    def _start_pages(self, state: IncidentState, rec: EscalationRecord,
                     first_attempt: int = 1) -> None:
        for page in pages_for(self.config, state, rec):
            self._spawn(page, first_attempt)

    def _spawn(self, page: Page, first_attempt: int) -> None:
        if page.key in self._inflight:
            return
        self._inflight.add(page.key)
        self._tasks.spawn(self._deliver(page, first_attempt))

    async def _deliver(self, page: Page, first_attempt: int) -> None:
        n = self.config.notifier
        last_local = (n.attempts if self.local_attempts is None
                      else min(n.attempts, first_attempt + self.local_attempts - 1))
        attempt = first_attempt
        try:
            while True:
                state = await self.store.get(page.incident_id)
                stop = delivery_stopped(state, page.fired_at)
                if stop:
                    await self._record(page, page.outcome(PageCancelled, self.actor,
                                                          self.clock(), attempt, stop))
                    return
                if await self.in_drill_room():
                    # The one place pages leave the room: a drill room's never do, whatever
                    # the configuration says. What would have gone out is on the timeline.
                    await self._record(page, page.outcome(
                        PageWithheld, self.actor, self.clock(), attempt,
                        f"drill: would page {page.to} via {page.channel}"))
                    log.info("%s L%d: drill: would page %s via %s", page.incident_id,
                             page.level, page.to, page.channel)
                    return
                result = await self.notifier.send(page, attempt)
                at = self.clock()
                final = not result.ok and attempt >= n.attempts
                if result.ok:
                    event = page.outcome(PageDelivered, self.actor, at, attempt, result.detail)
                else:
                    retry_at = None if final else at + n.delay_before(attempt + 1)
                    event = page.outcome(PageFailed, self.actor, at, attempt, result.detail,
                                         retry_at)
                await self._record(page, event)
                log.log(logging.INFO if result.ok else logging.WARNING,
                        "%s L%d page to %s via %s attempt %d: %s", page.incident_id, page.level,
                        page.to, page.channel, attempt, result.detail)
                if self.on_delivery is not None:
                    _safely(self.on_delivery, Delivery(page, attempt, result, final))
                if result.ok or final or attempt >= last_local:
                    return
                await asyncio.sleep(n.delay_before(attempt + 1).total_seconds())
                attempt += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: delivering a page to %s failed", page.incident_id, page.to)
        finally:
            self._inflight.discard(page.key)

    async def _record(self, page: Page, event: NewEvent) -> None:
        """Record what happened to a page, whatever else changed meanwhile (the id, derived
        from page and attempt, keeps it once)."""
        try:
            await execute(self.store, page.incident_id, lambda _: [event], retry=self.retry)
        except StoreError as e:
            log.warning("%s: could not record a page outcome: %s", page.incident_id, e)

    async def _recover_stalled(self, state: IncidentState, now: datetime) -> None:
        for stalled in stalled_pages(self.config, state, now):
            page = stalled.page
            if page.key in self._inflight:
                continue
            claim = page.claim(self.actor, now, stalled.claim, stalled.next_attempt,
                               f"no outcome since its engine stopped; attempt "
                               f"{stalled.next_attempt}")
            try:
                # The claim's id is derived from the page and the claim number: of the engines
                # that saw the page stalled, the first to append it takes the page over.
                result = await execute(self.store, state.id, lambda _, c=claim: [c],
                                       retry=self.retry)
            except StoreError as e:
                log.warning("%s: could not claim a stalled page: %s", state.id, e)
                continue
            if result.duplicate:
                continue
            if stalled.exhausted:
                await self._record(page, page.outcome(
                    PageFailed, self.actor, now, stalled.next_attempt,
                    "gave up: no attempts left"))
                continue
            log.info("%s: took over the page to %s via %s", state.id, page.to, page.channel)
            self._spawn(page, stalled.next_attempt)

    # ---- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: tick, then sleep until the next level is due, a commit lands in
        the room (any process), or `max_sleep` passes (rotations and stalled pages)."""
        loop = asyncio.get_running_loop()
        last = 0.0
        try:
            while not stop.is_set():
                wait = self.min_interval - (loop.time() - last)
                if wait > 0:
                    await asyncio.sleep(wait)
                generation = self.store.generation()
                last = loop.time()
                try:
                    await self.tick(self.clock())
                except Exception as e:
                    log.warning("escalation check failed: %s", e)
                delay = self.max_sleep
                if self.next_due is not None:
                    until = (self.next_due - self.clock()).total_seconds()
                    delay = min(delay, max(until, 0.0) + 0.01)
                await self._sleep(stop, generation, delay)
        finally:
            await self.close()

    async def _sleep(self, stop: asyncio.Event, generation: int, delay: float) -> None:
        waits = [asyncio.ensure_future(stop.wait()),
                 asyncio.ensure_future(self.store.wait_for_change(generation))]
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def drain(self) -> None:
        """Wait for the pages in flight (a one-shot run finishes its deliveries). Bound it with
        asyncio.timeout() if need be."""
        await self._tasks.drain()

    async def close(self) -> None:
        """Cancel deliveries in flight (another engine takes them over) and close the client."""
        await self._tasks.cancel()
        await self.notifier.close()


def _safely(fn: Callable[..., None], arg: object) -> None:
    try:
        fn(arg)
    except Exception:
        log.exception("escalation callback failed")
