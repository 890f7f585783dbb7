"""First paint of the real `warroom` on 10,000 incidents / 100,000 events. Target: <= 1.0 s.

Each run starts `python -m warroom --db ROOM` in a tmux session of a fixed size (a private
server, `tmux -L`) and polls the pane through one tmux control-mode client every ~2 ms until
the screen shows the followed incident's header (its id on the top line) and its timeline (the
"Timeline · N events" border and the incident's rows). The time is from the moment the
session was asked for (tmux forks the program) to the capture that first showed it; the
resolution is one capture round trip (tens of µs) plus the 2 ms poll. Then it records when
the newest entry is on screen, when the metrics pane has its figures, the process's CPU time
and VmRSS/VmHWM at first paint, and quits the program with `q`.

The room is bench/metrics.py's (built once, cached in bench/results/ and reused), copied into
a scratch folder: the dashboard writes (presence, escalation engine) and the cache must not
change. Figures are warm-cache figures (the copy was just written).

An in-process split (`_dashboard_split.py`, fresh processes, headless Textual driver) says
where the time goes: interpreter, CLI imports, dashboard imports (Textual), store open, app
start to first screen; and the reads and the fold on their own.

    python bench/dashboard_first_paint.py                  # 120x40, 80x24, 160x48; 10 runs each
    python bench/dashboard_first_paint.py --runs 20 --sizes 120x40

Writes bench/results/dashboard_first_paint.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS_DIR, percentile, print_table, scratch_dir, write_results
from _dashboard import Followed, copy_room, followed_sync, incidents_room, size_arg
from _tmux import TmuxServer, proc_cpu_seconds, proc_status, tmux_available, tmux_server

NAME = "dashboard_first_paint"
TARGET_MS = 1000.0
BENCH = Path(__file__).resolve().parent


def program_env(db: Path) -> dict[str, str]:
    """The environment the tmux server (and so the program) starts with: ours without any
    WARROOM_* setting, UTF-8, this checkout first on the path.

    Without PYTHONDONTWRITEBYTECODE, too: an installed warroom has its bytecode compiled, and a
    checkout writes it on the first run (the warm-up run does). Compiling warroom's modules at
    every start costs ~45 ms on the development machine, which sets that variable.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WARROOM_", "TMUX")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("LANG", "C.UTF-8")
    env.update({"WARROOM_USER": "bench", "WARROOM_DB": str(db), "PYTHONPATH": str(REPO)})
    env.pop("NO_COLOR", None)
    return env


def launch_argv(db: Path) -> list[str]:
    return [sys.executable, "-m", "warroom", "--db", str(db)]


def session_env(env: dict[str, str]) -> dict[str, str]:
    """What the session sets on top of the server's environment (which is `env` already)."""
    return {k: v for k, v in env.items() if k.startswith("WARROOM_") or k == "PYTHONPATH"}


