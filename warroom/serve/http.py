"""The HTTP receiver on aiohttp: Alertmanager webhooks, PagerDuty events, a health check.

Endpoints:
    POST /alertmanager   Alertmanager webhook_config (version 4 JSON)
    POST /v2/enqueue     PagerDuty Events API v2 (and the v1 fields of Alertmanager's
                         pagerduty_config)
    GET  /healthz        liveness, no token needed
    GET  /watch          the read-only dashboard in a browser, for a spectator token
                         (warroom/serve/browser.py, mounted by run.py)
    GET  /status/        the public status page, no token (warroom/statuspage/live.py,
                         mounted by run.py)

Every post carries the room's token, as `Authorization: Bearer TOKEN` or (PagerDuty) as its
`routing_key` / `service_key`; tokens are compared in constant time. A body over the size limit
is refused before it is read in full, and one that does not arrive within the body timeout is
a 408. Whatever is wrong with a request, the answer is a 4xx with a JSON body saying what, and
nothing is written; a store that cannot take the write answers 503 so the sender retries; any
other failure is a JSON 500 with an error id (the traceback is in the server's log, never in
the answer).

What an unauthenticated client can make the server do is bounded: a post without a bearer
token is only parsed once its raw body is seen to carry the token as a routing key (one regular
expression over the bytes, no JSON parsing for a stranger), so posting megabytes of JSON
without the token costs the server a read and a scan, not a parse.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from warroom.domain.alerts.formats import (
    ALERTMANAGER,
    PAGERDUTY,
    PayloadError,
    decode_json,
    parse_notification,
)
from warroom.domain.common.jsonable import to_json
from warroom.ingest.receiver import AlertReceiver
from warroom.store.errors import StoreError

log = logging.getLogger("warroom.serve")

TOKEN_ENV = "WARROOM_TOKEN"
RECEIVER_KEY = web.AppKey("receiver", AlertReceiver)
DEFAULT_BODY_TIMEOUT = 10.0
STRANGER_READS = 4  # bodies of posts without a bearer token being read at once
# A routing key as it appears in the raw body: "routing_key": "VALUE" (escapes allowed).
_KEY_NAMES = (b'"routing_key"', b'"service_key"')
_KEY_VALUE = re.compile(rb'\s*:\s*"((?:[^"\\]|\\.){1,1024})"')
_KEYS_CHECKED = 8  # occurrences of a key looked at before giving up


class RequestHooks(Protocol):
    """Told when a connection's request starts and ends (the connection gate in listen.py:
    a connection with a request in progress is never closed to make room)."""

    def request_started(self, handler: Any) -> None: ...

    def request_finished(self, handler: Any) -> None: ...

    def stream_started(self, handler: Any) -> None: ...


HOOKS_KEY = web.AppKey("connection_hooks", RequestHooks)


def token_matches(given: str | None, token: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                               token.encode("utf-8", "surrogateescape"))


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def body_carries_token(body: bytes, token: str) -> bool:
    """Does the raw body hold the token as a `routing_key` / `service_key` string? Costs one
    scan of the bytes whatever they hold; each candidate is compared in constant time. (The
    parsed document is checked again afterwards: this only decides whether to parse it.)"""
    checked = 0
    for name in _KEY_NAMES:
        at = body.find(name)
        while at >= 0 and checked < _KEYS_CHECKED:  # bytes.find: memchr speed, no parsing
            checked += 1
            m = _KEY_VALUE.match(body, at + len(name))
            if m is not None and _same_token(m.group(1), token):
                return True
            at = body.find(name, at + len(name))
    return False


def _same_token(raw: bytes, token: str) -> bool:
    try:
        value = json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(value, str) and token_matches(value, token)


def _error(status: int, kind: str, message: str, **extra: Any) -> web.Response:
    body = {"status": "error", "error": kind, "message": message, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="warroom"'} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


async def read_body(request: web.Request, limit: int,
                    within: float = DEFAULT_BODY_TIMEOUT) -> bytes | web.Response:
    """The whole body, or a 413 as soon as it is known to exceed `limit`, or a 408 when it
    has not all arrived `within` seconds (a deadline for the whole body, not per read: a
    client trickling a byte a second would pass any per-read timeout)."""
    length = request.content_length
    if length is not None and length > limit:
        return _error(413, "too_large", f"body is {length} bytes; the limit is {limit} bytes "
                                        "(alerts.max_body_bytes)")
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(within):
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    return _error(413, "too_large", f"body exceeds the limit of {limit} bytes "
                                                    "(alerts.max_body_bytes)")
                chunks.append(chunk)
    except TimeoutError:
        response = _error(408, "timeout", f"the body did not arrive within {within:g}s "
                                          f"(alerts.body_timeout; {total} bytes came)")
        response.force_close()
        return response
    return b"".join(chunks)


@web.middleware
async def _guard(request: web.Request,
                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> web.StreamResponse:
    """Every answer is JSON, and no failure shows its internals; the connection gate knows
    which connections have a request in progress."""
    hooks = request.app.get(HOOKS_KEY)
    if hooks is not None:
        hooks.request_started(request.protocol)
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = _error(e.status, _KINDS.get(e.status, "http_error"),
                          f"{e.status} {e.reason}: {request.method} {request.path[:200]}")
        if "Allow" in e.headers:
            response.headers["Allow"] = e.headers["Allow"]
        return response
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("unexpected failure %s on %s %s", error_id, request.method,
                      request.path[:200])
        return _error(500, "internal", f"an unexpected failure (error id {error_id}, in the "
                                       "server's log); retry, or tell the room's owner",
                      error_id=error_id)
    finally:
        if hooks is not None:
            hooks.request_finished(request.protocol)


_KINDS = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 408: "timeout"}


def build_app(receiver: AlertReceiver, token: str, *, max_body: int,
              body_timeout: float = DEFAULT_BODY_TIMEOUT) -> web.Application:
    if not token:
        raise ValueError("the receiver needs a token")
    app = web.Application(client_max_size=max_body + 1, middlewares=[_guard])
    app[RECEIVER_KEY] = receiver

    # Bodies of posts without a bearer token read at once: a flood of strangers then costs
    # the event loop a few short reads at a time, and /healthz and real senders get their turn.
    strangers = asyncio.Semaphore(STRANGER_READS)

    async def stranger_body(request: web.Request) -> bytes | web.Response:
        try:
            async with asyncio.timeout(body_timeout):
                await strangers.acquire()
        except TimeoutError:
            return _error(503, "busy", "too many posts without a bearer token at once; retry")
        try:
            body = await read_body(request, max_body, body_timeout)
        finally:
            strangers.release()
        if isinstance(body, bytes) and not body_carries_token(body, token):
            return _unauthorised(("routing_key", "service_key"))
        return body

    def endpoint(fmt: str, key_fields: tuple[str, ...], ok_status: int
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            authorised = token_matches(bearer(request), token)
            if not authorised and not key_fields:
                return _error(401, "unauthorized", "missing or wrong token: send "
                                                   "Authorization: Bearer TOKEN")
            if authorised:
                body = await read_body(request, max_body, body_timeout)
            else:
                body = await stranger_body(request)
            if isinstance(body, web.Response):
                return body
            try:
                data = decode_json(body)
            except PayloadError as e:
                if not authorised:
                    return _unauthorised(key_fields)
                return _error(400, "invalid_payload", str(e))
            if not authorised:
                given = None
                if isinstance(data, dict):
                    for f in key_fields:
                        v = data.get(f)
                        if isinstance(v, str) and v:
                            given = v
                            break
                if not token_matches(given, token):
                    return _unauthorised(key_fields)
            try:
                notification = parse_notification(data, fmt, secrets=(token,))
            except PayloadError as e:
                return _error(400, "invalid_payload", str(e))
            try:
                result = await receiver.receive(notification, size=len(body))
            except StoreError as e:
                log.warning("could not record a %s notification: %s", fmt, e)
                return _error(503, "unavailable", f"the room could not record it now ({e}); "
                                                  "nothing was written, retry")
            if fmt == PAGERDUTY:
                return web.json_response({"status": "success", "message": "Event processed",
                                          "dedup_key": result.dedup_key, **to_json(result)},
                                         status=ok_status)
            return web.json_response({"status": "ok", **to_json(result)}, status=ok_status)

        return handle

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "received": receiver.received})

    app.router.add_post("/alertmanager", endpoint(ALERTMANAGER, (), 200))
    app.router.add_post("/v2/enqueue", endpoint(PAGERDUTY, ("routing_key", "service_key"), 202))
    app.router.add_get("/healthz", healthz)
    return app


def _unauthorised(key_fields: tuple[str, ...]) -> web.Response:
    return _error(401, "unauthorized", "missing or wrong token: send Authorization: Bearer "
                                       f"TOKEN or the room's token as {' / '.join(key_fields)}")


def parse_listen(text: str) -> tuple[str, int]:
    """"127.0.0.1:9095", "[::1]:9095", ":9095" (loopback) -> (host, port)."""
    t = text.strip()
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, sep, port_text = t.rpartition(":")
        if not sep:
            host, port_text = t, ""
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9095")
    return host or "127.0.0.1", int(port_text)
