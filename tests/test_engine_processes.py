"""Three engine processes on one database: each level recorded, and paged, exactly once."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.store.sqlite import SQLiteStore

from .conftest import REPO, cli_env
from .escalation_support import SAMPLE, T0
from .test_engine import Receiver, receiver  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow


async def _spawn(db: Path, config: Path, *args: str) -> asyncio.subprocess.Process:
    env = cli_env(db, "engine")
    env["WARROOM_CONFIG"] = str(config)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "engine", *args, cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _declare(db: Path, n: int, at: datetime | None = None) -> list[str]:
    store = await SQLiteStore.open(db)
    try:
        ids = []
        for i in range(n):
            r = await store.append(None, commands.declare(
                f"incident {i}", Severity.SEV1, "alice", at=at, service="payments"))
            ids.append(r.incident_id)
        return ids
    finally:
        await store.close()


async def _escalations(db: Path) -> Counter[tuple[str, int, int]]:
    store = await SQLiteStore.open(db, readonly=True)
    try:
        return Counter((e.incident_id, e.data.get("cycle", 0), e.data["level"])
                       for e in await store.events_since(0, limit=100_000)
                       if e.kind == "escalated")
    finally:
        await store.close()


async def _delivered(db: Path) -> int:
    store = await SQLiteStore.open(db, readonly=True)
    try:
        return sum(1 for e in await store.events_since(0, limit=100_000)
                   if e.kind == "page_delivered")
    finally:
        await store.close()


async def test_three_one_shot_engines_race_at_each_level(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    ids = await _declare(db, 4, at=T0)
    for minutes in (0, 5, 10, 15):
        now = (T0 + timedelta(minutes=minutes)).isoformat()
        procs = [await _spawn(db, SAMPLE, "--once", "--now", now, "--json") for _ in range(3)]
        results = [await p.communicate() for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [r[1] for r in results]
    counts = await _escalations(db)
    assert counts == Counter({(i, 0, level): 1 for i in ids for level in (1, 2, 3, 4)})


async def test_three_running_engines_page_each_level_once(tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    db = tmp_path / "room.db"
    config = tmp_path / "warroom.toml"
    url = receiver.url
    config.write_text(f"""
[people.alice]
webhook = "{url}/alice"
[people.bob]
webhook = "{url}/bob"
[people.judy]
command = ["{sys.executable}", "-c", "import sys; sys.stdin.read()"]
[escalation_policies.default]
notify = {{ webhook = "{url}/policy" }}
[[escalation_policies.default.levels]]
after = "0s"
targets = ["alice"]
[[escalation_policies.default.levels]]
after = "1s"
targets = ["bob"]
[[escalation_policies.default.levels]]
after = "2s"
targets = ["judy"]
""")
    await _declare(db, 0)  # create the room before three writers open it
    procs = [await _spawn(db, config) for _ in range(3)]
    try:
        ids = await _declare(db, 3, at=datetime.now(UTC))
        async with asyncio.timeout(120):
            while True:
                counts = await _escalations(db)
                if len(counts) == 9 and await _delivered(db) >= 15 + 3:
                    break
                await asyncio.sleep(0.1)
    finally:
        for p in procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        outs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
    counts = await _escalations(db)
    assert counts == Counter({(i, 0, lv): 1 for i in ids for lv in (1, 2, 3)})
    # alice and bob's webhooks, and the policy's for each of the 9 levels: exactly once each
    got = Counter((b["incident"]["id"], b["level"], path) for path, _, b in receiver.pages)
    assert all(n == 1 for n in got.values()), got
    assert len(got) == 3 * 2 + 9
    store = await SQLiteStore.open(db, readonly=True)
    try:
        delivered = Counter(
            (e.incident_id, e.data["level"], e.data["to"], e.data["channel"])
            for e in await store.events_since(0, limit=100_000) if e.kind == "page_delivered")
    finally:
        await store.close()
    assert all(n == 1 for n in delivered.values())
    assert sum(1 for k in delivered if k[3] == "command") == 3  # judy's hook, once per incident
