"""`warroom serve`: the HTTP receiver and the escalation engine in one always-on process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from warroom.domain.common.errors import InvalidInput
from warroom.domain.config.model import Config
from warroom.escalation.engine import Engine
from warroom.ingest.receiver import AlertReceiver
from warroom.serve.browser import BrowserWatch, WatchCommand
from warroom.serve.feed import KEEPALIVE, FeedHub, add_routes
from warroom.serve.http import HOOKS_KEY, build_app
from warroom.serve.listen import ConnectionGate, check_plain_http, connection_cap
from warroom.serve.spectators import SpectatorGate
from warroom.statuspage.live import LiveStatusPage
from warroom.store.base import Store

# After an answer, what is left of a request's body is read (and dropped) for this long at
# most before the connection is closed.
LINGER_SECONDS = 2.0


async def serve(store: Store, config: Config, token: str, host: str, port: int, *,
                base_dir: Path | None = None, engine: bool = True,
                tls: ssl.SSLContext | None = None, allow_plain_http: bool | None = None,
                stop: asyncio.Event | None = None,
                on_ready: Callable[[str, int], None] | None = None,
                on_gate: Callable[[ConnectionGate], None] | None = None,
                config_path: Path | None = None, spectator_token: str | None = None,
                keepalive: float = KEEPALIVE,
                on_hub: Callable[[FeedHub], None] | None = None,
                watch: WatchCommand | None = None) -> None:
    """Until `stop` is set (or SIGTERM / SIGINT): receive alerts, run the engine and stream
    the room to spectators, and serve the public status page at /status/ (`config_path`: the
    file whose [spectators] table is re-read when it changes; `spectator_token`:
    $WARROOM_SPECTATOR_TOKEN).

    With `watch` (how to start the read-only dashboard on this room), browsers watch at
    GET /watch (warroom/serve/browser.py) behind the same spectator tokens, at most
    [spectators] max_browsers at once (read at start).

    Refuses (InvalidInput) to listen beyond loopback over plain HTTP unless
    `allow_plain_http` (default: [alerts] allow_plain_http) says so."""
    settings = config.alerts
    plain_ok = settings.allow_plain_http if allow_plain_http is None else allow_plain_http
    check_plain_http(host, tls is not None, plain_ok)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    header_timeout = settings.header_timeout.total_seconds()
    receiver = AlertReceiver(store, config, base_dir=base_dir)
    await receiver.index.catch_up(store)
    app = build_app(receiver, token, max_body=settings.max_body_bytes,
                    body_timeout=settings.body_timeout.total_seconds())
    # keepalive_timeout: an idle keep-alive connection, or one trickling its next request,
    # is closed after header_timeout (the first request's deadline is the gate's).
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           keepalive_timeout=header_timeout, lingering_time=LINGER_SECONDS)

    def make_handler() -> asyncio.Protocol:
        assert runner.server is not None  # set up below, before the first connection
        return runner.server()

    gate = ConnectionGate(make_handler, cap=connection_cap(settings.max_connections),
                          header_timeout=header_timeout)
    app[HOOKS_KEY] = gate  # before setup(), which freezes the application
    spectators = SpectatorGate(config.spectators, path=config_path, env_token=spectator_token,
                               alert_token=token, connection_cap=gate.cap)
    from warroom.domain.config.secrets import config_secrets

    hub = FeedHub(store, spectators, keepalive=keepalive,
                  secrets=[token, *config_secrets(config), *filter(None, [spectator_token])])
    add_routes(app, hub)
    status_page = LiveStatusPage(store, config)  # public: GET /status/, no token
    status_page.mount(app)
    if watch is not None:
        BrowserWatch(spectators.name_for, spectators.max_browsers, watch).mount(app)
    await runner.setup()
    if on_gate is not None:
        on_gate(gate)
    await hub.start()
    await status_page.start()
    if on_hub is not None:
        on_hub(hub)
    engine_task: asyncio.Task[None] | None = None
    server: asyncio.Server | None = None
    try:
        try:
            server = await loop.create_server(
                gate, host, port, ssl=tls, reuse_address=True,
                ssl_handshake_timeout=header_timeout if tls is not None else None)
        except OSError as e:
            raise InvalidInput(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        bound = server.sockets[0].getsockname()[1] if server.sockets else port
        if engine:
            eng = Engine(store, config, actor="engine", base_dir=base_dir)
            engine_task = asyncio.create_task(eng.run(stop))
        if on_ready is not None:
            on_ready(host, bound)
        await stop.wait()
    finally:
        stop.set()
        if server is not None:
            server.close()
        await hub.close()
        await status_page.close()
        if engine_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(engine_task, 10)
        await runner.cleanup()
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)
        await receiver.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
