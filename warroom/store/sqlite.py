"""The event log on one SQLite file in WAL mode, shared by every process on the host.

Every write is one call that runs a whole transaction on the connection's own thread
(BEGIN IMMEDIATE ... COMMIT), so a cancelled task can never leave the write lock held, and the
call is shielded so the caller's cancellation does not lose the answer of a committed write.
Readers use a separate read-only connection; a third one, the feed's, reads PRAGMA data_version
to learn of other processes' commits, and then what they committed: when inotify says a writer
announced a commit (warroom/store/wake.py; every commit here announces itself), with a slow
backstop poll, or every `poll_interval` where no notification exists.

The statements, the reads and the append transaction are shared with PostgreSQL
(warroom/store/sql.py, append_plan.py); this module holds what only SQLite does: the dialect,
connections, the transaction on the connection's thread, the schema, the data_version poll.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.fold import FOLD_VERSION
from warroom.store import sql
from warroom.store.base import AppendResult, ChangeSignal, Presence
from warroom.store.errors import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseMissing,
    DiskFull,
    NetworkFilesystem,
    PermissionDenied,
    ReadOnly,
    SchemaMismatch,
    StoreError,
)
from warroom.store.files import RoomFiles, RoomFilesReplaced
from warroom.store.fs import network_filesystem
from warroom.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, not_a_room
from warroom.store.wake import FolderWatch, WakeUnavailable, announce

log = logging.getLogger("warroom.store")

# The poll that remains when inotify wakes the feed: it only catches what was not announced
# (a commit by the sqlite3 shell or an older warroom), so once a second is enough.
BACKSTOP = 1.0

T = TypeVar("T")

# Times are fixed-width UTC text (text order is time order); the write lock is BEGIN IMMEDIATE's
# and the clock this host's; `seq` is AUTOINCREMENT's, given explicitly under that lock.
DIALECT = sql.Dialect(
    schema="", numbered=False, text=sql.unchanged, untext=sql.unchanged, time=sql.utc_text,
    untime=datetime.fromisoformat, last_seq="SELECT COALESCE(MAX(seq), 0) FROM events", lock="",
    clock=None, after_append=(), bytewise="BINARY",
)
STATEMENTS = sql.Statements(DIALECT)

_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_TRANSACTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_READ_PRAGMAS = {"data_version", "user_version", "schema_version", "quick_check",
                 "integrity_check", "table_info", "journal_mode"}


def _reader_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None,
                       trigger: str | None) -> int:
    """Allow reads only. Unlike PRAGMA query_only, the connection cannot switch this off in SQL."""
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _READ_PRAGMAS and arg2 is None:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _disk_full(path: Path) -> bool:
    """SQLite says "disk I/O error", not "full", when it cannot even make its -shm/-wal files
    on a full disk: tell that apart from a damaged file by asking the filesystem."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1024 * 1024


def _translate(e: sqlite3.Error, path: Path) -> StoreError:
    msg = str(e).lower()
    if "locked" in msg or "busy" in msg:
        return DatabaseLocked(
            f"database {path} stayed locked by another process for too long; nothing was written"
        )
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return DatabaseCorrupt(f"{path} is not a warroom database or is damaged ({e})")
    if "readonly" in msg or "read-only" in msg or "not authorized" in msg:
        return ReadOnly(f"database {path} is read-only here ({e}); nothing was written")
    if "unable to open" in msg:
        if not path.exists():
            return DatabaseMissing(f"no database at {path}")
        return PermissionDenied(f"cannot open {path}: permission denied ({e})")
    if "database or disk is full" in msg or ("disk i/o" in msg and _disk_full(path)):
        return DiskFull(f"the disk of {path} is full: nothing was written (free some space "
                        "and run it again)")
    if "disk i/o" in msg:
        return DatabaseCorrupt(f"cannot read {path}: disk I/O error ({e})")
    return StoreError(f"database {path}: {e}")


# ---- functions that run on a connection's own thread, each a whole transaction ---------------


def _run(conn: sqlite3.Connection, statement: sql.Statement) -> list[Any]:
    if statement.many:
        conn.executemany(statement.sql, statement.params)
        return []
    return conn.execute(statement.sql, statement.params).fetchall()


