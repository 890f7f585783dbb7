"""The SQLite feed is woken by inotify (warroom/store/wake.py), not by its poll: a commit from
another process, announced by its writer, arrives with the poll set to a minute (every one of a
run of them, with no look but the one its announcement causes), bursts of announcements coalesce
into one wake, a commit's bare writes wake nobody, checkpoints and truncations of -wal lose and
repeat nothing, the feed's reads on the loop's thread give what the reader's thread gives, and
without inotify the feed polls as before and says so."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.events import Event
from warroom.domain.incident.severity import Severity
from warroom.store import wake
from warroom.store.sqlite import SQLiteStore
from warroom.store.wake import FolderWatch, WakeUnavailable

from .conftest import REPO

WORKER = str(Path(__file__).with_name("store_worker.py"))
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
NEVER = 3600.0  # a poll that would never fire during a test
PATIENCE = 60.0  # how long a test waits for what must come (not a timing assertion)


async def _room(db: Path) -> str:
    s = await SQLiteStore.open(db)
    try:
        return (await s.append(None, commands.declare("wake", Severity.SEV2, "a"))).incident_id
    finally:
        await s.close()


async def _collect(feed: AsyncIterator[list[Event]], count: int) -> list[Event]:
    got: list[Event] = []
    while len(got) < count:
        got.extend(await anext(feed))
    return got


@linux
async def test_a_commit_from_another_process_wakes_a_reader_whose_poll_never_fires(
        db_path: Path) -> None:
    incident = await _room(db_path)
    reader = await SQLiteStore.open(db_path, readonly=True, poll_interval=NEVER,
                                    backstop=NEVER)
    try:
        feed = reader.subscribe(await reader.last_seq())
        first = asyncio.ensure_future(anext(feed))
        await asyncio.sleep(0.2)  # the feed has made its first read and sleeps on the poll
        assert reader.wake_mode == "inotify"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, WORKER, "writer", str(db_path), incident, "3", "other",
            env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert await proc.wait() == 0
        batch = await asyncio.wait_for(first, PATIENCE)
        got = batch + await asyncio.wait_for(_collect(feed, 3 - len(batch)), PATIENCE)
        assert [e.data["text"] for e in got] == ["other-0", "other-1", "other-2"]
        await feed.aclose()
    finally:
        await reader.close()


@linux
async def test_checkpoints_truncations_and_restarts_of_the_wal_lose_and_repeat_nothing(
        db_path: Path) -> None:
    incident = await _room(db_path)
    writer = await SQLiteStore.open(db_path)
    reader = await SQLiteStore.open(db_path, readonly=True, poll_interval=NEVER,
                                    backstop=NEVER)
    checkpointer = sqlite3.connect(db_path, isolation_level=None)
    try:
        start = await reader.last_seq()
        feed = reader.subscribe(start)
        state = await writer.get(incident)
        modes = ["TRUNCATE", None, "RESTART", "PASSIVE", "TRUNCATE", None, "FULL", "TRUNCATE"]
        texts = []
        for i, mode in enumerate(modes * 3):
            text = f"n{i}"
            texts.append(text)
            await writer.append(incident, commands.add_note(state, text, "a"))
            if mode:
                checkpointer.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        got = await asyncio.wait_for(_collect(feed, len(texts)), PATIENCE)
        await feed.aclose()
        assert [e.data["text"] for e in got] == texts  # none missed, repeated or reordered
        seqs = [e.seq for e in got]
        assert seqs == sorted(set(seqs)) and seqs[0] > start
        assert reader.wake_mode == "inotify"
        assert os.path.getsize(f"{db_path}-wal") == 0 or modes[-1] != "TRUNCATE"
    finally:
        checkpointer.close()
        await reader.close()
        await writer.close()


async def test_without_inotify_the_feed_polls_and_says_so(
        db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def out_of_watches() -> None:
        raise WakeUnavailable("inotify_add_watch: No space left on device (out of inotify "
                              "watches: fs.inotify.max_user_watches)")

    monkeypatch.setattr(wake, "_libc", out_of_watches)
    incident = await _room(db_path)
    writer = await SQLiteStore.open(db_path)
    reader = await SQLiteStore.open(db_path, readonly=True, poll_interval=0.01,
                                    backstop=NEVER)
    try:
        with caplog.at_level(logging.INFO, logger="warroom.store"):
            feed = reader.subscribe(await reader.last_seq())
            first = asyncio.ensure_future(anext(feed))
            await asyncio.sleep(0.1)
            state = await writer.get(incident)
            await writer.append(incident, commands.add_note(state, "polled", "a"))
            batch = await asyncio.wait_for(first, PATIENCE)
        assert [e.data["text"] for e in batch] == ["polled"]
        assert reader.wake_mode == "poll"
        said = [r.getMessage() for r in caplog.records if r.name == "warroom.store"]
        assert any("polling every 0.01 s" in m and "out of inotify watches" in m for m in said)
        await feed.aclose()
    finally:
        await reader.close()
        await writer.close()


async def test_inotify_can_be_turned_off(db_path: Path) -> None:
    await _room(db_path)
    reader = await SQLiteStore.open(db_path, readonly=True, wake="poll")
    try:
        reader.generation()  # starts the feed's watcher
        await asyncio.sleep(0.05)
        assert reader.wake_mode == "poll"
    finally:
        await reader.close()


@linux
async def test_announcements_wake_a_burst_of_them_once_and_bare_writes_never(
        tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    db.write_bytes(b"")
    watch = FolderWatch(db)
    watch.start()
    try:
        (tmp_path / "notes.txt").write_text("not the room")
        wake.announce(str(tmp_path / "notes.txt"))
        await asyncio.sleep(0.1)
        assert not watch.take()  # another file of the folder wakes nobody

        with open(f"{db}-wal", "ab") as wal:  # created (a wake), then written to many times
            await asyncio.wait_for(watch.wait(NEVER), PATIENCE)
            assert watch.take()
            for _ in range(200):  # a commit's frames, written before it is visible
                wal.write(b"x" * 100)
                wal.flush()
        os.truncate(f"{db}-wal", 0)  # a checkpoint's truncation: nothing new to read
        await asyncio.sleep(0.1)
        assert not watch.take()  # no wake before a commit is visible

        for _ in range(200):  # commits announced faster than the feed looks
            wake.announce(f"{db}-wal")
        await asyncio.wait_for(watch.wait(NEVER), PATIENCE)
        assert watch.take()  # one wake for the whole burst...
        assert not watch.take()  # ...and nothing left over

        os.unlink(f"{db}-wal")  # the last connection's deletion of -wal wakes
        await asyncio.wait_for(watch.wait(NEVER), PATIENCE)
        assert watch.take()
        wake.announce(f"{db}-wal")  # a writer announcing into a missing file: no error
        assert watch.gone is None
    finally:
        watch.close()


@linux
async def test_a_folder_that_goes_away_stops_the_watch_and_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "room"
    folder.mkdir()
    watch = FolderWatch(folder / "room.db")
    watch.start()
    try:
        folder.rename(tmp_path / "moved")
        await asyncio.wait_for(watch.wait(NEVER), PATIENCE)
        assert watch.gone is not None and "moved or deleted" in watch.gone
    finally:
        watch.close()


def test_no_inotify_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(WakeUnavailable, match="no inotify on darwin"):
        wake._libc()



async def test_verbose_says_how_the_feed_is_woken(db_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from warroom.cli.main import _say_verbose

    await _room(db_path)
    logger = logging.getLogger("warroom.store")
    handlers, level = list(logger.handlers), logger.level
    _say_verbose()
    try:
        reader = await SQLiteStore.open(db_path, readonly=True)
        try:
            reader.generation()  # starts the feed's watcher, which decides at once
            await asyncio.sleep(0.05)
        finally:
            await reader.close()
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    err = capsys.readouterr().err
    expected = "woken by inotify" if reader.wake_mode == "inotify" else "polling every"
    assert f"warroom: change feed of {db_path}" in err and expected in err


@linux
async def test_a_room_opened_through_a_symbolic_link_is_watched_where_its_wal_is(
        tmp_path: Path) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "link"
    real_dir.mkdir()
    link_dir.mkdir()
    incident = await _room(real_dir / "room.db")
    (link_dir / "room.db").symlink_to(real_dir / "room.db")
    writer = await SQLiteStore.open(real_dir / "room.db")
    reader = await SQLiteStore.open(link_dir / "room.db", readonly=True, poll_interval=NEVER,
                                    backstop=NEVER)
    try:
        feed = reader.subscribe(await reader.last_seq())
        first = asyncio.ensure_future(anext(feed))
        await asyncio.sleep(0.2)
        state = await writer.get(incident)
        await writer.append(incident, commands.add_note(state, "through the link", "a"))
        batch = await asyncio.wait_for(first, PATIENCE)
        assert [e.data["text"] for e in batch] == ["through the link"]
        await feed.aclose()
    finally:
        await reader.close()
        await writer.close()


@linux
async def test_every_commit_announces_itself_after_it_is_visible(db_path: Path) -> None:
    incident = await _room(db_path)
    writer = await SQLiteStore.open(db_path)
    watch = FolderWatch(db_path)
    watch.start()
    plain = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        state = await writer.get(incident)
        for i in range(20):
            watch.take()
            seq = (await writer.append(incident, commands.add_note(state, f"n{i}", "a"))
                   ).events[0].seq
            await asyncio.wait_for(watch.wait(NEVER), PATIENCE)
            assert watch.take()  # each commit woke the watch...
            (newest,) = plain.execute("SELECT MAX(seq) FROM events").fetchone()
            assert newest == seq  # ...and was there to be read
    finally:
        plain.close()
        watch.close()
        await writer.close()


@linux
async def test_two_writers_commits_all_arrive_by_announcement_alone(db_path: Path) -> None:
    incident = await _room(db_path)
    reader = await SQLiteStore.open(db_path, readonly=True, poll_interval=NEVER,
                                    backstop=NEVER)
    try:
        start = await reader.last_seq()
        feed = reader.subscribe(start)
        first = asyncio.ensure_future(anext(feed))
        await asyncio.sleep(0.2)  # the feed has made its first read and waits for a wake
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, WORKER, "writer", str(db_path), incident, "40", tag,
            env=dict(os.environ, PYTHONPATH=str(REPO))) for tag in ("a", "b")]
        for proc in procs:
            assert await proc.wait() == 0
        got = await asyncio.wait_for(first, PATIENCE)
        got += await asyncio.wait_for(_collect(feed, 80 - len(got)), PATIENCE)
        await feed.aclose()
        seqs = [e.seq for e in got]
        assert seqs == sorted(set(seqs)) and seqs[0] > start and len(seqs) == 80
        for tag in ("a", "b"):
            assert [e.data["text"] for e in got if e.actor == tag] == [
                f"{tag}-{i}" for i in range(40)]
    finally:
        await reader.close()


async def test_the_feeds_reads_on_the_loop_give_what_the_readers_thread_gives(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    incident = await _room(db_path)
    writer = await SQLiteStore.open(db_path)
    reader = await SQLiteStore.open(db_path, readonly=True)
    try:
        state = await writer.get(incident)
        for i in range(30):
            await writer.append(incident, commands.add_note(state, f"n{i}", "a"))
        threaded: list[str] = []
        fetch = reader._fetch

        async def through_the_thread(query: str, params: Sequence[Any] = ()) -> list[Any]:
            threaded.append(query)
            return await fetch(query, params)

        monkeypatch.setattr(reader, "_fetch", through_the_thread)
        on_loop = [await reader.events_since(0), await reader.events_since(5, limit=7)]
        assert threaded == []  # read on the feed's connection, not through aiosqlite

        def busy() -> sqlite3.Connection:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(reader, "_feed_connection", busy)
        fallen_back = [await reader.events_since(0), await reader.events_since(5, limit=7)]
        assert len(threaded) == 2  # busy on the loop: the reader's thread read instead
        assert fallen_back == on_loop  # the same events, decoded the same way
        assert [e.seq for e in on_loop[1]] == list(range(6, 13))
    finally:
        await reader.close()
        await writer.close()
