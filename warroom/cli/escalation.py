"""Escalation commands: the headless engine, "escalate now", who is on call, the configuration,
an incident's escalation ladder and its response clocks."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line, safe, when
from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.jsonable import to_json
from warroom.domain.incident.state import parse_incident_id


def _engine_actor() -> str:
    return f"engine@{socket.gethostname()}"


def _time(ctx: Context, text: str | None, option: str, *, lookup: bool = False) -> datetime:
    return ctx.time(text, option, lookup=lookup) or ctx.now()


# ---- engine ------------------------------------------------------------------------------------


async def engine(ctx: Context) -> int:
    from warroom.escalation.engine import Engine, shifted_clock, system_clock

    a = ctx.args
    if a.now and not a.once:
        raise InvalidInput("--now needs --once (a running engine follows the real clock)")
    loaded = ctx.loaded_config  # a broken configuration stops us before anything runs
    now = ctx.time(a.now, "--now") if a.now else None
    clock = shifted_clock(now) if now else system_clock
    printer = _Printer(ctx)
    async with await ctx.store(write=True) as store:
        eng = Engine(store, loaded.config, clock=clock, actor=_engine_actor(),
                     deliver=not a.no_deliver,
                     base_dir=loaded.path.parent if loaded.path else None,
                     on_fired=printer.fired, on_delivery=printer.delivery)
        if a.once:
            try:
                fired = await eng.tick(now or clock())
                await eng.drain()
            finally:
                await eng.close()
            if ctx.json:
                emit_json({"now": now or clock(), "fired": [_fired_json(f) for f in fired],
                           "deliveries": printer.deliveries})
            elif not fired:
                line("nothing due")
            return 0
        _configure_logging()
        sys.stderr.write(f"warroom engine on {ctx.db} (config: {loaded.source}); "
                         "Ctrl-C to stop\n")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await eng.run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    return 0


def _configure_logging() -> None:
    logger = logging.getLogger("warroom.escalation")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)


class _Printer:
    """What a headless engine says as it works: a line per level and per delivery attempt."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.deliveries: list[dict[str, Any]] = []

    def fired(self, f: Any) -> None:
        if self.ctx.json and self.ctx.args.once:
            return
        if self.ctx.json:
            emit_json({"fired": _fired_json(f)})
            return
        how = "manual" if f.reason == "manual" else "timeout"
        again = f" (repeat {f.cycle})" if f.cycle else ""
        who = ", ".join(safe(t) for t in f.targets) or "nobody"
        line(f"{when(f.at)}  {f.incident_id} L{f.level}{again} fired ({how}): paged {who}")
        sys.stdout.flush()

    def delivery(self, d: Any) -> None:
        item = {"incident_id": d.page.incident_id, "level": d.page.level,
                "cycle": d.page.cycle, "to": d.page.to, "channel": d.page.channel,
                "attempt": d.attempt, "ok": d.result.ok, "detail": d.result.detail,
                "final": d.final}
        self.deliveries.append(item)
        if self.ctx.json:
            if not self.ctx.args.once:
                emit_json({"delivery": item})
            return
        outcome = "delivered" if d.result.ok else ("FAILED, gave up" if d.final else "failed")
        line(f"  {d.page.incident_id} L{d.page.level} page to {safe(d.page.to)} via "
             f"{d.page.channel} (attempt {d.attempt}): {outcome}: {safe(d.result.detail)}")
        sys.stdout.flush()


def _fired_json(f: Any) -> dict[str, Any]:
    return {"incident_id": f.incident_id, "level": f.level, "cycle": f.cycle,
            "targets": f.targets, "reason": f.reason, "at": f.at,
            "event_id": f.event.event_id, "seq": f.event.seq}


# ---- escalate now ------------------------------------------------------------------------------


async def escalate(ctx: Context) -> int:
    from warroom.domain.incident.kinds import describe, event_json
    from warroom.escalation.engine import Engine

    incident_id = parse_incident_id(ctx.args.incident)
    loaded = ctx.loaded_config
    at = ctx.time(ctx.args.at)
    printer = _Printer(ctx)
    async with await ctx.store(write=True) as store:
        # One attempt from here; a running engine retries a failed page (stall recovery).
        eng = Engine(store, loaded.config, actor=ctx.actor, deliver=not ctx.args.no_deliver,
                     base_dir=loaded.path.parent if loaded.path else None, local_attempts=1,
                     on_delivery=printer.delivery)
        try:
            result = await eng.escalate_now(incident_id, ctx.actor, at,
                                            ctx.args.expect_version)
            await eng.drain()
        finally:
            await eng.close()
    if ctx.json:
        emit_json({"incident_id": result.incident_id, "version": result.version,
                   "duplicate": result.duplicate,
                   "events": [event_json(e) for e in result.events],
                   "deliveries": printer.deliveries})
        return 0
    for e in result.events:
        note = " (already fired by an engine a moment ago)" if result.duplicate else ""
        line(f"{e.incident_id} v{e.version}: {safe(describe(e))}{note}")
    return 0


# ---- on call -----------------------------------------------------------------------------------


