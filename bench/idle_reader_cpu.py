"""The CPU one idle reader process costs: subscribed to the feed, with nothing happening.

Each variant runs in a process of its own, subscribed with `store.subscribe()` to a room nobody
writes to. After a warm-up, the script reads the process's utime+stime from /proc/<pid>/stat
(every thread of the process, in clock ticks) at the start and at the end of the window and
reports the difference as a percentage of one core, with the context switches of all its threads
(/proc/<pid>/task/*/status) per poll: how many times per poll a thread was put to sleep and
woken. The variants run side by side (they are idle, so they hardly compete); --sequential runs
them one after another.

Variants (see poll_variants.py): `store` (= `inotify` on Linux) is the real SQLiteStore and the
figure the target is about; `poll` is the same store with inotify off (the 50 ms poll, as before
issue 15 and wherever inotify is missing); `watchfiles-N` wakes the feed with watchfiles'
awatch (step N ms) instead; `poll-thread` and `inline-sqlite3` are patched copies of the poller;
`floor` is a process that only wakes its event loop every poll interval (asyncio.sleep) and
touches no database: the least any asyncio poller at that rate can cost.

Then, in this process, it splits one poll into its parts by timing many of them back to back
with time.process_time() (CPU of every thread): the asyncio timer wake-up, PRAGMA data_version
through aiosqlite (thread hop there and back), and the same pragma on a plain sqlite3 connection.

    python bench/idle_reader_cpu.py                  # 25 s window, every variant
    python bench/idle_reader_cpu.py --duration 60 --variants store
    python bench/idle_reader_cpu.py --variants inotify,poll --rounds 2   # A B A B, medians

With --rounds, the variants run one at a time, interleaved (A, B, A, B, ...), and the summary
gives each one's median over the rounds and its ratio to the first variant.

Writes bench/results/idle_reader_cpu.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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
    wait_for_files,
    write_results,
)
from poll_variants import VARIANTS

TARGET_PCT = 0.5  # issue 15 (it was 1.5 for the 50 ms poll)
ALL_VARIANTS = (*VARIANTS, "floor")


# ---- an idle reader process ------------------------------------------------------------------


async def idle_reader(variant: str, db: str, ready: str, poll_interval: float) -> None:
    if variant == "floor":
        import warroom.store.sqlite  # noqa: F401  - the same modules in memory as a reader

        Path(ready).touch()
        # The wake-ups are the point: an asyncio.Event would avoid exactly what is measured.
        while True:  # noqa: ASYNC110
            await asyncio.sleep(poll_interval)
    from poll_variants import open_variant

    store = await open_variant(variant, db, readonly=True, poll_interval=poll_interval)
    try:
        feed = store.subscribe()
        first = asyncio.ensure_future(anext(feed))
        await asyncio.sleep(0.5)  # the poller is running by now
        Path(ready).touch()
        await first  # nothing is ever written: this waits until the process is killed
    finally:
        await store.close()


# ---- measuring from outside ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid`, in seconds (fields 14 and 15 of /proc/pid/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def context_switches(pid: int) -> int:
    """Times the threads of `pid` went off CPU: each one is a sleep and a wake-up to pay for."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split(":", 1)[1])
        except OSError:  # a thread that ended meanwhile
            continue
    return total


def measure(procs: dict[str, subprocess.Popen[bytes]], duration: float
            ) -> dict[str, tuple[float, float]]:
    """name -> (% of a core, context switches per second) over the window."""
    start = {name: (cpu_seconds(p.pid), context_switches(p.pid)) for name, p in procs.items()}
    t0 = time.monotonic()
    time.sleep(duration)
    elapsed = time.monotonic() - t0
    end = {name: (cpu_seconds(p.pid), context_switches(p.pid)) for name, p in procs.items()}
    return {
        name: ((end[name][0] - start[name][0]) / elapsed * 100.0,
               (end[name][1] - start[name][1]) / elapsed)
        for name in procs
    }


def run_idle(db: Path, variants: list[str], duration: float, warmup: float,
             poll_interval: float, sequential: bool, ready_dir: Path) -> list[dict[str, Any]]:
    groups = [[v] for v in variants] if sequential else [variants]
    pct: dict[str, tuple[float, float]] = {}
    load = [round(x, 2) for x in os.getloadavg()]
    for group in groups:
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for v in group:
                ready = ready_dir / f"{v}.ready"
                procs[v] = subprocess.Popen([sys.executable, __file__, "_idle", v, str(db),
                                             str(ready), str(poll_interval)])
            wait_for_files([ready_dir / f"{v}.ready" for v in group], 120.0,
                           list(procs.values()))
            time.sleep(warmup)
            pct.update(measure(procs, duration))
        finally:
            for p in procs.values():
                p.kill()
                p.wait()
    return [
        {
            "variant": v,
            "cpu_pct_of_core": round(pct[v][0], 3),
            "duration_s": duration,
            "poll_interval_s": poll_interval,
            "polls_per_s": round(1 / poll_interval, 1),
            # what one idle poll (wake-up included) costs in practice, not back to back
            "cpu_us_per_poll": round(pct[v][0] / 100 * poll_interval * 1e6, 1),
            "context_switches_per_poll": round(pct[v][1] * poll_interval, 2),
            "context_switches_per_s": round(pct[v][1], 1),
            "loadavg_before": load,
        }
        for v in variants
    ]


