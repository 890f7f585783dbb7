"""Shared fixtures: a fresh room on disk (or on PostgreSQL), a fixed clock, and a way to run
the real CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import apply
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState
from warroom.store.base import Store, name_events
from warroom.store.sqlite import SQLiteStore

from . import pg_cluster

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
    """Turns NewEvents into committed Events without a store, for pure domain tests (naming
    them as a store does)."""

    def __init__(self, incident_id: str = "INC-1", start: datetime = T0) -> None:
        self.incident_id = incident_id
        self.now = start
        self.events: list[Event] = []
        self.state: IncidentState | None = None

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def commit(self, new: list[NewEvent]) -> IncidentState:
        name_events(new)
        for n in new:
            assert n.event_id is not None
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


# ---- PostgreSQL ---------------------------------------------------------------------------------
# WARROOM_TEST_PG_URL: an admin URL (may create databases and roles), as .ci/run exports it.
# Without it the session starts a throwaway cluster itself (tests/pg_cluster.py) if PostgreSQL is
# installed; WARROOM_TEST_PG=off, or no PostgreSQL, skips the PostgreSQL tests with the reason.

T = TypeVar("T")
_admin_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-admin")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from sync code, on a thread of its own: it never touches
    the event loop of the test that is running."""
    return _admin_thread.submit(asyncio.run, coro).result()


def with_database(url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(database)))


def with_user(url: str, user: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{urllib.parse.quote(user)}:{urllib.parse.quote(password)}@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


async def pg_execute(url: str, *statements: str) -> list[Any]:
    """Run statements as the admin; the rows of the last one."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows: list[Any] = []
        for sql in statements:
            rows = await conn.fetch(sql)
        return rows
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("WARROOM_TEST_PG_URL")
    if url:
        yield url
        return
    if os.environ.get("WARROOM_TEST_PG", "").lower() in ("0", "off", "no", "skip"):
        pytest.skip("PostgreSQL tests are off (WARROOM_TEST_PG=off)")
    try:
        cluster = pg_cluster.start()
    except pg_cluster.Unavailable as e:
        pytest.skip(f"PostgreSQL is not available here and WARROOM_TEST_PG_URL is not set: {e}")
    try:
        yield cluster.url
    finally:
        pg_cluster.stop(cluster.directory)


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test (dropped afterwards, connections and all)."""
    name = f"wr_test_{uuid.uuid4().hex[:12]}"
    run_async(pg_execute(pg_admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(pg_admin_url, name)
    finally:
        run_async(pg_execute(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def room_location(request: pytest.FixtureRequest, db_path: Path) -> str:
    """Where a shared room lives, once per backend: a path, or a postgresql:// URL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(db_path)


class Room:
    """One shared room, opened as many times as a test needs (each open = one terminal).

    The store tests run against every backend through this fixture; `location` is what a
    separate process passes as --db.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self.backend = "postgresql" if "://" in location else "sqlite"
        self._opened: list[Store] = []

    async def open(self, *, readonly: bool = False, create: bool = True,
                   lock_timeout: float = 10.0, poll_interval: float = 0.01) -> Store:
        from warroom.store import open_store

        s = await open_store(self.location, readonly=readonly, create=create,
                             lock_timeout=lock_timeout, poll_interval=poll_interval)
        self._opened.append(s)
        return s

    async def close_all(self) -> None:
        for s in self._opened:
            await s.close()


@pytest.fixture
async def room(room_location: str) -> AsyncIterator[Room]:
    r = Room(room_location)
    try:
        yield r
    finally:
        await r.close_all()
