"""Where `warroom serve` listens, and what a client may hold there.

aiohttp has no deadline for a request's headers (its slow-request timeout went with 2.0;
`keepalive_timeout` closes an idle keep-alive connection, and only recent releases also arm it
at connect) and no cap on connections. A client trickling its headers one byte a second held
its connection forever, and 1,100 of them used up the process's 1,024 descriptors: /healthz
and every alert post timed out. So the listening socket is ours (`loop.create_server`), and
every accepted connection goes through a `ConnectionGate`:

- a deadline: the first request's headers (and, with TLS, the handshake before them) must
  arrive within `header_timeout` of connecting, or the connection is dropped; after an
  answer, aiohttp's keep-alive timeout (set to the same) closes a connection whose next
  request does not come;
- a cap: at most `cap` connections, always well below the descriptor limit. At the cap a new
  connection first takes the place of the oldest one that has no request in progress (a slow
  or idle client, never a request being handled); if every connection is busy, the newcomer
  gets a 503 and is closed.

The body's deadline is the handler's (`warroom/serve/http.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import resource
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warroom.domain.common.errors import InvalidInput

log = logging.getLogger("warroom.serve")

DESCRIPTOR_RESERVE = 64  # descriptors kept for the store, logs, hooks and the engine


def is_loopback(host: str) -> bool:
    """Only this machine can reach it: 127.0.0.0/8, ::1, "localhost". Anything else (a name,
    0.0.0.0, ::) counts as beyond loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_loopback
    except ValueError:
        return False


def check_plain_http(host: str, tls: bool, allow_plain_http: bool) -> None:
    """Tokens travel in headers: beyond loopback they need TLS, or an explicit yes."""
    if tls or allow_plain_http or is_loopback(host):
        return
    raise InvalidInput(
        f"refusing to listen on {host} over plain HTTP: senders' tokens would cross the network "
        "in clear text. Give a certificate (--tls-cert/--tls-key or [alerts] tls_cert/tls_key), "
        "or say --allow-plain-http ([alerts] allow_plain_http = true) if something else "
        "protects the path")


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context from a PEM certificate chain and its private key."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except FileNotFoundError as e:
        raise InvalidInput(f"TLS: cannot read {e.filename or cert}: no such file") from None
    except PermissionError as e:
        raise InvalidInput(f"TLS: cannot read {e.filename or cert}: permission denied") from None
    except (ssl.SSLError, OSError) as e:
        raise InvalidInput(f"TLS: cannot use certificate {cert} with key {key}: "
                           f"{getattr(e, 'reason', None) or e}") from None
    return ctx


