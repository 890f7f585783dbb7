"""The one interface every store (SQLite now, PostgreSQL later) offers to the layers above.

The CLI, the dashboard, the escalation engine and the alert receiver only ever talk to a Store;
none of them knows which database is behind it.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.state import IncidentState
from warroom.store.errors import NotFound, StoreError

if TYPE_CHECKING:
    from warroom.domain.drills.scenario import DrillClock


@dataclass(frozen=True, slots=True)
class AppendResult:
    incident_id: str
    version: int  # the incident's version after the append
    events: list[Event]
    duplicate: bool = False  # every event was already committed: a retry, nothing written


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """The columns of an incident that lists, switchers and metrics need, without the fold."""

    id: str
    number: int
    title: str
    severity: str
    status: str
    phase: str
    service: str | None
    version: int
    declared_at: datetime
    started_at: datetime
    detected_at: datetime
    acknowledged_at: datetime | None
    first_resolved_at: datetime | None
    resolved_at: datetime | None
    last_event_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status != "Resolved"


def summary_of(state: IncidentState) -> IncidentSummary:
    """The summary columns of a state, as the store's projection table holds them."""
    return IncidentSummary(
        id=state.id, number=state.number, title=state.title, severity=state.severity.value,
        status=state.status.value, phase=state.phase.value, service=state.service,
        version=state.version, declared_at=state.declared_at, started_at=state.started_at,
        detected_at=state.detected_at, acknowledged_at=state.acknowledged_at,
        first_resolved_at=state.first_resolved_at, resolved_at=state.resolved_at,
        last_event_at=state.last_event_at,
    )


# The room server announces its remote spectators as presence rows "watching: NAME (n)"
# (serve/feed.py); a roster shows them apart from the people, who alone may hold a role.
WATCHING = "watching: "


@dataclass(frozen=True, slots=True)
class Presence:
    """A terminal that can write, announcing itself while it is open."""

    session: str
    person: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    incident_id: str | None


def name_events(events: Sequence[NewEvent]) -> None:
    """Give every event without an id a fresh random one, on the event itself.

    The domain draws no random ids (its commands are pure), so the store names what it is
    asked to append. The name stays on the NewEvent: appending the same batch again, after an
    answer that never came, presents the same ids and is recognised as the same write.
    """
    for e in events:
        if e.event_id is None:
            e.name(str(uuid.uuid4()))


