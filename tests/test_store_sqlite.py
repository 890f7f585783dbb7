"""What only the SQLite backend has: the file, its locks, its permissions, its schema."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.fold import fold
from warroom.domain.incident.severity import Severity
from warroom.store import errors
from warroom.store.fs import filesystem_of, is_network_fs_type
from warroom.store.sqlite import SQLiteStore, _in_thread
from warroom.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION


async def _declare(s: SQLiteStore, title: str = "t") -> str:
    return (await s.append(None, commands.declare(title, Severity.SEV2, "alice"))).incident_id


async def test_wal_mode_and_full_sync(db_path: Path) -> None:
    s = await SQLiteStore.open(db_path)
    try:
        raw = sqlite3.connect(db_path)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        raw.close()
    finally:
        await s.close()


async def test_log_is_append_only_even_for_raw_sql(store: SQLiteStore, db_path: Path) -> None:
    await _declare(store)
    raw = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events")
    raw.close()


READ_ONLY_ATTEMPTS = [
    "INSERT INTO events (event_id, incident_id, incident_version, kind, actor, at, recorded_at, "
    "body) VALUES ('x', 'INC-1', 99, 'note', 'spy', 'a', 'b', '{}')",
    "INSERT INTO meta VALUES ('k', 'v')",
    "UPDATE incidents SET title = 'x'",
    "DELETE FROM presence",
    "CREATE TABLE spy (x)",
    "DROP TABLE meta",
    "PRAGMA user_version = 99",
    "PRAGMA query_only = 0",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA writable_schema = 1",
    "ATTACH DATABASE ':memory:' AS other",
    "VACUUM",
    "SAVEPOINT s",
]


@pytest.mark.parametrize("sql", READ_ONLY_ATTEMPTS)
async def test_read_only_connection_cannot_write_by_any_means(db_path: Path, sql: str) -> None:
    w = await SQLiteStore.open(db_path)
    await _declare(w)
    ro = await SQLiteStore.open(db_path, readonly=True)
    try:
        assert ro._writer is None
        with pytest.raises(sqlite3.DatabaseError):
            await ro._reader.execute(sql)  # type: ignore[union-attr]
        # and the store is untouched
        raw = sqlite3.connect(db_path)
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name='spy'").fetchone()[0] == 0
        raw.close()
    finally:
        await ro.close()
        await w.close()


async def test_read_only_connection_can_read(db_path: Path) -> None:
    w = await SQLiteStore.open(db_path)
    await _declare(w)
    ro = await SQLiteStore.open(db_path, readonly=True)
    try:
        rows = await ro._reader.execute_fetchall("SELECT count(*) FROM events")  # type: ignore[union-attr]
        assert next(iter(rows))[0] == 1
        assert (await ro.get("INC-1")).title == "t"
    finally:
        await ro.close()
        await w.close()


async def test_spectator_never_creates_the_database(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "room.db"
    with pytest.raises(errors.DatabaseMissing, match="spectator never creates"):
        await SQLiteStore.open(path, readonly=True)
    assert not path.parent.exists()
    path = tmp_path / "room.db"
    with pytest.raises(errors.DatabaseMissing):
        await SQLiteStore.open(path, readonly=True)
    assert list(tmp_path.iterdir()) == [tmp_path / "nope"] or list(tmp_path.iterdir()) == []


async def test_writer_without_create_refuses_missing(tmp_path: Path) -> None:
    with pytest.raises(errors.DatabaseMissing):
        await SQLiteStore.open(tmp_path / "x.db", create=False)
    assert not (tmp_path / "x.db").exists()


def _make_v1_database(path: Path) -> list[dict]:
    """A room written by the first schema: the event log only, no projection."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("BEGIN")
    MIGRATIONS[0](raw)
    raw.execute("PRAGMA user_version = 1")
    rows = []
    decl = commands.declare("Old incident [b]x[/b]", Severity.SEV1, "alice")[0]
    rows.append(("e1", "INC-1", 1, "declared", "alice", "2025-01-01T10:00:00.000000+00:00",
                 json.dumps(decl.data)))
    rows.append(("e2", "INC-1", 2, "acknowledged", "bob", "2025-01-01T10:03:00.000000+00:00",
                 "{}"))
    rows.append(("e3", "INC-1", 3, "status_changed", "bob", "2025-01-01T10:30:00.000000+00:00",
                 json.dumps({"from_status": "Investigating", "to_status": "Resolved"})))
    for r in rows:
        raw.execute(
            "INSERT INTO events (event_id, incident_id, incident_version, kind, actor, at, "
            "recorded_at, body) VALUES (?,?,?,?,?,?,?,?)", (*r[:6], r[5], r[6]))
    raw.execute("COMMIT")
    raw.close()
    return rows  # type: ignore[return-value]


async def test_migration_from_the_first_schema(db_path: Path) -> None:
    _make_v1_database(db_path)
    ro_before = None
    with pytest.raises(errors.SchemaMismatch, match="opened once for writing"):
        ro_before = await SQLiteStore.open(db_path, readonly=True)
    assert ro_before is None
    s = await SQLiteStore.open(db_path)
    try:
        state = await s.get("INC-1")
        assert state.title == "Old incident [b]x[/b]"
        assert state.acknowledged_by == "bob" and state.status.value == "Resolved"
        assert state.model_dump() == fold(await s.events("INC-1")).model_dump()
        assert await _declare(s) == "INC-2"  # numbering continues after migrated incidents
    finally:
        await s.close()
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


