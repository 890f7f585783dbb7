"""Unversioned writes under contention: 25 processes adding notes to one incident at once.

A write that carries no expected version (a script, the engine, the alert receiver) meets a
concurrent change by deciding again on the fresh state, so under any amount of contention it
ends in success or in the command's own refusal, never in a bare conflict (exit 3). Each test
checks every write landed exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from warroom.store import open_store

from .conftest import REPO, cli_env
from .test_store_processes import _all_events, _declare, _wait_files, spawn

pytestmark = pytest.mark.slow

PROCESSES = 25


def _texts(events: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(e.data["text"] for e in events if e.kind == "note")


def _cli_writer(db: str, incident: str, tag: str, count: int) -> list[tuple[int, str]]:
    """One shell loop: `warroom note` run `count` times in a row, no --expect-version."""
    out = []
    for i in range(count):
        p = subprocess.run(
            [sys.executable, "-m", "warroom", "--db", db, "note", incident, f"{tag}-{i}"],
            capture_output=True, text=True, timeout=120, env=cli_env(db, tag), cwd=REPO,
        )
        out.append((p.returncode, p.stderr.strip()))
    return out


async def test_unversioned_cli_notes_all_land(db_path: Path) -> None:
    per_process = 5
    inc = await _declare(str(db_path))
    tags = [f"c{i}" for i in range(PROCESSES)]
    started = time.monotonic()
    with ThreadPoolExecutor(PROCESSES) as pool:
        runs = list(pool.map(lambda t: _cli_writer(str(db_path), inc, t, per_process), tags))
    elapsed = time.monotonic() - started
    codes = [code for run in runs for code, _ in run]
    failures = [(code, err) for run in runs for code, err in run if code != 0]
    assert codes.count(0) == PROCESSES * per_process, (failures[:5], f"{elapsed:.1f} s")
    async with await open_store(db_path, readonly=True) as s:
        events = await s.events(inc)
    assert _texts(events) == sorted(f"{t}-{i}" for t in tags for i in range(per_process))


async def test_unversioned_api_notes_all_land(room_location: str, tmp_path: Path) -> None:
    per_process = 40
    inc = await _declare(room_location)
    go = tmp_path / "go"
    tags = [f"a{i}" for i in range(PROCESSES)]
    procs = [spawn("noter", room_location, inc, str(per_process), t, str(go)) for t in tags]
    _wait_files([Path(f"{go}.{t}") for t in tags], timeout=120)
    go.touch()
    results = [(p.communicate(timeout=300), p.returncode) for p in procs]
    assert [code for _, code in results] == [0] * PROCESSES, [
        (code, out, err[-500:]) for (out, err), code in results if code != 0][:3]
    events = await _all_events(room_location)
    notes = [e for e in events if e.incident_id == inc]
    assert _texts(notes) == sorted(f"{t}-{i}" for t in tags for i in range(per_process))
    assert [e.version for e in notes] == list(range(1, len(notes) + 1))
