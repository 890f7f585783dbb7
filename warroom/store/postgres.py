"""The event log on PostgreSQL, for a room whose responders sit on their own machines.

Same semantics as the SQLite store (warroom/store/sqlite.py), from the same statements, reads
and append transaction (warroom/store/sql.py, append_plan.py), with what a server changes:

Gap-free commit order. A PostgreSQL sequence hands out numbers at INSERT time, not at COMMIT
time: a transaction holding seq 7 can commit after one holding seq 8, and a reader that read
"seq > 6" at the wrong moment would see 8, move its cursor there and skip 7 for ever. So `seq` is
not a sequence here. Every append first locks the single row of `warroom.log_head`
(SELECT ... FOR UPDATE), takes last_seq + 1, + 2... for its events, writes last_seq back and
commits. The row lock serialises appends, and PostgreSQL makes a commit visible before it
releases the transaction's locks, so the next writer can only number its events after every
lower number is visible: commit order is seq order and has no gaps. A reader reading
`seq > cursor` can never miss an event committed later with a lower number, because there is
none. The row lock (rather than an advisory lock) is deliberate: taking it needs UPDATE on
log_head, which a spectator role does not have, whereas any role can take any advisory lock and
could stall every writer. Appends are a few milliseconds; serialising them costs nothing a room
of people can produce.

Time. Each append reads `clock_timestamp()` once, after it holds the log-head lock, and records
that as every event's `recorded_at` (and `at`, when the event does not say when it happened).
The transaction timestamp (`now()`) would be the time the transaction began, possibly before it
waited for the lock, so times could run backwards against seq; taken inside the critical
section, recorded times follow commit order as far as the server's clock does. Every terminal
therefore agrees on when things happened whatever its own clock says; `clock_offset()` says how
far the local clock is from the server's, and presence times are corrected by it.

Change feed. The append transaction NOTIFYs `warroom_events`; a listening connection in each
process wakes its subscribers, which then read by sequence (`seq > cursor`): the notification
carries no data and may be lost or doubled without harm. A slow poll of log_head is the backup.
A connection that drops is reopened on its next use (reads are retried once; an append is
retried once with the same event ids, so a commit whose answer was lost comes back as
duplicate=True); the listener reconnects and wakes its subscribers, which catch up from their
cursors.

Spectators. A read-only store refuses writes in the API, and its connections start with
`default_transaction_read_only = on`, so even a stray INSERT fails. A session can turn that
setting off, so the real guarantee is a role with SELECT only (docs/postgres.md,
`postgres_schema.grant_statements`). A spectator never creates the schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import asyncpg.exceptions as pgx

from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.fold import FOLD_VERSION, FoldError
from warroom.store import clock, sql
from warroom.store.base import AppendResult, ChangeSignal, Presence
from warroom.store.errors import (
    DatabaseCorrupt,
    DatabaseLocked,
    DatabaseMissing,
    DiskFull,
    InvalidLocation,
    PermissionDenied,
    ReadOnly,
    SchemaMismatch,
    StoreError,
)
from warroom.store.postgres_schema import MIGRATION_LOCK, MIGRATIONS, SCHEMA, SCHEMA_VERSION

T = TypeVar("T")

CHANNEL = "warroom_events"
DEFAULT_POLL_INTERVAL = 1.0  # the backup poll; NOTIFY wakes readers at once
URL_SCHEMES = ("postgresql://", "postgres://")

# Errors after which the connection is gone and a new one may succeed.
_LOST = (
    pgx.PostgresConnectionError,  # 08xxx, ConnectionDoesNotExistError
    pgx.AdminShutdownError,  # pg_terminate_backend, server shutdown
    pgx.CrashShutdownError,
    pgx.CannotConnectNowError,
    ConnectionError,
)


# ---- text the server cannot hold -------------------------------------------------------------

_MARK = "\uffff"  # a Unicode noncharacter: never in real text


def enc(text: str) -> str:
    """PostgreSQL text cannot hold NUL; SQLite's can. Keep such strings (and any that happen to
    start with the mark) as marked JSON, everything else verbatim, so psql stays readable."""
    if "\x00" in text or text.startswith(_MARK):
        return _MARK + json.dumps(text)
    return text


def dec(text: str) -> str:
    return json.loads(text[1:]) if text.startswith(_MARK) else text


# ---- locations ---------------------------------------------------------------------------------


def redact(url: str) -> str:
    """The URL without its password, for messages and screens."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "a malformed PostgreSQL URL"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    query = urllib.parse.urlencode(
        [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k.lower() != "password"]
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _database_name(url: str) -> str:
    try:
        path = urllib.parse.urlsplit(url).path.lstrip("/")
    except ValueError:
        return "?"
    return urllib.parse.unquote(path) or "(the user's default database)"


