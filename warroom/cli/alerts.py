"""Alert commands: `warroom ingest` (a payload from a file or stdin), `warroom serve` (the HTTP
receiver with the escalation engine), `warroom payloads ID` (what arrived, and how it was
mapped)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line, safe, when
from warroom.domain.common.errors import InvalidInput
from warroom.settings import Settings

if TYPE_CHECKING:
    import ssl


def _read_payload(path: str, limit: int) -> bytes:
    from warroom.content.files import read_bytes, size_text

    return read_bytes(path, limit, f"a payload (alerts.max_body_bytes = {size_text(limit)})")


async def ingest(ctx: Context) -> int:
    from warroom.domain.alerts.formats import decode_json, parse_notification
    from warroom.ingest.receiver import AlertReceiver

    a = ctx.args
    loaded = ctx.loaded_config
    config = loaded.config
    at = ctx.time(a.at)
    body = _read_payload(a.file, config.alerts.max_body_bytes)
    notification = parse_notification(decode_json(body), a.format,
                                      secrets=tuple(filter(None, [resolve_token(
                                          ctx.settings, config.alerts.token)])))
    async with await ctx.store(write=True) as store:
        receiver = AlertReceiver(store, config, clock=(lambda: at) if at else ctx.now,
                                 base_dir=loaded.path.parent if loaded.path else None,
                                 remediate=not a.no_remediate)
        try:
            result = await receiver.receive(notification, size=len(body))
            await receiver.drain()
        finally:
            await receiver.close()
    if ctx.json:
        emit_json(result)
    else:
        line(safe(result.message))
    return 0


# The room server is the one reader of an SQLite room for every remote spectator: it looks
# for commits more often than a terminal does (50 ms), which costs it about 0.4% of a core.
SERVE_POLL = 0.02


def resolve_token(settings: Settings, config_token: str | None) -> str | None:
    return settings.token or config_token or None


async def serve(ctx: Context) -> int:
    from warroom.serve.browser import WatchCommand
    from warroom.serve.http import parse_listen
    from warroom.serve.logs import log_to_stderr
    from warroom.serve.run import serve as run_serve

    a = ctx.args
    loaded = ctx.loaded_config
    config = loaded.config
    token = resolve_token(ctx.settings, config.alerts.token)
    if not token:
        raise InvalidInput("no token: set $WARROOM_TOKEN or [alerts].token in the configuration "
                           "(every sender must present it)")
    try:
        host, port = parse_listen(a.listen or config.alerts.listen)
    except ValueError as e:
        raise InvalidInput(str(e)) from None

    base_dir = loaded.path.parent if loaded.path else None
    tls = _tls(a.tls_cert, a.tls_key, config.alerts.tls_cert, config.alerts.tls_key, base_dir)
    scheme = "https" if tls else "http"

    def ready(h: str, p: int) -> None:
        if ctx.json:
            emit_json({"listening": f"{scheme}://{h}:{p}", "host": h, "port": p,
                       "tls": tls is not None, "db": ctx.db, "config": loaded.source})
        else:
            shown = f"[{h}]" if ":" in h else h
            line(f"warroom serve: listening on {scheme}://{shown}:{p} (room {safe(ctx.db)}, "
                 f"config {safe(loaded.source)}); Ctrl-C to stop")
        sys.stdout.flush()

    # Warnings of the receiver and the engine go to stderr (nobody is looking at a dashboard
    # from this process), each repeated line rate-limited.
    log_to_stderr()
    from warroom.store import open_store

    sqlite = "://" not in ctx.db
    poll = a.poll_interval if a.poll_interval is not None else (SERVE_POLL if sqlite else None)
    if poll is not None and not 0.001 <= poll <= 10:
        raise InvalidInput(f"--poll-interval {poll:g}: expected 0.001 to 10 seconds")
    async with await open_store(ctx.db, readonly=ctx.spectator, create=True,
                                lock_timeout=ctx.lock_timeout, poll_interval=poll) as store:
        await run_serve(store, config, token, host, port, base_dir=base_dir,
                        engine=not a.no_engine, tls=tls,
                        allow_plain_http=a.allow_plain_http or None, on_ready=ready,
                        config_path=loaded.path, spectator_token=ctx.settings.spectator_token,
                        watch=WatchCommand(ctx.db, loaded.path))
    return 0


def _tls(cert: str | None, key: str | None, cfg_cert: str | None, cfg_key: str | None,
         base_dir: Path | None) -> ssl.SSLContext | None:
    """The TLS context from the flags, else from [alerts] (relative to the config's folder)."""
    from warroom.serve.listen import tls_context

    if cert or key:
        if not (cert and key):
            raise InvalidInput("--tls-cert and --tls-key go together: give both")
        return tls_context(Path(cert), Path(key))
    if cfg_cert and cfg_key:
        root = base_dir or Path.cwd()
        return tls_context(root / Path(cfg_cert).expanduser(), root / Path(cfg_key).expanduser())
    return None


async def payloads(ctx: Context) -> int:
    from warroom.domain.alerts.automation import alert_payloads
    from warroom.domain.incident.events import iso
    from warroom.domain.incident.state import parse_incident_id

    incident = parse_incident_id(ctx.args.incident)
    async with await ctx.store(write=False) as store:
        events = await store.events(incident)
    views = alert_payloads(events)
    if ctx.args.last:
        views = views[-ctx.args.last:]
    if ctx.json:
        emit_json([{"event_id": v.event_id, "at": iso(v.at), "format": v.format,
                    "version": v.version, "action": v.action, "dedup_key": v.dedup_key,
                    "firing": v.firing, "resolved": v.resolved, "alerts": v.alerts,
                    "mapping": v.mapping, "kept": v.kept, "size": v.size, "payload": v.text,
                    "repeats": v.repeats, "last_at": iso(v.last_at) if v.last_at else None}
                   for v in views])
        return 0
    if not views:
        line(f"{incident}: no alert payloads")
    for v in views:
        line(f"{when(v.at)}  {v.format} {v.version} {v.action}  dedup key "
             f"{safe(v.dedup_key)}  ({v.firing} firing, {v.resolved} resolved, {v.size} bytes, "
             f"{safe(v.kept)})")
        if v.repeats > 1:
            line(f"  {v.received()}")
        for m in v.mapping_lines():
            line(f"  {safe(m)}")
        for text_line in v.text.splitlines():
            line(f"    {safe(text_line)}")
    return 0
