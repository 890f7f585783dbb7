"""`warroom [--db PATH] [--as NAME] COMMAND`: every state change the dashboard makes, scriptable.

Exit codes (also in --help and the README):
  0 ok, 1 internal error, 2 bad usage or input (or a refused move), 3 version conflict,
  4 incident not found, 5 read-only or permission denied, 6 database missing,
  7 not a database or corrupt, 8 database on a network filesystem, 9 database locked too long,
  10 schema from a newer (or older, for a reader) warroom, 11 disk full (nothing was written).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Coroutine, Sequence

from warroom import __version__
from warroom.cli.args import Parser as _Parser
from warroom.cli.args import resolve_handler
from warroom.cli.argtypes import utf8_problem

# Each module adds its subcommands with register(subparsers, common). They hold the grammar
# only (warroom.cli.args) and name their handlers as "module:function", imported when the
# command runs: `warroom --version` loads no domain, store nor asyncio, and `warroom ack` only
# what acknowledging needs (tests/test_startup_imports.py).
COMMAND_MODULES = (
    "warroom.cli.args.incidents",
    "warroom.cli.args.room",
    "warroom.cli.args.metrics",
    "warroom.cli.args.comms",
    "warroom.cli.args.escalation",
    "warroom.cli.args.alerts",
    "warroom.cli.args.statuspage",
    "warroom.cli.args.drill",
)

EPILOG = """\
exit codes:
  0  ok
  1  internal error (a bug: please report it)
  2  bad usage or input, or a move the workflow refuses
  3  version conflict: someone changed the incident first; nothing was written
  4  incident not found
  5  read-only (spectator, read-only file) or permission denied
  6  database missing
  7  not a database, or damaged
  8  database on a network filesystem (SQLite WAL needs a local disk)
  9  database locked by another process for too long
  10 database schema from a newer warroom (or one a reader cannot upgrade)
  11 the database's disk is full: nothing was written

environment:
  WARROOM_DB    the room's database (default: $XDG_DATA_HOME/warroom/warroom.db)
  WARROOM_USER  who you are (default: your login name)
  WARROOM_LOCK_TIMEOUT  seconds to wait for another writer (default 10)
  WARROOM_CONFIG  the room's configuration file (default: warroom.toml beside the database)
  WARROOM_TOKEN   the token alert senders must present to `warroom serve`
  XDG_STATE_HOME  where a crashed dashboard writes its traceback (default ~/.local/state)
"""


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command name (`warroom show INC-1 --json`)."""
    common = _Parser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS,
                        help="the room's database: a path, or a postgresql:// URL "
                             "(default: $WARROOM_DB, else your data directory)")
    common.add_argument("--as", dest="as_", metavar="NAME", default=argparse.SUPPRESS,
                        help="who you are (default: $WARROOM_USER, else your login name)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
    common.add_argument("--spectator", action="store_true", default=argparse.SUPPRESS,
                        help="open the room read-only")
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="the room's configuration (default: $WARROOM_CONFIG, else "
                             "warroom.toml beside the database, else built-in defaults)")
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="say on stderr how this process learns of other terminals' "
                             "changes (inotify, or polling and why)")
    return common


def _say_verbose() -> None:
    """The store's start-up choices (warroom.store at INFO) to stderr, as `warroom: ...`.

    The handler looks up sys.stderr at each line, so that while the dashboard holds the
    terminal the line goes where Textual sends stderr, not over the screen."""
    import logging

    class Stderr(logging.StreamHandler):  # type: ignore[type-arg]
        @property  # type: ignore[override]
        def stream(self) -> object:
            return sys.stderr

        @stream.setter
        def stream(self, _value: object) -> None:
            pass

    handler = Stderr()
    handler.setFormatter(logging.Formatter("warroom: %(message)s"))
    logger = logging.getLogger("warroom.store")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = _Parser(
        prog="warroom",
        description="A terminal war-room for incident response. With no command, opens the "
                    "dashboard on --db.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"warroom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def _report(ctx_json: bool, code: int, kind: str, message: str) -> int:
    from warroom.domain.common.text import printable

    if ctx_json:
        from warroom.cli.output import emit_json

        emit_json({"error": {"code": code, "type": kind, "message": message}})
    sys.stderr.write(f"warroom: {printable(message, single_line=False)}\n")
    return code


_TIME_OPTIONS = ("--at", "--time", "--since", "--until", "--started-at", "--detected-at", "--now")


def _glue_relative_times(argv: list[str]) -> list[str]:
    """Let `--at -5m` mean what it says: argparse would take -5m for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _TIME_OPTIONS and i + 1 < len(argv) and argv[i + 1][:2].startswith("-") and (
            argv[i + 1][1:2].isdigit()
        ):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in arguments
    problem = utf8_problem(arguments)
    if problem is not None:
        return _report(want_json, 2, "InvalidInput", problem)  # ExitCode.USAGE
    parser = build_parser()
    args = parser.parse_args(_glue_relative_times(arguments))
    want_json = bool(getattr(args, "json", False))
    # Imported only now, not at the top: `--version` and `--help` end inside parse_args and
    # must not pay for pydantic, the domain, the store or asyncio.
    from warroom.cli.context import Context
    from warroom.domain.common.errors import DomainError
    from warroom.settings import Settings, SettingsError
    from warroom.store.errors import Conflict, ExitCode, StoreError

    if getattr(args, "verbose", False):
        _say_verbose()
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        return _report(want_json, ExitCode.USAGE, type(e).__name__, str(e))
    handler = getattr(args, "handler", None)
    if handler is None:
        from warroom.cli.room import dashboard

        handler = dashboard
    try:
        ctx = Context.from_args(args, settings)
        result = resolve_handler(handler)(ctx)
        # not inspect.iscoroutine: `inspect` costs ~10 ms of every command's start-up
        if isinstance(result, Coroutine):
            import asyncio

            result = asyncio.run(result)
        return int(result or 0)
    except Conflict as e:
        return _report(want_json, e.exit_code, "conflict", e.describe())
    except StoreError as e:
        return _report(want_json, e.exit_code, type(e).__name__, str(e))
    except DomainError as e:
        return _report(want_json, ExitCode.USAGE, type(e).__name__, str(e))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: one line, and the traceback only on request
        if settings.debug:
            raise
        return _report(want_json, ExitCode.INTERNAL, "internal",
                       f"internal error: {type(e).__name__}: {e} (set WARROOM_DEBUG=1 for "
                       "the traceback)")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