def oncall(ctx: Context) -> int:
    from warroom.domain.config.model import WEEKDAY_TITLES
    from warroom.domain.oncall.rotation import who_is_on_call

    a = ctx.args
    if a.action == "simulate":
        from warroom.cli.oncall_simulate import simulate

        return simulate(ctx)
    given = [f"--{n}" for n, v in (("from", a.since), ("to", a.until), ("service", a.service))
             if v is not None]
    if given or len(a.at or []) > 1:
        raise InvalidInput(f"{', '.join(given) or 'a second --at'} belongs to "
                           "`warroom oncall simulate`")
    loaded = ctx.loaded_config
    config = loaded.config
    at = _time(ctx, a.at[-1] if a.at else None, "--at", lookup=True)
    names = list(config.rotations)
    if ctx.args.rotation:
        if ctx.args.rotation not in config.rotations:
            known = ", ".join(names) or "none configured"
            raise InvalidInput(f"no rotation {ctx.args.rotation!r}; known: {known}")
        names = [ctx.args.rotation]
    results = [who_is_on_call(config.rotations[n], at) for n in names]
    if ctx.json:
        emit_json({"at": at, "config": loaded.source,
                   "rotations": results})
        return 0
    if not results:
        line(f"no rotations configured (config: {safe(loaded.source)})")
        return 0
    line(f"on call at {when(at)}")
    for r in results:
        rot = config.rotations[r.rotation]
        line(f"{safe(r.rotation)}  ({rot.timezone}, handoff "
             f"{WEEKDAY_TITLES[rot.handoff.weekday]} {rot.handoff.time:%H:%M})")
        for slot in ("primary", "secondary"):
            who = r.holder(slot)  # type: ignore[arg-type]
            extra = ""
            for o in r.overrides_applied:
                if o.slot == slot:
                    why = f"; {safe(o.reason)}" if o.reason else ""
                    extra = (f"  (override: covers {safe(o.replaces or 'nobody')} until "
                             f"{when(o.end)}{why})")
            line(f"  {slot:<10} {safe(who) if who else '(nobody)'}{extra}")
        if r.shift_start is not None:
            line(f"  shift      {when(r.shift_start)} -> {when(r.shift_end)} (week {r.week})")
        else:
            line(f"  shift      the rotation starts {when(r.next_change)}")
        if r.next_change is not None:
            line(f"  next change {when(r.next_change)}")
    return 0


# ---- configuration -----------------------------------------------------------------------------


def config_cmd(ctx: Context) -> int:
    loaded = ctx.loaded_config
    c = loaded.config
    if ctx.args.action == "show":
        from warroom.domain.config.secrets import redacted_config

        if ctx.args.show_secrets:
            _may_see_secrets(loaded.path)
            shown = c.model_dump(mode="json")
        else:
            shown = redacted_config(c)
        emit_json({"source": loaded.source, "secrets": "shown" if ctx.args.show_secrets
                   else "redacted", "config": shown})
        return 0
    if ctx.args.show_secrets:
        raise InvalidInput("--show-secrets goes with `config show`")
    summary = {
        "source": loaded.source, "valid": True, "people": len(c.people),
        "teams": len(c.teams), "services": len(c.services), "rotations": len(c.rotations),
        "escalation_policies": sorted(c.escalation_policies),
    }
    if ctx.json:
        emit_json(summary)
        return 0
    line(f"{safe(loaded.source)}: valid")
    line(f"  {len(c.people)} people, {len(c.teams)} teams, {len(c.services)} services, "
         f"{len(c.rotations)} rotations, policies: {', '.join(sorted(c.escalation_policies))}")
    return 0


def _may_see_secrets(path: Path | None) -> None:
    """Secrets are shown to whoever could put them there: someone who can write the file."""
    import os

    from warroom.store.errors import PermissionDenied

    if path is not None and not os.access(path, os.W_OK):
        raise PermissionDenied(f"config show --show-secrets: you cannot write {path}, so its "
                               "secrets stay redacted (run `warroom config show` without it)")


# ---- an incident's ladder and clocks -----------------------------------------------------------


async def escalation_status(ctx: Context) -> int:
    from warroom.domain.common.timefmt import format_duration
    from warroom.domain.oncall.escalation import escalation_view_for

    config = ctx.config
    incident_id = parse_incident_id(ctx.args.incident)
    now = _time(ctx, ctx.args.now, "--now")
    async with await ctx.store(write=False) as store:
        state = await store.get(incident_id)
    view = escalation_view_for(config, state, now)
    if ctx.json:
        emit_json({**to_json(view), "now": now})
        return 0
    line(f"{state.id}  policy {safe(view.policy)}  pass {view.cycle + 1}/{view.passes}: "
         f"{safe(view.status_text())}")
    for lv in view.levels:
        head = f"  L{lv.level}  T+{format_duration(lv.after):<5} {', '.join(lv.target_labels)}"
        if lv.state == "fired":
            how = f"{lv.reason}" + (f" by {safe(lv.actor)}" if lv.reason == "manual" and
                                    lv.actor else "")
            line(f"{head}: fired {when(lv.fired_at)} ({how})")
            for p in lv.paged:
                label = f" [{safe(p.label)}]" if p.label else ""
                line(f"        {safe(p.handle)}{label}: {safe(p.delivery)}")
            for u in lv.unresolved:
                line(f"        could not page {safe(u)}")
        elif lv.state == "skipped":
            line(f"{head}: skipped for {state.severity.value}")
        else:
            due = f", due {when(lv.due_at)}" if lv.due_at else ""
            who = ", ".join(safe(w) for w in lv.would_page)
            line(f"{head}: {lv.state}{due}: {who}")
    return 0


async def clocks(ctx: Context) -> int:
    from warroom.domain.incident.clocks import all_clocks

    incident_id = parse_incident_id(ctx.args.incident)
    now = _time(ctx, ctx.args.now, "--now")
    async with await ctx.store(write=False) as store:
        state = await store.get(incident_id)
    items = all_clocks(state, now)
    if ctx.json:
        emit_json({"incident_id": state.id, "now": now, "clocks": items})
        return 0
    line(f"{state.id}  {state.severity.value}  {state.status.value}  as of {when(now)}")
    for c in items:
        line(f"  {c.label:<24} {safe(c.owner_text()):<26} {c.target_text:<22} {c.text()}")
    return 0
