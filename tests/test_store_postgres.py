"""What only the PostgreSQL backend has: a server, its connections, its roles and its clock.

Every test gets a fresh database (`pg_url`, admin URL); without PostgreSQL they skip with the
reason (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.fold import FOLD_VERSION, fold
from warroom.domain.incident.severity import Severity
from warroom.store import errors, open_store
from warroom.store.base import Presence
from warroom.store.clock import clock_offset_note
from warroom.store.postgres import PostgresStore, dec, enc, redact
from warroom.store.postgres_schema import MIGRATION_LOCK, SCHEMA_VERSION, grant_statements

from .conftest import REPO, cli_env, pg_execute, run_async, run_cli, with_user
from .test_store_processes import _wait_files, spawn


async def wait_until(check: Callable[[], Awaitable[bool]], what: str,
                     within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def opened(pg_url: str) -> AsyncIterator[list[PostgresStore]]:
    stores: list[PostgresStore] = []
    yield stores
    for s in stores:
        await s.close()


async def _open(opened: list[PostgresStore], url: str, **kw: object) -> PostgresStore:
    kw.setdefault("poll_interval", 0.01)
    s = await PostgresStore.open(url, **kw)  # type: ignore[arg-type]
    opened.append(s)
    return s


async def _declare(s: PostgresStore, title: str = "t") -> str:
    return (await s.append(None, commands.declare(title, Severity.SEV2, "alice"))).incident_id


@pytest.fixture
def make_role(pg_url: str) -> Iterator[Callable[..., str]]:
    """Create a login role on the server; returns its URL on the test database."""
    made: list[str] = []

    def make(*, write: bool | None, grants_after_room: bool = True) -> str:
        name = f"wr_role_{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        run_async(pg_execute(pg_url, f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
        made.append(name)
        if write is not None:
            database = pg_url.rsplit("/", 1)[1]
            run_async(pg_execute(pg_url, *grant_statements(name, database, write=write)))
        return with_user(pg_url, name, password)

    yield make
    for name in made:
        run_async(pg_execute(
            pg_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'",
            f"DROP OWNED BY {name}", f"DROP ROLE {name}"))


# ---- ordering ------------------------------------------------------------------------------


async def test_appends_are_serialised_on_the_log_head(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    """An append waits for an in-flight one; a reader meanwhile sees no later seq."""
    w = await _open(opened, pg_url)
    r = await _open(opened, pg_url, readonly=True)
    inc = await _declare(w)
    state = await w.get(inc)
    holder = await asyncpg.connect(pg_url)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT last_seq FROM warroom.log_head FOR UPDATE")
        writer_pid = w._writer.conn.get_server_pid()  # type: ignore[union-attr]
        task = asyncio.create_task(w.append(inc, commands.add_note(state, "waits", "bob")))

        async def waiting() -> bool:
            return bool(await holder.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                writer_pid))

        await wait_until(waiting, "the append to wait on the log head")
        assert await r.last_seq() == 1 and await r.events_since(1) == []
        await tx.rollback()
        result = await asyncio.wait_for(task, 30)
    finally:
        await holder.close()
    assert [e.seq for e in result.events] == [2]


async def test_concurrent_writers_never_let_a_reader_skip(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    writers = [await _open(opened, pg_url) for _ in range(4)]
    reader = await _open(opened, pg_url, readonly=True)
    inc = await _declare(writers[0])
    per_writer = 40
    total = 1 + len(writers) * per_writer
    done = False

    async def write(w: PostgresStore, tag: str) -> None:
        state = await w.get(inc)
        for i in range(per_writer):
            await w.append(inc, commands.add_note(state, f"{tag}{i}", tag))

    async def read() -> list[int]:
        cursor, seen = 0, []
        while not done or cursor < total:
            for e in await reader.events_since(cursor):
                assert e.seq == cursor + 1, f"skipped from {cursor} to {e.seq}"
                cursor = e.seq
                seen.append(e.seq)
            await asyncio.sleep(0)
        return seen

    reading = asyncio.create_task(read())
    await asyncio.gather(*(write(w, f"w{i}-") for i, w in enumerate(writers)))
    done = True
    assert await asyncio.wait_for(reading, 30) == list(range(1, total + 1))


# ---- change feed -----------------------------------------------------------------------------


async def test_notify_wakes_other_processes_without_the_poll(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    w = await _open(opened, pg_url)
    r = await _open(opened, pg_url, readonly=True, poll_interval=3600)
    inc = await _declare(w)
    feed = r.subscribe()
    nxt = asyncio.ensure_future(feed.__anext__())
    await wait_until(lambda: _true(r._listener is not None), "the listener")
    # The listener wakes the feed once when it connects; let that settle before writing.
    await asyncio.sleep(0)
    state = await w.get(inc)
    await w.append(inc, commands.add_note(state, "over the wire", "bob"))
    batch = await asyncio.wait_for(nxt, 10)
    assert batch[-1].data["text"] == "over the wire"
    await feed.aclose()


async def _true(value: bool) -> bool:
    return value


async def test_own_write_wakes_own_feed_without_the_poll(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    s = await _open(opened, pg_url, poll_interval=3600)
    inc = await _declare(s)
    feed = s.subscribe()
    nxt = asyncio.ensure_future(feed.__anext__())
    await asyncio.sleep(0)
    state = await s.get(inc)
    await s.append(inc, commands.add_note(state, "mine", "a"))
    batch = await asyncio.wait_for(nxt, 10)
    assert batch[0].data["text"] == "mine"
    await feed.aclose()


async def test_without_listen_the_poll_alone_feeds_readers(pg_url: str, opened,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A hot standby refuses LISTEN: a spectator there still follows the room, by the poll."""

    async def refuse(*_args: object) -> None:
        raise asyncpg.ReadOnlySQLTransactionError("cannot execute LISTEN during recovery")

    w = await _open(opened, pg_url)
    inc = await _declare(w)
    monkeypatch.setattr(asyncpg.connection.Connection, "add_listener", refuse)
    r = await _open(opened, pg_url, readonly=True, poll_interval=0.05)
    feed = r.subscribe()
    nxt = asyncio.ensure_future(feed.__anext__())
    await wait_until(lambda: _true(r._listener is not None), "the listener connection")
    assert not r.listening
    for text in ("polled", "polled again"):  # the second can only come by the poll
        await w.append(inc, commands.add_note(await w.get(inc), text, "bob"))
        assert (await asyncio.wait_for(nxt, 10))[-1].data["text"] == text
        nxt = asyncio.ensure_future(feed.__anext__())
    nxt.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await nxt
    await feed.aclose()


