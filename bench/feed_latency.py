"""Commit-to-feed latency across processes on the SQLite store.

One writer process (this one) appends notes to one incident at a steady pace with random jitter
and takes CLOCK_MONOTONIC right after each `append` returns. N reader processes, each subscribed
with `store.subscribe()` (read-only, default poll interval), take CLOCK_MONOTONIC when a batch
reaches them. CLOCK_MONOTONIC is one clock for every process on a Linux host, so the difference
is the latency from "the writer was told it committed" to "a reader holds the event". A reader
polling between the commit and the writer's return can see an event first: min_ms may be
slightly negative, which is honest and not clamped.

Every reader must receive every event exactly once and in commit order: `missed`, `duplicates`
and `out_of_order` count what did not.

Two more figures per run, to read the percentiles by: `call_p50_ms` ... `call_max_ms`, the same
latencies taken from the moment the writer CALLED `append` (an upper bound: they include the
commit itself, its fsync among it), since with many readers the writer's own return can come
after readers already hold the event (its process competes with the readers it woke for the
CPU); and `reader_cpu_ms_per_event`, the median over the readers of the CPU time (every thread)
a reader process spent from subscribing to the end, per event written.

    python bench/feed_latency.py                        # N = 1, 10, 30; 200 events each
    python bench/feed_latency.py --readers 30 --events 500
    python bench/feed_latency.py --readers 30 --variant inotify,poll --rounds 2

With several variants, the runs are interleaved (A, B, A, B, ...: a shared machine's load falls
on both alike), and the summary gives each variant's median over the rounds and the ratio of
every variant's median p99 to the first's. Each run notes the load average before it.

Writes bench/results/feed_latency.json (feed_latency-<variants>.json for other variants).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import (
    HELLO,
    RESULTS_DIR,
    STOP,
    print_table,
    record_feed,
    scratch_dir,
    summary_ms,
    wait_for_files,
    write_results,
)
from poll_variants import VARIANTS

if TYPE_CHECKING:
    from warroom.store import Store

TARGET_P99_MS = 10.0  # issue 15: woken by inotify (it was 60 for the 50 ms poll)


# ---- a reader process ----------------------------------------------------------------------


async def reader(db: str, out: str, poll_interval: float, variant: str) -> None:
    from poll_variants import open_variant

    store = await open_variant(variant, db, readonly=True, poll_interval=poll_interval)
    cpu = time.process_time()
    await record_feed(store, out)
    Path(out + ".cpu").write_text(str(time.process_time() - cpu))
    Path(out + ".mode").write_text(str(store.wake_mode))


# ---- the writer and the orchestration --------------------------------------------------------


async def write_events(db: Path, incident: str, count: int, interval: float, jitter: float,
                       seed: int, wait_live: list[Path], procs: list[subprocess.Popen[bytes]],
                       ) -> dict[int, tuple[float, float]]:
    """Commit `count` notes, one every interval*(1 +- jitter) s; seq -> (time append was
    called, time it returned)."""
    from warroom.domain.incident import commands
    from warroom.store import open_store

    rng = random.Random(seed)
    committed: dict[int, tuple[float, float]] = {}
    store = await open_store(db)
    try:
        state = await store.get(incident)
        await say_hello(store, incident, wait_live, procs)
        await asyncio.sleep(1.0)  # let every reader settle into its steady poll
        for i in range(count):
            await asyncio.sleep(interval * (1 + rng.uniform(-jitter, jitter)))
            called = time.monotonic()
            result = await store.append(incident, commands.add_note(state, f"bench {i}",
                                                                    "bench"))
            committed[result.events[0].seq] = (called, time.monotonic())
        await store.append(incident, commands.add_note(state, STOP, "bench"))
    finally:
        await store.close()
    return committed


async def say_hello(store: Store, incident: str, wait_live: list[Path],
                    procs: list[subprocess.Popen[bytes]]) -> None:
    """Write a warm-up event, again every second, until every reader has received one.

    Repeated because a reader whose feed starts at the very moment of a commit may only learn
    of it at the next commit (a start-up window of the poller; see the docs).
    """
    from warroom.domain.incident import commands

    state = await store.get(incident)
    deadline = time.monotonic() + 120.0
    while True:
        await store.append(incident, commands.add_note(state, HELLO, "bench"))
        try:
            await asyncio.to_thread(wait_for_files, wait_live, 1.0, procs)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def run_once(work: Path, readers: int, events: int, interval: float, jitter: float,
             poll_interval: float, seed: int, variant: str) -> dict[str, Any]:
    from _common import make_room_sync

    run_dir = work / f"readers-{readers}-{variant}-{seed}"
    load = [round(x, 2) for x in os.getloadavg()]
    run_dir.mkdir(parents=True, exist_ok=True)
    db = run_dir / "room.db"
    (incident,) = make_room_sync(db)
    outs = [run_dir / f"reader-{i}.json" for i in range(readers)]
    procs = [
        subprocess.Popen([sys.executable, __file__, "_reader", str(db), str(out),
                          str(poll_interval), variant])
        for out in outs
    ]
    try:
        wait_for_files([Path(f"{o}.ready") for o in outs], 180.0, procs)
        committed = asyncio.run(write_events(
            db, incident, events, interval, jitter, seed,
            [Path(f"{o}.live") for o in outs], procs))
        for p in procs:
            p.wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    latencies: list[float] = []
    from_call: list[float] = []
    cpu: list[float] = []
    missed = duplicates = out_of_order = 0
    modes = sorted({Path(f"{o}.mode").read_text() for o in outs if Path(f"{o}.mode").exists()})
    for out in outs:
        received = json.loads(out.read_text())["received"] if out.exists() else []
        seqs = [seq for seq, _ in received]
        duplicates += len(seqs) - len(set(seqs))
        out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        got = dict(received)
        missed += sum(1 for seq in committed if seq not in got)
        latencies.extend(got[seq] - t for seq, (_, t) in committed.items() if seq in got)
        from_call.extend(got[seq] - t for seq, (t, _) in committed.items() if seq in got)
        if Path(f"{out}.cpu").exists():
            cpu.append(float(Path(f"{out}.cpu").read_text()))
    stats = summary_ms(latencies)
    return {
        "backend": "sqlite",
        "readers": readers,
        "events": len(committed),
        "samples": len(latencies),
        **stats,
        "min_ms": round(min(latencies) * 1000, 2) if latencies else None,
        "missed": missed,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        **{f"call_{k}": v for k, v in summary_ms(from_call).items()},
        "reader_cpu_ms_per_event": (round(statistics.median(cpu) * 1000 / len(committed), 3)
                                    if cpu and committed else None),
        "interval_s": interval,
        "poll_interval_s": poll_interval,
        "variant": variant,
        "wake": ",".join(modes),
        "loadavg_before": load,
    }


def summarise(runs: list[dict[str, Any]], variants: list[str]) -> list[dict[str, Any]]:
    """Per reader count and variant: the median of each percentile over the rounds, the
    counters summed, and the median p99 as a ratio to the first variant's."""
    out: list[dict[str, Any]] = []
    for n in sorted({r["readers"] for r in runs}):
        base: float | None = None
        for v in variants:
            mine = [r for r in runs if r["readers"] == n and r["variant"] == v]
            if not mine:
                continue
            row: dict[str, Any] = {"readers": n, "variant": v, "rounds": len(mine)}
            for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "call_p99_ms",
                      "reader_cpu_ms_per_event"):
                row[k] = round(statistics.median(r[k] for r in mine), 3 if "cpu" in k else 2)
            for k in ("missed", "duplicates", "out_of_order"):
                row[k] = sum(r[k] for r in mine)
            base = row["p99_ms"] if base is None else base
            row["p99_vs_first"] = round(row["p99_ms"] / base, 2) if base else None
            out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_reader":
        asyncio.run(reader(args[1], args[2], float(args[3]), args[4]))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readers", default="1,10,30",
                   help="comma-separated reader-process counts (default 1,10,30)")
    p.add_argument("--events", type=int, default=200, help="events per run (default 200)")
    p.add_argument("--interval", type=float, default=0.1,
                   help="mean seconds between two commits (default 0.1)")
    p.add_argument("--jitter", type=float, default=0.5,
                   help="each gap is interval*(1 +- jitter), uniform (default 0.5)")
    p.add_argument("--poll-interval", type=float, default=0.05,
                   help="the readers' feed poll interval (default 0.05, the store's default)")
    p.add_argument("--variant", default="store",
                   help="the readers' store: the real one, or a patched poller from "
                        f"poll_variants.py ({', '.join(VARIANTS)}); comma-separated to "
                        "compare several, interleaved (default: store)")
    p.add_argument("--rounds", type=int, default=1,
                   help="how many times each variant runs, interleaved (default 1)")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--dir", help="where to put the rooms (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(args)
    variants = [v for v in opts.variant.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s): {', '.join(unknown)}")

    runs = []
    with scratch_dir(opts.dir) as work:
        for round_ in range(opts.rounds):
            for n in (int(x) for x in opts.readers.split(",")):
                for v in variants:
                    print(f"feed latency: {v}, {n} reader(s), {opts.events} events, round "
                          f"{round_ + 1}/{opts.rounds} ...", flush=True)
                    runs.append(run_once(work, n, opts.events, opts.interval, opts.jitter,
                                         opts.poll_interval, opts.seed + round_, v))
    print_table(runs, ["variant", "wake", "readers", "samples", "p50_ms", "p95_ms", "p99_ms",
                       "max_ms", "min_ms", "call_p99_ms", "reader_cpu_ms_per_event", "missed",
                       "duplicates", "out_of_order", "loadavg_before"])
    extra: dict[str, Any] = {"target": {"p99_ms_with_30_readers": TARGET_P99_MS, "missed": 0}}
    if len(variants) > 1 or opts.rounds > 1:
        extra["medians"] = summarise(runs, variants)
        print("medians over the rounds:")
        print_table(extra["medians"], ["variant", "readers", "rounds", "p50_ms", "p95_ms",
                                       "p99_ms", "max_ms", "call_p99_ms",
                                       "reader_cpu_ms_per_event", "missed", "duplicates",
                                       "out_of_order", "p99_vs_first"])
    name = "feed_latency" if variants == ["store"] else f"feed_latency-{'-'.join(variants)}"
    path = write_results(name, runs, extra, opts.out_dir)
    print(f"written to {path}")
    return 0 if all(r["missed"] == 0 and r["duplicates"] == 0 and r["out_of_order"] == 0
                    for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