class Store(ABC):
    """An append-only incident event log shared by every process of the room."""

    readonly: bool
    location: str

    @abstractmethod
    async def append(
        self,
        incident_id: str | None,
        events: Sequence[NewEvent],
        expected_version: int | None = None,
    ) -> AppendResult:
        """Commit events atomically, or nothing.

        incident_id None declares a new incident (the first event must be a declaration) and the
        store allocates its id. expected_version: refuse with Conflict unless the incident is at
        exactly that version. A retried batch (same event ids) returns duplicate=True.
        Events without an id are named first (`name_events`).
        """

    @abstractmethod
    async def get(self, incident_id: str) -> IncidentState:
        """The incident's current state (raises NotFound)."""

    @abstractmethod
    async def summaries(
        self, *, open_only: bool = False, limit: int | None = None
    ) -> list[IncidentSummary]:
        """Incidents, most recently declared first."""

    async def summaries_of(self, incident_ids: Sequence[str]) -> list[IncidentSummary]:
        """These incidents' summaries, in no particular order; unknown ids are left out.

        What a screen re-reads for the incidents a feed batch touched. A backend with the
        summary columns reads them as rows; this default reads each incident's whole state
        (its JSON with every alert and page), which in an alert storm was a tenth of the
        dashboard's busy time (issue 15)."""
        out: list[IncidentSummary] = []
        for incident_id in incident_ids:
            try:
                out.append(summary_of(await self.get(incident_id)))
            except NotFound:
                continue
        return out

    @abstractmethod
    async def events(
        self, incident_id: str, *, after_version: int = 0, limit: int | None = None
    ) -> list[Event]:
        """One incident's events in version order (raises NotFound for an unknown incident)."""

    @abstractmethod
    async def events_since(self, seq: int, *, limit: int = 1000) -> list[Event]:
        """Every incident's events after `seq`, in commit order."""

    @abstractmethod
    async def last_seq(self) -> int:
        """The global sequence number of the newest committed event (0 when empty)."""

    _signal: ChangeSignal

    @abstractmethod
    def _ensure_watching(self) -> None:
        """Start this backend's watcher of other processes' commits (once, lazily)."""

    async def wait_for_change(self, seen: int) -> int:
        """Block until something was committed after generation `seen`; return the new one.

        Call `generation()` before reading, then wait with what it returned, so that a commit
        between the read and the wait is never missed.
        """
        self._ensure_watching()
        return await self._signal.wait(seen)

    def generation(self) -> int:
        """A counter that moves whenever this process learns of a commit (its own included)."""
        self._ensure_watching()
        return self._signal.generation

    @property
    def fault(self) -> StoreError | None:
        """Why this room can no longer be trusted (its files were replaced under it), or None.

        Once set it stays: every write is refused with it and `subscribe` raises it.
        """
        return self._signal.fault

    @abstractmethod
    async def heartbeat(self, presence: Presence) -> None:
        """Announce (or refresh) a writing terminal in the room."""

    @abstractmethod
    async def leave(self, session: str) -> None:
        """Remove a terminal's announcement when it closes."""

    @abstractmethod
    async def present(self, since: datetime) -> list[Presence]:
        """Terminals whose announcement is newer than `since`."""

    @abstractmethod
    async def close(self) -> None: ...

    async def room_mark(self, key: str) -> str | None:
        """A room-wide marker from the room's own metadata (`drill`: this room is a drill), so
        every process that opens the room reads the same answer; None when unset."""
        return None

    async def set_room_mark(self, key: str, value: str) -> None:
        """Set a room-wide marker (`warroom drill run` marks its room). Not an incident event:
        it says what the room is, not what happened in it."""
        from warroom.store.errors import ReadOnly

        raise ReadOnly("this store keeps no room markers: nothing was written")

    async def drill_clock(self) -> DrillClock | None:
        """A drill room's clock (its `drill_clock` marker): every writer stamps the drill's
        time with it and every screen reads it, so a team playing a drill at --speed 4
        acknowledges on the clock the scenario and its escalation run on. Kept once found; a
        room that is not a drill and already holds incidents never becomes one (`drill run`
        refuses such a room), so it is asked only once."""
        known = getattr(self, "_drill_clock_known", None)
        if known is not None:
            return known[0]
        raw = await self.room_mark("drill_clock")
        if raw:
            from warroom.domain.drills.scenario import DrillClock

            clock = DrillClock.model_validate_json(raw)
            self._drill_clock_known = (clock,)
            return clock
        if not await self.is_drill() and await self.last_seq() > 0:
            self._drill_clock_known = (None,)
        return None

    async def is_drill(self) -> bool:
        """A drill room: pages are never delivered, messages say [DRILL], figures are drill
        figures. Every process asks the room, not its own configuration."""
        return bool(await self.room_mark("drill"))

    async def clock_offset(self) -> timedelta | None:
        """The store's clock minus this machine's, or None when the store's clock is this one.

        Recorded times come from the store's clock (the database server's, for PostgreSQL);
        screens show the offset when it exceeds a second (warroom.store.clock).
        """
        return None

    def link_note(self) -> str | None:
        """Why what this store shows may not be live (a remote room reconnecting), or None.
        `subscribe` yields an empty batch when it changes; local stores are always live."""
        return None

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def subscribe(self, since: int | None = None) -> AsyncIterator[list[Event]]:
        """Every committed event after `since` (default: from now on), in commit order, in
        batches, forever. Every process sees the same order, its own writes included.

        Raises the store's `fault` (a StoreError) when the room can no longer be trusted: a
        screen shows it rather than go on showing a room that is not there any more."""
        cursor = await self.last_seq() if since is None else since
        while True:
            if self._signal.fault is not None:
                raise self._signal.fault
            seen = self.generation()
            batch = await self.events_since(cursor, limit=1000)
            if batch:
                cursor = batch[-1].seq
                yield batch
                continue
            await self.wait_for_change(seen)


class ChangeSignal:
    """A generation counter that wakes every waiter when it moves."""

    def __init__(self) -> None:
        self._generation = 0
        self._event = asyncio.Event()
        self.fault: StoreError | None = None

    def fail(self, error: StoreError) -> None:
        """The room is not to be trusted any more: keep the first reason and wake every waiter
        once (a subscriber then raises it)."""
        if self.fault is None:
            self.fault = error
            self.bump()

    @property
    def generation(self) -> int:
        return self._generation

    def bump(self) -> None:
        self._generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seen: int) -> int:
        while self._generation == seen:
            await self._event.wait()
        return self._generation
