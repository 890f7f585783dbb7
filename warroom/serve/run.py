"""`warroom serve`: the HTTP receiver and the escalation engine in one always-on process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from warroom.domain.config.model import Config
from warroom.escalation.engine import Engine
from warroom.ingest.receiver import AlertReceiver
from warroom.serve.http import build_app
from warroom.store.base import Store


async def serve(store: Store, config: Config, token: str, host: str, port: int, *,
                base_dir: Path | None = None, engine: bool = True,
                stop: asyncio.Event | None = None,
                on_ready: Callable[[str, int], None] | None = None) -> None:
    """Until `stop` is set (or SIGTERM / SIGINT): receive alerts and run the engine."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    receiver = AlertReceiver(store, config, base_dir=base_dir)
    await receiver.index.catch_up(store)
    app = build_app(receiver, token, max_body=config.alerts.max_body_bytes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    engine_task: asyncio.Task[None] | None = None
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        # The port actually bound (port 0 asks the system for a free one).
        bound = runner.addresses[0][1] if runner.addresses else port
        if engine:
            eng = Engine(store, config, actor="engine", base_dir=base_dir)
            engine_task = asyncio.create_task(eng.run(stop))
        if on_ready is not None:
            on_ready(host, bound)
        await stop.wait()
    finally:
        stop.set()
        if engine_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(engine_task, 10)
        await runner.cleanup()
        await receiver.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
