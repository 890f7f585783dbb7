"""Another terminal's commit to this screen, p99. Target: <= 100 ms.

The dashboard runs in this process on Textual's headless driver, built as `warroom` builds it
(escalation engine, presence, 1 s tick; the SQLite store's poll interval as shipped, 50 ms) on
a copy of bench/metrics.py's room (10,000 incidents), following its default incident. A writer
in ANOTHER process (this script with `_writer`, on the store API as `warroom note` is) appends
notes to that incident at a steady pace with uniform jitter (default one every 100 ms ± 50 %,
seeded) and takes time.monotonic() right after each `append` returns. CLOCK_MONOTONIC is one
clock for every process on a Linux host. The dashboard side stops the clock at the screen
update (App._display) that first carried the note's timeline row (bench/_dashboard.py:
ScreenProbe); it also notes when the event reached the timeline widget, which splits each
sample into feed (the 0-50 ms poll wait, events_since, the message, the fold) and render.

Before the samples the writer commits one warm-up note and waits a second. Every note must
reach the app (`missed` = 0) and be shown (`not_shown` = 0). As with the feed benchmark, a
negative minimum is possible in principle (a poll between the commit and the writer's return).

    python bench/dashboard_remote_commit.py                   # 200 notes, ~30 s
    python bench/dashboard_remote_commit.py --events 500 --interval 0.05

Writes bench/results/dashboard_remote_commit.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS_DIR, print_table, scratch_dir, summary_ms, write_results
from _dashboard import (
    GcPauses,
    ScreenProbe,
    app_as_shipped,
    copy_room,
    followed_sync,
    incidents_room,
    size_arg,
    wait_quiet,
    wait_until,
)

NAME = "dashboard_remote_commit"
TARGET_P99_MS = 100.0
PREFIX = "rc "
WARMUP = "rc warm-up"


# ---- the writer process -----------------------------------------------------------------------


async def writer(db: str, incident_id: str, events: int, interval: float, jitter: float,
                 seed: int, out: str) -> None:
    from warroom.domain.incident import commands
    from warroom.store.sqlite import SQLiteStore

    rng = random.Random(seed)
    committed: list[tuple[int, float]] = []
    async with await SQLiteStore.open(db) as store:
        state = await store.get(incident_id)
        await store.append(incident_id, commands.add_note(state, WARMUP, "writer"))
        await asyncio.sleep(1.0)
        for i in range(events):
            await asyncio.sleep(interval * rng.uniform(1 - jitter, 1 + jitter))
            await store.append(incident_id, commands.add_note(state, f"{PREFIX}{i:05d}",
                                                              "writer"))
            committed.append((i, time.monotonic()))
    Path(out).write_text(json.dumps(committed))


# ---- the dashboard (this process) -------------------------------------------------------------


async def dashboard(db: Path, incident_id: str, events: int, interval: float, jitter: float,
                    seed: int, size: tuple[int, int], out: Path,
                    poll_interval: float | None) -> dict[str, Any]:
    from warroom.store import open_store

    store = await open_store(db, readonly=False, create=False, poll_interval=poll_interval)
    app = app_as_shipped(store, "bench", follow=incident_id)
    probe = ScreenProbe(app)
    probe.track = lambda e: str(e.data.get("text", "")).startswith(PREFIX)
    gcp = GcPauses()
    try:
        async with app.run_test(size=size):
            await wait_until(lambda: app.dashboard.state is not None, 60, what="first paint")
            probe.attach()
            await wait_quiet(store, quiet=1.0, limit=30)
            with gcp.active():
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, str(Path(__file__).resolve()), "_writer", str(db),
                    incident_id, str(events), str(interval), str(jitter), str(seed), str(out),
                    cwd=REPO)
                code = await proc.wait()
            if code != 0:
                raise SystemExit(f"the writer process failed with code {code}")
            committed = dict(json.loads(out.read_text()))
            # The last notes may still be on their way: wait for them, bounded.
            wanted = {f"{PREFIX}{i:05d}" for i in committed}
            await _wait_shown(probe, app, wanted, limit=5.0)
            rows = {r.event.event_id: r.event for r in app.query_one("#timeline").rows()}
            poll = getattr(store, "poll_interval", None)
    finally:
        await store.close()
    text_of = {eid: str(e.data.get("text", "")) for eid, e in rows.items()}
    by_text_shown = {text_of[eid]: t for eid, t in probe.shown_at.items() if eid in text_of}
    by_text_reached = {text_of[eid]: t for eid, t in probe.reached_at.items() if eid in text_of}
    latency, feed, render = [], [], []
    missed = not_shown = slow = slow_with_gc = 0
    for i, at in committed.items():
        text = f"{PREFIX}{i:05d}"
        reached = by_text_reached.get(text)
        shown = by_text_shown.get(text)
        if reached is None:
            missed += 1
        if shown is None:
            not_shown += 1
            continue
        latency.append(shown - at)
        if shown - at > 0.1:
            slow += 1
            slow_with_gc += gcp.within(at, shown) > 0
        if reached is not None:
            feed.append(reached - at)
            render.append(shown - reached)
    return {
        "events": events, "samples": len(latency), "missed": missed, "not_shown": not_shown,
        **summary_ms(latency),
        "min_ms": round(min(latency) * 1000, 2) if latency else None,
        "mean_ms": round(statistics.fmean(latency) * 1000, 2) if latency else None,
        "feed": summary_ms(feed), "render": summary_ms(render),
        "poll_interval_s": poll, "screen_updates": probe.updates,
        "over_100ms": slow, "over_100ms_with_full_gc": slow_with_gc, "gc": gcp.summary(),
        "raw_ms": [round(x * 1000, 2) for x in latency],
    }


async def _wait_shown(probe: ScreenProbe, app: Any, wanted: set[str], limit: float) -> None:
    deadline = time.monotonic() + limit

    def shown_texts() -> set[str]:
        rows = app.query_one("#timeline").rows()
        ids = set(probe.shown_at)
        return {str(r.event.data.get("text", "")) for r in rows if r.event.event_id in ids}

    while not wanted <= shown_texts() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_writer":
        db, incident, events, interval, jitter, seed, out = args[1:8]
        asyncio.run(writer(db, incident, int(events), float(interval), float(jitter),
                           int(seed), out))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200, help="notes committed (default 200)")
    p.add_argument("--interval", type=float, default=0.1,
                   help="mean seconds between two commits (default 0.1)")
    p.add_argument("--jitter", type=float, default=0.5,
                   help="each gap is interval*(1 +- jitter), uniform (default 0.5)")
    p.add_argument("--poll-interval", type=float, default=None,
                   help="the dashboard store's poll interval (default: as shipped, 0.05)")
    p.add_argument("--size", default="120x40", help="terminal size (default 120x40)")
    p.add_argument("--incidents", type=int, default=10_000,
                   help="room size; 10000 is bench/metrics.py's cached room (default)")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--dir", help="scratch folder (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(args)

    with scratch_dir(opts.dir) as work:
        source, how = incidents_room(opts.incidents, work)
        db = copy_room(source, work / "remote-commit.db")
        incident = followed_sync(db).incident_id
        print(f"room: {opts.incidents} incidents ({how}); follows {incident}; "
              f"{opts.events} notes from another process", flush=True)
        run = asyncio.run(dashboard(db, incident, opts.events, opts.interval, opts.jitter,
                                    opts.seed, size_arg(opts.size), work / "writer.json",
                                    opts.poll_interval))
    row = {k: v for k, v in run.items() if k not in ("raw_ms", "feed", "render")}
    row.update({"feed_p50_ms": run["feed"]["p50_ms"], "feed_p99_ms": run["feed"]["p99_ms"],
                "render_p50_ms": run["render"]["p50_ms"],
                "render_p99_ms": run["render"]["p99_ms"]})
    row.pop("gc")
    print_table([row], ["samples", "missed", "not_shown", "p50_ms", "p95_ms", "p99_ms",
                        "max_ms", "feed_p50_ms", "feed_p99_ms", "render_p50_ms",
                        "render_p99_ms", "over_100ms", "over_100ms_with_full_gc"])
    gen2 = run["gc"]["gen2"]
    print(f"full garbage collections: {gen2['count']}, {gen2['total_ms']:.0f} ms in all, "
          f"the longest {gen2['max_ms']:.0f} ms")
    path = write_results(NAME, [run], {
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": run["p99_ms"] <= TARGET_P99_MS and run["not_shown"] == 0,
        "size": opts.size, "interval_s": opts.interval, "jitter": opts.jitter,
        "room": {"incidents": opts.incidents, "followed": incident},
    }, opts.out_dir)
    print(f"written to {path}")
    return 0 if run["missed"] == 0 and run["not_shown"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