def _transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """BEGIN IMMEDIATE (the write lock first, never the deferred-upgrade trap) ... COMMIT."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body(conn)
        conn.execute("COMMIT")
        return result
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _append_tx(conn: sqlite3.Connection, location: str, incident_id: str | None,
               events: Sequence[NewEvent], expected: int | None,
               drill: Callable[[datetime], datetime] | None = None) -> AppendResult:
    def body(c: sqlite3.Connection) -> AppendResult:
        steps = sql.append_steps(STATEMENTS, location, incident_id, events, expected,
                                 now=datetime.now(UTC), drill=drill)  # read under the lock
        return sql.drive(steps, lambda statement: _run(c, statement))

    return _transaction(conn, body)


def _execute(conn: sqlite3.Connection, statement: str, params: Sequence[Any]) -> None:
    """One statement in autocommit mode: its own transaction."""
    conn.execute(statement, params)


def rebuild_projection(conn: sqlite3.Connection) -> int:
    """Recompute every incident's cached state from the log (inside the caller's transaction)."""
    return sql.drive(sql.rebuild_steps(STATEMENTS), lambda statement: _run(conn, statement))


def _prepare_writer(conn: sqlite3.Connection, path: Path) -> None:
    foreign = not_a_room(conn)
    if foreign:
        raise DatabaseCorrupt(
            f"{path} is another program's SQLite database, not a warroom database ({foreign}); "
            "it was left untouched. Give --db a new file or a warroom room"
        )
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"SQLite refused WAL mode (got {mode}); the room needs WAL")
    conn.execute("PRAGMA synchronous=FULL")

    def migrate(c: sqlite3.Connection) -> None:
        (current,) = c.execute("PRAGMA user_version").fetchone()
        if current > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"this database has schema version {current}, newer than this warroom "
                f"understands ({SCHEMA_VERSION}); upgrade warroom"
            )
        for step in MIGRATIONS[current:]:
            step(c)
        if current != SCHEMA_VERSION:
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        row = c.execute("SELECT value FROM meta WHERE key = 'fold_version'").fetchone()
        if row is None or row[0] != FOLD_VERSION:
            rebuild_projection(c)

    _transaction(conn, migrate)


def _prepare_reader(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA query_only = 1")
    conn.set_authorizer(_reader_authorizer)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == 0:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        raise SchemaMismatch("this file is an SQLite database but not a warroom room")
    if version < SCHEMA_VERSION:
        raise SchemaMismatch(
            f"this database has schema version {version}; it must be opened once for writing "
            f"by this warroom to upgrade it to {SCHEMA_VERSION}"
        )
    if version > SCHEMA_VERSION:
        raise SchemaMismatch(
            f"this database has schema version {version}, newer than this warroom understands "
            f"({SCHEMA_VERSION}); upgrade warroom"
        )


async def _connect(target: str, **kwargs: Any) -> aiosqlite.Connection:
    """aiosqlite.connect, minus a thread left reporting to a dead loop after a failed open.

    On a failed connect aiosqlite stops its worker thread without waiting for it; if the
    program then ends, the thread reports to a closed event loop and prints a traceback.
    """
    conn = aiosqlite.connect(target, **kwargs)
    try:
        return await conn
    except BaseException:
        await asyncio.to_thread(conn._thread.join, 5)
        raise


async def _in_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run fn(raw_connection, *args) as ONE call on the connection's thread.

    aiosqlite keeps no public way to run a function on its thread; `_execute` and `_conn` are
    the stable internals that do it (pinned by tests/test_store_sqlite.py). Once queued, the call
    runs to its end whatever happens to the awaiting task; the shield keeps its answer.
    """
    task = asyncio.ensure_future(conn._execute(lambda: fn(conn._conn, *args)))
    return await asyncio.shield(task)


