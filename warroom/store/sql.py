"""What the SQLite and PostgreSQL stores share: statements, row codecs, reads, the append.

The two differ in little: placeholders (`?` or `$1`), a schema prefix (`warroom.`), how a time
and a text are stored (SQLite keeps UTC text; PostgreSQL's timestamptz, and text that cannot
hold NUL, see postgres.enc), where the last sequence number lives and whose clock stamps an
append. A `Dialect` says exactly that, and everything else is written once here.

SQLite runs a whole write transaction as one synchronous call on its connection's thread (so a
cancelled task cannot leave the lock held); PostgreSQL awaits each statement. So a transaction
is written once as a generator of `Statement`s (`append_steps`, `rebuild_steps`): the backend
runs each statement it yields on its own connection, inside its own BEGIN ... COMMIT, and sends
the rows back (`drive`, `drive_async`). The decisions between the statements are append_plan's.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar

from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import FOLD_VERSION, apply
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status
from warroom.store import append_plan
from warroom.store.base import AppendResult, IncidentSummary, Presence, Store, name_events
from warroom.store.errors import Conflict, DatabaseCorrupt, NotFound, ReadOnly

T = TypeVar("T")
W = TypeVar("W")  # what a backend writes through: a connection, a reconnecting link
Row = Sequence[Any]

EVENT_COLUMNS = ("seq", "event_id", "incident_id", "incident_version", "kind", "actor", "at",
                 "recorded_at", "body")
SUMMARY_COLUMNS = ("id", "number", "title", "severity", "status", "phase", "service", "version",
                   "declared_at", "started_at", "detected_at", "acknowledged_at",
                   "first_resolved_at", "resolved_at", "last_event_at")
PRESENCE_COLUMNS = ("session", "person", "host", "pid", "started_at", "seen_at", "incident_id")
ID_CHUNK = 500  # ids per "IN (...)": far below either database's limit on parameters


def unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Dialect:
    """How one database spells what the stores say."""

    schema: str  # prefix of every table: "" or "warroom."
    numbered: bool  # placeholders $1, $2... rather than ?
    text: Callable[[str], Any]  # a text value as stored
    untext: Callable[[Any], str]
    time: Callable[[datetime], Any]  # a time as stored
    untime: Callable[[Any], datetime]
    last_seq: str  # the number of the newest committed event
    lock: str  # appended to last_seq inside an append: it takes the write lock, if SQL must
    clock: str | None  # the store's clock, read under the lock (None: this host's clock)
    after_append: tuple[str, ...]  # run with the new last seq (PostgreSQL: the head, NOTIFY)
    bytewise: str  # a collation comparing text by code point

    def sql(self, text: str) -> str:
        """`{s}` -> the schema prefix; each `?` -> this database's next placeholder."""
        text = text.replace("{s}", self.schema)
        if not self.numbered:
            return text
        first, *rest = text.split("?")
        return first + "".join(f"${n}{part}" for n, part in enumerate(rest, start=1))

    def opt_text(self, value: str | None) -> Any:
        return None if value is None else self.text(value)

    def opt_untext(self, value: Any) -> str | None:
        return None if value is None else self.untext(value)

    def opt_time(self, value: datetime | None) -> Any:
        return None if value is None else self.time(value)

    def opt_untime(self, value: Any) -> datetime | None:
        return None if value is None else self.untime(value)

    # ---- rows ---------------------------------------------------------------------------------

    def event(self, row: Row) -> Event:
        return Event(
            seq=row[0], event_id=self.untext(row[1]), incident_id=self.untext(row[2]),
            version=row[3], kind=self.untext(row[4]), actor=self.untext(row[5]),
            at=self.untime(row[6]), recorded_at=self.untime(row[7]), data=json.loads(row[8]),
        )

    def event_row(self, e: Event) -> tuple[Any, ...]:
        return (
            e.seq, self.text(e.event_id), self.text(e.incident_id), e.version,
            self.text(e.kind), self.text(e.actor), self.time(e.at), self.time(e.recorded_at),
            json.dumps(e.data, separators=(",", ":"), ensure_ascii=False),
        )

    def summary(self, row: Row) -> IncidentSummary:
        t, u = self.untime, self.opt_untime
        return IncidentSummary(
            id=self.untext(row[0]), number=row[1], title=self.untext(row[2]), severity=row[3],
            status=row[4], phase=row[5], service=self.opt_untext(row[6]), version=row[7],
            declared_at=t(row[8]), started_at=t(row[9]), detected_at=t(row[10]),
            acknowledged_at=u(row[11]), first_resolved_at=u(row[12]), resolved_at=u(row[13]),
            last_event_at=t(row[14]),
        )

    def projection_row(self, s: IncidentState) -> tuple[Any, ...]:
        """The summary columns, then the whole state as JSON."""
        t, u = self.time, self.opt_time
        return (
            self.text(s.id), s.number, self.text(s.title), s.severity.value, s.status.value,
            s.phase.value, self.opt_text(s.service), s.version, t(s.declared_at),
            t(s.started_at), t(s.detected_at), u(s.acknowledged_at), u(s.first_resolved_at),
            u(s.resolved_at), t(s.last_event_at), s.model_dump_json(),
        )

    def presence(self, row: Row) -> Presence:
        return Presence(self.untext(row[0]), self.untext(row[1]), self.untext(row[2]), row[3],
                        self.untime(row[4]), self.untime(row[5]), self.opt_untext(row[6]))

    def presence_row(self, p: Presence) -> tuple[Any, ...]:
        return (self.text(p.session), self.text(p.person), self.text(p.host), p.pid,
                self.time(p.started_at), self.time(p.seen_at), self.opt_text(p.incident_id))


