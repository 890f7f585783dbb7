"""Benchmark: an alert storm into `warroom serve`, and the dashboard's keypress latency meanwhile.

On a fresh room in a temporary folder, with its own configuration of 20 services:
  - starts a real `warroom serve` (receiver + escalation engine) on a free loopback port;
  - posts 10,000 alerts in 100 Alertmanager webhooks (5 per service, one group per service, 100
    distinct alerts per post), `--concurrency` posts in flight at once;
  - checks every alert is accounted for in the store (alert_attached events, the incidents'
    alert records), and that there is exactly one incident per service;
  - runs the dashboard (WarroomApp, headless through Textual's Pilot) in this process and times
    "n", a short note, Enter until the note is on the app's state: while idle, then during the
    storm; p50 / p95.

    .venv/bin/python bench/alert_storm.py [--posts 100] [--alerts-per-post 100]
        [--services 20] [--concurrency 8] [--out bench/results/alert_storm.json]

Figures on a shared machine are noisy; rerun on a quiet one for numbers worth quoting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from warroom.domain import commands  # noqa: E402
from warroom.domain.severity import Severity  # noqa: E402
from warroom.store.sqlite import SQLiteStore  # noqa: E402

TOKEN = "bench-token"


def bench_config(services: int) -> str:
    """The demo's people and rotation, one team, `services` services (every third critical)."""
    lines = [
        "[alerts]", f'token = "{TOKEN}"', "max_body_bytes = 4194304", "",
        "[teams.ops]", 'timezone = "Europe/London"', 'rotation = "sre"', "",
        "[rotations.sre]", 'timezone = "Europe/London"', "start = 2025-01-06T09:00:00",
        'members = ["alice", "bob", "carol", "dave", "erin", "frank"]', "",
    ]
    for h in ("alice", "bob", "carol", "dave", "erin", "frank"):
        lines += [f"[people.{h}]", f'name = "{h.title()}"', ""]
    for i in range(services):
        lines += [f"[services.svc-{i:02d}]", 'team = "ops"',
                  f"critical = {'true' if i % 3 == 0 else 'false'}", ""]
    return "\n".join(lines)


def post_body(service: int, post: int, alerts: int) -> dict[str, Any]:
    name = f"svc-{service:02d}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items = [{
        "status": "firing",
        "labels": {"alertname": "StormAlert", "service": name, "severity": "critical",
                   "instance": f"{name}-host-{post}-{k}"},
        "annotations": {"summary": f"{name} is failing"},
        "startsAt": now, "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench:9090/graph",
        "fingerprint": f"{service:02d}{post:03d}{k:05d}",
    } for k in range(alerts)]
    return {"receiver": "warroom", "status": "firing", "alerts": items,
            "groupLabels": {"service": name},
            "commonLabels": {"alertname": "StormAlert", "service": name,
                             "severity": "critical"},
            "commonAnnotations": {"summary": f"{name} is failing"},
            "externalURL": "http://alertmanager.bench:9093", "version": "4",
            "groupKey": f'{{}}:{{service="{name}"}}', "truncatedAlerts": 0}