class SQLiteStore(sql.SqlStore[aiosqlite.Connection]):
    statements = STATEMENTS

    def __init__(self, path: Path, *, readonly: bool, lock_timeout: float,
                 poll_interval: float, backstop: float = BACKSTOP, wake: str = "auto") -> None:
        self.path = path
        self.location = str(path)
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval  # the feed's poll where no notification exists
        self.backstop = backstop  # the feed's poll while inotify wakes it
        self.wake = wake  # "auto": inotify where it works; "poll": never
        self.wake_mode: str | None = None  # what the feed uses, once it runs: inotify / poll
        self.snapshot = False  # read-only fallback on an idle room we cannot create -shm for
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._feed_conn: sqlite3.Connection | None = None  # see _feed_connection
        self._poll_task: asyncio.Task[None] | None = None
        self._signal = ChangeSignal()
        self._closed = False
        self._files: RoomFiles | None = None  # the files as opened (warroom/store/files.py)
        self._wal = f"{os.path.realpath(path)}-wal"  # SQLite's: beside what a link names

    # ---- opening ----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | Path, *, readonly: bool = False, create: bool = True,
                   lock_timeout: float = 10.0, poll_interval: float = 0.05,
                   backstop: float = BACKSTOP, wake: str = "auto") -> SQLiteStore:
        p = Path(path).expanduser().absolute()
        return await cls(p, readonly=readonly, lock_timeout=lock_timeout,
                         poll_interval=poll_interval, backstop=backstop,
                         wake=wake)._opened(create)

    async def _open(self, create: bool) -> None:
        try:
            self.path.stat()
        except PermissionError:  # a group room's folder (2770) keeps outsiders out
            raise PermissionDenied(
                f"cannot open {self.path}: permission denied (its folder is for the room's "
                "members only; others watch through the room server: warroom watch --server "
                "URL)") from None
        except OSError:
            pass  # missing: said below, in the words of what was asked
        fs = network_filesystem(self.path)
        if fs:
            raise NetworkFilesystem(
                f"{self.path} is on a network filesystem ({fs}); SQLite's WAL needs a local "
                "disk shared by every terminal. Put the room on a local path, or use PostgreSQL"
            )
        if self.path.is_dir():
            raise DatabaseCorrupt(f"{self.path} is a directory, not a database")
        if self.readonly:
            if not self.path.exists():
                raise DatabaseMissing(
                    f"no database at {self.path}; a spectator never creates one (someone in "
                    "the room opens it first, or run `warroom init`)"
                )
            self._reader = await self._connect_reader()
            self._files = RoomFiles.record(self.path)
            return
        self._check_writable(create)
        try:
            self._writer = await _connect(
                str(self.path), timeout=self.lock_timeout, isolation_level=None
            )
            await _in_thread(self._writer, _prepare_writer, self.path)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from None
        self._files = RoomFiles.record(self.path)
        self._reader = await self._connect_reader()

    def _check_writable(self, create: bool) -> None:
        if not self.path.exists():
            if not create:
                raise DatabaseMissing(f"no database at {self.path}")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except PermissionError:
                raise PermissionDenied(
                    f"cannot create {self.path.parent}: permission denied"
                ) from None
            if not os.access(self.path.parent, os.W_OK):
                raise PermissionDenied(f"cannot create a database in {self.path.parent}: "
                                       "permission denied")
            return
        if not os.access(self.path, os.R_OK):
            raise PermissionDenied(f"cannot read {self.path}: permission denied")
        if not os.access(self.path, os.W_OK):
            raise ReadOnly(
                f"{self.path} is read-only for you: you can watch (`warroom watch`) but not change"
            )
        wal = Path(f"{self.path}-wal")
        if not os.access(self.path.parent, os.W_OK) and not (
            wal.exists() and os.access(wal, os.W_OK)
        ):
            raise PermissionDenied(
                f"cannot write in {self.path.parent} (SQLite needs to create {wal.name} there)"
            )

    def _uri(self, immutable: bool = False) -> str:
        quoted = urllib.parse.quote(str(self.path))
        return f"file:{quoted}?mode=ro" + ("&immutable=1" if immutable else "")

    async def _connect_reader(self) -> aiosqlite.Connection:
        try:
            return await self._connect_ro(immutable=False)
        except (sqlite3.OperationalError, ReadOnly, PermissionDenied) as first:
            # An idle WAL room (no -wal/-shm) whose folder we cannot write: SQLite cannot make
            # the shared-memory file for us. Read the checkpointed file as a snapshot, and
            # switch to live reading as soon as a writer appears (see _poll).
            if self.readonly and not Path(f"{self.path}-wal").exists():
                conn = await self._connect_ro(immutable=True)
                self.snapshot = True
                return conn
            if isinstance(first, StoreError):
                raise
            raise _translate(first, self.path) from None

    async def _connect_ro(self, immutable: bool) -> aiosqlite.Connection:
        conn: aiosqlite.Connection | None = None
        try:
            conn = await _connect(
                self._uri(immutable), uri=True, timeout=self.lock_timeout, isolation_level=None
            )
            await _in_thread(conn, _prepare_reader)
            return conn
        except sqlite3.Error as e:
            if conn is not None:
                await conn.close()
            if isinstance(e, sqlite3.OperationalError) and "readonly" in str(e).lower():
                raise
            raise _translate(e, self.path) from None
        except BaseException:
            if conn is not None:
                await conn.close()
            raise

    async def close(self) -> None:
        self._closed = True
        if self._poll_task is not None:
            self._poll_task.cancel()
            try:
                await self._poll_task
            except (asyncio.CancelledError, Exception):
                pass
            self._poll_task = None
        self._drop_feed_connection()
        for name in ("_reader", "_writer"):
            conn = getattr(self, name)
            if conn is not None:
                setattr(self, name, None)
                try:
                    await conn.close()
                except Exception:
                    pass

    # ---- writing ----------------------------------------------------------------------------

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Every write: fn(connection, *args) as one call on the writer's thread, between two
        checks that the room's files are still the ones opened. Before: refuse, nothing is
        written. After the commit: it may sit in an unlinked file, so it is not acknowledged.
        Then it is announced to the other processes' feeds, from this thread, at once."""
        writer = self._require_writer()
        if self._signal.fault is not None:
            raise self._signal.fault
        files = self._files
        wal = self._wal

        def guarded(conn: sqlite3.Connection) -> T:
            if files is not None:
                files.check(conn)
            result = fn(conn, *args)
            if files is not None:
                files.check(conn, committed=True)
            announce(wal)  # the other processes' feeds look now (warroom/store/wake.py)
            return result

        try:
            return await _in_thread(writer, guarded)
        except RoomFilesReplaced as e:
            self._signal.fail(e)
            raise
        except sqlite3.Error as e:
            raise _translate(e, self.path) from None

    async def _append(self, writer: aiosqlite.Connection, incident_id: str | None,
                      events: list[NewEvent], expected: int | None) -> AppendResult:
        clock = await self.drill_clock()
        return await self._write(_append_tx, self.location, incident_id, events, expected,
                                 None if clock is None else clock.now)

    async def heartbeat(self, presence: Presence) -> None:
        await self._write(_execute, STATEMENTS.heartbeat, DIALECT.presence_row(presence))

    async def set_room_mark(self, key: str, value: str) -> None:
        self._require_writer()
        await self._write(_execute, STATEMENTS.set_meta, (f"room:{key}", value))

    async def leave(self, session: str) -> None:
        await self._write(_execute, STATEMENTS.leave, (session,))

    # ---- reading ----------------------------------------------------------------------------

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._reader is None:
            raise StoreError("store is closed")
        try:
            return list(await self._reader.execute_fetchall(query, params))
        except sqlite3.Error as e:
            raise _translate(e, self.path) from None

    async def _fetch_new(self, query: str, params: Sequence[Any]) -> list[Any]:
        """On the feed's plain connection, on the loop's own thread.

        After a commit every subscribed process reads what is new; through aiosqlite that is a
        hop to the reader's thread and two more wake-ups, which 30 readers on 2 cores pay at the
        same moment (bench/feed_latency.py, 30 readers: p99 10.2 ms that way, 6.5 ms this way,
        medians of one interleaved run). The read is
        bounded by its limit: 1,000 events are ~2 ms of SQL beside ~4 ms of decoding that runs
        on the loop anyway. timeout=0, so it never waits for a lock on the loop: busy (or
        anything else) and the reader's thread reads as every other read does, and says why."""
        if not self._closed and not self.snapshot:
            try:
                return self._feed_connection().execute(query, params).fetchall()
            except (sqlite3.Error, StoreError):
                pass
        return await self._fetch(query, params)

    async def clock_offset(self) -> None:
        """None: every process of an SQLite room runs on this host, on this host's clock."""
        return None

    async def integrity_check(self) -> str:
        rows = await self._fetch("PRAGMA integrity_check")
        return str(rows[0][0])

    # ---- change feed ------------------------------------------------------------------------

    def _ensure_watching(self) -> None:
        if self._poll_task is None and not self._closed:
            self._poll_task = asyncio.get_running_loop().create_task(self._poll())

    def _start_watch(self) -> FolderWatch | None:
        """inotify on the room's folder, or None (then the feed polls); said once in the log
        (`warroom --verbose`)."""
        reason = "turned off" if self.wake == "poll" else None
        watch: FolderWatch | None = None
        if reason is None:
            watch = FolderWatch(self.path)
            try:
                watch.start()
            except (WakeUnavailable, OSError) as e:
                reason, watch = str(e), None
        if watch is not None:
            self.wake_mode = "inotify"
            log.info("change feed of %s: woken by inotify on %s, backstop poll every %g s",
                     self.path, watch.db.parent, self.backstop)
        else:
            self.wake_mode = "poll"
            log.info("change feed of %s: polling every %g s (no inotify: %s)", self.path,
                     self.poll_interval, reason)
        return watch

    async def _poll(self) -> None:
        """Read PRAGMA data_version whenever a writer announces a commit or the room's files
        change (inotify) and every `backstop` s, or every `poll_interval` without inotify: it
        moves when another connection commits. One read per wake, however many commits the
        wake stands for."""
        watch = self._start_watch()
        try:
            await self._feed(watch)
        finally:
            if watch is not None:
                watch.close()

    async def _feed(self, watch: FolderWatch | None) -> None:
        last: int | None = None
        retry = False  # after a transient failure: look again a poll interval later
        while not self._closed:
            if watch is not None and watch.gone is not None:
                log.info("change feed of %s: inotify stopped (%s); polling every %g s",
                         self.path, watch.gone, self.poll_interval)
                watch, self.wake_mode = None, "poll"
            if watch is not None:
                watch.take()  # BEFORE the read: a commit announced after it wakes us again
            if await self._files_replaced():
                return  # nothing this room says can be trusted any more: the feed ends
            try:
                if self.snapshot:
                    if Path(f"{self.path}-wal").exists():
                        await self._leave_snapshot()
                        if not self.snapshot:
                            self._signal.bump()
                else:
                    version = self._data_version()
                    # The first read (and the first after a reconnect) signals too: a commit
                    # between a subscriber's read and this baseline would otherwise wait for
                    # the next commit, which in a quiet room can be minutes away.
                    if version != last:
                        self._signal.bump()
                    last = version
            except asyncio.CancelledError:
                raise
            except Exception:
                # A transient failure (file replaced, busy during recovery): try again next tick
                # (a poll interval away even while inotify wakes the feed).
                last, retry = None, True
                self._drop_feed_connection()
            if watch is None:
                await asyncio.sleep(self.poll_interval)
            else:
                await watch.wait(self.poll_interval if retry else self.backstop)
                retry = False

    def _data_version(self) -> int:
        """PRAGMA data_version on the feed's connection. A busy answer is a transient failure,
        looked at again a poll interval later."""
        return int(self._feed_connection().execute("PRAGMA data_version").fetchone()[0])

    def _feed_connection(self) -> sqlite3.Connection:
        """A plain read-only connection used on the loop's own thread, by the feed
        (data_version) and by the reads of what is new (`_fetch_new`).

        Every reader makes these calls after every commit, all at the same moment: through
        aiosqlite each is a hop to its thread and back (~45 us of CPU and two wake-ups,
        bench/idle_reader_cpu.py), plainly ~5 us. timeout=0: it never waits for a lock on the
        loop. check_same_thread (the default) keeps it on the thread that opened it."""
        conn = self._feed_conn
        if conn is None:
            conn = sqlite3.connect(self._uri(), uri=True, timeout=0, isolation_level=None)
            try:
                _prepare_reader(conn)
            except BaseException:
                conn.close()
                raise
            self._feed_conn = conn
        return conn

    def _drop_feed_connection(self) -> None:
        if self._feed_conn is not None:
            conn, self._feed_conn = self._feed_conn, None
            try:
                conn.close()
            except sqlite3.ProgrammingError:
                pass  # opened by a read on another thread: dropped, and opened again here

    async def _files_replaced(self) -> bool:
        """A few stat calls per tick: a deleted or swapped room file is noticed within one
        poll interval by every process, writer or spectator, and its screens are told. A
        writer first saves what it committed, when it can (warroom/store/files.py)."""
        files = self._files
        if self._signal.fault is not None:
            return True
        if files is None or files.changed() is None:
            return False
        try:
            if self._writer is not None:
                await _in_thread(self._writer, files.check)
            else:
                files.check()
        except RoomFilesReplaced as e:
            self._signal.fail(e)
        except Exception:  # the writer went meanwhile (closed by a write that saw it first)
            try:
                files.check()
            except RoomFilesReplaced as e:
                self._signal.fail(e)
        return self._signal.fault is not None

    async def _leave_snapshot(self) -> None:
        try:
            live = await self._connect_ro(immutable=False)
        except Exception:
            return
        old, self._reader = self._reader, live
        self.snapshot = False
        self._files = RoomFiles.record(self.path)
        if old is not None:
            await old.close()
