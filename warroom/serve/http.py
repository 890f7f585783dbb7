"""The HTTP receiver on aiohttp: Alertmanager webhooks, PagerDuty events, a health check.

Endpoints:
    POST /alertmanager   Alertmanager webhook_config (version 4 JSON)
    POST /v2/enqueue     PagerDuty Events API v2 (and the v1 fields of Alertmanager's
                         pagerduty_config)
    GET  /healthz        liveness, no token needed

Every post carries the room's token, as `Authorization: Bearer TOKEN` or (PagerDuty) as its
`routing_key` / `service_key`; tokens are compared in constant time. A body over the size limit
is refused before it is read in full. Whatever is wrong with a request, the answer is a 4xx with
a JSON body saying what, and nothing is written; a store that cannot take the write answers 503
so the sender retries.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from warroom.domain.alerts.formats import (
    ALERTMANAGER,
    PAGERDUTY,
    PayloadError,
    decode_json,
    parse_alertmanager,
    parse_pagerduty,
)
from warroom.domain.common.jsonable import to_json
from warroom.ingest.receiver import AlertReceiver
from warroom.store.errors import StoreError

log = logging.getLogger("warroom.serve")

TOKEN_ENV = "WARROOM_TOKEN"
RECEIVER_KEY = web.AppKey("receiver", AlertReceiver)


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


def _error(status: int, kind: str, message: str, **extra: Any) -> web.Response:
    body = {"status": "error", "error": kind, "message": message, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="warroom"'} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


async def read_body(request: web.Request, limit: int) -> bytes | web.Response:
    """The whole body, or a 413 as soon as it is known to exceed `limit`."""
    length = request.content_length
    if length is not None and length > limit:
        return _error(413, "too_large", f"body is {length} bytes; the limit is {limit} bytes "
                                        "(alerts.max_body_bytes)")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            return _error(413, "too_large", f"body exceeds the limit of {limit} bytes "
                                            "(alerts.max_body_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


Parser = Callable[[Any], Any]


def build_app(receiver: AlertReceiver, token: str, *, max_body: int) -> web.Application:
    if not token:
        raise ValueError("the receiver needs a token")
    app = web.Application(client_max_size=max_body + 1)
    app[RECEIVER_KEY] = receiver

    def endpoint(fmt: str, parse: Parser, key_fields: tuple[str, ...], ok_status: int
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            authorised = token_matches(bearer(request), token)
            if not authorised and not key_fields:
                return _error(401, "unauthorized", "missing or wrong token: send "
                                                   "Authorization: Bearer TOKEN")
            body = await read_body(request, max_body)
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
                notification = parse(data)
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

    app.router.add_post("/alertmanager", endpoint(ALERTMANAGER, parse_alertmanager, (), 200))
    app.router.add_post("/v2/enqueue", endpoint(PAGERDUTY, parse_pagerduty,
                                                ("routing_key", "service_key"), 202))
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
