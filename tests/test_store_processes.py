"""Many OS processes on one room: no lost or doubled event, one commit order for everyone,
exactly one winner of a race, nothing committed lost to SIGKILL. Each runs on every backend
(`room_location`: an SQLite file, or a fresh PostgreSQL database)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.fold import fold
from warroom.domain.incident.severity import Severity
from warroom.store import open_store

from .conftest import REPO

WORKER = str(Path(__file__).with_name("store_worker.py"))
pytestmark = pytest.mark.slow


def spawn(*args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, WORKER, *args], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=env)


async def _declare(db: str) -> str:
    s = await open_store(db)
    try:
        return (await s.append(None, commands.declare("race", Severity.SEV1, "a"))).incident_id
    finally:
        await s.close()


async def _all_events(db: str) -> list:  # type: ignore[type-arg]
    s = await open_store(db, readonly=True)
    try:
        return await s.events_since(0, limit=1_000_000)
    finally:
        await s.close()


def _wait_files(paths: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"workers never got ready: {paths}"
        time.sleep(0.01)


async def test_eight_writers_three_readers_one_order(room_location: str, tmp_path: Path) -> None:
    db_path = room_location
    writers, per_writer, n_readers = 8, 200, 3
    inc = await _declare(db_path)
    total = 1 + writers * per_writer
    outs = [tmp_path / f"reader{i}.txt" for i in range(n_readers)]
    readers = [spawn("reader", str(db_path), str(total), str(o)) for o in outs]
    _wait_files([Path(str(o) + ".ready") for o in outs])
    procs = [spawn("writer", str(db_path), inc, str(per_writer), f"w{i}") for i in range(writers)]
    for p in procs + readers:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "locked" not in err.lower()
    events = await _all_events(db_path)
    assert len(events) == total
    assert [e.seq for e in events] == list(range(1, total + 1))  # commit order without gaps
    assert len({e.event_id for e in events}) == total  # every event once
    assert [e.version for e in events] == list(range(1, total + 1))  # versions without gaps
    expected = [f"{e.seq} {e.event_id}" for e in events]
    for o in outs:
        assert o.read_text().split("\n")[:-1] == expected  # the same order for every reader
    texts = [e.data["text"] for e in events if e.kind == "note"]
    assert sorted(texts) == sorted(f"w{i}-{j}" for i in range(writers) for j in range(per_writer))


@pytest.mark.parametrize("racers", [8])
async def test_racing_the_same_transition_has_one_winner(room_location: str, tmp_path: Path,
                                                         racers: int) -> None:
    db_path = room_location
    inc = await _declare(db_path)
    go = tmp_path / "go"
    procs = [spawn("racer", str(db_path), inc, str(go), f"racer{i}") for i in range(racers)]
    _wait_files([Path(f"{go}.racer{i}") for i in range(racers)])
    go.touch()
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    winners = [i for i, (_, code) in enumerate(results) if code == 0]
    assert len(winners) == 1, results
    winner = f"racer{winners[0]}"
    for (out, err), code in results:
        assert code in (0, 3), err
        if code == 3:
            assert f"status Investigating -> Identified by {winner}" in out
            assert "not applied" in out
    s = await open_store(db_path)
    try:
        events = await s.events(inc)
        assert [e.kind for e in events] == ["declared", "status_changed"]
        assert events[1].actor == winner
    finally:
        await s.close()


async def test_sigkill_never_loses_a_commit(room_location: str) -> None:
    db_path = room_location
    inc = await _declare(db_path)
    rng = random.Random(1234)
    acknowledged: list[str] = []
    for _round in range(12):
        p = spawn("kill_me", str(db_path), inc)
        assert p.stdout is not None
        wanted = rng.randint(1, 30)
        for _ in range(wanted):
            line = p.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        # Kill at a random moment: between commits, or in the middle of one.
        await asyncio.sleep(rng.random() * 0.01)
        p.send_signal(signal.SIGKILL)
        rest, _ = p.communicate(timeout=30)
        acknowledged.extend(x for x in rest.split() if x)
    if "://" not in db_path:
        raw = sqlite3.connect(db_path)
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        raw.close()
    events = await _all_events(db_path)
    ids = {e.event_id for e in events}
    versions = [e.version for e in events if e.incident_id == inc]
    assert acknowledged and set(acknowledged) <= ids
    assert versions == list(range(1, len(versions) + 1))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    s = await open_store(db_path)
    try:
        state = await s.get(inc)
        assert state.model_dump() == fold(await s.events(inc)).model_dump()
        assert state.version == len(ids)
        # and the room still takes writes
        await asyncio.wait_for(s.append(inc, commands.add_note(state, "after", "a")), 30)
    finally:
        await s.close()
