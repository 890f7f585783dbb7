"""Patched copies of the SQLite store's change-feed poller, for measurement only.

warroom/store/sqlite.py reads `PRAGMA data_version` on a plain connection when inotify says a
writer announced a commit (with a 1 s backstop poll), or every `poll_interval` where inotify is
not available. Before issue 15 it polled through aiosqlite: each read a hand-off to the
connection's thread and a wake-up of the loop again when the answer came back. The variants
below keep everything else of SQLiteStore and change only how the feed is woken, so that
idle_reader_cpu.py and feed_latency.py can compare them with the real thing. None of them but
`store`/`inotify` and `poll` is used by warroom itself.

- store, inotify:  the real SQLiteStore, unchanged (inotify where it works, as on Linux).
- poll:            the real SQLiteStore with inotify turned off (`wake="poll"`): the poll every
                   `poll_interval`, as everywhere without inotify and as before issue 15.
- watchfiles-N:    the real feed woken by watchfiles' `awatch` (Rust notify) on the room's
                   folder instead of the ctypes inotify binding, with step=N ms (debounce=N):
                   the library considered for the job (it must be installed by hand).
- poll-thread:     a dedicated daemon thread with a plain sqlite3 connection polls with
                   time.sleep between polls and wakes the event loop only when data_version moved
                   (an idle room never wakes the loop).
- inline-sqlite3:  the poll stays an asyncio task but runs the ~5 us pragma on a plain sqlite3
                   connection directly on the loop's thread (no thread hop, one loop wake-up per
                   poll instead of two).

Both patched pollers also signal once after their first read, which closes a start-up window of
the real poller (see docs/benchmarks-foundation.md): a commit that lands between a subscriber's
first read and the poller's first data_version read is otherwise not signalled until the next
commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from warroom.store.sqlite import SQLiteStore, _prepare_reader
from warroom.store.wake import Wakeup

VARIANTS = ("store", "inotify", "poll", "poll-thread", "inline-sqlite3", "watchfiles-1",
            "watchfiles-50")


def _raw_reader(store: SQLiteStore, timeout: float) -> sqlite3.Connection:
    """A plain read-only connection set up exactly like the store's own readers."""
    conn = sqlite3.connect(store._uri(), uri=True, timeout=timeout,
                           isolation_level=None, check_same_thread=False)
    try:
        _prepare_reader(conn)
    except BaseException:
        conn.close()
        raise
    return conn


class PollThreadStore(SQLiteStore):
    """data_version polled on a thread of its own; the loop is woken only by a change."""

    _thread: threading.Thread | None = None
    _stop: threading.Event | None = None

    def _ensure_watching(self) -> None:
        if self._thread is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll_loop, args=(loop, self._stop),
                                            name="warroom-feed-poll", daemon=True)
            self._thread.start()

    def _poll_loop(self, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        conn: sqlite3.Connection | None = None
        last: int | None = None
        try:
            while True:
                try:
                    if conn is None:
                        conn = _raw_reader(self, self.lock_timeout)
                    (version,) = conn.execute("PRAGMA data_version").fetchone()
                    if version != last:
                        loop.call_soon_threadsafe(self._signal.bump)
                    last = version
                except sqlite3.Error:
                    last = None
                    if conn is not None:
                        conn.close()
                        conn = None
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    return
                if stop.wait(self.poll_interval):
                    return
        finally:
            if conn is not None:
                conn.close()

    async def close(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            await asyncio.to_thread(self._thread.join)
        await super().close()


class InlineSqlite3Store(SQLiteStore):
    """data_version polled by an asyncio task on a plain sqlite3 connection, no thread hop."""

    async def _poll(self) -> None:
        conn: sqlite3.Connection | None = None
        last: int | None = None
        try:
            while not self._closed:
                try:
                    if conn is None:
                        conn = _raw_reader(self, timeout=0)  # never block the loop
                    (version,) = conn.execute("PRAGMA data_version").fetchone()
                    if version != last:
                        self._signal.bump()
                    last = version
                except sqlite3.Error:
                    last = None
                    if conn is not None:
                        conn.close()
                        conn = None
                await asyncio.sleep(self.poll_interval)
        finally:
            if conn is not None:
                conn.close()


class WatchfilesWake(Wakeup):
    """wake.FolderWatch's interface on watchfiles.awatch: a task sets the flag per yield."""

    def __init__(self, db: Path, step: int) -> None:
        import watchfiles

        super().__init__()
        self.gone: str | None = None
        self._stop = asyncio.Event()
        names = {db.name + s for s in ("", "-wal", "-shm")}

        async def run() -> None:
            async for _changes in watchfiles.awatch(
                    db.parent, watch_filter=lambda _c, path: Path(path).name in names,
                    step=step, debounce=step, stop_event=self._stop, recursive=False):
                self._pending.set()

        self._task = asyncio.get_running_loop().create_task(run())

    def close(self) -> None:
        self._stop.set()
        self._task.cancel()


class WatchfilesStore(SQLiteStore):
    step = 50

    def _start_watch(self) -> Any:
        self.wake_mode = f"watchfiles step={self.step}"
        return WatchfilesWake(self.path, self.step)


class Watchfiles1Store(WatchfilesStore):
    step = 1


async def open_variant(name: str, db: str | Path, *, readonly: bool = True,
                       poll_interval: float = 0.05) -> SQLiteStore:
    cls: type[SQLiteStore] = {
        "store": SQLiteStore,
        "inotify": SQLiteStore,
        "poll": SQLiteStore,
        "poll-thread": PollThreadStore,
        "inline-sqlite3": InlineSqlite3Store,
        "watchfiles-1": Watchfiles1Store,
        "watchfiles-50": WatchfilesStore,
    }[name]
    return await cls.open(db, readonly=readonly, create=not readonly,
                          poll_interval=poll_interval, wake="poll" if name == "poll" else "auto")
