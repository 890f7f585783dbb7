"""Writes under contention: W writer processes appending notes at full speed to one room.

Two modes, each for a fixed time:
- shared:   every writer appends to the same incident (unconditional appends, no expected
            version: each append still reads and folds the incident inside its transaction);
- separate: each writer appends to an incident of its own.

The writers start together (they wait for a start time written to a file, on CLOCK_MONOTONIC,
shared by every process of a host), append one note per transaction until the window closes, and
report how many appends were acknowledged, how long each took, and every error they got (a
"database is locked" reaching the caller would count here; the target is zero errors). The script
then checks the room: the number of notes in the log must equal the number acknowledged, and
integrity_check must say ok.

    python bench/write_contention.py                    # 10 writers, 10 s per mode
    python bench/write_contention.py --writers 4 --duration 30 --modes shared

Writes bench/results/write_contention.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    make_room_sync,
    print_table,
    scratch_dir,
    summary_ms,
    wait_for_files,
    write_results,
)

MODES = ("shared", "separate")


# ---- a writer process --------------------------------------------------------------------------


def wait_for_start(start_file: Path) -> float:
    """The start time (CLOCK_MONOTONIC) the orchestrator writes once every writer is ready."""
    while not start_file.exists():
        time.sleep(0.001)
    return float(start_file.read_text())


async def writer(db: str, incident: str, start_file: str, duration: float, tag: str,
                 out: str) -> None:
    from warroom.domain.incident import commands
    from warroom.store import open_store

    store = await open_store(db)
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    try:
        state = await store.get(incident)
        Path(out + ".ready").touch()
        start = await asyncio.to_thread(wait_for_start, Path(start_file))
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        end = start + duration
        i = 0
        while time.monotonic() < end:
            events = commands.add_note(state, f"{tag} {i}", tag)
            t0 = time.monotonic()
            try:
                await store.append(incident, events)
            except Exception as e:  # counted, not raised: the figure is how many there were
                errors[f"{type(e).__name__}: {e}"] += 1
            else:
                latencies.append(time.monotonic() - t0)
            i += 1
        elapsed = time.monotonic() - start
    finally:
        await store.close()
    Path(out).write_text(json.dumps({"ok": len(latencies), "latencies": latencies,
                                     "errors": dict(errors), "elapsed": elapsed}))


# ---- orchestration ---------------------------------------------------------------------------


def count_notes(db: Path) -> tuple[int, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (notes,) = conn.execute("SELECT count(*) FROM events WHERE kind = 'note'").fetchone()
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    return int(notes), str(check)


def run_mode(work: Path, mode: str, writers: int, duration: float) -> dict[str, Any]:
    run_dir = work / mode
    run_dir.mkdir(parents=True, exist_ok=True)
    db = run_dir / "room.db"
    incidents = make_room_sync(db, 1 if mode == "shared" else writers)
    targets = [incidents[0]] * writers if mode == "shared" else incidents
    start_file = run_dir / "start"
    outs = [run_dir / f"writer-{i}.json" for i in range(writers)]
    procs = [
        subprocess.Popen([sys.executable, __file__, "_writer", str(db), target, str(start_file),
                          str(duration), f"w{i}", str(out)])
        for i, (target, out) in enumerate(zip(targets, outs, strict=True))
    ]
    try:
        wait_for_files([Path(f"{o}.ready") for o in outs], 180.0, procs)
        tmp = start_file.with_suffix(".tmp")
        tmp.write_text(repr(time.monotonic() + 0.5))
        tmp.replace(start_file)
        for p in procs:
            p.wait(timeout=duration + 120)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    reports = [json.loads(o.read_text()) for o in outs]
    acked = sum(r["ok"] for r in reports)
    elapsed = max(r["elapsed"] for r in reports)
    errors: collections.Counter[str] = collections.Counter()
    for r in reports:
        errors.update(r["errors"])
    per_writer = [round(r["ok"] / r["elapsed"], 1) for r in reports]
    notes, integrity = count_notes(db)
    return {
        "backend": "sqlite",
        "mode": mode,
        "writers": writers,
        "duration_s": round(elapsed, 2),
        "events": acked,
        "events_per_s": round(acked / elapsed, 1),
        "per_writer_events_per_s": per_writer,
        "per_writer_min": min(per_writer),
        "per_writer_max": max(per_writer),
        "append": summary_ms(x for r in reports for x in r["latencies"]),
        "appends_over_1s": sum(1 for r in reports for x in r["latencies"] if x > 1.0),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "events_in_log": notes,
        "log_matches_acks": notes == acked,
        "integrity_check": integrity,
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_writer":
        db, incident, start_file, duration, tag, out = args[1:7]
        asyncio.run(writer(db, incident, start_file, float(duration), tag, out))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--writers", type=int, default=10, help="writer processes (default 10)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="seconds of writing per mode (default 10)")
    p.add_argument("--modes", default=",".join(MODES),
                   help="comma-separated: shared, separate (default: both)")
    p.add_argument("--dir", help="where to put the rooms (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(args)
    modes = [m for m in opts.modes.split(",") if m]
    if any(m not in MODES for m in modes):
        p.error(f"--modes takes {', '.join(MODES)}")

    runs = []
    with scratch_dir(opts.dir) as work:
        for mode in modes:
            print(f"write contention: {opts.writers} writers, {mode} incident(s), "
                  f"{opts.duration:.0f} s ...", flush=True)
            runs.append(run_mode(work, mode, opts.writers, opts.duration))
    rows = [{**r, "append_p50_ms": r["append"]["p50_ms"], "append_p99_ms": r["append"]["p99_ms"],
             "append_max_ms": r["append"]["max_ms"]} for r in runs]
    print_table(rows, ["mode", "writers", "events", "events_per_s", "per_writer_min",
                       "per_writer_max", "append_p50_ms", "append_p99_ms", "append_max_ms",
                       "errors", "log_matches_acks", "integrity_check"])
    for r in runs:
        for kind, n in r["error_kinds"].items():
            print(f"  {r['mode']}: {n} x {kind}")
    path = write_results("write_contention", runs, {"target": {"errors": 0}}, opts.out_dir)
    print(f"written to {path}")
    return 0 if all(r["errors"] == 0 and r["log_matches_acks"] and r["integrity_check"] == "ok"
                    for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
