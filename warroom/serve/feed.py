"""The room, read-only, for spectators who must not open its files (docs/spectators.md).

`warroom serve` holds the room's files; spectators (`warroom watch --server URL`, the browser
page) get what was committed from here, over HTTP:

    GET /spectate/snapshot                 where the log ends, the incidents' summaries
    GET /spectate/summaries                the summaries alone
    GET /spectate/incidents/{id}           one incident's state
    GET /spectate/incidents/{id}/events    its events (?after_version=N&limit=M)
    GET /spectate/events?after=SEQ         every incident's events after SEQ (catch-up)
    GET /spectate/feed?after=SEQ           server-sent events: committed events in commit order

Every request carries a spectator token (`Authorization: Bearer T` or `?token=T`); a missing,
wrong or revoked one is a 401 with nothing streamed. Nothing here writes to the room.

One task reads the store per commit batch (the store's own change feed) and encodes the batch
once; every open stream gets the same bytes through its own bounded queue. A spectator that
falls a queue behind is dropped (it reconnects and catches up from its cursor), so a slow
reader never slows the writers or the other spectators. Each stream counts against
`[spectators] max`, which always leaves the alert senders room under the connection cap.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from warroom.domain.common.jsonable import utc_iso
from warroom.serve.http import HOOKS_KEY, _error, bearer
from warroom.serve.spectators import Admission, SpectatorGate
from warroom.store.base import WATCHING, Presence, Store
from warroom.store.errors import NotFound, StoreError
from warroom.store.wire import (
    WIRE_VERSION,
    event_out,
    presence_out,
    state_out,
    summary_out,
)

log = logging.getLogger("warroom.serve")

QUEUE_FRAMES = 256  # frames a spectator may fall behind before it is dropped
KEEPALIVE = 5.0  # seconds between presence frames (the stream's keep-alive)
RING_EVENTS = 10_000  # recent events kept encoded, for spectators catching up
CATCH_UP_PAGE = 500  # events per frame (and per store read) when catching up
PRESENCE_WINDOW = timedelta(seconds=16)  # a terminal that missed three beats is gone
WATCHERS_EVERY = 5.0  # seconds between the watchers' presence rows
READS_AT_ONCE = 8  # spectators' snapshot/state/event reads running at once
BYE_TIMEOUT = 1.0


def sse(event: str, data: Any, seq: int | None = None) -> bytes:
    """One server-sent event: `data` as one line of JSON (JSON escapes every newline)."""
    head = f"id: {seq}\n" if seq is not None else ""
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"),
                                                          ensure_ascii=False)
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


def _events_frame(texts: list[str], last_seq: int) -> bytes:
    return sse("events", '{"events":[' + ",".join(texts) + "]}", last_seq)


class _Client:
    """One open stream: its name, token and queue of frames still to send."""

    def __init__(self, name: str, token: str, admission: Admission, frames: int,
                 transport: asyncio.BaseTransport | None) -> None:
        self.name = name
        self.token = token
        self.admission = admission
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=frames)
        self.transport = transport
        self.reason: str | None = None  # why the server ended it: revoked, shutdown, ...
        self.message = ""

    def end(self, reason: str, message: str, *, abort: bool = False) -> None:
        """Stop sending: the handler wakes on None. `abort`: the client is not reading, so
        its connection is cut too (a write blocked on it then fails)."""
        if self.reason is not None:
            return
        self.reason = reason
        self.message = message
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        if abort and self.transport is not None:
            self.transport.abort()


class FeedHub:
    """The one reader of the store for every spectator, and the streams it feeds."""

    def __init__(self, store: Store, gate: SpectatorGate, *, secrets: list[str],
                 keepalive: float = KEEPALIVE, queue_frames: int = QUEUE_FRAMES,
                 ring_events: int = RING_EVENTS) -> None:
        self.store = store
        self.gate = gate
        self._base_secrets = secrets
        self.secrets = [*secrets, *gate.tokens()]
        self._secrets_for = gate.generation
        self.keepalive = keepalive
        self.queue_frames = queue_frames
        self.ring_events = ring_events
        self.cursor = 0
        self.room: str | None = None  # the first event's id: the same room after a restart
        self.fault: str | None = None
        self.clients: set[_Client] = set()
        self.dropped_slow = 0
        self._ring_seq: list[int] = []
        self._ring_text: list[str] = []
        self._present: list[dict[str, Any]] = []
        self._watchers_shown: dict[str, int] = {}
        self._watchers_at = 0.0
        self._started_at = datetime.now(UTC)
        self._tasks: list[asyncio.Task[None]] = []
        self.reads = asyncio.Semaphore(READS_AT_ONCE)

    # ---- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.cursor = await self.store.last_seq()
        first = await self.store.events_since(0, limit=1)
        self.room = first[0].event_id if first else None
        await self._read_presence()
        self._tasks = [asyncio.create_task(self._pump(), name="spectator feed"),
                       asyncio.create_task(self._tick(), name="spectator checks")]

    async def close(self) -> None:
        for c in list(self.clients):
            c.end("shutdown", "the room server is shutting down; reconnect later")
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for name in self._watchers_shown:
            with contextlib.suppress(StoreError):
                await self.store.leave(_watch_session(name))

    # ---- the one reader -----------------------------------------------------------------------

    async def _pump(self) -> None:
        try:
            async for batch in self.store.subscribe(self.cursor):
                fresh = [e for e in batch if e.seq > self.cursor]
                if not fresh:
                    continue
                if self.room is None and fresh[0].seq == 1:
                    self.room = fresh[0].event_id
                texts = [json.dumps(event_out(e, self.secrets), separators=(",", ":"),
                                    ensure_ascii=False) for e in fresh]
                self._remember(fresh[-1].seq, [e.seq for e in fresh], texts)
                self._broadcast(_events_frame(texts, fresh[-1].seq))
        except StoreError as e:  # the room's files were replaced: nothing here is true now
            self.fault = f"the room stopped: {e}"
            log.warning("spectator feed stopped: %s", e)
            for c in list(self.clients):
                c.end("stopped", self.fault)

    def _remember(self, last: int, seqs: list[int], texts: list[str]) -> None:
        self.cursor = last
        self._ring_seq += seqs
        self._ring_text += texts
        if len(self._ring_seq) > 2 * self.ring_events:
            del self._ring_seq[:-self.ring_events]
            del self._ring_text[:-self.ring_events]

    def _broadcast(self, frame: bytes) -> None:
        for c in list(self.clients):
            if c.reason is not None:
                continue
            try:
                c.queue.put_nowait(frame)
            except asyncio.QueueFull:
                self.dropped_slow += 1
                log.warning("spectator %r fell %d frames behind: dropped (it reconnects and "
                            "catches up)", c.name, self.queue_frames)
                c.end("too_slow", "too slow: the server dropped this stream", abort=True)

    # ---- checks: revoked tokens, keep-alives, the roster --------------------------------------

    async def _tick(self) -> None:
        last_keepalive = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.keepalive))
            self.gate.refresh()
            if self.gate.generation != self._secrets_for:
                self._secrets_for = self.gate.generation
                self.secrets = [*self._base_secrets, *self.gate.tokens()]
            for c in list(self.clients):
                if c.reason is None and c.transport is not None and c.transport.is_closing():
                    c.end("gone", "the spectator went away")  # counted no more
                elif c.reason is None and self.gate.name_for(c.token) != c.name:
                    log.warning("spectator token %r revoked: its stream is closed", c.name)
                    c.end("revoked", "this spectator token no longer opens the room")
            now = loop.time()
            try:
                await self._show_watchers(now)
            except StoreError as e:
                log.warning("could not show the spectators on the roster: %s", e)
            if now - last_keepalive >= self.keepalive:
                last_keepalive = now
                await self._read_presence()
                self._broadcast(self._presence_frame())

    async def _read_presence(self) -> None:
        try:
            rows = await self.store.present(datetime.now(UTC) - PRESENCE_WINDOW)
        except StoreError:
            return
        self._present = [presence_out(p) for p in rows]

    def _presence_frame(self) -> bytes:
        return sse("presence", {"now": utc_iso(datetime.now(UTC)), "present": self._present})

    async def _show_watchers(self, now: float) -> None:
        """The roster's "watching: support (3)": one presence row per token name, refreshed
        like a terminal's (the server writes it; a spectator never writes to the room)."""
        watching = self.gate.watching()
        if watching == self._watchers_shown and now - self._watchers_at < WATCHERS_EVERY:
            return
        self._watchers_at = now
        for name in set(self._watchers_shown) - set(watching):
            await self.store.leave(_watch_session(name))
        at = datetime.now(UTC)
        for name, count in watching.items():
            await self.store.heartbeat(Presence(
                _watch_session(name), f"{WATCHING}{name} ({count})", socket.gethostname(),
                os.getpid(), self._started_at, at, None))
        self._watchers_shown = watching

    # ---- one stream ---------------------------------------------------------------------------

    def join(self, name: str, token: str, admission: Admission,
             transport: asyncio.BaseTransport | None) -> tuple[_Client, int]:
        """Register a stream; it is sent every batch after the returned cursor (the hub's,
        read in the same step: nothing falls between catch-up and live)."""
        client = _Client(name, token, admission, self.queue_frames, transport)
        self.clients.add(client)
        return client, self.cursor

    def leave(self, client: _Client) -> None:
        self.clients.discard(client)
        client.admission.release()

    def hello(self, name: str, upto: int) -> bytes:
        return sse("hello", {"wire": WIRE_VERSION, "room": self.room, "seq": upto,
                             "now": utc_iso(datetime.now(UTC)), "name": name,
                             "keepalive": self.keepalive})

    async def catch_up(self, after: int, upto: int) -> AsyncIterator[bytes]:
        """Frames of the events in (after, upto]: from the ring when it reaches back that far,
        else read from the store a page at a time (only when a spectator (re)connects)."""
        if after >= upto:
            return
        if self._ring_seq and self._ring_seq[0] <= after + 1:
            start = bisect.bisect_right(self._ring_seq, after)
            end = bisect.bisect_right(self._ring_seq, upto)
            for i in range(start, end, CATCH_UP_PAGE):
                j = min(i + CATCH_UP_PAGE, end)
                yield _events_frame(self._ring_text[i:j], self._ring_seq[j - 1])
            return
        cursor = after
        while cursor < upto:
            async with self.reads:
                page = await self.store.events_since(cursor, limit=CATCH_UP_PAGE)
            page = [e for e in page if e.seq <= upto]
            if not page:
                return
            texts = [json.dumps(event_out(e, self.secrets), separators=(",", ":"),
                                ensure_ascii=False) for e in page]
            cursor = page[-1].seq
            yield _events_frame(texts, cursor)