def one_run(tmux: TmuxServer, name: str, size: tuple[int, int], db: Path, want: Followed,
            timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """Launch, wait for the first paint, then for the newest entry and the metrics; quit."""
    width, height = size
    t0 = time.monotonic()
    tmux.start(name, width, height, launch_argv(db), env=session_env(env), cwd=REPO)
    pid: int | None = None
    try:
        pid = tmux.pane_pid(name)
        painted_at, screen = tmux.wait_for(name, want.painted, timeout)
        cpu = proc_cpu_seconds(pid)
        mem = proc_status(pid)
        newest_at: float | None = painted_at if want.newest_shown(screen) else None
        newest_at_paint = newest_at is not None
        if newest_at is None:
            try:
                newest_at, _ = tmux.wait_for(name, want.newest_shown, 2.0)
            except TimeoutError:
                newest_at = None
        metrics_at, _ = tmux.wait_for(name, lambda s: "MTTD" in s, timeout)
        return {
            "size": f"{width}x{height}",
            "paint_ms": round((painted_at - t0) * 1000, 1),
            "newest_entry_at_paint": newest_at_paint,
            "newest_entry_ms": None if newest_at is None else round((newest_at - t0) * 1000, 1),
            "metrics_ms": round((metrics_at - t0) * 1000, 1),
            "cpu_at_paint_ms": round(cpu * 1000, 1),
            "rss_at_paint_mb": round(mem.get("VmRSS", 0) / 1024, 1),
            "hwm_at_paint_mb": round(mem.get("VmHWM", 0) / 1024, 1),
            "size_seen": "x".join(map(str, tmux.size(name))),
        }
    finally:
        tmux.stop(name, pid)


def summarise(size: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    paint = [r["paint_ms"] for r in runs]
    newest = [r["newest_entry_ms"] for r in runs if r["newest_entry_ms"] is not None]
    return {
        "size": size,
        "runs": len(runs),
        "median_ms": round(statistics.median(paint), 1),
        "p90_ms": round(percentile(paint, 90), 1),
        "min_ms": min(paint),
        "max_ms": max(paint),
        "newest_entry_median_ms": round(statistics.median(newest), 1) if newest else None,
        "newest_entry_missing": len(runs) - len(newest),
        "metrics_median_ms": round(statistics.median(r["metrics_ms"] for r in runs), 1),
        "cpu_at_paint_median_ms": round(statistics.median(r["cpu_at_paint_ms"] for r in runs),
                                        1),
        "rss_at_paint_median_mb": round(statistics.median(r["rss_at_paint_mb"] for r in runs),
                                        1),
        "meets_target": statistics.median(paint) <= TARGET_MS,
    }


def split_runs(db: Path, size: tuple[int, int], runs: int) -> dict[str, Any]:
    """Fresh processes on the headless driver: where the in-process part of the time goes."""
    rows: list[dict[str, float]] = []
    last: dict[str, Any] = {}
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, str(BENCH / "_dashboard_split.py"), str(db),
                            str(size[0]), str(size[1])], capture_output=True, text=True,
                           timeout=300, cwd=REPO, env=program_env(db))
        if p.returncode != 0:
            raise SystemExit(f"split probe failed: {p.stderr.strip()[-2000:]}")
        last = json.loads(p.stdout.strip().splitlines()[-1])
        m = last["marks"]
        alone = last["queries_alone_s"]
        rows.append({
            "interpreter_ms": (m["started"] - t0) * 1000,
            "cli_imports_ms": (m["cli_imported"] - m["started"]) * 1000,
            "dashboard_imports_ms": (m["tui_imported"] - m["cli_imported"]) * 1000,
            "store_open_ms": (m["store_opened"] - m["tui_imported"]) * 1000,
            "app_start_to_paint_ms": (m["painted"] - m["store_opened"]) * 1000,
            "total_to_paint_ms": (m["painted"] - t0) * 1000,
            "metrics_pane_ms": (m["metrics_painted"] - t0) * 1000,
            "alone_last_seq_ms": alone["last_seq"] * 1000,
            "alone_summaries_ms": alone["summaries"] * 1000,
            "alone_events_ms": alone["events"] * 1000,
            "alone_fold_ms": alone["fold"] * 1000,
            "in_app_first_reads_ms": last["spent_s"].get("first_reads", 0.0) * 1000,
            "in_app_set_events_ms": last["spent_s"].get("timeline_set_events", 0.0) * 1000,
        })
    medians = {k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}
    return {
        "runs": runs,
        "size": f"{size[0]}x{size[1]}",
        "median_ms": medians,
        "rss_kib_last_run": last["rss_kib"],
        "events_rss_kib_last_run": last["queries_alone_s"]["events_rss_kib"],
        "followed": last["followed"],
        "summaries": last["summaries"],
        "timeline_rows": last["timeline_rows"],
        "note": "headless driver: no terminal output; the app's own reads overlap Textual's "
                "start-up on one event loop, so they are also timed alone (warm) after it",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10, help="timed runs per size (default 10)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    p.add_argument("--sizes", default="120x40,80x24,160x48",
                   help="terminal sizes, the first is the headline (default 120x40,80x24,160x48)")
    p.add_argument("--split-runs", type=int, default=5,
                   help="in-process split runs (default 5; 0 skips)")
    p.add_argument("--incidents", type=int, default=10_000,
                   help="room size; 10000 is bench/metrics.py's cached room (default)")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--dir", help="scratch folder (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(argv)
    sizes = [size_arg(s) for s in opts.sizes.split(",")]

    with scratch_dir(opts.dir) as work:
        source, how = incidents_room(opts.incidents, work)
        db = copy_room(source, work / "first-paint.db")
        want = followed_sync(db)
        print(f"room: {opts.incidents} incidents ({how}); follows {want.incident_id} "
              f"({want.events} events)", flush=True)
        runs: list[dict[str, Any]] = []
        summaries: list[dict[str, Any]] = []
        tmux_note: str | None = None
        if tmux_available():
            env = program_env(db)
            with tmux_server(env) as tmux:
                for width, height in sizes:
                    for _ in range(opts.warmup):
                        one_run(tmux, "warm", (width, height), db, want, opts.timeout, env)
                    size_runs = []
                    for n in range(opts.runs):
                        r = one_run(tmux, f"run{n}", (width, height), db, want, opts.timeout,
                                    env)
                        size_runs.append(r)
                        print(f"  {r['size']} run {n + 1}: paint {r['paint_ms']:.0f} ms",
                              flush=True)
                    runs.extend(size_runs)
                    summaries.append(summarise(f"{width}x{height}", size_runs))
            print_table(summaries, ["size", "runs", "median_ms", "p90_ms", "min_ms", "max_ms",
                                    "newest_entry_missing", "metrics_median_ms",
                                    "cpu_at_paint_median_ms", "rss_at_paint_median_mb"])
        else:
            tmux_note = "tmux is not installed: no real-terminal runs"
            print(tmux_note)
        split = split_runs(db, sizes[0], opts.split_runs) if opts.split_runs > 0 else None
        if split:
            print("in-process split (medians, ms):")
            for key, value in split["median_ms"].items():
                print(f"  {key:<24} {value:8.1f}")
    path = write_results(NAME, runs, {
        "target_ms": TARGET_MS,
        "room": {"incidents": opts.incidents, "events": opts.incidents * 10,
                 "followed": want.incident_id, "followed_events": want.events},
        "by_size": summaries,
        "split": split,
        "tmux": tmux_note or "tmux -L private server, control-mode client polling capture-pane",
    }, opts.out_dir)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