def _upsert(table: str, columns: Sequence[str], key: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (f"INSERT INTO {{s}}{table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}")


# Ids per summaries_of statement: well under SQLite's 32,766 parameters.
SUMMARY_BATCH = 500


class Statements:
    """Every statement the stores share, in one dialect's spelling."""

    def __init__(self, d: Dialect) -> None:
        q = d.sql
        events = f"SELECT {', '.join(EVENT_COLUMNS)} FROM {{s}}events"
        self.dialect = d
        self.state = q("SELECT state FROM {s}incidents WHERE id = ?")
        self.current = q("SELECT version, state FROM {s}incidents WHERE id = ?")
        self.next_number = q("SELECT COALESCE(MAX(number), 0) + 1 FROM {s}incidents")
        self.summaries = q(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {{s}}incidents")
        # Every status but Resolved, spelled out: `status != 'Resolved'` cannot use the
        # (status, number) index and read all 10,000 rows before the dashboard's first paint.
        self.open_only = " WHERE status IN ({})".format(
            ", ".join(f"'{s.value}'" for s in Status if s is not Status.RESOLVED))
        self.events = q(f"{events} WHERE incident_id = ? AND incident_version > ? "
                        "ORDER BY incident_version")
        self.changes_since = q(f"{events} WHERE incident_id = ? AND incident_version > ? "
                               "ORDER BY incident_version DESC LIMIT 50")
        self.events_since = q(f"{events} WHERE seq > ? ORDER BY seq LIMIT ?")
        self._events_with_ids = events + " WHERE event_id IN ({marks})"
        self._summaries_with_ids = (f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {{s}}incidents "
                                    "WHERE id IN ({marks})")
        # The log in (incident, version) order, a page at a time after a given event.
        self.log_page = q(f"{events} WHERE incident_id > ? OR (incident_id = ? AND "
                          "incident_version > ?) ORDER BY incident_id, incident_version LIMIT ?")
        self.last_seq = q(d.last_seq)
        self.head = q(d.last_seq + d.lock)
        self.clock = d.clock
        self.after_append = tuple(q(s) for s in d.after_append)
        self.insert_event = q(f"INSERT INTO {{s}}events ({', '.join(EVENT_COLUMNS)}) "
                              f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})")
        self.upsert_projection = q(_upsert("incidents", (*SUMMARY_COLUMNS, "state"), "id"))
        self.clear_projection = q("DELETE FROM {s}incidents")
        self.set_meta = q(_upsert("meta", ("key", "value"), "key"))
        self.get_meta = q("SELECT value FROM {s}meta WHERE key = ?")
        self.heartbeat = q(_upsert("presence", PRESENCE_COLUMNS, "session"))
        self.leave = q("DELETE FROM {s}presence WHERE session = ?")
        self.present = q(f"SELECT {', '.join(PRESENCE_COLUMNS)} FROM {{s}}presence "
                         f"WHERE seen_at >= ? ORDER BY person COLLATE {d.bytewise}, started_at")

    def events_with_ids(self, count: int) -> str:
        return self._with_ids(self._events_with_ids, count)

    def summaries_with_ids(self, count: int) -> str:
        return self._with_ids(self._summaries_with_ids, count)

    def _with_ids(self, template: str, count: int) -> str:
        """`template`'s `IN ({marks})` with `count` placeholders, in this dialect."""
        return self.dialect.sql(template.replace("{marks}", ",".join("?" * count)))


# ---- transactions, written once ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a transaction; `many`: params is a list of rows (executemany)."""

    sql: str
    params: Sequence[Any] = ()
    many: bool = False


Steps = Generator[Statement, list[Row], T]


def append_steps(st: Statements, location: str, incident_id: str | None,
                 events: Sequence[NewEvent], expected: int | None,
                 now: datetime | None = None,
                 drill: Callable[[datetime], datetime] | None = None) -> Steps[AppendResult]:
    """The append transaction (Store.append), once for both backends; run it inside a write
    transaction. `now`: this host's clock, when the dialect has no clock of its own. `drill`:
    a drill room's clock, from the real time to the drill's (Store.drill_clock)."""
    d = st.dialect
    head = yield Statement(st.head)
    if not head or head[0][0] is None:
        raise DatabaseCorrupt(f"{location} has no log head: damaged")
    if st.clock is not None:
        now = (yield Statement(st.clock))[0][0]
    assert now is not None
    if drill is not None:
        now = drill(now)
    ids = [e.event_id for e in events]
    existing: list[Event] = []
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        rows = yield Statement(st.events_with_ids(len(chunk)), [d.text(i) for i in chunk])
        existing.extend(d.event(r) for r in rows)
    if existing:
        return append_plan.repeated(incident_id, events, sorted(existing, key=lambda e: e.seq))
    if incident_id is None:
        append_plan.check_declaration(events, expected)
        number = (yield Statement(st.next_number))[0][0]
        target = append_plan.Target(f"INC-{number}", 0, None)
    else:
        rows = yield Statement(st.current, [d.text(incident_id)])
        if not rows:
            raise NotFound(f"no incident {incident_id}")
        version, state_json = rows[0]
        if expected is not None and expected != version:
            changes = yield Statement(st.changes_since, [d.text(incident_id), expected])
            raise Conflict(incident_id, expected, version, [d.event(r) for r in changes[::-1]])
        target = append_plan.Target(incident_id, version,
                                    IncidentState.model_validate_json(state_json))
    plan = append_plan.plan(target, events, first_seq=head[0][0] + 1, now=now)
    yield Statement(st.insert_event, [d.event_row(e) for e in plan.events], many=True)
    yield Statement(st.upsert_projection, d.projection_row(plan.state))
    for sql in st.after_append:
        yield Statement(sql, [plan.events[-1].seq])
    return plan.result


def rebuild_steps(st: Statements, page: int = 2000) -> Steps[int]:
    """Recompute every incident's cached state from the log (inside the caller's transaction)
    and record the fold version that did it; returns the number of incidents."""
    d = st.dialect
    yield Statement(st.clear_projection)
    state: IncidentState | None = None
    count = 0
    after: tuple[Any, int] = ("", 0)  # stored incident id and version of the last event read
    while rows := (yield Statement(st.log_page, [after[0], after[0], after[1], page])):
        for row in rows:
            event = d.event(row)
            if state is not None and event.incident_id != state.id:
                yield Statement(st.upsert_projection, d.projection_row(state))
                count += 1
                state = None
            state = apply(state, event)
        after = (rows[-1][2], rows[-1][3])
    if state is not None:
        yield Statement(st.upsert_projection, d.projection_row(state))
        count += 1
    yield Statement(st.set_meta, ["fold_version", FOLD_VERSION])
    return count


def drive(steps: Steps[T], run: Callable[[Statement], list[Row]]) -> T:
    """Run a transaction's statements one after the other (SQLite: on the connection's thread)."""
    rows: list[Row] | None = None
    while True:
        try:
            statement = steps.send(rows)  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        rows = run(statement)


async def drive_async(steps: Steps[T], run: Callable[[Statement], Awaitable[list[Row]]]) -> T:
    """`drive` for a driver that awaits each statement (PostgreSQL)."""
    statement = next(steps)
    while True:
        rows = await run(statement)
        try:
            statement = steps.send(rows)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


# ---- the Store methods, written once ----------------------------------------------------------


class SqlStore(Store, Generic[W]):
    """Store on SQL: the backends say how to run an append and how to fetch rows."""

    statements: Statements
    _writer: W | None

    @abstractmethod
    async def _append(self, writer: W, incident_id: str | None, events: list[NewEvent],
                      expected: int | None) -> AppendResult:
        """Run `append_steps` in one write transaction, whatever happens to the caller."""

    @abstractmethod
    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of one read-only statement, on the reading connection."""

    async def _fetch_new(self, query: str, params: Sequence[Any]) -> list[Row]:
        """A read of what was committed after a point the caller holds (`events_since`: every
        subscriber after every commit), small and bounded by its limit. Like any read unless
        the backend has a cheaper way (SQLite: the feed's own connection)."""
        return await self._fetch(query, params)

    @abstractmethod
    async def _open(self, create: bool) -> None:
        """Connect, check (or create and migrate) the schema."""

    async def _opened(self, create: bool) -> Self:
        """This store, open; or, if opening fails, nothing left open and the error raised."""
        try:
            await self._open(create)
        except BaseException:
            await self.close()
            raise
        return self

    def _require_writer(self) -> W:
        if self.readonly or self._writer is None:
            raise ReadOnly("this store is open read-only (spectator): nothing was written")
        return self._writer

    async def append(self, incident_id: str | None, events: Sequence[NewEvent],
                     expected_version: int | None = None) -> AppendResult:
        writer = self._require_writer()
        if not events:
            raise ValueError("nothing to append")
        name_events(events)
        result = await self._append(writer, incident_id, list(events), expected_version)
        self._signal.bump()  # this process's own feed learns of it at once
        return result

    def _to_store_clock(self, dt: datetime) -> datetime:
        """A time read from this machine's clock, on the store's (presence times)."""
        return dt

    def _to_local_clock(self, dt: datetime) -> datetime:
        return dt

    async def get(self, incident_id: str) -> IncidentState:
        d, st = self.statements.dialect, self.statements
        rows = await self._fetch(st.state, (d.text(incident_id),))
        if not rows:
            raise NotFound(f"no incident {incident_id}")
        return IncidentState.model_validate_json(rows[0][0])

    async def summaries(self, *, open_only: bool = False,
                        limit: int | None = None) -> list[IncidentSummary]:
        st = self.statements
        sql = st.summaries + (st.open_only if open_only else "") + " ORDER BY number DESC"
        rows = await self._fetch(sql + (f" LIMIT {int(limit)}" if limit else ""))
        return [st.dialect.summary(r) for r in rows]

    async def summaries_of(self, incident_ids: Sequence[str]) -> list[IncidentSummary]:
        st, ids = self.statements, list(dict.fromkeys(incident_ids))
        out: list[IncidentSummary] = []
        for i in range(0, len(ids), SUMMARY_BATCH):
            chunk = ids[i:i + SUMMARY_BATCH]
            rows = await self._fetch(st.summaries_with_ids(len(chunk)),
                                     tuple(st.dialect.text(x) for x in chunk))
            out += [st.dialect.summary(r) for r in rows]
        return out

    async def events(self, incident_id: str, *, after_version: int = 0,
                     limit: int | None = None) -> list[Event]:
        d, st = self.statements.dialect, self.statements
        rows = await self._fetch(st.events + (f" LIMIT {int(limit)}" if limit else ""),
                                 (d.text(incident_id), after_version))
        if not rows and after_version == 0:
            raise NotFound(f"no incident {incident_id}")
        return [d.event(r) for r in rows]

    async def events_since(self, seq: int, *, limit: int = 1000) -> list[Event]:
        st = self.statements
        return [st.dialect.event(r) for r in await self._fetch_new(st.events_since, (seq, limit))]

    async def last_seq(self) -> int:
        rows = await self._fetch(self.statements.last_seq)
        return int(rows[0][0]) if rows else 0

    async def room_mark(self, key: str) -> str | None:
        st = self.statements
        rows = await self._fetch(st.get_meta, (st.dialect.text(f"room:{key}"),))
        return str(rows[0][0]) if rows else None

    async def present(self, since: datetime) -> list[Presence]:
        d, st = self.statements.dialect, self.statements
        rows = await self._fetch(st.present, (d.time(self._to_store_clock(since)),))
        out = []
        for r in rows:
            p = d.presence(r)
            out.append(Presence(p.session, p.person, p.host, p.pid,
                                self._to_local_clock(p.started_at),
                                self._to_local_clock(p.seen_at), p.incident_id))
        return out


def utc_text(dt: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order inside SQL (SQLite's times)."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")
