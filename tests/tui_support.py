"""Building rooms and apps for the dashboard tests, with a fixed clock and time zone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from warroom.domain.config.model import parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.store.sqlite import SQLiteStore
from warroom.tui.app import WarroomApp

NOW = datetime(2026, 3, 4, 14, 46, 20, tzinfo=UTC)
CET = timezone(timedelta(hours=1), "CET")
EVIL_TITLE = "Checkout [bold red]failing[/] \x1b[31mfor EU\x1b[0m"


async def seed(store: SQLiteStore) -> None:
    """INC-1: an ongoing SEV-1 (unacknowledged), INC-2: a SEV-3 being handled."""
    t = NOW - timedelta(minutes=14)
    r = await store.append(None, commands.declare(EVIL_TITLE, Severity.SEV1, "alertmanager",
                                                  at=t, service="payments"))
    s = await store.get(r.incident_id)
    await store.append(s.id, commands.add_note(s, "5xx on /v2/charge, pool at 100%", "carol",
                                               at=t + timedelta(minutes=2)))
    r2 = await store.append(None, commands.declare("Search slow", Severity.SEV3, "bob",
                                                   at=t - timedelta(minutes=20),
                                                   service="search"))
    s2 = await store.get(r2.incident_id)
    await store.append(s2.id, commands.acknowledge(s2, "bob", at=t - timedelta(minutes=18)))
    s2 = await store.get(r2.incident_id)
    await store.append(s2.id, commands.assign_role(s2, Role.INCIDENT_COMMANDER, "bob", "bob",
                                                   at=t - timedelta(minutes=18)))


def seeded_db(path: Path) -> Path:
    """The seed, recorded as it happened: each event's recorded time is its own time, as it
    is when people type live (otherwise every entry would be marked "recorded" today, and the
    screen would change with the day the tests run)."""
    from unittest import mock

    from warroom.store import sql

    real = sql.append_steps

    def as_it_happened(*args, now, **kwargs):  # type: ignore[no-untyped-def]
        events = args[3]
        first = events[0].at if events and events[0].at is not None else now
        return real(*args, now=first, **kwargs)

    async def build() -> None:
        s = await SQLiteStore.open(path)
        try:
            await seed(s)
        finally:
            await s.close()

    with mock.patch.object(sql, "append_steps", as_it_happened):
        asyncio.run(build())
    return path


def make_app(path: Path, *, actor: str = "alice", spectator: bool = False, engine: bool = False,
             clock: Callable[[], datetime] | None = None,
             keys: dict[str, str] | None = None) -> WarroomApp:
    """`keys`: a [keys] table, as warroom.toml would give it."""
    async def opener() -> SQLiteStore:
        return await SQLiteStore.open(path, readonly=spectator, poll_interval=0.01)

    config = parse_config({"keys": keys}) if keys else None
    return WarroomApp(actor=actor, clock=clock or (lambda: NOW), local_tz=CET, tick=None,
                      presence=False, open_store=opener, spectator=spectator, engine=engine,
                      config=config)


async def settle(pilot, condition: Callable[[], bool], limit: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the screen caught up (the feed is asynchronous), never a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "the dashboard never caught up"
        await pilot.pause(0.01)