# ---- the dialect -------------------------------------------------------------------------------

# timestamptz in and out; text through enc/dec; seq from the locked log head; the server's clock.
DIALECT = sql.Dialect(
    schema=f"{SCHEMA}.", numbered=True, text=enc, untext=dec, time=sql.unchanged,
    untime=sql.unchanged, last_seq=f"SELECT last_seq FROM {SCHEMA}.log_head WHERE id = 1",
    lock=" FOR UPDATE", clock="SELECT clock_timestamp()",
    after_append=(f"UPDATE {SCHEMA}.log_head SET last_seq = ? WHERE id = 1",
                  f"SELECT pg_notify('{CHANNEL}', ?::bigint::text)"),
    bytewise='"C"',
)
STATEMENTS = sql.Statements(DIALECT)


async def _run_statement(conn: asyncpg.Connection, statement: sql.Statement) -> list[Any]:
    if statement.many:
        await conn.executemany(statement.sql, statement.params)
        return []
    return list(await conn.fetch(statement.sql, *statement.params))


async def rebuild_projection(conn: asyncpg.Connection) -> int:
    """Recompute every incident's cached state from the log (inside the caller's transaction)."""
    return await sql.drive_async(sql.rebuild_steps(STATEMENTS),
                                 lambda statement: _run_statement(conn, statement))


class _Link:
    """One connection that is opened on first use and again after it is lost."""

    def __init__(self, store: PostgresStore, purpose: str) -> None:
        self.store = store
        self.purpose = purpose
        self.conn: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()

    async def get(self) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            self.conn = None
            self.conn = await self.store._connect(self.purpose)
        return self.conn

    async def drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await _close_quietly(conn)


async def _close_quietly(conn: asyncpg.Connection) -> None:
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), 2)
    except (Exception, asyncio.CancelledError):
        conn.terminate()


def _is_lost(e: BaseException, conn: asyncpg.Connection | None) -> bool:
    if isinstance(e, _LOST):
        return True
    return isinstance(e, pgx.InterfaceError | OSError) and (conn is None or conn.is_closed())


