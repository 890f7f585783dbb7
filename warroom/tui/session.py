"""This terminal in the room: everything the dashboard keeps running while it is open.

The change feed (every commit of every process, this one's own included), the terminal's
presence on the roster, the check of this machine's clock against the store's, and the
escalation engine that every writing terminal runs. The session starts them as the App's
workers and reports to one listener (the dashboard screen) with messages; it knows nothing of
what the screen shows.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump

from warroom.domain.config.model import Config
from warroom.domain.incident.events import Event
from warroom.store.base import Presence, Store
from warroom.store.clock import clock_offset_note
from warroom.store.errors import StoreError

if TYPE_CHECKING:  # imported when the engine starts (_engine): it brings aiohttp
    from warroom.domain.drills.scenario import DrillClock
    from warroom.escalation.engine import Engine

Clock = Callable[[], datetime]

PRESENCE_EVERY = 5.0  # seconds between a writer's announcements
PRESENCE_TIMEOUT = timedelta(seconds=16)  # three missed announcements: gone
CLOCK_CHECK_EVERY = 60.0  # seconds between checks of this machine's clock against the store's


class EventsArrived(Message):
    """Events committed since the last batch, in commit order, never one twice.

    Until the listener takes it, the session appends later batches to this one instead of
    posting another message: however many batches a storm brings while the screen is busy,
    the screen folds and repaints once for all of them."""

    def __init__(self, batch: list[Event]) -> None:
        self.batch = batch
        self.taken = False
        super().__init__()

    def take(self) -> list[Event]:
        """The batch, closed: what arrives from now on comes in the next message."""
        self.taken = True
        return self.batch


class FeedStopped(Message):
    """The feed cannot go on (the room's files were replaced under this process)."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__()


class PresenceChanged(Message):
    def __init__(self, people: list[str]) -> None:
        self.people = people
        super().__init__()


class ClockChecked(Message):
    """What the header says about this terminal's view of the room: a remote room
    reconnecting, this machine's clock disagreeing with the store's."""

    def __init__(self, note: str | None) -> None:
        self.note = note  # None: live, and this machine's clock agrees with the store's
        super().__init__()


class RoomSession:
    def __init__(self, app: App[Any], store: Store, *, actor: str, clock: Clock,
                 config: Config, config_dir: Path | None, announce: bool,
                 engine: bool) -> None:
        self.app = app
        self.store = store
        self.actor = actor
        self.clock = clock
        self.config = config
        self.config_dir = config_dir
        self.announce = announce and not store.readonly
        self.run_engine = engine and not store.readonly
        self.session_id = uuid.uuid4().hex
        self.started_at = clock()
        self.cursor = 0
        self.present: list[str] = []
        self.clock_note: str | None = None
        self.link_note: str | None = None  # a remote room's "reconnecting..."
        self.engine: Engine | None = None
        self._engine_stop = asyncio.Event()
        self._listener: MessagePump | None = None
        self._unread: EventsArrived | None = None  # posted, not yet taken by the listener
        self.follow_id: str | None = None  # what the screen shows, announced with presence
        self.drill: DrillClock | None = None  # a drill room's clock: the room's time is its
        self._drill_pending = False  # a drill room whose runner has not set its clock yet

    @property
    def spectator(self) -> bool:
        return self.store.readonly

    def now(self) -> datetime:
        """The room's time: this machine's clock, or a drill room's clock (--speed N)."""
        real = self.clock()
        return real if self.drill is None else self.drill.now(real)

    async def open(self) -> None:
        """Note where the log ends before the first reads: the feed starts from there, so
        nothing committed while the screen loads is missed. A drill room's clock is read
        beside them (`read_drill_clock`)."""
        self.cursor = await self.store.last_seq()

    async def read_drill_clock(self) -> None:
        """A drill room's clock may be set after the screen opened (`demo --drill` starts its
        runner beside the screen): asked again with the clock check until it is there."""
        if self.drill is None:
            try:
                self.drill = await self.store.drill_clock()
                self._drill_pending = self.drill is None and await self.store.is_drill()
            except StoreError:
                self.drill = None

    def start(self, listener: MessagePump) -> None:
        """The change feed and presence: what the listener shows from now on."""
        self._listener = listener
        self.app.run_worker(self._feed, group="feed", exclusive=True)
        if self.announce:
            self.app.run_worker(self._announce, group="presence", exclusive=True)
        else:
            self.app.run_worker(self._watch_room, group="room", exclusive=True)

    def start_background(self) -> None:
        """The clock check and the escalation engine, once the screen shows the room."""
        self.watch_clock()
        if self.run_engine:
            self.app.run_worker(self._engine, group="engine", exclusive=True)

    def _tell(self, message: Message) -> None:
        if self._listener is not None:
            self._listener.post_message(message)

    async def close(self) -> None:
        self._engine_stop.set()
        if self.announce:
            try:
                await self.store.leave(self.session_id)
            except StoreError:
                pass

    # ---- the change feed --------------------------------------------------------------------

    async def _feed(self) -> None:
        try:
            async for batch in self.store.subscribe(self.cursor):
                self._link(self.store.link_note())
                fresh = [e for e in batch if e.seq > self.cursor]
                if fresh:
                    self.cursor = fresh[-1].seq
                    self._deliver(fresh)
        except StoreError as e:  # the room's files were replaced (store.fault): say so, stay up
            self._link(f"NOT LIVE: {e}")
            self._tell(FeedStopped(str(e)))

    def _deliver(self, fresh: list[Event]) -> None:
        """Post the batch, or add it to the one the listener has not taken yet (one event
        loop: nothing runs between the check and the append)."""
        waiting = self._unread
        if waiting is not None and not waiting.taken:
            waiting.batch.extend(fresh)
            return
        self._unread = EventsArrived(fresh)
        self._tell(self._unread)

    def _link(self, note: str | None) -> None:
        """A remote room lost (or regained) its server: the header says so at once, so a
        stale room is never shown as live."""
        if note != self.link_note:
            self.link_note = note
            self._tell(ClockChecked(self._header_note()))

    def _header_note(self) -> str | None:
        return " · ".join(n for n in (self.link_note, self.clock_note) if n) or None

    # ---- presence ---------------------------------------------------------------------------

    async def _announce(self) -> None:
        """A writing terminal says it is in the room every few seconds, then looks who else is."""
        while True:
            try:
                await self.store.heartbeat(Presence(
                    self.session_id, self.actor, socket.gethostname(), os.getpid(),
                    self.started_at, self.now(), self.follow_id))
            except StoreError:
                pass  # presence is best effort; the feed and writes report real trouble
            await self._read_room()
            await asyncio.sleep(PRESENCE_EVERY)

    async def _watch_room(self) -> None:
        """A spectator does not announce itself, but sees who is in the room."""
        while True:
            await self._read_room()
            await asyncio.sleep(PRESENCE_EVERY)

    async def _read_room(self) -> None:
        try:
            rows = await self.store.present(self.now() - PRESENCE_TIMEOUT)
        except StoreError:
            return
        people = sorted({p.person for p in rows})
        if people != self.present:
            self.present = people
            self._tell(PresenceChanged(people))

    # ---- time -------------------------------------------------------------------------------

    def watch_clock(self) -> None:
        """(Re)start the check of this machine's clock against the store's."""
        self.app.run_worker(self._watch_clock, group="clock", exclusive=True)

    async def _watch_clock(self) -> None:
        """Rooms on PostgreSQL record the server's time: say so when this machine disagrees."""
        while True:
            await self.read_drill_clock()
            try:
                note = clock_offset_note(await self.store.clock_offset())
            except StoreError:
                note = None
            if note != self.clock_note:
                self.clock_note = note
                self._tell(ClockChecked(self._header_note()))
            await asyncio.sleep(1.0 if self._drill_pending else CLOCK_CHECK_EVERY)

    # ---- the escalation engine, in every terminal that can write ----------------------------

    async def _engine(self) -> None:
        # Imported in a thread: it brings aiohttp, a tenth of a second the screen need not wait.
        engine = await asyncio.to_thread(importlib.import_module, "warroom.escalation.engine")
        self.engine = engine.Engine(self.store, self.config, clock=self.now, actor="engine",
                             base_dir=self.config_dir)
        try:
            await self.engine.run(self._engine_stop)
        finally:
            await self.engine.close()
