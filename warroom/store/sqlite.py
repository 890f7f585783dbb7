"""The event log on one SQLite file in WAL mode, shared by every process on the host.

Every write is one call that runs a whole transaction on the connection's own thread
(BEGIN IMMEDIATE ... COMMIT), so a cancelled task can never leave the write lock held, and the
call is shielded so the caller's cancellation does not lose the answer of a committed write.
Readers use a separate read-only connection; a third one polls PRAGMA data_version to learn of
other processes' commits (see ../shared/ARCHITECTURE.md for the measurements behind this).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from warroom.domain.incident.events import Event, EventKind, NewEvent
from warroom.domain.incident.state import FOLD_VERSION, IncidentState, apply
from warroom.store.base import AppendResult, ChangeSignal, IncidentSummary, Presence, Store
from warroom.store.errors import (
    Conflict,
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseMissing,
    DuplicateEventId,
    NetworkFilesystem,
    NotFound,
    PermissionDenied,
    ReadOnly,
    SchemaMismatch,
    StoreError,
)
from warroom.store.files import RoomFiles, RoomFilesReplaced
from warroom.store.fs import network_filesystem
from warroom.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, not_a_room

T = TypeVar("T")

_EVENT_COLUMNS = "seq, event_id, incident_id, incident_version, kind, actor, at, recorded_at, body"
_SUMMARY_COLUMNS = (
    "id, number, title, severity, status, phase, service, version, declared_at, started_at, "
    "detected_at, acknowledged_at, first_resolved_at, resolved_at, last_event_at"
)

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


def ts(dt: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order inside SQL."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _event(row: Sequence[Any]) -> Event:
    return Event(
        seq=row[0],
        event_id=row[1],
        incident_id=row[2],
        version=row[3],
        kind=row[4],
        actor=row[5],
        at=datetime.fromisoformat(row[6]),
        recorded_at=datetime.fromisoformat(row[7]),
        data=json.loads(row[8]),
    )


def _summary(row: Sequence[Any]) -> IncidentSummary:
    return IncidentSummary(
        id=row[0], number=row[1], title=row[2], severity=row[3], status=row[4], phase=row[5],
        service=row[6], version=row[7], declared_at=_dt(row[8]), started_at=_dt(row[9]),
        detected_at=_dt(row[10]), acknowledged_at=_dt(row[11]), first_resolved_at=_dt(row[12]),
        resolved_at=_dt(row[13]), last_event_at=_dt(row[14]),
    )  # type: ignore[arg-type]


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
    if "disk i/o" in msg:
        return DatabaseCorrupt(f"cannot read {path}: disk I/O error ({e})")
    return StoreError(f"database {path}: {e}")


def _state_row(state: IncidentState) -> tuple[Any, ...]:
    return (
        state.id, state.number, state.title, state.severity.value, state.status.value,
        state.phase.value, state.service, state.version, ts(state.declared_at),
        ts(state.started_at), ts(state.detected_at),
        ts(state.acknowledged_at) if state.acknowledged_at else None,
        ts(state.first_resolved_at) if state.first_resolved_at else None,
        ts(state.resolved_at) if state.resolved_at else None,
        ts(state.last_event_at), state.model_dump_json(),
    )


_UPSERT = (
    "INSERT OR REPLACE INTO incidents (id, number, title, severity, status, phase, service, "
    "version, declared_at, started_at, detected_at, acknowledged_at, first_resolved_at, "
    "resolved_at, last_event_at, state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


# ---- functions that run on a connection's own thread, each a whole transaction ---------------


def _changes_since(conn: sqlite3.Connection, incident_id: str, version: int) -> list[Event]:
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE incident_id = ? AND incident_version > ? "
        "ORDER BY incident_version DESC LIMIT 50",
        (incident_id, version),
    ).fetchall()
    return [_event(r) for r in reversed(rows)]


def _existing(conn: sqlite3.Connection, ids: list[str]) -> list[Event]:
    found: list[Event] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id IN ({marks})", chunk
        ).fetchall()
        found.extend(_event(r) for r in rows)
    found.sort(key=lambda e: e.seq)
    return found


def _append_in_tx(conn: sqlite3.Connection, incident_id: str | None, events: Sequence[NewEvent],
                  expected: int | None, now: datetime) -> AppendResult:
    existing = _existing(conn, [e.event_id for e in events])
    if existing:
        if len(existing) == len(events) and (
            incident_id is None or all(e.incident_id == incident_id for e in existing)
        ):
            return AppendResult(existing[0].incident_id, existing[-1].version, existing, True)
        raise DuplicateEventId(
            f"event id {existing[0].event_id} is already used by another event"
        )
    state: IncidentState | None
    if incident_id is None:
        if events[0].kind != EventKind.DECLARED:
            raise ValueError("a new incident must start with a declaration")
        if expected not in (None, 0):
            raise ValueError("a new incident has no version to expect")
        (number,) = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM incidents").fetchone()
        incident_id, version, state = f"INC-{number}", 0, None
    else:
        row = conn.execute(
            "SELECT version, state FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        version = row[0]
        if expected is not None and expected != version:
            raise Conflict(incident_id, expected, version, _changes_since(conn, incident_id,
                                                                        expected))
        state = IncidentState.model_validate_json(row[1])
    committed: list[Event] = []
    recorded = ts(now)
    for i, new in enumerate(events):
        if new.kind == EventKind.DECLARED and (i > 0 or state is not None):
            raise ValueError(f"{incident_id} is already declared")
        at = new.at or now
        body = json.dumps(new.data, separators=(",", ":"), ensure_ascii=False)
        cur = conn.execute(
            "INSERT INTO events (event_id, incident_id, incident_version, kind, actor, at, "
            "recorded_at, body) VALUES (?,?,?,?,?,?,?,?)",
            (new.event_id, incident_id, version + 1 + i, new.kind, new.actor, ts(at), recorded,
             body),
        )
        event = Event(
            seq=cur.lastrowid or 0, event_id=new.event_id, incident_id=incident_id,
            version=version + 1 + i, kind=new.kind, actor=new.actor,
            at=datetime.fromisoformat(ts(at)), recorded_at=datetime.fromisoformat(recorded),
            data=new.data,
        )
        state = apply(state, event)
        committed.append(event)
    assert state is not None
    conn.execute(_UPSERT, _state_row(state))
    return AppendResult(incident_id, state.version, committed, False)


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


def _append_tx(conn: sqlite3.Connection, incident_id: str | None, events: Sequence[NewEvent],
               expected: int | None) -> AppendResult:
    return _transaction(
        conn, lambda c: _append_in_tx(c, incident_id, events, expected, datetime.now(UTC))
    )


def _execute(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> None:
    """One statement in autocommit mode: its own transaction."""
    conn.execute(sql, params)


def rebuild_projection(conn: sqlite3.Connection) -> int:
    """Recompute every incident's cached state from the log (inside the caller's transaction)."""
    conn.execute("DELETE FROM incidents")
    state: IncidentState | None = None
    count = 0
    cur = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY incident_id, incident_version"
    )
    for row in cur:
        event = _event(row)
        if state is not None and event.incident_id != state.id:
            conn.execute(_UPSERT, _state_row(state))
            count += 1
            state = None
        state = apply(state, event)
    if state is not None:
        conn.execute(_UPSERT, _state_row(state))
        count += 1
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('fold_version', ?)", (FOLD_VERSION,)
    )
    return count


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


class SQLiteStore(Store):
    def __init__(self, path: Path, *, readonly: bool, lock_timeout: float,
                 poll_interval: float) -> None:
        self.path = path
        self.location = str(path)
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval
        self.snapshot = False  # read-only fallback on an idle room we cannot create -shm for
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._poll_conn: aiosqlite.Connection | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._signal = ChangeSignal()
        self._closed = False
        self._files: RoomFiles | None = None  # the files as opened (warroom/store/files.py)

    # ---- opening ----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | Path, *, readonly: bool = False, create: bool = True,
                   lock_timeout: float = 10.0, poll_interval: float = 0.05) -> SQLiteStore:
        p = Path(path).expanduser().absolute()
        store = cls(p, readonly=readonly, lock_timeout=lock_timeout, poll_interval=poll_interval)
        try:
            await store._open(create)
        except BaseException:
            await store.close()
            raise
        return store

    async def _open(self, create: bool) -> None:
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
        for name in ("_poll_conn", "_reader", "_writer"):
            conn = getattr(self, name)
            if conn is not None:
                setattr(self, name, None)
                try:
                    await conn.close()
                except Exception:
                    pass

    # ---- writing ----------------------------------------------------------------------------

    def _require_writer(self) -> aiosqlite.Connection:
        if self.readonly or self._writer is None:
            raise ReadOnly("this store is open read-only (spectator): nothing was written")
        return self._writer

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Every write: fn(connection, *args) as one call on the writer's thread, between two
        checks that the room's files are still the ones opened. Before: refuse, nothing is
        written. After the commit: it may sit in an unlinked file, so it is not acknowledged."""
        writer = self._require_writer()
        if self._signal.fault is not None:
            raise self._signal.fault
        files = self._files

        def guarded(conn: sqlite3.Connection) -> T:
            if files is not None:
                files.check(conn)
            result = fn(conn, *args)
            if files is not None:
                files.check(conn, committed=True)
            return result

        try:
            return await _in_thread(writer, guarded)
        except RoomFilesReplaced as e:
            self._signal.fail(e)
            raise
        except sqlite3.Error as e:
            raise _translate(e, self.path) from None

    async def append(self, incident_id: str | None, events: Sequence[NewEvent],
                     expected_version: int | None = None) -> AppendResult:
        self._require_writer()
        if not events:
            raise ValueError("nothing to append")
        result = await self._write(_append_tx, incident_id, list(events), expected_version)
        self._signal.bump()
        return result

    async def heartbeat(self, presence: Presence) -> None:
        await self._write(
            _execute,
            "INSERT OR REPLACE INTO presence (session, person, host, pid, started_at, "
            "seen_at, incident_id) VALUES (?,?,?,?,?,?,?)",
            (presence.session, presence.person, presence.host, presence.pid,
             ts(presence.started_at), ts(presence.seen_at), presence.incident_id),
        )

    async def leave(self, session: str) -> None:
        await self._write(_execute, "DELETE FROM presence WHERE session = ?", (session,))

    # ---- reading ----------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._reader is None:
            raise StoreError("store is closed")
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.Error as e:
            raise _translate(e, self.path) from None

    async def get(self, incident_id: str) -> IncidentState:
        rows = await self._fetch("SELECT state FROM incidents WHERE id = ?", (incident_id,))
        if not rows:
            raise NotFound(f"no incident {incident_id}")
        return IncidentState.model_validate_json(rows[0][0])

    async def summaries(self, *, open_only: bool = False,
                        limit: int | None = None) -> list[IncidentSummary]:
        where = "WHERE status != 'Resolved'" if open_only else ""
        lim = f"LIMIT {int(limit)}" if limit else ""
        rows = await self._fetch(
            f"SELECT {_SUMMARY_COLUMNS} FROM incidents {where} ORDER BY number DESC {lim}"
        )
        return [_summary(r) for r in rows]

    async def events(self, incident_id: str, *, after_version: int = 0,
                     limit: int | None = None) -> list[Event]:
        lim = f"LIMIT {int(limit)}" if limit else ""
        rows = await self._fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE incident_id = ? AND incident_version > ? "
            f"ORDER BY incident_version {lim}",
            (incident_id, after_version),
        )
        if not rows and after_version == 0:
            raise NotFound(f"no incident {incident_id}")
        return [_event(r) for r in rows]

    async def events_since(self, seq: int, *, limit: int = 1000) -> list[Event]:
        rows = await self._fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [_event(r) for r in rows]

    async def last_seq(self) -> int:
        rows = await self._fetch("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(rows[0][0])

    async def present(self, since: datetime) -> list[Presence]:
        rows = await self._fetch(
            "SELECT session, person, host, pid, started_at, seen_at, incident_id FROM presence "
            "WHERE seen_at >= ? ORDER BY person, started_at",
            (ts(since),),
        )
        return [
            Presence(r[0], r[1], r[2], r[3], _dt(r[4]), _dt(r[5]), r[6])  # type: ignore[arg-type]
            for r in rows
        ]

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

    async def _poll(self) -> None:
        """Re-armed poll of PRAGMA data_version: it moves when another connection commits."""
        last: int | None = None
        while not self._closed:
            if await self._files_replaced():
                return  # nothing this room says can be trusted any more: the feed ends
            try:
                if self.snapshot:
                    if Path(f"{self.path}-wal").exists():
                        await self._leave_snapshot()
                        if not self.snapshot:
                            self._signal.bump()
                else:
                    if self._poll_conn is None:
                        self._poll_conn = await self._connect_ro(immutable=False)
                    rows = await self._poll_conn.execute_fetchall("PRAGMA data_version")
                    version = int(next(iter(rows))[0])
                    # The first read (and the first after a reconnect) signals too: a commit
                    # between a subscriber's read and this baseline would otherwise wait for
                    # the next commit, which in a quiet room can be minutes away.
                    if version != last:
                        self._signal.bump()
                    last = version
            except asyncio.CancelledError:
                raise
            except Exception:
                # A transient failure (file replaced, busy during recovery): try again next tick.
                last = None
                if self._poll_conn is not None:
                    conn, self._poll_conn = self._poll_conn, None
                    try:
                        await conn.close()
                    except Exception:
                        pass
            await asyncio.sleep(self.poll_interval)

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