def _watch_session(name: str) -> str:
    return f"watch:{name}"


HUB_KEY = web.AppKey("spectator_hub", FeedHub)


def spectator_token(request: web.Request) -> str | None:
    return bearer(request) or request.query.get("token") or None


def _refused() -> web.Response:
    return _error(401, "unauthorized", "missing, wrong or revoked spectator token: send "
                                       "Authorization: Bearer TOKEN (or ?token=TOKEN)")


def _int_arg(request: web.Request, name: str, default: int | None,
             header: str | None = None) -> int | None:
    text = request.query.get(name)
    if text is None and header is not None:
        text = request.headers.get(header)
    if text is None or text == "":
        return default
    if not text.isdigit() or len(text) > 18:
        raise web.HTTPBadRequest(reason=f"{name} must be a whole number, 0 or more")
    return int(text)


def add_routes(app: web.Application, hub: FeedHub) -> None:
    """The spectators' endpoints, on the receiver's application (before it is frozen)."""
    app[HUB_KEY] = hub
    gate = hub.gate

    def who(request: web.Request) -> str | None:
        return gate.name_for(spectator_token(request))

    async def snapshot(request: web.Request) -> web.Response:
        if who(request) is None:
            return _refused()
        async with hub.reads:
            seq = await hub.store.last_seq()
            rows = await hub.store.summaries()
            drill = await hub.store.room_mark("drill")
        # "drill": the room is a drill (its scenario), so a remote spectator's header says so.
        return web.json_response({"wire": WIRE_VERSION, "room": hub.room, "seq": seq,
                                  "now": utc_iso(datetime.now(UTC)),
                                  "summaries": [summary_out(s) for s in rows]}
                                 | ({"drill": drill} if drill is not None else {}))

    async def summaries(request: web.Request) -> web.Response:
        if who(request) is None:
            return _refused()
        open_only = request.query.get("open_only") in ("1", "true")
        limit = _int_arg(request, "limit", None)
        async with hub.reads:
            rows = await hub.store.summaries(open_only=open_only, limit=limit)
        return web.json_response([summary_out(s) for s in rows])

    async def incident(request: web.Request) -> web.Response:
        if who(request) is None:
            return _refused()
        try:
            async with hub.reads:
                state = await hub.store.get(request.match_info["id"])
        except NotFound as e:
            return _error(404, "not_found", str(e))
        return web.json_response(state_out(state, hub.secrets))

    async def incident_events(request: web.Request) -> web.Response:
        if who(request) is None:
            return _refused()
        after = _int_arg(request, "after_version", 0) or 0
        limit = _int_arg(request, "limit", None)
        try:
            async with hub.reads:
                rows = await hub.store.events(request.match_info["id"], after_version=after,
                                              limit=limit)
        except NotFound as e:
            return _error(404, "not_found", str(e))
        return web.json_response([event_out(e, hub.secrets) for e in rows])

    async def events(request: web.Request) -> web.Response:
        if who(request) is None:
            return _refused()
        after = _int_arg(request, "after", 0) or 0
        limit = min(_int_arg(request, "limit", 1000) or 1000, 1000)
        async with hub.reads:
            rows = await hub.store.events_since(after, limit=limit)
        return web.json_response([event_out(e, hub.secrets) for e in rows])

    async def feed(request: web.Request) -> web.StreamResponse:
        token = spectator_token(request)
        name = gate.name_for(token)
        if name is None or token is None:
            return _refused()
        if hub.fault is not None:
            return _error(503, "unavailable", hub.fault)
        after = _int_arg(request, "after", None, header="Last-Event-ID")
        if after is None:
            after = hub.cursor
        if after > hub.cursor and after > await hub.store.last_seq():
            return _error(409, "cursor_ahead",
                          f"this room's log ends at {hub.cursor}, before your cursor {after}: "
                          "it is not the room you were watching (or it was restored from a "
                          "backup); open it afresh")
        admission = gate.admit(name)
        if not isinstance(admission, Admission):
            response = _error(admission.status, "too_many_spectators", admission.message)
            response.headers["Retry-After"] = "5"
            return response
        client, upto = hub.join(name, token, admission, request.transport)
        try:
            return await _stream(request, hub, client, after, upto)
        finally:
            hub.leave(client)

    app.router.add_get("/spectate/snapshot", snapshot)
    app.router.add_get("/spectate/summaries", summaries)
    app.router.add_get("/spectate/incidents/{id}", incident)
    app.router.add_get("/spectate/incidents/{id}/events", incident_events)
    app.router.add_get("/spectate/events", events)
    app.router.add_get("/spectate/feed", feed, allow_head=False)


async def _stream(request: web.Request, hub: FeedHub, client: _Client, after: int,
                  upto: int) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})
    response.force_close()  # one stream per connection: nothing is pipelined after it
    hooks = request.app.get(HOOKS_KEY)
    if hooks is not None:
        hooks.stream_started(request.protocol)  # from now on, anything it sends is garbage
    try:
        await response.prepare(request)
        await response.write(hub.hello(client.name, upto))
        async for frame in hub.catch_up(after, upto):
            if client.reason is not None:
                break
            await response.write(frame)
        while True:
            frame = await client.queue.get()
            if frame is None:
                break
            await response.write(frame)
        if client.reason is not None and client.reason not in ("too_slow", "gone"):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(BYE_TIMEOUT):
                    await response.write(sse("bye", {"reason": client.reason,
                                                     "message": client.message}))
    except (ConnectionError, OSError):
        pass  # the spectator went away (or was cut off): nothing more is owed
    return response