class PostgresStore(sql.SqlStore[_Link]):
    statements = STATEMENTS

    def __init__(self, url: str, *, readonly: bool, lock_timeout: float,
                 poll_interval: float) -> None:
        self.url = url
        self.location = redact(url)
        self.database = _database_name(url)
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval
        self._writer: _Link | None = None if readonly else _Link(self, "writer")
        self._reader = _Link(self, "reader")
        self._listener: asyncpg.Connection | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._listener_gone = asyncio.Event()
        self._signal = ChangeSignal()
        self._offset: timedelta | None = None
        self._closed = False
        self.listening = False  # whether NOTIFY wakes this store (False: the poll alone)

    # ---- opening ----------------------------------------------------------------------------

    @classmethod
    async def open(cls, url: str, *, readonly: bool = False, create: bool = True,
                   lock_timeout: float = 10.0,
                   poll_interval: float = DEFAULT_POLL_INTERVAL) -> PostgresStore:
        return await cls(url, readonly=readonly, lock_timeout=lock_timeout,
                         poll_interval=poll_interval)._opened(create)

    async def _open(self, create: bool) -> None:
        if self._writer is not None:
            await self._run(self._writer, lambda c: self._prepare_writer(c, create),
                            writing=False)
        await self._run(self._reader, self._check_readable, writing=False)
        await self.clock_offset()

    async def _connect(self, purpose: str) -> asyncpg.Connection:
        settings = {"application_name": f"warroom {purpose} {socket.gethostname()}"[:63]}
        if purpose == "writer":
            settings["lock_timeout"] = f"{max(1, round(self.lock_timeout * 1000))}ms"
        else:
            settings["default_transaction_read_only"] = "on"
        try:
            return await asyncpg.connect(self.url, timeout=max(self.lock_timeout, 5.0),
                                         server_settings=settings)
        except Exception as e:
            raise self._translate(e, connecting=True) from None

    async def _prepare_writer(self, conn: asyncpg.Connection, create: bool) -> None:
        if await conn.fetchval("SELECT current_setting('transaction_read_only')") == "on":
            raise ReadOnly(
                f"{self.location} is read-only for you (a read-only role or a standby server): "
                "you can watch (`warroom watch`) but not change"
            )
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            current = await self._schema_version(conn)
            if current == 0 and not create:
                raise DatabaseMissing(f"no warroom room in {self.location}")
            if current > SCHEMA_VERSION:
                raise SchemaMismatch(
                    f"this database has schema version {current}, newer than this warroom "
                    f"understands ({SCHEMA_VERSION}); upgrade warroom"
                )
            for step in MIGRATIONS[current:]:
                for statement in step:
                    await conn.execute(statement)
            if current != SCHEMA_VERSION:
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.meta (key, value) VALUES ('schema_version', $1) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    str(SCHEMA_VERSION))
            fold = await conn.fetchval(
                f"SELECT value FROM {SCHEMA}.meta WHERE key = 'fold_version'")
            if fold != FOLD_VERSION:
                await rebuild_projection(conn)
        allowed = await conn.fetchval(
            f"SELECT has_table_privilege('{SCHEMA}.events', 'INSERT') "
            f"AND has_table_privilege('{SCHEMA}.log_head', 'UPDATE')")
        if not allowed:
            role = await conn.fetchval("SELECT current_user")
            raise ReadOnly(f"{self.location} is read-only for role {role}: you can watch "
                           "(`warroom watch`) but not change")

    async def _schema_version(self, conn: asyncpg.Connection) -> int:
        exists = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", SCHEMA)
        if not exists:
            return 0
        if not await conn.fetchval("SELECT has_schema_privilege($1, 'USAGE')", SCHEMA):
            raise PermissionDenied(
                f"cannot open {self.location}: permission denied (role "
                f"{await conn.fetchval('SELECT current_user')} may not use schema {SCHEMA}; "
                "see docs/postgres.md for the grants)"
            )
        if await conn.fetchval("SELECT to_regclass($1)", f"{SCHEMA}.meta") is None:
            return 0
        value = await conn.fetchval(
            f"SELECT value FROM {SCHEMA}.meta WHERE key = 'schema_version'")
        if value is None or not str(value).isdigit():
            raise DatabaseCorrupt(
                f"{self.location} has a {SCHEMA} schema that is not a warroom room, or is damaged")
        return int(value)

    async def _check_readable(self, conn: asyncpg.Connection) -> None:
        version = await self._schema_version(conn)
        if version == 0:
            raise DatabaseMissing(
                f"no warroom room in {self.location}; a spectator never creates one (someone "
                "in the room opens it first, or run `warroom init`)"
            )
        if version < SCHEMA_VERSION:
            raise SchemaMismatch(
                f"this database has schema version {version}; it must be opened once for "
                f"writing by this warroom to upgrade it to {SCHEMA_VERSION}"
            )
        if version > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"this database has schema version {version}, newer than this warroom "
                f"understands ({SCHEMA_VERSION}); upgrade warroom"
            )

    async def close(self) -> None:
        self._closed = True
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch_task
            self._watch_task = None
        if self._listener is not None:
            conn, self._listener = self._listener, None
            await _close_quietly(conn)
        for link in (self._reader, self._writer):
            if link is not None:
                await link.drop()

    # ---- errors -----------------------------------------------------------------------------

    def _translate(self, e: BaseException, *, writing: bool = False,
                   connecting: bool = False) -> StoreError:
        loc = self.location
        nothing = "; nothing was written" if writing else ""
        if isinstance(e, StoreError):
            return e
        if isinstance(e, pgx.InvalidCatalogNameError):
            return DatabaseMissing(
                f"no database {self.database} on the server of {loc} (create it first, for "
                f"example with createdb)")
        if isinstance(e, pgx.InvalidAuthorizationSpecificationError):
            return PermissionDenied(f"cannot open {loc}: authentication failed ({e})")
        if isinstance(e, pgx.InsufficientPrivilegeError):
            if writing:
                return ReadOnly(f"database {loc} is read-only for you ({e}){nothing}")
            return PermissionDenied(f"cannot open {loc}: permission denied ({e})")
        if isinstance(e, pgx.ReadOnlySQLTransactionError):
            return ReadOnly(f"database {loc} is read-only here ({e}){nothing}")
        if isinstance(e, pgx.LockNotAvailableError):
            return DatabaseLocked(
                f"database {loc} stayed locked by another process for too long{nothing}")
        if isinstance(e, pgx.DiskFullError):
            return DiskFull(f"the disk of the server of {loc} is full: nothing was written")
        if isinstance(e, pgx.TooManyConnectionsError):
            return DatabaseLocked(f"the server of {loc} is busy: {e}{nothing}")
        if isinstance(e, pgx.UndefinedTableError | pgx.InvalidSchemaNameError
                      | pgx.UndefinedColumnError | pgx.UndefinedFunctionError):
            return DatabaseCorrupt(f"{loc} is not a warroom database or is damaged ({e})")
        if isinstance(e, pgx.ClientConfigurationError | ValueError) and connecting:
            return InvalidLocation(f"cannot use {loc}: {e}")
        if isinstance(e, TimeoutError):
            return DatabaseMissing(f"cannot reach PostgreSQL for {loc}: no answer in time")
        if isinstance(e, socket.gaierror):
            return DatabaseMissing(f"cannot reach PostgreSQL for {loc}: unknown host ({e})")
        if isinstance(e, ConnectionRefusedError):
            return DatabaseMissing(
                f"cannot reach PostgreSQL for {loc}: connection refused (is the server running?)")
        if connecting and isinstance(e, OSError):
            return DatabaseMissing(f"cannot reach PostgreSQL for {loc}: {e}")
        if isinstance(e, (*_LOST, pgx.InterfaceError, OSError)):
            what = (" The change may have been committed: run it again (a retry is applied "
                    "once)." if writing else "")
            return DatabaseMissing(f"lost the connection to {loc} ({e}).{what}")
        return StoreError(f"database {loc}: {e}")

    async def _run(self, link: _Link, fn: Callable[[asyncpg.Connection], Awaitable[T]], *,
                   writing: bool, retry: bool = True) -> T:
        """fn on the link's connection; once more on a fresh one if the connection was lost."""
        async with link.lock:
            for attempt in range(2):
                conn = await link.get()
                try:
                    return await fn(conn)
                except (StoreError, FoldError, ValueError):
                    raise
                except Exception as e:
                    if not _is_lost(e, conn):
                        raise self._translate(e, writing=writing) from None
                    await link.drop()
                    if not retry or attempt:
                        raise self._translate(e, writing=writing) from None
        raise AssertionError("unreachable")

    # ---- writing ----------------------------------------------------------------------------

    async def _append(self, writer: _Link, incident_id: str | None, events: list[NewEvent],
                      expected: int | None) -> AppendResult:
        clock = await self.drill_clock()  # before the write transaction, on a reader
        drill = None if clock is None else clock.now

        async def attempt(conn: asyncpg.Connection) -> AppendResult:
            try:
                return await self._append_tx(conn, incident_id, events, expected, drill)
            except pgx.UniqueViolationError:
                # Only a writer that bypassed the log-head lock can get here: the check for
                # existing ids ran under the lock. Decide again on what is committed now, as
                # SQLite does: the same events are a duplicate, others a conflict or a reuse.
                return await self._append_tx(conn, incident_id, events, expected, drill)

        # Once queued, the transaction runs to its end whatever happens to the caller; the
        # shield keeps the answer of a committed write from being lost to a cancellation.
        task = asyncio.ensure_future(self._run(writer, attempt, writing=True))
        return await asyncio.shield(task)

    async def _append_tx(self, conn: asyncpg.Connection, incident_id: str | None,
                         events: list[NewEvent], expected: int | None,
                         drill: Callable[[datetime], datetime] | None = None) -> AppendResult:
        steps = sql.append_steps(STATEMENTS, self.location, incident_id, events, expected,
                                 drill=drill)
        async with conn.transaction():
            return await sql.drive_async(steps, lambda st: self._step(conn, st))

    async def _step(self, conn: asyncpg.Connection, statement: sql.Statement) -> list[Any]:
        """One statement of the append transaction (a seam for the tests)."""
        return await _run_statement(conn, statement)

    def _to_store_clock(self, dt: datetime) -> datetime:
        """A time read from this machine's clock, on the server's clock (see presence)."""
        return dt + self._offset if clock.offset_matters(self._offset) else dt  # type: ignore[operator]

    def _to_local_clock(self, dt: datetime) -> datetime:
        return dt - self._offset if clock.offset_matters(self._offset) else dt  # type: ignore[operator]

    async def heartbeat(self, presence: Presence) -> None:
        link = self._require_writer()
        p = presence
        row = DIALECT.presence_row(Presence(
            p.session, p.person, p.host, p.pid, self._to_store_clock(p.started_at),
            self._to_store_clock(p.seen_at), p.incident_id))
        await self._run(link, lambda c: c.execute(STATEMENTS.heartbeat, *row), writing=True)

    async def set_room_mark(self, key: str, value: str) -> None:
        link = self._require_writer()
        await self._run(link, lambda c: c.execute(STATEMENTS.set_meta, enc(f"room:{key}"),
                                                  enc(value)), writing=True)

    async def leave(self, session: str) -> None:
        link = self._require_writer()
        await self._run(link, lambda c: c.execute(STATEMENTS.leave, enc(session)), writing=True)

    # ---- reading ----------------------------------------------------------------------------

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._closed:
            raise StoreError("store is closed")
        return await self._run(self._reader, lambda c: c.fetch(query, *params), writing=False)

    async def clock_offset(self) -> timedelta:
        """Server clock minus this machine's clock, measured now (half a round trip of error).

        Kept for presence: times a terminal gives in its own clock are stored on the server's
        once the two differ by more than a second.
        """
        async def measure(conn: asyncpg.Connection) -> timedelta:
            before = time.monotonic()
            local = clock.local_now()
            server = await conn.fetchval("SELECT clock_timestamp()")
            half = timedelta(seconds=(time.monotonic() - before) / 2)
            return server - (local + half)

        self._offset = await self._run(self._reader, measure, writing=False)
        return self._offset

    # ---- change feed ------------------------------------------------------------------------

    def _ensure_watching(self) -> None:
        if self._watch_task is None and not self._closed:
            self._watch_task = asyncio.get_running_loop().create_task(self._watch())

    def _notified(self, *_args: object) -> None:
        self._signal.bump()

    def _listener_lost(self, *_args: object) -> None:
        self._listener_gone.set()

    async def _listen(self) -> asyncpg.Connection:
        conn = await self._connect("listener")
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.listening = True
        except pgx.PostgresError as e:
            if _is_lost(e, conn):
                await _close_quietly(conn)
                raise
            # A hot standby cannot LISTEN (and gets no NOTIFY): the poll alone feeds it.
            self.listening = False
        except BaseException:
            await _close_quietly(conn)
            raise
        conn.add_termination_listener(self._listener_lost)
        return conn

    async def _watch(self) -> None:
        """Keep a LISTEN connection open, and poll log_head on it as a backup.

        After every (re)connection the subscribers are woken once: a commit made before LISTEN
        took effect (or while the connection was down) sent its NOTIFY to nobody, and waking
        them makes them read from their cursors, which finds it.
        """
        last: int | None = None
        while not self._closed:
            wait = self.poll_interval
            try:
                if self._listener is None or self._listener.is_closed():
                    self._listener_gone.clear()
                    old, self._listener = self._listener, None
                    if old is not None:
                        old.terminate()
                    self._listener = await self._listen()
                    self._signal.bump()
                seq = await self._listener.fetchval(
                    f"SELECT last_seq FROM {SCHEMA}.log_head WHERE id = 1")
                if last is not None and seq != last:
                    self._signal.bump()
                last = seq
            except asyncio.CancelledError:
                raise
            except Exception:
                # The server is away, or the connection broke mid-query: drop it and try again
                # (not faster than every 0.1 s), then wake everyone to catch up.
                if self._listener is not None:
                    self._listener.terminate()
                    self._listener = None
                wait = max(wait, 0.1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listener_gone.wait(), wait)