async def _terminate(admin_url: str, *pids: int) -> None:
    await pg_execute(admin_url, *(f"SELECT pg_terminate_backend({p})" for p in pids))


async def test_reader_reconnects_and_catches_up_from_its_cursor(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    w = await _open(opened, pg_url)
    r = await _open(opened, pg_url, readonly=True, poll_interval=3600)
    inc = await _declare(w)
    got: list[int] = []

    async def follow() -> None:
        async for batch in r.subscribe(0):
            got.extend(e.seq for e in batch)
            if got[-1] >= 11:
                return

    task = asyncio.create_task(follow())
    await wait_until(lambda: _true(got == [1] and r._listener is not None), "the first event")
    old = {r._listener.get_server_pid(), r._reader.conn.get_server_pid()}  # type: ignore[union-attr]
    await _terminate(pg_url, *old)
    state = await w.get(inc)
    for i in range(5):  # written while the reader's connections are gone or coming back
        await w.append(inc, commands.add_note(state, f"gap {i}", "bob"))
    await wait_until(lambda: _true(len(got) == 6), "the catch-up after the reconnect")
    new = {r._listener.get_server_pid(), r._reader.conn.get_server_pid()}  # type: ignore[union-attr]
    assert not (old & new)  # both connections were made again
    for i in range(5):  # and the feed keeps working on the new connections
        await w.append(inc, commands.add_note(state, f"after {i}", "bob"))
    await asyncio.wait_for(task, 30)
    assert got == list(range(1, 12))


async def test_writer_reconnects_after_its_connection_is_killed(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    w = await _open(opened, pg_url)
    inc = await _declare(w)
    pid = w._writer.conn.get_server_pid()  # type: ignore[union-attr]
    await _terminate(pg_url, pid)

    async def gone() -> bool:  # pg_terminate_backend only signals: wait for the exit
        rows = await pg_execute(pg_url, f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}")
        return not rows

    await wait_until(gone, "the writer's backend to exit")
    state = await w.get(inc)
    result = await w.append(inc, commands.add_note(state, "still here", "a"))
    assert result.version == 2 and not result.duplicate


async def test_commit_whose_answer_is_lost_is_retried_as_a_duplicate(pg_url: str,
                                                                      opened) -> None:  # type: ignore[no-untyped-def]
    w = await _open(opened, pg_url)
    inc = await _declare(w)
    state = await w.get(inc)
    real = w._append_tx
    calls = 0

    async def commit_then_lose_the_connection(conn, *args):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        result = await real(conn, *args)
        if calls == 1:
            conn.terminate()
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection lost")
        return result

    w._append_tx = commit_then_lose_the_connection  # type: ignore[method-assign]
    batch = commands.add_note(state, "exactly once", "a")
    result = await w.append(inc, batch)
    assert calls == 2 and result.duplicate
    assert [e.event_id for e in result.events] == [batch[0].event_id]
    assert [e.kind for e in await w.events(inc)] == ["declared", "note"]


async def test_unique_violation_inside_the_transaction_is_a_duplicate(pg_url: str,
                                                                      opened) -> None:  # type: ignore[no-untyped-def]
    """If the pre-check ever misses a committed id, the insert's unique violation is answered
    like SQLite's: the committed events, duplicate=True."""
    w = await _open(opened, pg_url)
    inc = await _declare(w)
    state = await w.get(inc)
    batch = commands.add_note(state, "once", "a")
    first = await w.append(inc, batch)
    real = w._step
    blind = True

    async def miss_once(conn, statement):  # type: ignore[no-untyped-def]
        nonlocal blind
        if blind and "event_id IN" in statement.sql:
            blind = False
            return []
        return await real(conn, statement)

    w._step = miss_once  # type: ignore[method-assign]
    again = await w.append(inc, batch)
    assert again.duplicate and [e.seq for e in again.events] == [e.seq for e in first.events]
    assert await w.last_seq() == 2


async def test_lock_held_too_long_is_database_locked(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    w = await _open(opened, pg_url, lock_timeout=0.3)
    inc = await _declare(w)
    state = await w.get(inc)
    holder = await asyncpg.connect(pg_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT last_seq FROM warroom.log_head FOR UPDATE")
            with pytest.raises(errors.DatabaseLocked, match="nothing was written"):
                await w.append(inc, commands.add_note(state, "blocked", "a"))
    finally:
        await holder.close()
    assert await w.last_seq() == 1


# ---- schema and migrations -----------------------------------------------------------------


async def test_schema_is_created_once_by_racing_openers(pg_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    n = 6
    procs = [spawn("opener", pg_url, str(go), f"p{i}") for i in range(n)]
    _wait_files([Path(f"{go}.p{i}") for i in range(n)])
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    assert sorted(out.strip() for out, _ in outs) == sorted(f"INC-{i}" for i in range(1, n + 1))
    rows = await pg_execute(pg_url, "SELECT key, value FROM warroom.meta ORDER BY key")
    assert dict(rows) == {"fold_version": FOLD_VERSION, "schema_version": str(SCHEMA_VERSION)}
    assert (await pg_execute(pg_url, "SELECT count(*) FROM warroom.log_head"))[0][0] == 1


async def test_migration_waits_for_the_advisory_lock(pg_url: str) -> None:
    holder = await asyncpg.connect(pg_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            with pytest.raises(errors.DatabaseLocked):
                await PostgresStore.open(pg_url, lock_timeout=0.3)
        # Nothing half-made was left behind by the opener that gave up.
        assert await holder.fetchval("SELECT to_regnamespace('warroom')") is None
    finally:
        await holder.close()
    s = await PostgresStore.open(pg_url)
    await s.close()


async def test_log_is_append_only_even_for_the_owner(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    await _declare(await _open(opened, pg_url))
    for sql in ("UPDATE warroom.events SET actor = 'mallory'", "DELETE FROM warroom.events",
                "TRUNCATE warroom.events CASCADE"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await pg_execute(pg_url, sql)


async def test_projection_rebuilt_when_the_fold_changes(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    s = await _open(opened, pg_url)
    inc = await _declare(s)
    state = await s.get(inc)
    await s.append(inc, commands.acknowledge(state, "bob"))
    await pg_execute(pg_url, "UPDATE warroom.incidents SET state = '{}', title = 'stale'",
                     "UPDATE warroom.meta SET value = 'old' WHERE key = 'fold_version'")
    again = await _open(opened, pg_url)
    rebuilt = await again.get(inc)
    assert rebuilt.model_dump() == fold(await again.events(inc)).model_dump()
    assert (await again.summaries())[0].title == "t"


async def test_newer_schema_is_refused(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    await _open(opened, pg_url)
    await pg_execute(pg_url, "UPDATE warroom.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(errors.SchemaMismatch, match="newer"):
        await PostgresStore.open(pg_url)
    with pytest.raises(errors.SchemaMismatch, match="newer"):
        await PostgresStore.open(pg_url, readonly=True)


async def test_spectator_never_creates_the_schema(pg_url: str) -> None:
    with pytest.raises(errors.DatabaseMissing, match="spectator never creates"):
        await PostgresStore.open(pg_url, readonly=True)
    with pytest.raises(errors.DatabaseMissing, match="no warroom room"):
        await PostgresStore.open(pg_url, create=False)
    assert (await pg_execute(pg_url, "SELECT to_regnamespace('warroom')"))[0][0] is None


# ---- spectators and roles ------------------------------------------------------------------


ROLE_WRITE_ATTEMPTS = [
    ["INSERT INTO warroom.events VALUES (99, 'x', 'INC-1', 99, 'note', 'spy', now(), now(), "
     "'{}')"],
    ["UPDATE warroom.incidents SET title = 'owned'"],
    ["DELETE FROM warroom.presence"],
    ["TRUNCATE warroom.incidents"],
    ["CREATE TABLE warroom.spy (x int)"],
    ["CREATE TABLE public.spy (x int)"],
    ["CREATE SCHEMA spy"],
    ["SET default_transaction_read_only = off",
     "INSERT INTO warroom.meta VALUES ('spy', 'x')"],
    ["SELECT set_config('default_transaction_read_only', 'off', false)",
     "UPDATE warroom.log_head SET last_seq = 99"],
    ["BEGIN READ WRITE",
     "INSERT INTO warroom.presence VALUES ('s', 'spy', 'h', 1, now(), now(), NULL)"],
    ["SELECT last_seq FROM warroom.log_head FOR UPDATE"],  # would stall every writer
    ["BEGIN", "LOCK TABLE warroom.log_head IN EXCLUSIVE MODE"],
    ["ALTER TABLE warroom.events DISABLE TRIGGER ALL"],
    ["DROP TABLE warroom.presence"],
    ["GRANT INSERT ON warroom.meta TO PUBLIC",  # only a warning: nothing granted
     "INSERT INTO warroom.meta VALUES ('spy', 'x')"],
    ["CREATE FUNCTION warroom.spy() RETURNS int LANGUAGE sql AS 'SELECT 1'"],
]


async def _room_fingerprint(admin_url: str) -> tuple[object, ...]:
    rows = await pg_execute(admin_url, """
        SELECT (SELECT count(*) FROM warroom.events), (SELECT last_seq FROM warroom.log_head),
               (SELECT string_agg(title, ',') FROM warroom.incidents),
               (SELECT count(*) FROM warroom.presence), (SELECT count(*) FROM warroom.meta),
               (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname IN ('warroom', 'public')),
               (SELECT count(*) FROM pg_namespace WHERE nspname = 'spy'),
               (SELECT count(*) FROM pg_proc WHERE proname = 'spy')""")
    return tuple(rows[0])


@pytest.mark.parametrize("statements", ROLE_WRITE_ATTEMPTS,
                         ids=lambda s: s[-1].split("(")[0][:40])
async def test_read_only_role_cannot_write_by_any_means(pg_url: str, opened, make_role,  # type: ignore[no-untyped-def]
                                                        statements: list[str]) -> None:
    w = await _open(opened, pg_url)
    await _declare(w)
    spectator = make_role(write=False)
    before = await _room_fingerprint(pg_url)
    # A plain connection as the role, without even the store's read-only setting: the role's
    # privileges alone must refuse.
    conn = await asyncpg.connect(spectator)
    try:
        with pytest.raises(asyncpg.PostgresError):
            for sql in statements:
                await conn.execute(sql)
    finally:
        conn.terminate()
    assert await _room_fingerprint(pg_url) == before


async def test_read_only_role_watches_the_room(pg_url: str, opened, make_role) -> None:  # type: ignore[no-untyped-def]
    w = await _open(opened, pg_url)
    inc = await _declare(w)
    spectator = make_role(write=False)
    with pytest.raises(errors.ReadOnly, match="read-only for role"):
        await PostgresStore.open(spectator)
    ro = await _open(opened, spectator, readonly=True)
    assert (await ro.get(inc)).title == "t"
    with pytest.raises(errors.ReadOnly, match="spectator"):
        await ro.append(inc, commands.add_note(await ro.get(inc), "x", "spy"))
    raw = await ro._reader.get()
    with pytest.raises(asyncpg.PostgresError):
        await raw.execute("INSERT INTO warroom.meta VALUES ('spy', 'x')")
    feed = ro.subscribe(1)
    nxt = asyncio.ensure_future(feed.__anext__())
    await w.append(inc, commands.acknowledge(await w.get(inc), "bob"))
    assert [e.kind for e in await asyncio.wait_for(nxt, 10)] == ["acknowledged"]
    await feed.aclose()


async def test_spectator_store_with_a_writing_role_is_read_only_on_the_wire(pg_url: str,
                                                                            opened) -> None:  # type: ignore[no-untyped-def]
    """Without a read-only role, the store's API and the connection's read-only default are
    what stop a spectator (a session could switch the default off: docs/postgres.md)."""
    w = await _open(opened, pg_url)
    await _declare(w)
    ro = await _open(opened, pg_url, readonly=True)
    raw = await ro._reader.get()
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await raw.execute("INSERT INTO warroom.meta VALUES ('spy', 'x')")
    now = datetime.now(UTC)
    with pytest.raises(errors.ReadOnly):
        await ro.heartbeat(Presence("s", "spy", "h", 1, now, now, None))
    assert ro._writer is None


async def test_granted_writer_role_takes_part(pg_url: str, opened, make_role) -> None:  # type: ignore[no-untyped-def]
    await _declare(await _open(opened, pg_url))
    member = await _open(opened, make_role(write=True))
    state = await member.get("INC-1")
    await member.append("INC-1", commands.acknowledge(state, "bob"))
    assert await _declare(member) == "INC-2"
    now = datetime.now(UTC)
    await member.heartbeat(Presence("s", "bob", "h", 1, now, now, None))
    await member.leave("s")


async def test_role_without_grants_is_refused_clearly(pg_url: str, opened, make_role) -> None:  # type: ignore[no-untyped-def]
    await _declare(await _open(opened, pg_url))
    stranger = make_role(write=None)
    with pytest.raises(errors.PermissionDenied, match="permission denied"):
        await PostgresStore.open(stranger, readonly=True)


# ---- the clock -----------------------------------------------------------------------------


@pytest.fixture
def laptop_an_hour_ahead(monkeypatch: pytest.MonkeyPatch) -> timedelta:
    from warroom.store import clock

    skew = timedelta(hours=1)
    monkeypatch.setattr(clock, "local_now", lambda: datetime.now(UTC) + skew)
    return skew


async def test_recorded_time_is_the_servers_clock(pg_url: str, opened,  # type: ignore[no-untyped-def]
                                                  laptop_an_hour_ahead: timedelta) -> None:
    s = await _open(opened, pg_url)
    offset = await s.clock_offset()
    assert abs(offset + laptop_an_hour_ahead) < timedelta(seconds=5)
    assert "ahead of the server" in (clock_offset_note(offset) or "")
    before = (await pg_execute(pg_url, "SELECT clock_timestamp()"))[0][0]
    result = await s.append(None, commands.declare("t", Severity.SEV1, "alice"))
    after = (await pg_execute(pg_url, "SELECT clock_timestamp()"))[0][0]
    declared = result.events[0]
    assert before <= declared.recorded_at <= after
    assert declared.at == declared.recorded_at  # no `at`: the server's time too
    stored = await pg_execute(pg_url, "SELECT at, recorded_at FROM warroom.events")
    assert tuple(stored[0]) == (declared.at, declared.recorded_at)


async def test_recorded_times_follow_commit_order(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    writers = [await _open(opened, pg_url) for _ in range(3)]
    inc = await _declare(writers[0])

    async def write(w: PostgresStore) -> None:
        state = await w.get(inc)
        for _ in range(20):
            await w.append(inc, commands.add_note(state, "n", "a"))

    await asyncio.gather(*(write(w) for w in writers))
    times = [e.recorded_at for e in await writers[0].events_since(0, limit=100)]
    assert times == sorted(times)


async def test_presence_is_right_whatever_the_laptops_clock(pg_url: str, opened,  # type: ignore[no-untyped-def]
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            laptop_an_hour_ahead) -> None:
    from warroom.store import clock

    skewed = await _open(opened, pg_url)  # opened while the laptop's clock is an hour ahead
    its_now = clock.local_now()
    await skewed.heartbeat(Presence("s1", "alice", "laptop", 1, its_now, its_now, None))
    assert [p.person for p in await skewed.present(its_now - timedelta(seconds=30))] == ["alice"]
    monkeypatch.setattr(clock, "local_now", lambda: datetime.now(UTC))
    honest = await _open(opened, pg_url, readonly=True)
    assert abs(await honest.clock_offset()) < timedelta(seconds=5)
    seen = await honest.present(datetime.now(UTC) - timedelta(seconds=30))
    assert [p.person for p in seen] == ["alice"]
    assert abs(seen[0].seen_at - datetime.now(UTC)) < timedelta(seconds=30)


async def test_sqlite_has_no_clock_offset(db_path: Path) -> None:
    s = await open_store(db_path)
    try:
        assert await s.clock_offset() is None
    finally:
        await s.close()


def test_clock_offset_note() -> None:
    assert clock_offset_note(None) is None
    assert clock_offset_note(timedelta(milliseconds=900)) is None
    assert clock_offset_note(timedelta(seconds=-0.5)) is None
    assert clock_offset_note(timedelta(seconds=3)) == "your clock is 3s behind the server"
    assert clock_offset_note(timedelta(minutes=-2)) == "your clock is 2m ahead of the server"


# ---- text, URLs, errors ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["plain", "nul\x00byte", "\uffffmarked", "\uffff", "", "\\0"])
def test_text_codec_round_trips(text: str) -> None:
    assert dec(enc(text)) == text
    assert "\x00" not in enc(text)
    if "\x00" not in text and not text.startswith("\uffff"):
        assert enc(text) == text  # readable in psql


def test_redact_hides_the_password() -> None:
    assert redact("postgresql://bob:s3cret@db.example:5432/room?sslmode=require&password=x") == (
        "postgresql://bob@db.example:5432/room?sslmode=require")
    assert redact("postgres://db/room") == "postgres://db/room"


async def test_location_never_shows_the_password(pg_url: str, opened) -> None:  # type: ignore[no-untyped-def]
    s = await _open(opened, pg_url)
    password = pg_url.split("@")[0].rsplit(":", 1)[1]
    assert password not in s.location and s.location.startswith("postgresql://")


# ---- the real CLI on PostgreSQL ------------------------------------------------------------


def ok(r):  # type: ignore[no-untyped-def]
    assert r.code == 0, (r.code, r.err)
    assert "Traceback" not in r.err
    return r


def test_cli_on_postgresql(pg_url: str) -> None:
    init = ok(run_cli(pg_url, "init"))
    assert "room ready" in init.out and pg_url.split("@")[0].rsplit(":", 1)[1] not in init.out
    declared = ok(run_cli(pg_url, "declare", "--title", "Checkout 500s", "--severity", "1",
                          "--service", "payments", "--json")).json()
    assert declared["incident_id"] == "INC-1"  # type: ignore[index]
    ok(run_cli(pg_url, "ack", "1", user="bob"))
    ok(run_cli(pg_url, "note", "1", "pool exhausted \x1b[31m"))
    ok(run_cli(pg_url, "status", "1", "identified", "--expect-version", "3"))
    conflict = run_cli(pg_url, "status", "1", "resolved", "--expect-version", "3", user="carol")
    assert conflict.code == 3 and "status Investigating -> Identified by alice" in conflict.err
    spectator = run_cli(pg_url, "--spectator", "note", "1", "sneaky")
    assert spectator.code == 5 and "read-only" in spectator.err
    shown = ok(run_cli(pg_url, "show", "1", "--json")).json()
    assert (shown["status"], shown["version"]) == ("Identified", 4)  # type: ignore[index]
    assert [r["id"] for r in ok(run_cli(pg_url, "list", "--json")).json()] == ["INC-1"]  # type: ignore[union-attr, index]
    # --db on the command line wins over $WARROOM_DB; postgres:// is the same as postgresql://
    other = "postgres://" + pg_url.split("://", 1)[1]
    by_flag = ok(run_cli("/nonexistent/not-this.db", "--db", other, "show", "1", "--json"))
    assert by_flag.json()["version"] == 4  # type: ignore[index]
    missing = run_cli(pg_url, "show", "7", "--json")
    assert missing.code == 4 and missing.json() == {
        "error": {"code": 4, "type": "NotFound", "message": "no incident INC-7"}}


def test_cli_tail_follow_sees_other_processes_on_postgresql(pg_url: str) -> None:
    ok(run_cli(pg_url, "declare", "--title", "t", "--severity", "2"))
    p = subprocess.Popen([__import__("sys").executable, "-m", "warroom", "tail", "--follow",
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=cli_env(pg_url), cwd=REPO)
    try:
        assert p.stdout is not None
        assert json.loads(p.stdout.readline())["kind"] == "declared"
        ok(run_cli(pg_url, "ack", "1", user="bob"))
        second = json.loads(p.stdout.readline())
        assert (second["kind"], second["actor"], second["seq"]) == ("acknowledged", "bob", 2)
    finally:
        p.terminate()
        p.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_connection_problems_have_their_exit_codes(pg_url: str, make_role) -> None:  # type: ignore[no-untyped-def]
    base, _db = pg_url.rsplit("/", 1)
    host = base.rsplit("@", 1)[1]
    ok(run_cli(pg_url, "declare", "--title", "t", "--severity", "2"))
    cases = [
        (f"postgresql://nobody:x@127.0.0.1:{_free_port()}/room", 6, "connection refused"),
        (f"{base}/no_such_database_here", 6, "no database no_such_database_here"),
        (f"postgresql://warroom_admin:wrong-password@{host}/{_db}", 5, "authentication failed"),
        (make_role(write=None), 5, "permission denied"),
        ("postgresql://x@127.0.0.1:notaport/db", 2, "cannot use"),
        ("mysql://x@localhost/db", 2, "unsupported database URL"),
    ]
    for url, code, message in cases:
        for args in (["list"], ["ack", "1"]):
            r = run_cli(url, *args)
            assert r.code == code, (url, args, r.code, r.err)
            assert message in r.err and "Traceback" not in r.err, r.err
            assert len(r.err.strip().splitlines()) == 1, r.err
            assert "wrong-password" not in r.err


async def test_cli_lock_timeout_on_postgresql(pg_url: str) -> None:
    await asyncio.to_thread(lambda: ok(run_cli(pg_url, "declare", "--title", "t",
                                               "--severity", "2")))
    holder = await asyncpg.connect(pg_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT last_seq FROM warroom.log_head FOR UPDATE")
            env = cli_env(pg_url) | {"WARROOM_LOCK_TIMEOUT": "0.3"}
            locked = await asyncio.to_thread(run_cli, pg_url, "ack", "1", env=env)
    finally:
        await holder.close()
    assert locked.code == 9 and "locked" in locked.err and "Traceback" not in locked.err
