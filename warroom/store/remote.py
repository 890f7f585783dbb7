"""A room watched through its room server (`warroom watch --server URL`): a read-only Store
over HTTP, so the dashboard runs unchanged on a machine that has no access to the room's files.

Reads (summaries, an incident's state and events) are HTTP requests to the server's
/spectate/ endpoints; the change feed is one server-sent-events stream (docs/spectators.md),
read by one task that keeps the events it received. Every write is refused (ReadOnly).

When the stream drops (a network cut, the server restarting), the task reconnects with
backoff and asks for what was committed after the last event it has: nothing is missed or
seen twice. Meanwhile `link_note()` says "reconnecting..." and `subscribe` yields an empty
batch whenever that note changes, so the screen says it is not live rather than showing a
stale room as if it were. A refused token (revoked) or a server holding another room stops the
feed for good: `subscribe` raises it, as a local store raises a replaced room.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.state import IncidentState
from warroom.store.base import AppendResult, ChangeSignal, IncidentSummary, Presence, Store
from warroom.store.errors import (
    DatabaseMissing,
    ExitCode,
    InvalidLocation,
    NotFound,
    PermissionDenied,
    ReadOnly,
    SchemaMismatch,
    StoreError,
)
from warroom.store.wire import (
    WIRE_VERSION,
    event_in,
    presence_in,
    state_in,
    summary_in,
)

log = logging.getLogger("warroom.remote")

CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 15.0
BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
READ_PATIENCE = 10.0  # seconds a read keeps retrying before it fails
SILENCE_FACTOR = 3  # keep-alives missed before the stream counts as dead
MAX_FRAME = 64 * 1024 * 1024  # one server-sent event at most
KEPT_EVENTS = 50_000  # events kept for `subscribe` (older ones are read from the server)


class Unreachable(StoreError):
    """The room server did not answer (a read while the link is down): like a room whose
    database is not there, nothing can be shown."""

    exit_code = ExitCode.DB_MISSING


class RemoteStore(Store):
    """The room as its room server shows it to a spectator."""

    readonly = True

    def __init__(self, url: str, token: str | None, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self.location = f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the token
        self.token = token
        self._clock = clock or (lambda: datetime.now(UTC))
        self._signal = ChangeSignal()
        self._session: aiohttp.ClientSession | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self.cursor = 0  # the last event received, in commit order
        self.room: str | None = None
        self._drill: str | None = None  # the room server's drill marker, read at open
        self._events: list[Event] = []
        self._present: list[Presence] = []
        self._offset: timedelta | None = None
        self._note: str | None = None  # None: live
        self._live = asyncio.Event()
        self.keepalive = 5.0
        self.reconnects = 0

    # ---- opening ------------------------------------------------------------------------------

    @classmethod
    async def open(cls, url: str, token: str | None, **kwargs: Any) -> RemoteStore:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidLocation(f"--server {url!r}: expected http://HOST:PORT or "
                                  "https://HOST:PORT (the room server, `warroom serve`)")
        if not token:
            raise PermissionDenied("no spectator token: give --token or set "
                                   "$WARROOM_SPECTATOR_TOKEN (the room's owner hands them out)")
        store = cls(url, token, **kwargs)
        store._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT))
        try:
            snap = await store._get("/spectate/snapshot")
            if snap.get("wire") != WIRE_VERSION:
                raise SchemaMismatch(f"the room server at {store.location} speaks version "
                                     f"{snap.get('wire')} of the spectator feed; this warroom "
                                     f"speaks {WIRE_VERSION}: upgrade the older one")
            store.cursor = int(snap["seq"])
            store.room = snap.get("room")
            drill = snap.get("drill")
            store._drill = drill if isinstance(drill, str) else None
            store._clock_from(snap.get("now"))
        except BaseException:
            await store.close()
            raise
        store._pump_task = asyncio.create_task(store._pump(), name="remote feed")
        return store

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task
            self._pump_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- reads ----------------------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """One read; a network failure or a busy server is retried for READ_PATIENCE
        seconds (a blip, a server restarting) before it is an error the screen shows."""
        assert self._session is not None, "the store is closed"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_PATIENCE
        backoff = BACKOFF_FIRST
        while True:
            try:
                async with self._session.get(self.url + path, params=params) as r:
                    body = await r.read()
                    if r.status == 200:
                        return json.loads(body)
                    if r.status not in (502, 503, 504) or loop.time() > deadline:
                        self._raise_for(r.status, body)
            except (aiohttp.ClientError, TimeoutError, OSError) as e:
                if loop.time() > deadline:
                    raise Unreachable(f"the room server at {self.location} did not answer: "
                                      f"{_why(e)}") from None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _raise_for(self, status: int, body: bytes) -> None:
        try:
            message = str(json.loads(body).get("message", ""))
        except (ValueError, AttributeError):
            message = body[:200].decode("utf-8", "replace")
        if status == 401:
            raise PermissionDenied(f"the room server at {self.location} refused this spectator "
                                   f"token (wrong or revoked): {message}")
        if status == 404:
            raise NotFound(message or "not found")
        if status == 409:
            raise DatabaseMissing(f"the room server at {self.location}: {message}")
        raise Unreachable(f"the room server at {self.location} answered {status}: {message}")

    async def get(self, incident_id: str) -> IncidentState:
        return state_in(await self._get(f"/spectate/incidents/{quote(incident_id, safe='')}"))

    async def summaries(self, *, open_only: bool = False,
                        limit: int | None = None) -> list[IncidentSummary]:
        params = {"open_only": "1" if open_only else "0"}
        if limit is not None:
            params["limit"] = str(limit)
        return [summary_in(d) for d in await self._get("/spectate/summaries", params)]

    async def events(self, incident_id: str, *, after_version: int = 0,
                     limit: int | None = None) -> list[Event]:
        params = {"after_version": str(after_version)}
        if limit is not None:
            params["limit"] = str(limit)
        rows = await self._get(f"/spectate/incidents/{quote(incident_id, safe='')}/events",
                               params)
        return [event_in(d) for d in rows]

    async def events_since(self, seq: int, *, limit: int = 1000) -> list[Event]:
        kept = self._events
        if kept and kept[0].seq <= seq + 1 and seq <= self.cursor:
            start = bisect.bisect_right(kept, seq, key=lambda e: e.seq)
            return kept[start:start + limit]
        if seq >= self.cursor:
            return []
        rows = await self._get("/spectate/events", {"after": str(seq), "limit": str(limit)})
        return [event_in(d) for d in rows if int(d["seq"]) <= self.cursor]

    async def last_seq(self) -> int:
        return self.cursor

    async def present(self, since: datetime) -> list[Presence]:
        return [p for p in self._present if p.seen_at >= since]

    async def clock_offset(self) -> timedelta | None:
        return self._offset

    def link_note(self) -> str | None:
        return self._note

    async def room_mark(self, key: str) -> str | None:
        """Only the drill marker crosses the wire (the snapshot carries it)."""
        return self._drill if key == "drill" else None

    # ---- refused ----------------------------------------------------------------------------

    async def append(self, incident_id: str | None, events: Sequence[NewEvent],
                     expected_version: int | None = None) -> AppendResult:
        raise ReadOnly("a remote spectator (warroom watch --server) cannot write: nothing "
                       "was written")

    async def heartbeat(self, presence: Presence) -> None:
        raise ReadOnly("a remote spectator does not announce itself (the server shows it)")

    async def leave(self, session: str) -> None:
        return None

    # ---- the feed -------------------------------------------------------------------------------

    def _ensure_watching(self) -> None:
        return None  # the pump runs from open()

    async def subscribe(self, since: int | None = None) -> AsyncIterator[list[Event]]:
        """As every store's, plus an empty batch whenever `link_note()` changes."""
        cursor = self.cursor if since is None else since
        note = self._note
        while True:
            if self._signal.fault is not None:
                raise self._signal.fault
            seen = self.generation()
            if self._note != note:
                note = self._note
                yield []
                continue
            batch = await self.events_since(cursor, limit=1000)
            if batch:
                cursor = batch[-1].seq
                yield batch
                continue
            await self.wait_for_change(seen)

    def _set_note(self, note: str | None) -> None:
        if note != self._note:
            self._note = note
            self._signal.bump()
        if note is None:
            self._live.set()
        else:
            self._live.clear()

    async def wait_live(self) -> None:
        """Until the stream is connected and caught up (tests, benchmarks)."""
        await self._live.wait()

    async def _pump(self) -> None:
        backoff = BACKOFF_FIRST
        lost_at: datetime | None = None
        why = ""
        while True:
            try:
                await self._stream()
                why = "the stream ended"
            except _Fatal as e:
                self._signal.fail(e.error)
                self._set_note(str(e.error))
                return
            except _Retry as e:
                why = e.why
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as e:
                why = _why(e)
            if self._live.is_set() or lost_at is None:
                lost_at = self._clock()
                backoff = BACKOFF_FIRST
            self.reconnects += 1
            self._set_note(f"RECONNECTING... to {self.location} (lost at "
                           f"{lost_at:%H:%M:%S} UTC: {why}); the room shown is as of then")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _stream(self) -> None:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT,
                                        sock_read=self.keepalive * SILENCE_FACTOR)
        async with self._session.get(self.url + "/spectate/feed",
                                     params={"after": str(self.cursor)},
                                     timeout=timeout) as r:
            if r.status != 200:
                body = await r.read()
                try:
                    self._raise_for(r.status, body)
                except (PermissionDenied, DatabaseMissing) as e:
                    raise _Fatal(e) from None
                except StoreError as e:
                    raise _Retry(str(e)) from None
            upto: int | None = None
            async for name, data in _sse(r.content):
                if name == "hello":
                    upto = self._hello(data)
                elif name == "events":
                    self._received([event_in(d) for d in data["events"]])
                elif name == "presence":
                    self._present = [presence_in(d) for d in data.get("present", [])]
                    self._clock_from(data.get("now"))
                elif name == "bye":
                    if data.get("reason") in ("revoked", "stopped"):
                        raise _Fatal(PermissionDenied(
                            f"the room server at {self.location} closed the stream: "
                            f"{data.get('message', '')}"))
                    raise _Retry(str(data.get("message") or data.get("reason")))
                if upto is not None and self.cursor >= upto and not self._live.is_set():
                    self._set_note(None)  # connected and caught up: live again

    def _hello(self, data: dict[str, Any]) -> int:
        room = data.get("room")
        if self.room is not None and room is not None and room != self.room:
            raise _Fatal(DatabaseMissing(
                f"the room server at {self.location} now serves another room: this screen "
                "showed a different one (open it afresh)"))
        self.room = self.room or room
        self.keepalive = float(data.get("keepalive") or self.keepalive)
        self._clock_from(data.get("now"))
        return int(data["seq"])

    def _received(self, batch: list[Event]) -> None:
        fresh = [e for e in batch if e.seq > self.cursor]
        if not fresh:
            return
        if self.room is None and fresh[0].seq == 1:
            self.room = fresh[0].event_id
        self._events += fresh
        if len(self._events) > 2 * KEPT_EVENTS:
            del self._events[:-KEPT_EVENTS]
        self.cursor = fresh[-1].seq
        self._signal.bump()

    def _clock_from(self, now: Any) -> None:
        if now:
            with contextlib.suppress(ValueError):
                self._offset = datetime.fromisoformat(str(now)) - self._clock()


class _Fatal(Exception):
    def __init__(self, error: StoreError) -> None:
        self.error = error
        super().__init__(str(error))


class _Retry(Exception):
    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(why)


def _why(e: BaseException) -> str:
    if isinstance(e, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    return str(e) or type(e).__name__


async def _sse(content: aiohttp.StreamReader) -> AsyncIterator[tuple[str, Any]]:
    """(event name, decoded data) for each server-sent event; comments are skipped."""
    buffer = b""
    name, data = "message", b""
    while True:
        chunk = await content.readany()
        if not chunk:
            return
        buffer += chunk
        if len(buffer) > MAX_FRAME:
            raise ValueError("a server-sent event over 64 MiB")
        while True:
            at = buffer.find(b"\n")
            if at < 0:
                break
            line, buffer = buffer[:at].rstrip(b"\r"), buffer[at + 1:]
            if not line:
                if data:
                    yield name, json.loads(data)
                name, data = "message", b""
            elif line.startswith(b":"):
                continue
            elif line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data += line[5:].lstrip(b" ")