def summarise(runs: list[dict[str, Any]], variants: list[str]) -> list[dict[str, Any]]:
    """Each variant's median % of a core and wake-ups per second over the rounds, and the
    ratio of its median to the first variant's."""
    out: list[dict[str, Any]] = []
    base: float | None = None
    for v in variants:
        mine = [r for r in runs if r["variant"] == v]
        pct = statistics.median(r["cpu_pct_of_core"] for r in mine)
        base = pct if base is None else base
        out.append({
            "variant": v, "rounds": len(mine), "cpu_pct_of_core": round(pct, 3),
            "context_switches_per_s": round(
                statistics.median(r["context_switches_per_s"] for r in mine), 1),
            "cpu_vs_first": round(pct / base, 2) if base else None,
        })
    return out


# ---- one poll, taken apart -------------------------------------------------------------------


async def per_poll_costs(db: Path, polls: int) -> dict[str, float]:
    """CPU microseconds (all threads) per operation, from `polls` operations back to back."""
    import sqlite3

    import aiosqlite

    from warroom.store.sqlite import _prepare_reader

    uri = f"file:{db}?mode=ro"

    def cpu_us(before: float, n: int) -> float:
        return round((time.process_time() - before) / n * 1e6, 1)

    out: dict[str, float] = {}
    t = time.process_time()
    for _ in range(polls):
        await asyncio.sleep(0.0005)
    out["asyncio_timer_wakeup_us"] = cpu_us(t, polls)

    conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    try:
        await conn._execute(lambda: _prepare_reader(conn._conn))
        t = time.process_time()
        for _ in range(polls):
            await conn.execute_fetchall("PRAGMA data_version")
        out["data_version_via_aiosqlite_us"] = cpu_us(t, polls)
    finally:
        await conn.close()

    raw = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        _prepare_reader(raw)
        t = time.process_time()
        for _ in range(polls):
            raw.execute("PRAGMA data_version").fetchone()
        out["data_version_plain_sqlite3_us"] = cpu_us(t, polls)
    finally:
        raw.close()
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_idle":
        asyncio.run(idle_reader(args[1], args[2], args[3], float(args[4])))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=25.0,
                   help="seconds of the measured window (default 25)")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="seconds between 'ready' and the window (default 3)")
    # `inotify` is `store` again; watchfiles is not a dependency of warroom (pip install it)
    default = [v for v in ALL_VARIANTS if v != "inotify" and not v.startswith("watchfiles")]
    p.add_argument("--variants", default=",".join(default),
                   help=f"comma-separated, from {', '.join(ALL_VARIANTS)} (default: "
                        f"{', '.join(default)})")
    p.add_argument("--poll-interval", type=float, default=0.05,
                   help="the readers' poll interval (default 0.05, the store's default)")
    p.add_argument("--sequential", action="store_true",
                   help="measure one variant at a time instead of side by side")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure each variant this many times, one at a time, interleaved")
    p.add_argument("--polls", type=int, default=2000,
                   help="operations timed back to back for the per-poll split (default 2000)")
    p.add_argument("--dir", help="where to put the room (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(args)
    variants = [v for v in opts.variants.split(",") if v]
    unknown = [v for v in variants if v not in ALL_VARIANTS]
    if unknown:
        p.error(f"unknown variant(s): {', '.join(unknown)}")

    with scratch_dir(opts.dir) as work:
        db = work / "room.db"
        make_room_sync(db)
        print(f"idle reader CPU: {', '.join(variants)} over {opts.duration:.0f} s ...",
              flush=True)
        runs = []
        for round_ in range(opts.rounds):
            if opts.rounds > 1:
                print(f"  round {round_ + 1}/{opts.rounds}", flush=True)
            for v in variants if opts.rounds > 1 else [None]:
                runs += run_idle(db, [v] if v else variants, opts.duration, opts.warmup,
                                 opts.poll_interval, opts.sequential, work)
        split = asyncio.run(per_poll_costs(db, opts.polls))
    print_table(runs, ["variant", "cpu_pct_of_core", "cpu_us_per_poll",
                      "context_switches_per_poll", "context_switches_per_s", "duration_s",
                      "polls_per_s", "loadavg_before"])
    extra: dict[str, Any] = {}
    if opts.rounds > 1:
        extra["medians"] = summarise(runs, variants)
        print("medians over the rounds:")
        print_table(extra["medians"], ["variant", "rounds", "cpu_pct_of_core",
                                       "context_switches_per_s", "cpu_vs_first"])
    print("one poll, CPU of all threads:")
    for k, v in split.items():
        print(f"  {k:<32} {v:8.1f}")
    name = "idle_reader_cpu" if opts.rounds == 1 else f"idle_reader_cpu-{'-'.join(variants)}"
    path = write_results(name, runs, {"per_poll_cpu_us": split,
                                      "target": {"cpu_pct_of_core": TARGET_PCT}, **extra},
                         opts.out_dir)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
