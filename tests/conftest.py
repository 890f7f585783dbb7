"""Shared fixtures: a fresh room on disk, a fixed clock, and a way to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.domain import commands
from warroom.domain.events import Event, NewEvent
from warroom.domain.incident import IncidentState, apply
from warroom.domain.severity import Severity
from warroom.store.sqlite import SQLiteStore

T0 = datetime(2026, 3, 4, 14, 32, 15, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "room.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    s = await SQLiteStore.open(db_path, poll_interval=0.01)
    try:
        yield s
    finally:
        await s.close()


class Recorder:
    """Turns NewEvents into committed Events without a store, for pure domain tests."""

    def __init__(self, incident_id: str = "INC-1", start: datetime = T0) -> None:
        self.incident_id = incident_id
        self.now = start
        self.events: list[Event] = []
        self.state: IncidentState | None = None

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def commit(self, new: list[NewEvent]) -> IncidentState:
        for n in new:
            e = Event(
                seq=len(self.events) + 1,
                event_id=n.event_id,
                incident_id=self.incident_id,
                version=len(self.events) + 1,
                kind=n.kind,
                actor=n.actor,
                at=n.at or self.now,
                recorded_at=self.now,
                data=n.data,
            )
            self.events.append(e)
            self.state = apply(self.state, e)
        assert self.state is not None
        return self.state


@pytest.fixture
def rec() -> Recorder:
    r = Recorder()
    r.commit(commands.declare("Checkout failing", Severity.SEV1, "alice", service="payments"))
    return r


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def cli_env(db: Path | str, user: str = "alice") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({"WARROOM_DB": str(db), "WARROOM_USER": user, "NO_COLOR": "1"})
    return env


def run_cli(db: Path | str, *args: str, user: str = "alice", input: str | None = None,
            timeout: float = 60, env: dict[str, str] | None = None) -> CliResult:
    """Run the real `warroom` in its own process, as a script would."""
    p = subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        capture_output=True, text=True, input=input, timeout=timeout,
        env=env or cli_env(db, user), cwd=REPO,
    )
    return CliResult(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def cli(db_path: Path) -> Iterator[object]:
    def _run(*args: str, user: str = "alice", input: str | None = None) -> CliResult:
        return run_cli(db_path, *args, user=user, input=input)

    yield _run


class Room:
    """One shared room, opened as many times as a test needs (each open = one terminal).

    The store tests run against every backend through this fixture; `location` is what a
    separate process passes as --db.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self._opened: list[object] = []

    async def open(self, *, readonly: bool = False, create: bool = True,
                   lock_timeout: float = 10.0) -> SQLiteStore:
        from warroom.store import open_store

        s = await open_store(self.location, readonly=readonly, create=create,
                             lock_timeout=lock_timeout, poll_interval=0.01)
        self._opened.append(s)
        return s  # type: ignore[return-value]

    async def close_all(self) -> None:
        for s in self._opened:
            await s.close()  # type: ignore[attr-defined]


@pytest.fixture
async def room(db_path: Path) -> AsyncIterator[Room]:
    r = Room(str(db_path))
    try:
        yield r
    finally:
        await r.close_all()