async def start_serve(db: Path, config: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_DB=str(db), WARROOM_CONFIG=str(config), WARROOM_USER="serve")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if not line:
        raise SystemExit("warroom serve did not start")
    return proc, json.loads(line)["listening"]


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def keypress(app: Any, pilot: Any, text: str = "k") -> tuple[float, float, float]:
    """(key, commit, total) seconds: "n" until its prompt is on screen; Enter until the note is
    on the app's state (written, and back through the room's change feed); "n" to the note."""
    version = app.state.version
    screens = len(app.screen_stack)
    start = time.perf_counter()
    await pilot.press("n")
    while len(app.screen_stack) <= screens:
        await pilot.pause(0.001)
    key = time.perf_counter() - start
    for ch in text:
        await pilot.press(ch)
    enter = time.perf_counter()
    await pilot.press("enter")
    deadline = enter + 60
    while app.state.version <= version:
        if time.perf_counter() > deadline:
            raise SystemExit("the dashboard never showed the note")
        await pilot.pause(0.001)
    done = time.perf_counter()
    return key, done - enter, done - start


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from warroom.tui.app import WarroomApp

    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "bench.db", Path(tmp) / "warroom.toml"
        config.write_text(bench_config(args.services))
        store = await SQLiteStore.open(db)
        console = await store.append(None, commands.declare(
            "bench console", Severity.SEV4, "bench"))
        proc, url = await start_serve(db, config)

        async def opener() -> SQLiteStore:
            return await SQLiteStore.open(db, poll_interval=0.05)

        app = WarroomApp(actor="bench", tick=None, presence=False, open_store=opener,
                         follow=console.incident_id)
        idle: list[tuple[float, float, float]] = []
        storm: list[tuple[float, float, float]] = []
        statuses: list[int] = []
        try:
            async with app.run_test(size=(160, 48)) as pilot:
                while app.state is None:
                    await pilot.pause(0.01)
                for _ in range(args.idle_samples):
                    idle.append(await keypress(app, pilot))
                bodies = [(s, p) for p in range(args.posts // args.services)
                          for s in range(args.services)]
                sem = asyncio.Semaphore(args.concurrency)
                async with aiohttp.ClientSession(
                        headers={"Authorization": f"Bearer {TOKEN}"}) as session:
                    async def post(s: int, p: int) -> None:
                        body = json.dumps(post_body(s, p, args.alerts_per_post))
                        async with sem, session.post(
                                f"{url}/alertmanager", data=body,
                                headers={"Content-Type": "application/json"}) as r:
                            statuses.append(r.status)
                            await r.read()

                    started = time.perf_counter()
                    posting = asyncio.gather(*(post(s, p) for s, p in bodies))
                    task = asyncio.ensure_future(posting)
                    while not task.done():
                        storm.append(await keypress(app, pilot))
                    await task
                    storm_seconds = time.perf_counter() - started
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
        events = await store.events_since(0, limit=10_000_000)
        summaries = await store.summaries()
        alert_incidents = [s for s in summaries if s.id != console.incident_id]
        recorded = 0
        for s in alert_incidents:
            recorded += len((await store.get(s.id)).alerts)
        attached = sum(e.kind == "alert_attached" for e in events)
        received = sum(e.kind == "alert_received" for e in events)
        await store.close()
    total = args.posts * args.alerts_per_post
    result = {
        "posts": args.posts, "alerts": total, "services": args.services,
        "concurrency": args.concurrency,
        "http_statuses": {str(k): statuses.count(k) for k in sorted(set(statuses))},
        "incidents_expected": args.services, "incidents": len(alert_incidents),
        "notifications_recorded": received, "alerts_attached": attached,
        "alert_records": recorded, "every_alert_accounted_for": attached == recorded == total,
        "storm_seconds": round(storm_seconds, 3),
        "alerts_per_second": round(total / storm_seconds, 1),
        "keypress_idle_ms": _phases(idle), "keypress_storm_ms": _phases(storm),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
    }
    return result


def _phases(samples: list[tuple[float, float, float]]) -> dict[str, Any]:
    return {"samples": len(samples),
            **{name: _ms([s[i] for s in samples])
               for i, name in enumerate(("key_to_prompt", "enter_to_note", "total"))}}


def _ms(values: list[float]) -> dict[str, Any]:
    return {"p50": round((pct(values, 50) or 0) * 1000, 1),
            "p95": round((pct(values, 95) or 0) * 1000, 1),
            "mean": round(statistics.fmean(values) * 1000, 1) if values else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=100)
    p.add_argument("--alerts-per-post", type=int, default=100)
    p.add_argument("--services", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--idle-samples", type=int, default=20)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "alert_storm.json")
    args = p.parse_args()
    if args.posts % args.services:
        p.error("--posts must be a multiple of --services (each service gets as many posts)")
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['alerts']} alerts in {result['posts']} posts over {result['services']} "
          f"services: {result['storm_seconds']} s, {result['alerts_per_second']} alerts/s")
    print(f"incidents {result['incidents']} (expected {result['incidents_expected']}); "
          f"alerts attached {result['alerts_attached']}, recorded {result['alert_records']}; "
          f"every alert accounted for: {result['every_alert_accounted_for']}")
    for k in ("idle", "storm"):
        m = result[f"keypress_{k}_ms"]
        parts = ", ".join(f"{name} p50 {m[name]['p50']} / p95 {m[name]['p95']} ms"
                          for name in ("key_to_prompt", "enter_to_note", "total"))
        print(f"dashboard {k} ({m['samples']} samples): {parts}")
    if result["keypress_storm_ms"]["samples"] < 5:
        print("note: the storm was shorter than a few keypress cycles; --concurrency 1 "
              "spreads it out for more samples")
    print(f"written to {args.out}")
    if not result["every_alert_accounted_for"] or result["incidents"] != args.services:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