def connection_cap(wanted: int) -> int:
    """`wanted`, lowered to stay DESCRIPTOR_RESERVE below the soft descriptor limit."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - max(DESCRIPTOR_RESERVE, soft // 8)))


@dataclass
class GateStats:
    accepted: int = 0
    refused: int = 0  # at the cap with every connection busy: a 503
    evicted: int = 0  # idle connections closed to make room
    timed_out: int = 0  # headers (or TLS handshake) not in within header_timeout
    garbage: int = 0  # spectator streams closed for sending something


class ConnectionGate:
    """The protocol factory handed to `loop.create_server`: counts, times and caps the
    connections, and passes everything else to aiohttp's handler."""

    def __init__(self, make_handler: Callable[[], asyncio.Protocol], *, cap: int,
                 header_timeout: float) -> None:
        self.make_handler = make_handler
        self.cap = cap
        self.header_timeout = header_timeout
        self.stats = GateStats()
        self._loop = asyncio.get_running_loop()
        # accepted, not yet connected (a TLS handshake in progress), with when accepted
        self._pending: dict[_Tracked, float] = {}
        self._live: dict[_Tracked, None] = {}  # connected, oldest first
        self._by_handler: dict[Any, _Tracked] = {}

    @property
    def open(self) -> int:
        return len(self._live) + len(self._pending)

    def __call__(self) -> asyncio.Protocol:
        now = self._loop.time()
        # A handshake that outlived its timeout was closed by asyncio, which does not tell
        # the protocol: forget it.
        stale = now - self.header_timeout - 1.0
        for c in [c for c, at in self._pending.items() if at < stale]:
            del self._pending[c]
        if self.open >= self.cap and not self._evict_idle():
            self.stats.refused += 1
            log.warning("connection limit reached (%d open, alerts.max_connections): "
                        "refusing new connections while every one is busy", self.open)
            return _Refuse()
        self.stats.accepted += 1
        handler = self.make_handler()
        tracked = _Tracked(self, handler)
        self._pending[tracked] = now
        self._by_handler[handler] = tracked
        return tracked

    def _evict_idle(self) -> bool:
        for c in self._live:
            if not c.busy and not c.closing:
                self.stats.evicted += 1
                log.warning("connection limit reached (%d open, alerts.max_connections): "
                            "closing the oldest idle connection", self.open)
                c.drop()
                return True
        return False

    # ---- what the handler says about its requests (the middleware calls these) ----------

    def request_started(self, handler: Any) -> None:
        c = self._by_handler.get(handler)
        if c is not None:
            c.busy = True
            c.requests += 1

    def request_finished(self, handler: Any) -> None:
        c = self._by_handler.get(handler)
        if c is not None:
            c.busy = False

    def stream_started(self, handler: Any) -> None:
        """A spectator stream (warroom/serve/feed.py): a request in progress for as long as
        it is open (so neither the header deadline nor the eviction of idle connections
        touches it), and one that the client never sends anything on."""
        c = self._by_handler.get(handler)
        if c is not None:
            c.streaming = True

    # ---- from _Tracked ---------------------------------------------------------------------

    def _made(self, c: _Tracked) -> None:
        self._pending.pop(c, None)
        self._live[c] = None

    def _lost(self, c: _Tracked) -> None:
        self._pending.pop(c, None)
        self._live.pop(c, None)
        self._by_handler.pop(c.inner, None)

    def _expired(self, c: _Tracked) -> None:
        self.stats.timed_out += 1
        log.warning("a client did not send its request's headers within %gs "
                    "(alerts.header_timeout): connection closed", self.header_timeout)


class _Tracked(asyncio.Protocol):
    """aiohttp's handler, plus the connection's deadline and its place in the count."""

    def __init__(self, gate: ConnectionGate, inner: asyncio.Protocol) -> None:
        self.gate = gate
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closing = False
        self.streaming = False
        self.requests = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._accepted_at = asyncio.get_running_loop().time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.gate._made(self)
        # One deadline from the accept: a TLS handshake and the headers share it.
        self._deadline = asyncio.get_running_loop().call_at(
            self._accepted_at + self.gate.header_timeout, self._check_deadline)
        self.inner.connection_made(transport)

    def _check_deadline(self) -> None:
        self._deadline = None
        if self.requests == 0 and not self.busy:
            self.gate._expired(self)
            self.drop()

    def drop(self) -> None:
        """Close at once: nothing is owed to a client that has not sent a whole request."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.streaming:  # a spectator's stream is one-way: bytes from it are garbage
            self.gate.stats.garbage += 1
            log.warning("a spectator sent %d bytes on its stream: disconnected", len(data))
            self.drop()
            return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.gate._lost(self)
        self.inner.connection_lost(exc)


class _Refuse(asyncio.Protocol):
    """Every connection is busy: say so (503, JSON) and close."""

    BODY = json.dumps({"status": "error", "error": "busy",
                       "message": "the receiver has too many connections open; retry"}).encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        with contextlib.suppress(Exception):
            transport.write(b"HTTP/1.1 503 Service Unavailable\r\n"
                            b"Content-Type: application/json\r\nRetry-After: 1\r\n"
                            b"Connection: close\r\nContent-Length: "
                            + str(len(self.BODY)).encode() + b"\r\n\r\n" + self.BODY)
        transport.close()

    def data_received(self, data: bytes) -> None:
        pass
