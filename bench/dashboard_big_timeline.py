"""Resident memory with a 100,000-event timeline open. Target: <= 250 MB.

A room where ONE incident has 100,000 events (declared, acknowledged, then notes "bulk N",
the newest "newest of all"), built through the store in appends of 1,000 notes (a few
seconds) and cached as bench/results/timeline-100k-v1.db (git-ignored), copied for each run.
Each run starts the real `python -m warroom --db ROOM` in tmux (it follows that incident: the
only one) and polls capture-pane until the header and the timeline are painted, then reads
VmRSS/VmHWM from /proc/<pid>/status: at first paint, after settling (2 s), and after the
scrolls. Then it focuses the timeline (Tab) and times scrolls through the whole history:
End (to the newest row), Home (to the oldest: the declaration) and back, each from the key
sent until the capture shows the row; and PageUp steps, each until the screen changed.

Whether the newest entry came on screen with the first paint (within 2 s of it) is recorded
too: the issue wants it "visible without scrolling".

An in-process split (`_dashboard_split.py`, headless driver) says where the paint time goes:
reading the 100,000 events, the fold, filling the timeline, and what the events cost in RSS.

    python bench/dashboard_big_timeline.py                 # 3 runs, ~1 minute
    python bench/dashboard_big_timeline.py --events 200000 --runs 1

Writes bench/results/dashboard_big_timeline.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, print_table, scratch_dir, summary_ms, write_results
from _dashboard import Followed, copy_room, followed_sync, size_arg
from _tmux import TmuxServer, proc_status, tmux_available, tmux_server
from dashboard_first_paint import launch_argv, program_env, session_env, split_runs

NAME = "dashboard_big_timeline"
TARGET_MB = 250.0
CACHED = RESULTS_DIR / "timeline-100k-v1.db"  # bump the suffix when the room changes
NEWEST = "newest of all"
BATCH = 1000


async def build_room(path: Path, events: int) -> float:
    """declared + acknowledged + (events - 2) notes, in appends of BATCH notes."""
    from warroom.domain.incident import commands
    from warroom.domain.incident.severity import Severity
    from warroom.store.sqlite import SQLiteStore

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    async with await SQLiteStore.open(path) as store:
        r = await store.append(None, commands.declare(
            "one very long incident", Severity.SEV2, "bench", service="search"))
        state = await store.get(r.incident_id)
        await store.append(state.id, commands.acknowledge(state, "bench"))
        done = 2
        while done < events:
            batch = []
            for n in range(done, min(events, done + BATCH)):
                text = NEWEST if n == events - 1 else f"bulk {n}"
                batch.extend(commands.add_note(state, text, "bench"))
            await store.append(state.id, batch)
            done += len(batch)
    return time.perf_counter() - started


async def _count(path: Path) -> int:
    from warroom.store.sqlite import SQLiteStore

    async with await SQLiteStore.open(path, readonly=True) as store:
        rows = await store.summaries()
        return rows[0].version if len(rows) == 1 else -1


def ensure_room(events: int, scratch: Path) -> tuple[Path, str]:
    path = CACHED if events == 100_000 else scratch / f"timeline-{events}.db"
    if path.exists():
        try:
            if asyncio.run(_count(path)) == events:
                return path, "reused"
        except Exception:
            pass  # damaged or from an older schema: build it again
    took = asyncio.run(build_room(path, events))
    return path, f"built in {took:.1f} s"


def one_run(tmux: TmuxServer, name: str, size: tuple[int, int], db: Path, want: Followed,
            scrolls: int, pageups: int, timeout: float, env: dict[str, str]) -> dict[str, Any]:
    t0 = time.monotonic()
    tmux.start(name, size[0], size[1], launch_argv(db), env=session_env(env))
    pid: int | None = None
    try:
        pid = tmux.pane_pid(name)
        painted_at, screen = tmux.wait_for(name, want.painted, timeout)
        at_paint = proc_status(pid)
        # A capture can catch a frame half written: the newest row counts as shown at first
        # paint when it follows within 2 s; after that it is not coming (it never did).
        newest_at_paint = want.newest_shown(screen)
        try:
            newest_at: float | None = tmux.wait_for(name, want.newest_shown, 2.0)[0]
        except TimeoutError:
            newest_at = None
        tmux.wait_for(name, lambda s: "MTTD" in s, timeout)
        time.sleep(2.0)  # settle: the metrics worker, the engine's first tick
        settled = proc_status(pid)
        tmux.keys(name, "Tab")
        time.sleep(0.2)
        oldest = want.oldest_rows[0]
        to_oldest: list[float] = []
        to_newest: list[float] = []
        # End first: with the newest row already there it moves the cursor only.
        tmux.keys(name, "End")
        tmux.wait_for(name, lambda s: NEWEST in s, timeout)
        for _ in range(scrolls):
            time.sleep(0.1)
            s0 = time.monotonic()
            tmux.keys(name, "Home")
            at, _ = tmux.wait_for(name, lambda s: oldest in s and NEWEST not in s, timeout,
                                  every=0.001)
            to_oldest.append(at - s0)
            time.sleep(0.1)
            s0 = time.monotonic()
            tmux.keys(name, "End")
            at, _ = tmux.wait_for(name, lambda s: NEWEST in s and oldest not in s, timeout,
                                  every=0.001)
            to_newest.append(at - s0)
        steps: list[float] = []
        for _ in range(pageups):
            time.sleep(0.05)
            before = "\n".join(tmux.command(f"capture-pane -e -p -t {name}"))
            s0 = time.monotonic()
            tmux.keys(name, "PageUp")
            deadline = s0 + timeout
            while True:
                now_screen = "\n".join(tmux.command(f"capture-pane -e -p -t {name}"))
                at = time.monotonic()
                if now_screen != before:
                    break
                if at > deadline:
                    raise TimeoutError("PageUp never changed the screen")
                time.sleep(0.001)
            steps.append(at - s0)
        after = proc_status(pid)
        return {
            "paint_ms": round((painted_at - t0) * 1000, 1),
            "newest_entry_at_paint": newest_at_paint,
            "newest_entry_ms": None if newest_at is None else round((newest_at - t0) * 1000, 1),
            "rss_at_paint_mb": round(at_paint.get("VmRSS", 0) / 1024, 1),
            "rss_settled_mb": round(settled.get("VmRSS", 0) / 1024, 1),
            "rss_after_scrolls_mb": round(after.get("VmRSS", 0) / 1024, 1),
            "hwm_mb": round(after.get("VmHWM", 0) / 1024, 1),
            "home_ms": [round(x * 1000, 2) for x in to_oldest],
            "end_ms": [round(x * 1000, 2) for x in to_newest],
            "pageup_ms": [round(x * 1000, 2) for x in steps],
        }
    finally:
        tmux.stop(name, pid)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100_000,
                   help="events in the one incident; 100000 is cached (default)")
    p.add_argument("--runs", type=int, default=3, help="fresh processes (default 3)")
    p.add_argument("--scrolls", type=int, default=5, help="Home/End pairs per run (default 5)")
    p.add_argument("--pageups", type=int, default=20, help="PageUp steps per run (default 20)")
    p.add_argument("--size", default="120x40", help="terminal size (default 120x40)")
    p.add_argument("--split-runs", type=int, default=2,
                   help="in-process split runs (default 2; 0 skips)")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--dir", help="scratch folder (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(argv)
    size = size_arg(opts.size)

    runs: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    with scratch_dir(opts.dir) as work:
        source, how = ensure_room(opts.events, work)
        db = copy_room(source, work / "big-timeline.db")
        want = followed_sync(db)
        print(f"room: one incident of {want.events} events ({how})", flush=True)
        if want.events != opts.events:
            raise SystemExit(f"the room holds {want.events} events, not {opts.events}")
        if tmux_available():
            env = program_env(db)
            with tmux_server(env) as tmux:
                for n in range(opts.runs):
                    r = one_run(tmux, f"big{n}", size, db, want, opts.scrolls, opts.pageups,
                                opts.timeout, env)
                    runs.append(r)
                    print(f"  run {n + 1}: paint {r['paint_ms']:.0f} ms, RSS "
                          f"{r['rss_at_paint_mb']:.0f} -> {r['rss_after_scrolls_mb']:.0f} MB, "
                          f"HWM {r['hwm_mb']:.0f} MB, newest entry shown: "
                          f"{r['newest_entry_ms'] is not None}", flush=True)
            home = [x / 1000 for r in runs for x in r["home_ms"]]
            end = [x / 1000 for r in runs for x in r["end_ms"]]
            pageup = [x / 1000 for r in runs for x in r["pageup_ms"]]
            summary = {
                "paint_median_ms": round(statistics.median(r["paint_ms"] for r in runs), 1),
                "rss_at_paint_median_mb": round(statistics.median(
                    r["rss_at_paint_mb"] for r in runs), 1),
                "rss_settled_median_mb": round(statistics.median(
                    r["rss_settled_mb"] for r in runs), 1),
                "hwm_max_mb": max(r["hwm_mb"] for r in runs),
                "newest_entry_missing": sum(r["newest_entry_ms"] is None for r in runs),
                "home": summary_ms(home), "end": summary_ms(end), "pageup": summary_ms(pageup),
            }
            summary["meets_target"] = summary["hwm_max_mb"] <= TARGET_MB
            print_table([{"what": k, **v} for k, v in summary.items() if isinstance(v, dict)],
                        ["what", "p50_ms", "p95_ms", "p99_ms", "max_ms"])
            print(f"paint median {summary['paint_median_ms']:.0f} ms; RSS at paint "
                  f"{summary['rss_at_paint_median_mb']:.0f} MB, settled "
                  f"{summary['rss_settled_median_mb']:.0f} MB, HWM max "
                  f"{summary['hwm_max_mb']:.0f} MB (target {TARGET_MB:.0f}); newest entry not "
                  f"on screen within 2 s of first paint in {summary['newest_entry_missing']}/"
                  f"{len(runs)} runs")
        else:
            summary = {"skipped": "tmux is not installed: no real-terminal runs"}
            print(summary["skipped"])
        split = split_runs(db, size, opts.split_runs) if opts.split_runs > 0 else None
        if split:
            print("in-process split (medians, ms):")
            for key, value in split["median_ms"].items():
                print(f"  {key:<24} {value:8.1f}")
            print(f"  the events' objects: {split['events_rss_kib_last_run'] / 1024:.0f} MB "
                  "of RSS")
    path = write_results(NAME, runs, {
        "target_mb": TARGET_MB, "events": opts.events, "size": opts.size,
        "summary": summary, "split": split,
    }, opts.out_dir)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
