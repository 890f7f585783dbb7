"""The room's files removed or replaced under it (issue 13, item 6), and another program's
database (item 7).

Deleting `room.db-wal` under a live writer used to go unnoticed: the writer kept acknowledging
writes into the unlinked file, and a kill -9 then lost every one of them. Now each write checks
the files first and after its commit, every process's poll checks them, a writer saves what it
committed when that is safe, and everything afterwards is refused with exit 7.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.store import ExitCode, errors, open_store
from warroom.store.files import RoomFiles, RoomFilesReplaced, index_matches_wal
from warroom.store.sqlite import SQLiteStore

from .conftest import REPO, cli_env, run_cli

WORKER = str(Path(__file__).with_name("room_files_worker.py"))


async def _declare(store: SQLiteStore) -> str:
    return (await store.append(None, commands.declare("t", Severity.SEV2, "a"))).incident_id


async def _note(store: SQLiteStore, incident: str, text: str) -> str:
    events = commands.add_note(await store.get(incident), text, "a")
    await store.append(incident, events)
    return events[0].event_id


def _stored_ids(db: Path) -> tuple[set[str], str]:
    """Every event id in the room and its integrity, read by a process of its own (the test's
    own connections would share SQLite's per-process view of the files)."""
    code = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(c.execute('PRAGMA integrity_check').fetchone()[0])\n"
        "for (i,) in c.execute('SELECT event_id FROM events'): print(i)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    return set(out[1:]), out[0]


# ---- the identity check itself ---------------------------------------------------------------


def test_room_files_tell_deleted_replaced_and_adopted(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    db.write_bytes(b"x")
    Path(f"{db}-wal").write_bytes(b"w")
    files = RoomFiles.record(db)
    assert files.changed() is None
    Path(f"{db}-shm").write_bytes(b"s")  # absent when recorded: adopted when it appears
    assert files.changed() is None
    os.unlink(f"{db}-shm")
    assert str(files.changed()) == "room.db-shm was deleted"
    Path(f"{db}-shm").write_bytes(b"s")
    other = tmp_path / "other"
    other.write_bytes(b"y")
    files = RoomFiles.record(db)
    os.replace(other, db)
    assert str(files.changed()) == "room.db was replaced by another file"
    with pytest.raises(RoomFilesReplaced, match="nothing was written") as e:
        files.check()
    assert e.value.exit_code == ExitCode.DB_CORRUPT == 7


def test_the_index_must_describe_the_wal_exactly(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    for i in range(5):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
    shm = Path(f"{db}-shm").read_bytes()[:96]
    wal = Path(f"{db}-wal").read_bytes()
    page = int.from_bytes(wal[8:12], "big")
    frames = (len(wal) - 32) // (24 + page)
    last = wal[32 + (frames - 1) * (24 + page):][:24]
    assert index_matches_wal(shm, wal[:32], last)
    earlier = wal[32 + (frames - 2) * (24 + page):][:24]
    assert not index_matches_wal(shm, wal[:32], earlier)  # not the last frame's checksum
    other_salt = wal[:16] + bytes(8) + wal[24:32]
    assert not index_matches_wal(shm, other_salt, last)  # another cycle of the log
    torn = shm[:48] + bytes(48)
    assert not index_matches_wal(torn, wal[:32], last)  # a write under way
    conn.close()


# ---- one process --------------------------------------------------------------------------


async def test_deleted_wal_refuses_the_next_write_and_keeps_what_was_acknowledged(
        db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    try:
        incident = await _declare(store)
        acked = [await _note(store, incident, f"n{i}") for i in range(30)]
        os.unlink(f"{db_path}-wal")
        with pytest.raises(RoomFilesReplaced) as refused:
            await _note(store, incident, "after")
        message = str(refused.value)
        assert refused.value.exit_code == 7
        assert "room.db-wal was deleted" in message and "nothing was written" in message
        assert "copied into room.db" in message
        assert store.fault is refused.value
        with pytest.raises(RoomFilesReplaced):  # and every write after it
            await _note(store, incident, "later")
        with pytest.raises(RoomFilesReplaced):
            async for _ in store.subscribe(0):
                pass
    finally:
        await store.close()
    ids, integrity = _stored_ids(db_path)
    assert integrity == "ok"
    assert set(acked) <= ids


async def test_replaced_database_is_refused_without_merging(db_path: Path,
                                                           tmp_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    try:
        incident = await _declare(store)
        other = await SQLiteStore.open(tmp_path / "other.db")
        await _declare(other)
        await other.close()
        os.replace(tmp_path / "other.db", db_path)
        with pytest.raises(RoomFilesReplaced, match=r"room\.db was replaced by another file"):
            await _note(store, incident, "after")
        assert "copied" not in str(store.fault)
    finally:
        await store.close()


async def test_checkpoints_and_other_connections_are_not_replacements(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path, poll_interval=0.01)
    try:
        incident = await _declare(store)
        store.generation()  # the poll runs
        raw = sqlite3.connect(db_path, isolation_level=None)
        for mode in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            await _note(store, incident, mode)
            raw.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        raw.execute("PRAGMA journal_size_limit = 0")
        raw.close()
        for _ in range(3):  # other writers come and go
            other = await SQLiteStore.open(db_path)
            await _note(other, incident, "other")
            await other.close()
        await asyncio.sleep(0.1)
        assert store.fault is None
        await _note(store, incident, "still fine")
    finally:
        await store.close()


async def test_a_spectator_is_told_and_its_feed_ends(db_path: Path) -> None:
    writer = await SQLiteStore.open(db_path)
    incident = await _declare(writer)
    spectator = await SQLiteStore.open(db_path, readonly=True, poll_interval=0.01)

    async def follow() -> None:
        async for _ in spectator.subscribe(0):
            pass

    try:
        feed = asyncio.ensure_future(follow())
        await asyncio.sleep(0.1)
        await writer.close()  # the last writer leaves: the spectator still holds -wal
        await asyncio.sleep(0.1)
        assert spectator.fault is None and not feed.done()
        writer = await SQLiteStore.open(db_path)
        await _note(writer, incident, "back")
        os.unlink(f"{db_path}-wal")
        with pytest.raises(RoomFilesReplaced, match=r"room\.db-wal was "):
            await asyncio.wait_for(feed, 5)
        assert isinstance(spectator.fault, RoomFilesReplaced)
    finally:
        await spectator.close()
        await writer.close()


# ---- another program's database (item 7) ------------------------------------------------------


def _other_programs_database(path: Path) -> bytes:
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    raw.execute("CREATE INDEX users_by_name ON users (name)")
    raw.execute("INSERT INTO users (name) VALUES ('ada')")
    raw.commit()
    raw.close()
    return path.read_bytes()


async def test_a_writer_refuses_another_programs_database(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    before = _other_programs_database(path)
    with pytest.raises(errors.DatabaseCorrupt, match="another program's SQLite database") as e:
        await SQLiteStore.open(path)
    assert e.value.exit_code == 7 and "users" in str(e.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]

    versioned = tmp_path / "versioned.db"
    raw = sqlite3.connect(versioned)
    raw.execute("CREATE TABLE things (x)")
    raw.execute("PRAGMA user_version = 1")
    raw.commit()
    raw.close()
    before = versioned.read_bytes()
    with pytest.raises(errors.DatabaseCorrupt, match="no warroom event log"):
        await SQLiteStore.open(versioned)
    assert versioned.read_bytes() == before


async def test_empty_files_and_rooms_still_open(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (empty, tmp_path / "new.db"):
        store = await SQLiteStore.open(path)
        await _declare(store)
        await store.close()
        store = await SQLiteStore.open(path)  # a room reopens
        await store.close()


def test_cli_refuses_another_programs_database_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    before = _other_programs_database(path)
    r = run_cli(path, "declare", "--title", "t", "--severity", "2")
    assert r.code == 7 and r.out == ""
    assert r.err.count("\n") == 1 and "left untouched" in r.err
    assert path.read_bytes() == before


# ---- processes -----------------------------------------------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


_FEEDS: dict[int, queue.Queue[str | None]] = {}


def _feed(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The worker's stdout, line by line, from a thread (a select() on the pipe would miss
    lines already read into the file object's buffer)."""
    q = _FEEDS.get(proc.pid)
    if q is None:
        q = _FEEDS[proc.pid] = queue.Queue()
        out = proc.stdout
        assert out is not None

        def pump() -> None:
            for line in out:
                q.put(line.rstrip("\n"))
            q.put(None)

        threading.Thread(target=pump, daemon=True).start()
    return q


def _read_lines(proc: subprocess.Popen[str], until: float, stop: str | None = None,
                count: int | None = None) -> list[str]:
    """Lines from the worker until it ends, prints `stop`, has printed `count`, or time is up."""
    q = _feed(proc)
    lines: list[str] = []
    while (left := until - time.monotonic()) > 0:
        try:
            line = q.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            q.put(None)  # the end stays the end for the next reader
            break
        lines.append(line)
        if (stop is not None and line.startswith(stop)) or len(lines) == count:
            break
    return lines


async def _declared(db: Path) -> str:
    store = await SQLiteStore.open(db)
    try:
        return await _declare(store)
    finally:
        await store.close()


@pytest.mark.slow
async def test_wal_deleted_under_a_running_writer_loses_no_acknowledged_write(
        db_path: Path) -> None:
    incident = await _declared(db_path)
    proc = _spawn("writer", str(db_path), incident)
    try:
        acked = _read_lines(proc, time.monotonic() + 90, count=50)
        assert len(acked) == 50
        os.unlink(f"{db_path}-wal")
        acked += _read_lines(proc, time.monotonic() + 90)
        assert proc.wait(timeout=90) == 7
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "room.db-wal was " in err and "copied into room.db" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ids, integrity = _stored_ids(db_path)
    assert integrity == "ok"
    assert set(acked) <= ids, f"{len(set(acked) - ids)} acknowledged writes lost"
    after = run_cli(db_path, "note", incident, "the room goes on")
    assert after.code == 0, after.err


@pytest.mark.slow
async def test_a_following_writer_saves_its_writes_before_kill_9(db_path: Path) -> None:
    incident = await _declared(db_path)
    proc = _spawn("holder", str(db_path), incident, "40")
    try:
        lines = _read_lines(proc, time.monotonic() + 90, stop="following")
        assert lines[-1] == "following"
        acked = lines[:-1]
        os.unlink(f"{db_path}-wal")
        told = _read_lines(proc, time.monotonic() + 30, stop="told:")
        assert told and "room.db-wal was " in told[-1], told
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ids, integrity = _stored_ids(db_path)
    assert integrity == "ok"
    assert len(acked) == 40 and set(acked) <= ids


@pytest.mark.slow
def test_tail_follow_ends_with_exit_7_when_the_files_go(db_path: Path) -> None:
    assert run_cli(db_path, "declare", "--title", "t", "--severity", "2").code == 0
    holder = sqlite3.connect(db_path)  # someone keeps the room open, as a dashboard would
    holder.execute("SELECT count(*) FROM events").fetchone()
    proc = subprocess.Popen([sys.executable, "-m", "warroom", "tail", "--follow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(db_path), cwd=REPO)
    try:
        assert _read_lines(proc, time.monotonic() + 90, count=1)  # the declaration
        os.unlink(f"{db_path}-wal")
        assert proc.wait(timeout=90) == 7
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert err.count("\n") == 1 and "room.db-wal was " in err
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_open_store_surfaces_the_fault_on_the_base_interface(db_path: Path) -> None:
    store = await open_store(db_path)
    try:
        assert store.fault is None
    finally:
        await store.close()


@pytest.mark.parametrize("spectator", [False, True])
async def test_the_dashboard_says_the_room_stopped_and_stays_up(tmp_path: Path,
                                                                spectator: bool) -> None:
    from .tui_support import make_app, seed, settle

    db = tmp_path / "room.db"
    holder = await SQLiteStore.open(db)  # another terminal keeps the room open
    await seed(holder)
    app = make_app(db, spectator=spectator)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, lambda: app.dashboard.state is not None)
            os.unlink(f"{db}-wal")
            await settle(pilot, lambda: app.dashboard.last_error is not None)
            assert "room.db-wal was" in (app.dashboard.last_error or "")
            assert app.is_running
    finally:
        await holder.close()


async def test_a_room_made_anew_on_the_path_keeps_its_files_when_the_old_writer_closes(
        db_path: Path) -> None:
    """SQLite's last connection deletes -wal and -shm by name on close: the old writer must
    never be that, or it would delete the new room's files."""
    old = await SQLiteStore.open(db_path)
    incident = await _declare(old)
    for suffix in ("", "-wal", "-shm"):
        os.unlink(f"{db_path}{suffix}")
    new = await SQLiteStore.open(db_path)  # someone starts over on the same path
    try:
        fresh = await _declare(new)
        ids = [await _note(new, fresh, f"new {i}") for i in range(5)]
        with pytest.raises(RoomFilesReplaced, match=r"room\.db was"):
            await _note(old, incident, "old")
        await old.close()
        assert Path(f"{db_path}-wal").exists() and Path(f"{db_path}-shm").exists()
        ids.append(await _note(new, fresh, "still here"))
    finally:
        await old.close()
        await new.close()
    stored, integrity = _stored_ids(db_path)
    assert integrity == "ok" and set(ids) <= stored


@pytest.mark.slow
async def test_writes_made_after_a_rescue_survive_the_old_writer_closing(db_path: Path) -> None:
    """The writer that saved its commits closes its connection at once: closed later, as the
    last connection, SQLite would checkpoint from the unlinked file over what others wrote
    since, then delete their -wal by name."""
    old = await SQLiteStore.open(db_path)
    try:
        incident = await _declare(old)
        for i in range(10):
            await _note(old, incident, f"old {i}")
        os.unlink(f"{db_path}-wal")
        with pytest.raises(RoomFilesReplaced, match="copied into room"):
            await _note(old, incident, "refused")
        for i in range(3):
            r = run_cli(db_path, "note", incident, f"after {i}")
            assert r.code == 0, r.err
    finally:
        await old.close()
    r = run_cli(db_path, "tail", "--json")
    assert r.code == 0, r.err
    texts = [json.loads(line)["data"].get("text") for line in r.out.splitlines()]
    assert [t for t in texts if t and t.startswith("after")] == ["after 0", "after 1", "after 2"]
    assert sum(1 for t in texts if t and t.startswith("old")) == 10
    assert _stored_ids(db_path)[1] == "ok"
