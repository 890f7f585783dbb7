"""The grammar of the room commands: init, demo, watch (their implementation:
warroom.cli.room)."""

from __future__ import annotations

import argparse
from typing import Any

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
    p.set_defaults(handler="warroom.cli.room:init")

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
    p.set_defaults(handler="warroom.cli.room:demo")

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
    p.set_defaults(handler="warroom.cli.room:watch")
