"""Many processes on one room: `warroom ingest` and `warroom serve` racing for one group."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from warroom.store.sqlite import SQLiteStore

from .alert_support import TOKEN, am_alert, am_payload, spawn_serve, write_json
from .conftest import REPO, cli_env, run_cli
from .escalation_support import SAMPLE

pytestmark = pytest.mark.slow


async def _ingest(db: Path, payload: Path) -> tuple[int, bytes, bytes]:
    env = cli_env(db, "alerts")
    env["WARROOM_CONFIG"] = str(SAMPLE)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "ingest", str(payload), "--json", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out, err


async def _counts(db: Path) -> tuple[list[str], int, int]:
    store = await SQLiteStore.open(db, readonly=True)
    try:
        ids = [s.id for s in await store.summaries()]
        events = await store.events_since(0, limit=100_000)
        return (ids, sum(e.kind == "alert_received" for e in events),
                sum(e.kind == "alert_attached" for e in events))
    finally:
        await store.close()


async def test_six_ingest_processes_for_one_group_open_one_incident(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    created = await SQLiteStore.open(db)  # create the room before the race
    await created.close()
    files = [write_json(tmp_path / f"p{i}.json",
                        am_payload([am_alert(fp=f"x{i}"), am_alert(fp="shared")], group="g"))
             for i in range(6)]
    results = await asyncio.gather(*(_ingest(db, f) for f in files))
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    replies = [json.loads(out) for _, out, _ in results]
    assert sum(r["opened"] for r in replies) == 1
    assert {r["incident"] for r in replies} == {"INC-1"}
    assert await _counts(db) == (["INC-1"], 6, 12)


async def test_two_serve_processes_share_one_room(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    store = await SQLiteStore.open(db)
    await store.close()
    servers = [await spawn_serve(db, SAMPLE, TOKEN, "--no-engine") for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as session:
            async def post(i: int) -> int:
                url = servers[i % 2].url + "/alertmanager"
                body = am_payload([am_alert(fp=f"s{i}")], group="two-servers")
                async with session.post(url, json=body,
                                        headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                    return r.status

            statuses = await asyncio.gather(*(post(i) for i in range(30)))
            assert statuses == [200] * 30
            async with session.get(servers[0].url + "/healthz") as r:
                assert (await r.json())["status"] == "ok"
    finally:
        codes = [await s.stop() for s in servers]
    assert codes == [0, 0]
    assert await _counts(db) == (["INC-1"], 30, 30)


def test_ingest_cli_refusals_write_nothing(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "4", "status": "firing", "alerts": [], "groupKey": "g"}')
    env = cli_env(db)
    env["WARROOM_CONFIG"] = str(SAMPLE)
    r = run_cli(db, "ingest", str(bad), env=env)
    assert r.code == 2 and "alerts: the list is empty" in r.err
    r = run_cli(db, "ingest", "-", "--format", "pagerduty", input="{oops", env=env)
    assert r.code == 2 and "malformed JSON at line 1 column 2" in r.err
    r = run_cli(db, "ingest", str(tmp_path / "missing.json"), env=env)
    assert r.code == 2 and "cannot read" in r.err
    r = run_cli(db, "ingest", "-", input=json.dumps(am_payload([am_alert()])), env=env)
    assert r.code == 0 and r.out.startswith("opened INC-1")
    r = run_cli(db, "payloads", "INC-1", "--json", env=env)
    assert r.code == 0 and r.json()[0]["mapping"]["service"] == "payments"  # type: ignore[index]


def test_serve_needs_a_token(tmp_path: Path) -> None:
    config = tmp_path / "warroom.toml"
    config.write_text(SAMPLE.read_text().replace('token = "change-me-demo-token"\n', ""))
    env = cli_env(tmp_path / "room.db")
    env["WARROOM_CONFIG"] = str(config)
    r = run_cli(tmp_path / "room.db", "serve", env=env)
    assert r.code == 2 and "no token" in r.err
