"""Starting the dashboard from the CLI: open the store first (so a bad database is one clear
line on the terminal, not a broken screen), then run the app on the same event loop.

A dashboard that crashes anyway (a bug) must not bury the terminal under Textual's 300-line
traceback and exit 0 as if all was well: the traceback goes to a file of its own, the terminal
gets one line saying where, and the exit status is 1.
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warroom.cli.context import Context
from warroom.store import Store

CRASH_FILE_MODE = 0o600  # a traceback shows local variables: a token, a webhook URL...


def _write_report(text: str, now: datetime, folder: Path) -> Path:
    name = f"crash-{now:%Y%m%dT%H%M%SZ}-{os.getpid()}.txt"
    for where in (folder, Path(tempfile.gettempdir())):
        try:
            where.mkdir(parents=True, exist_ok=True)
            path = where / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, CRASH_FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(text)
            return path
        except OSError:
            continue
    raise OSError("no folder to write the crash report in")


def report_crash(error: BaseException | None, rendered: str, folder: Path) -> int:
    """Write the traceback to a file in `folder` (else the temporary directory) and say
    where, in one line on stderr; exit status 1."""
    from warroom import __version__
    from warroom.domain.common.text import printable

    now = datetime.now(UTC)
    head = (f"warroom {__version__}: the dashboard crashed at {now.isoformat()}\n"
            f"command: {' '.join(sys.argv)}\n\n")
    body = "".join(traceback.format_exception(error)) if error is not None else ""
    if rendered.strip():  # what Textual would have printed (its own view of the error)
        body += "\nas the dashboard reported it:\n" + rendered
    what = f"{type(error).__name__}: {error}" if error is not None else "an unknown error"
    what = printable(what)[:200]
    try:
        path: Path | str = _write_report(head + body, now, folder)
    except OSError:
        path = "nowhere (no writable folder)"
    sys.stderr.write(f"warroom: the dashboard crashed ({what}); the traceback is in {path}\n")
    return 1


def _follow_the_terminal() -> None:
    """Forget COLUMNS and LINES: Textual asks Python for the terminal's size, and Python
    answers with these when they are set (a shell or a tool may export them), so a dashboard
    started with them kept that size through every resize of the window it is in: 200x50
    resized to 80x24 drew the wide layout into 80 columns (issue 12, item 9). The terminal
    itself knows its size; these only ever describe it as it was. Not under another driver
    (a browser through textual-serve): the web driver reads its first size from COLUMNS and
    ROWS, and without them drew an 80-column dashboard in a 155-column page."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


@contextmanager
def collector_paused() -> Iterator[None]:
    """What the dashboard runs in, from before its imports: no garbage collection until the
    screen has settled (`dashboard._settle_heap`, once the metrics are on screen, collects
    once, freezes what start-up built and resumes it), or has ended. Start-up allocates a
    great deal and frees almost nothing (imports, pydantic's models, Textual's widgets, the
    room's summaries): the collector walked that growing heap again and again (180 times,
    45-50 ms of a ~450 ms first paint) and found next to nothing to free."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def run_app(app: Any, *, crash_dir: Path | None = None, **run_options: Any) -> int:
    """Run a Textual app to its end: its result, or 1 and one line if it crashed (the report
    goes to `crash_dir`, by default the state directory: $XDG_STATE_HOME/warroom)."""
    from rich.console import Console

    from warroom.settings import Settings

    folder = crash_dir or Settings.from_env().state_dir()

    rendered = io.StringIO()
    # Textual prints an unhandled exception's traceback on its error console once the screen
    # is restored: catch it in memory (it goes into the report) instead of on the terminal.
    app.error_console = Console(file=rendered, markup=False, highlight=False, width=120,
                                color_system=None)
    if not run_options.get("headless"):
        _follow_the_terminal()
    try:
        result = await app.run_async(**run_options)
    except Exception as e:  # a crash outside the app's own handling
        return report_crash(e, rendered.getvalue(), folder)
    if app.return_code:  # Textual sets 1 when an exception ended the app
        return report_crash(getattr(app, "_exception", None), rendered.getvalue(), folder)
    return int(result or 0)


async def _run(store: Store, ctx: Context, follow: str | None) -> int:
    from warroom.tui.app import WarroomApp

    app = WarroomApp(store, actor=ctx.actor, local_tz=ctx.local_tz, follow=follow,
                     loaded_config=ctx.loaded_config)
    try:
        return await run_app(app, crash_dir=ctx.settings.state_dir())
    finally:
        await store.close()


def run_dashboard(ctx: Context, *, follow: str | None = None, spectator: bool | None = None,
                  db: str | None = None) -> int:
    with collector_paused():
        return _run_local(ctx, follow, spectator, db)


def _run_local(ctx: Context, follow: str | None, spectator: bool | None,
               db: str | None) -> int:
    readonly = ctx.spectator if spectator is None else spectator

    if db:
        ctx.db = db
    from warroom.tui.actions import ActionKeys

    # A broken config file, or a [keys] table that takes a key twice, stops here, before the
    # store or the screen opens.
    ActionKeys.load(ctx.loaded_config)

    async def main() -> int:
        from warroom.store import open_store

        store = await open_store(db or ctx.db, readonly=readonly, create=not readonly,
                                 lock_timeout=ctx.lock_timeout)
        return await _run(store, ctx, follow)

    return asyncio.run(main())


def run_remote_dashboard(ctx: Context, url: str, token: str | None, *,
                         follow: str | None = None) -> int:
    """The dashboard, read-only, from the room server at `url` (no file of the room is
    opened on this machine)."""
    with collector_paused():
        return _run_remote(ctx, url, token, follow)


def _run_remote(ctx: Context, url: str, token: str | None, follow: str | None) -> int:
    from warroom.tui.actions import ActionKeys

    ActionKeys.load(ctx.loaded_config)

    async def main() -> int:
        from warroom.store.remote import RemoteStore

        store = await RemoteStore.open(url, token)
        return await _run(store, ctx, follow)

    return asyncio.run(main())
