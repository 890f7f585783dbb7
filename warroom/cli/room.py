"""Room commands: create a shared room's database, and open the dashboard."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import Any

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line
from warroom.domain.common.errors import InvalidInput

# A room shared by a Unix group: members write; nobody else can open the files at all, since
# whoever can open them can lock them (a read-only open of -shm can hold every writer off).
# Everyone else watches through the room server (`warroom serve`, `warroom watch --server`).
ROOM_DIR_MODE = 0o2770  # rwxrws---: setgid, so -wal and -shm get the room's group
ROOM_FILE_MODE = 0o660  # rw-rw----: SQLite gives -wal and -shm the database's mode


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "init",
        help="create a room's database (optionally shared by a Unix group)",
        description=(
            "Create the room's database. With --group, the folder is made setgid to that "
            f"group with mode {ROOM_DIR_MODE:o} and the database, -wal and -shm "
            f"{ROOM_FILE_MODE:o}: members of the group can write, and nobody else can open the "
            "files (whoever can open them can lock them); everyone else watches through the "
            "room server (warroom serve; warroom watch --server URL). An existing folder's "
            "mode is left alone; init says what it lacks."
        ),
        parents=[common],
    )
    p.add_argument("--group", metavar="NAME", help="the Unix group whose members may write")
    p.set_defaults(handler=init)

    p = sub.add_parser(
        "demo",
        help="open the dashboard on a demo room (an ongoing SEV-1 plus a year of history)",
        description=(
            "Build a demo room from the bundled sample data (once; it is reused while its "
            "SEV-1 is fresh, so a second terminal running `warroom demo` joins the same room) "
            "and open the dashboard on it. Your own room (--db) is never touched."
        ),
        parents=[common],
    )
    p.add_argument("--path", metavar="PATH", help="where to keep the demo room "
                   "(default: demo.db in your data directory)")
    p.add_argument("--reset", action="store_true", help="rebuild the demo room from scratch")
    p.add_argument("--build-only", action="store_true",
                   help="build the room, print its path and exit")
    p.add_argument("--watch", action="store_true",
                   help="watch the demo room read-only (a spectator beside someone running "
                        "`warroom demo`); builds it only if there is none")
    p.add_argument("--drill", nargs="?", const="payments-outage", metavar="SCENARIO",
                   help="a drill instead: a fresh drill room (drill-demo.db) fed a scenario "
                        "(default payments-outage; `warroom drill list`) while you respond")
    p.add_argument("--speed", type=float, default=1.0, metavar="N",
                   help="with --drill: the drill clock runs N times real time (default 1)")
    p.set_defaults(handler=demo)

    p = sub.add_parser("watch", help="open the dashboard read-only (spectator)",
                       description="A read-only dashboard: nothing you press can change the "
                                   "room, and the store refuses writes anyway. With --server, "
                                   "from the room server (`warroom serve`) on any machine, "
                                   "without access to the room's files.",
                       parents=[common])
    p.add_argument("incident", metavar="ID", nargs="?", help="follow this incident")
    p.add_argument("--server", metavar="URL",
                   help="watch through the room server at URL (http(s)://HOST:PORT), with a "
                        "spectator token (docs/spectators.md)")
    p.add_argument("--token", metavar="TOKEN",
                   help="the spectator token (default: $WARROOM_SPECTATOR_TOKEN; the "
                        "variable keeps it out of the process list)")
    p.set_defaults(handler=watch)


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
