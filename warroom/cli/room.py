"""Room commands: create a shared room's database, and open the dashboard."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from warroom.cli.args.room import ROOM_DIR_MODE, ROOM_FILE_MODE
from warroom.cli.context import Context
from warroom.cli.output import emit_json, line
from warroom.domain.common.errors import InvalidInput


def _gid(name: str) -> int:
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise InvalidInput(f"no Unix group named {name!r}") from None


async def init(ctx: Context) -> int:
    from warroom.store.sqlite import SQLiteStore

    if "://" in ctx.db:
        store = await ctx.store(write=True)
        await store.close()
        line(f"room ready at {store.location}")  # without the URL's password
        return 0
    path = Path(ctx.db).expanduser().absolute()
    group = ctx.args.group
    gid = _gid(group) if group else None
    created_dir = not path.parent.exists()
    existed = path.exists()
    if created_dir:
        path.parent.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if gid is not None and created_dir:
        os.chown(path.parent, -1, gid)
        os.chmod(path.parent, ROOM_DIR_MODE)
    store = await SQLiteStore.open(path, readonly=False, create=True)
    await store.close()
    if gid is not None:
        # A live room keeps its -wal and -shm: they get the database's mode too.
        os.chown(path, -1, gid)
        os.chmod(path, ROOM_FILE_MODE)
        for suffix in ("-wal", "-shm"):
            try:
                os.chown(f"{path}{suffix}", -1, gid)
                os.chmod(f"{path}{suffix}", ROOM_FILE_MODE)
            except FileNotFoundError:
                pass  # an idle room has none: SQLite creates them with the database's mode
        if not created_dir:
            mode = stat.S_IMODE(path.parent.stat().st_mode)
            if path.parent.stat().st_gid != gid or not mode & stat.S_IWGRP:
                notes.append(
                    f"{path.parent} already existed and is not group-writable by {group}: members "
                    f"cannot create the -wal/-shm files there. Use a folder of its own, or run "
                    f"chgrp {group} {path.parent} && chmod {ROOM_DIR_MODE:o} {path.parent}"
                )
    dir_mode = stat.S_IMODE(path.parent.stat().st_mode)
    file_mode = stat.S_IMODE(path.stat().st_mode)
    if ctx.json:
        emit_json({"db": str(path), "created": not existed, "group": group,
                   "dir_mode": f"{dir_mode:o}", "file_mode": f"{file_mode:o}", "notes": notes})
    else:
        line(f"{'created' if not existed else 'checked'} room {path}")
        line(f"  folder mode {dir_mode:o}, database mode {file_mode:o}"
             + (f", group {group}" if group else ""))
        for n in notes:
            line(f"  note: {n}")
    return 0


def dashboard(ctx: Context) -> int:
    from warroom.tui.run import run_dashboard

    return run_dashboard(ctx)


def watch(ctx: Context) -> int:
    from warroom.domain.incident.state import parse_incident_id

    follow = parse_incident_id(ctx.args.incident) if ctx.args.incident else None
    if ctx.args.server:
        from warroom.tui.run import run_remote_dashboard

        return run_remote_dashboard(ctx, ctx.args.server,
                                    ctx.args.token or ctx.settings.spectator_token,
                                    follow=follow)
    if ctx.args.token:
        raise InvalidInput("--token goes with --server (a spectator token for the room server)")
    if "://" not in ctx.db and not Path(ctx.db).expanduser().exists():
        from warroom.store.errors import DatabaseMissing

        # A newcomer who just saw `warroom demo` in another terminal expects to watch that.
        raise DatabaseMissing(
            f"no database at {ctx.db}; a spectator never creates one (someone in the room opens "
            "it first, or run `warroom init`). To watch the demo room: warroom demo --watch")
    from warroom.tui.run import run_dashboard

    return run_dashboard(ctx, follow=follow, spectator=True)


def demo(ctx: Context) -> int:
    import asyncio

    from warroom.demo import default_demo_path, ensure_demo
    from warroom.resources import sample_data_dir

    if ctx.args.drill:
        return drill_demo(ctx)
    path = Path(ctx.args.path).expanduser() if ctx.args.path else default_demo_path(ctx.settings)
    if ctx.args.watch and not ctx.args.reset and path.exists():
        # Never rebuild a room someone may be in: a spectator watches whatever is there.
        from warroom.tui.run import run_dashboard

        return run_dashboard(ctx, db=str(path), spectator=True)
    built = asyncio.run(ensure_demo(path, sample_data_dir(), ctx.now(), reset=ctx.args.reset))
    if ctx.args.build_only:
        if ctx.json:
            emit_json({"db": str(path), "built": built})
        else:
            line(f"demo room {'built' if built else 'reused'}: {path}")
        return 0
    from warroom.tui.run import run_dashboard

    return run_dashboard(ctx, db=str(path), spectator=True if ctx.args.watch else None)


def drill_demo(ctx: Context) -> int:
    """`warroom demo --drill`: a fresh drill room with the demo world's configuration, the
    scenario fed into it by a `warroom drill run` of its own, the dashboard on the room. The
    drill stops when the dashboard closes."""
    import subprocess
    import sys

    from warroom.demo import build_drill_demo
    from warroom.drills.files import find_scenario
    from warroom.resources import sample_data_dir

    a = ctx.args
    find_scenario(a.drill)  # an unknown scenario is refused before anything is built
    path = (Path(a.path).expanduser() if a.path
            else ctx.settings.data_dir() / "drill-demo" / "drill.db")
    config = build_drill_demo(path, sample_data_dir())
    _mark_drill(path, a.drill)  # before any screen opens on it: every header says DRILL
    argv = [sys.executable, "-m", "warroom", "drill", "run", a.drill, "--db", str(path),
            "--config", str(config), "--speed", f"{a.speed:g}", "--as", "scenario"]
    if a.build_only:
        done = subprocess.run([*argv, "--instant", "--json"], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            return done.returncode
        if ctx.json:
            emit_json({"db": str(path), "drill": a.drill, "built": True})
        else:
            line(f"drill room built: {path} (score it: warroom drill score --db {path})")
        return 0
    log = path.with_name("drill-demo.log")
    with open(log, "w", encoding="utf-8") as out:
        runner = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
    try:
        from warroom.tui.run import run_dashboard

        ctx.config_arg = str(config)
        ctx._loaded = None
        return run_dashboard(ctx, db=str(path))
    finally:
        runner.terminate()
        try:
            runner.wait(timeout=10)
        except subprocess.TimeoutExpired:
            runner.kill()


def _mark_drill(path: Path, scenario: str) -> None:
    import asyncio

    from warroom.store import open_store

    async def mark() -> None:
        store = await open_store(str(path))
        try:
            await store.set_room_mark("drill", scenario)
        finally:
            await store.close()

    asyncio.run(mark())