async def test_schema_from_a_newer_warroom_is_refused(db_path: Path) -> None:
    s = await SQLiteStore.open(db_path)
    await s.close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    for readonly in (False, True):
        with pytest.raises(errors.SchemaMismatch, match="newer"):
            await SQLiteStore.open(db_path, readonly=readonly)


async def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"this is not sqlite at all, just some text" * 200)
    before = bad.read_bytes()
    for readonly in (False, True):
        with pytest.raises(errors.DatabaseCorrupt, match="not a warroom database"):
            await SQLiteStore.open(bad, readonly=readonly)
    assert bad.read_bytes() == before  # nothing written over it


async def test_plain_sqlite_file_that_is_not_a_room(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(errors.SchemaMismatch, match="not a warroom room"):
        await SQLiteStore.open(other, readonly=True)


async def test_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(errors.DatabaseCorrupt, match="directory"):
        await SQLiteStore.open(tmp_path)


def test_network_filesystem_detection() -> None:
    mounts = (
        "/dev/vda / ext4 rw 0 0\n"
        "server:/export /mnt/nfs nfs4 rw 0 0\n"
        "//srv/share /mnt/smb cifs rw 0 0\n"
        "sshfs#me@h: /home/me/remote fuse.sshfs rw 0 0\n"
        "/dev/vdb /mnt/nfs/local ext4 rw 0 0\n"
        "tmpfs /tmp/with\\040space tmpfs rw 0 0\n"
    )
    assert filesystem_of("/home/me/remote/room.db", mounts) == ("/home/me/remote", "fuse.sshfs")
    assert filesystem_of("/mnt/nfs/rooms/a.db", mounts) == ("/mnt/nfs", "nfs4")
    assert filesystem_of("/mnt/nfs/local/a.db", mounts) == ("/mnt/nfs/local", "ext4")
    assert filesystem_of("/mnt/nfsish/a.db", mounts) == ("/", "ext4")
    assert filesystem_of("/tmp/with space/a.db", mounts) == ("/tmp/with space", "tmpfs")
    for fs in ("nfs", "nfs4", "cifs", "9p", "fuse.sshfs", "fuse", "smb3", "virtiofs"):
        assert is_network_fs_type(fs)
    for fs in ("ext4", "xfs", "btrfs", "tmpfs", "zfs", "overlay"):
        assert not is_network_fs_type(fs)


async def test_database_on_network_filesystem_is_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nsrv:/x {tmp_path} nfs4 rw 0 0\n")
    import warroom.store.fs as fs

    real = fs.network_filesystem
    monkeypatch.setattr("warroom.store.sqlite.network_filesystem",
                        lambda p: real(p, str(mounts)))
    for readonly in (False, True):
        with pytest.raises(errors.NetworkFilesystem, match="nfs4"):
            await SQLiteStore.open(tmp_path / "room.db", readonly=readonly)
    assert not (tmp_path / "room.db").exists()


async def test_locked_for_too_long_is_a_clear_error(db_path: Path) -> None:
    s = await SQLiteStore.open(db_path, lock_timeout=0.2)
    try:
        inc = await _declare(s)
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        state = await s.get(inc)
        with pytest.raises(errors.DatabaseLocked, match=r"locked .* too long"):
            await s.append(inc, commands.add_note(state, "x", "a"))
        holder.execute("ROLLBACK")
        holder.close()
        await s.append(inc, commands.add_note(state, "x", "a"))  # and it recovers
    finally:
        await s.close()


async def test_cancelled_write_leaves_the_database_writable(db_path: Path) -> None:
    a = await SQLiteStore.open(db_path)
    b = await SQLiteStore.open(db_path, lock_timeout=30)
    try:
        inc = await _declare(a)
        state = await a.get(inc)
        big = [e for i in range(4000) for e in commands.add_note(state, f"n{i}", "a")]
        task = asyncio.create_task(a.append(inc, big))
        await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Another process-like connection can write right after, and so can `a` itself.
        state_b = await b.get(inc)
        await asyncio.wait_for(b.append(inc, commands.add_note(state_b, "b", "b")), 30)
        state_a = await a.get(inc)
        await asyncio.wait_for(a.append(inc, commands.add_note(state_a, "a", "a")), 30)
        events = await b.events(inc)
        # The cancelled batch committed whole or not at all, never in part.
        assert len(events) in (3, 4003)
        assert await a.integrity_check() == "ok"
    finally:
        await a.close()
        await b.close()


async def test_thread_call_pins_the_aiosqlite_internals(db_path: Path) -> None:
    s = await SQLiteStore.open(db_path)
    try:
        assert s._writer is not None
        got = await _in_thread(s._writer, lambda conn, x: (type(conn), x), 5)
        assert got == (sqlite3.Connection, 5)
    finally:
        await s.close()


async def test_fold_version_change_rebuilds_projection(db_path: Path) -> None:
    s = await SQLiteStore.open(db_path)
    await _declare(s, "keep me")
    await s.close()
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE incidents SET title = 'stale cache'")
    raw.execute("UPDATE meta SET value = 'old' WHERE key = 'fold_version'")
    raw.commit()
    raw.close()
    s = await SQLiteStore.open(db_path)
    try:
        assert (await s.get("INC-1")).title == "keep me"
    finally:
        await s.close()


async def test_commit_before_the_pollers_first_read_is_not_missed(db_path: Path) -> None:
    reader = await SQLiteStore.open(db_path, poll_interval=0.01)
    try:
        seen = reader.generation()  # starts the poller, which has not read anything yet
        raw = sqlite3.connect(db_path)  # a commit by another connection, before that read
        raw.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', 'x')")
        raw.commit()
        raw.close()
        await asyncio.wait_for(reader.wait_for_change(seen), 5)
    finally:
        await reader.close()
