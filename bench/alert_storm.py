"""Benchmark: an alert storm into `warroom serve`, and the dashboard's keypress latency meanwhile.

On a fresh room in a temporary folder, with its own configuration of 20 services:
  - starts a real `warroom serve` (receiver + escalation engine) on a free loopback port;
  - posts 10,000 alerts in 100 Alertmanager webhooks (5 per service, one group per service, 100
    distinct alerts per post), `--concurrency` posts in flight at once;
  - checks every alert is accounted for in the store (alert_attached events, the incidents'
    alert records), and that there is exactly one incident per service;
  - runs the dashboard (WarroomApp as `warroom` builds it, headless through Textual's Pilot) in
    this process and times keypresses the way bench/dashboard_keypress.py does (its screen
    probe: from the key to the screen update that carries the change): Enter on a note, and
    `n` until its prompt is on screen; while idle, during the storm, and during a sustained
    storm (the same posts sent again and again for `--sustain` seconds: repeats of the same
    alerts, deduplicated onto the same incidents) so that there are enough samples;
    p50 / p95 / p99.

    .venv/bin/python bench/alert_storm.py [--posts 100] [--alerts-per-post 100]
        [--services 20] [--concurrency 8] [--sustain 20] [--out bench/results/alert_storm.json]

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

from warroom.domain.incident import commands  # noqa: E402
from warroom.domain.incident.severity import Severity  # noqa: E402
from warroom.store.sqlite import SQLiteStore  # noqa: E402
from warroom.tui.widgets.timeline import TimelineView  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from _dashboard import ScreenProbe  # noqa: E402

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


async def start_sender(url: str, args: argparse.Namespace,
                       seconds: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, "_send", url, str(args.posts), str(args.alerts_per_post),
        str(args.services), str(args.concurrency), str(seconds),
        stdout=asyncio.subprocess.PIPE)


async def finish_sender(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit("the alert sender failed")
    return json.loads(out)


async def send(url: str, posts: int, alerts: int, services: int, concurrency: int,
               seconds: float) -> dict[str, Any]:
    """The storm: every post once (seconds 0), or again and again for `seconds`."""
    bodies = [json.dumps(post_body(s, p, alerts)) for p in range(posts // services)
              for s in range(services)]
    statuses: list[int] = []
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}",
                                              "Content-Type": "application/json"}) as session:
        async def post(body: str) -> None:
            async with sem, session.post(f"{url}/alertmanager", data=body) as r:
                statuses.append(r.status)
                await r.read()

        start = time.perf_counter()
        sent = 0
        while True:
            await asyncio.gather(*(post(b) for b in bodies))
            sent += len(bodies)
            if time.perf_counter() - start >= seconds:
                break
        elapsed = time.perf_counter() - start
    return {"posts": sent, "seconds": round(elapsed, 3), "statuses": statuses}


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


async def keypress(app: Any, pilot: Any, probe: Any, timeline: Any, n: int,
                   limit: float = 60) -> tuple[float, float]:
    """(prompt, note) seconds: `n` until the note prompt is on screen, then (the text put in
    the prompt directly: typing is not what is timed) Enter until the note's row is drawn and
    that screen update went out."""
    from textual.widgets import Input

    from warroom.tui.screens import TextPrompt

    exp = probe.expect(lambda: isinstance(app.screen, TextPrompt), timeline=False)
    t0 = time.monotonic()
    await pilot.press("n")
    prompt = await probe.wait(exp, limit) - t0
    text = f"storm note {n}"
    app.screen.query_one(Input).value = text
    await pilot.pause()
    exp = probe.expect(lambda: bool(timeline.row_count)
                       and timeline.rows()[-1].event.data.get("text") == text)
    t0 = time.monotonic()
    await pilot.press("enter")
    note = await probe.wait(exp, limit) - t0
    await asyncio.sleep(0.05)
    return prompt, note


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

        app = WarroomApp(actor="bench", tick=1.0, presence=False, open_store=opener,
                         follow=console.incident_id)
        probe = ScreenProbe(app)
        idle: list[tuple[float, float]] = []
        storm: list[tuple[float, float]] = []
        sustained: list[tuple[float, float]] = []
        statuses: list[int] = []
        sustained_posts = 0
        try:
            async with app.run_test(size=(160, 48)) as pilot:
                while app.dashboard.state is None:
                    await pilot.pause(0.01)
                probe.attach()
                timeline = app.query_one(TimelineView)
                for n in range(args.idle_samples):
                    idle.append(await keypress(app, pilot, probe, timeline, n))
                # The sender runs in a process of its own, as Alertmanager would: encoding
                # 100-alert bodies on the dashboard's event loop would be measured as its lag.
                sender = await start_sender(url, args, seconds=0)
                while sender.returncode is None:
                    storm.append(await keypress(app, pilot, probe, timeline, len(storm)))
                first = await finish_sender(sender)
                storm_seconds = first["seconds"]
                statuses.extend(first["statuses"])
                sender = await start_sender(url, args, seconds=args.sustain)
                while sender.returncode is None:
                    sustained.append(
                        await keypress(app, pilot, probe, timeline, 1000 + len(sustained)))
                more = await finish_sender(sender)
                sustained_posts = more["posts"]
                statuses.extend(more["statuses"])
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
        # The same payload again is one record that counts its alerts, with no alert_attached
        # for those already firing (payloads are kept once per distinct content).
        appends: dict[tuple[str, object], list[Any]] = {}
        for e in events:
            appends.setdefault((e.incident_id, e.recorded_at), []).append(e)
        counted = sum(int(e.data.get("firing", 0)) - sum(x.kind == "alert_attached" for x in group)
                      for group in appends.values() for e in group
                      if e.kind == "alert_received" and e.data.get("same_as"))
        await store.close()
    total = args.posts * args.alerts_per_post
    posted = total + sustained_posts * args.alerts_per_post
    result = {
        "posts": args.posts, "alerts": total, "services": args.services,
        "concurrency": args.concurrency,
        "http_statuses": {str(k): statuses.count(k) for k in sorted(set(statuses))},
        "incidents_expected": args.services, "incidents": len(alert_incidents),
        "notifications_recorded": received, "alerts_attached": attached,
        "alerts_counted_on_repeats": counted, "alerts_posted_with_repeats": posted,
        "alert_records": recorded, "every_alert_accounted_for": attached + counted == posted
        and recorded == total,
        "storm_seconds": round(storm_seconds, 3),
        "alerts_per_second": round(total / storm_seconds, 1),
        "sustained_seconds": args.sustain, "sustained_posts": sustained_posts,
        "keypress_idle_ms": _phases(idle), "keypress_storm_ms": _phases(storm),
        "keypress_sustained_storm_ms": _phases(sustained),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
    }
    return result


def _phases(samples: list[tuple[float, float]]) -> dict[str, Any]:
    return {"samples": len(samples),
            **{name: _ms([s[i] for s in samples])
               for i, name in enumerate(("key_to_prompt", "enter_to_note"))}}


def _ms(values: list[float]) -> dict[str, Any]:
    return {"p50": round((pct(values, 50) or 0) * 1000, 1),
            "p95": round((pct(values, 95) or 0) * 1000, 1),
            "p99": round((pct(values, 99) or 0) * 1000, 1),
            "mean": round(statistics.fmean(values) * 1000, 1) if values else None}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_send":
        url, posts, alerts, services, concurrency, seconds = sys.argv[2:8]
        print(json.dumps(asyncio.run(send(url, int(posts), int(alerts), int(services),
                                          int(concurrency), float(seconds)))))
        return
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=100)
    p.add_argument("--alerts-per-post", type=int, default=100)
    p.add_argument("--services", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--idle-samples", type=int, default=20)
    p.add_argument("--sustain", type=float, default=20.0,
                   help="seconds of repeated posts while keypresses are sampled")
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
          f"alerts attached {result['alerts_attached']} + counted on repeated payloads "
          f"{result['alerts_counted_on_repeats']} of {result['alerts_posted_with_repeats']} "
          f"posted (with repeats), distinct alerts recorded {result['alert_records']}; "
          f"every alert accounted for: {result['every_alert_accounted_for']}")
    print(f"sustained storm: {result['sustained_posts']} more posts in "
          f"{result['sustained_seconds']} s")
    for k in ("idle", "storm", "sustained_storm"):
        m = result[f"keypress_{k}_ms"]
        parts = ", ".join(f"{name} p50 {m[name]['p50']} / p95 {m[name]['p95']} / "
                          f"p99 {m[name]['p99']} ms" for name in ("key_to_prompt", "enter_to_note"))
        print(f"dashboard {k.replace('_', ' ')} ({m['samples']} samples): {parts}")
    print(f"written to {args.out}")
    if not result["every_alert_accounted_for"] or result["incidents"] != args.services:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
