#!/usr/bin/env python3
"""Benchmark `warroom metrics` over 10,000 incidents / 100,000 events. Target: <= 200 ms.

    .venv/bin/python bench/metrics.py [--runs 20] [--cli-runs 5] [--rebuild]

Builds the room once (bench/results/metrics-10k-v1.db, git-ignored; about ten seconds, through
the importer: one append per incident) and reuses it while it still holds exactly the expected
incidents and events. Then times, as medians of several runs:

  read+compute   store.summaries() + metrics_report() on an open store: the figure the
                 target is about (what the dashboard's metrics pane pays on each refresh)
  open+...+close the same plus opening and closing the store (what the CLI handler does)
  cli            `python -m warroom metrics --json` end to end, a process per run
  cli start-up   `python -m warroom --version`, to show how much of `cli` is the interpreter

Prints the figures and writes them to bench/results/metrics.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.domain.incident.events import Kind, idempotent_id, iso
from warroom.domain.incident.kinds.lifecycle import Acknowledged, Declared, StatusChanged
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.kinds.people import RoleAssigned
from warroom.domain.incident.kinds.records import CommunicationSent, Note
from warroom.domain.incident.roles import Role
from warroom.domain.incident.status import Status
from warroom.domain.metrics.report import metrics_report
from warroom.store.importer import import_history
from warroom.store.sqlite import SQLiteStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DB = RESULTS / "metrics-10k-v1.db"  # bump the suffix when the built history changes
OUT = RESULTS / "metrics.json"
INCIDENTS = 10_000
EVENTS_PER_INCIDENT = 10
END = datetime(2026, 11, 20, tzinfo=UTC)
TARGET_MS = 200.0
SERVICES = ("payments", "checkout", "auth", "search", "notifications", "pipeline")
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank")


def _history(incidents: int = INCIDENTS) -> list[dict[str, Any]]:
    """10,000 incidents of exactly 10 events each over the 3 years before END, deterministic.

    `incidents` makes a smaller room of the same shape (the dashboard benchmarks' smoke tests).
    """
    rng = random.Random(10_000)
    span = timedelta(days=3 * 365).total_seconds()
    starts = sorted(rng.random() * span for _ in range(incidents))
    lines: list[dict[str, Any]] = []
    for n, offset in enumerate(starts, start=1):
        detected = (END - timedelta(days=3 * 365) + timedelta(seconds=int(offset)))
        sev = rng.choices(("SEV-1", "SEV-2", "SEV-3", "SEV-4"), (0.04, 0.16, 0.45, 0.35))[0]
        who = rng.choice(PEOPLE)
        ack = timedelta(seconds=int(rng.lognormvariate(4.8, 0.7)))
        fixed = ack + timedelta(seconds=int(rng.lognormvariate(7.5, 0.8)))
        acked = rng.random() > 0.03
        resolved = n < incidents - 20 or rng.random() < 0.5

        first, work = detected + ack, fixed - ack

        def at(fraction: float, first: datetime = first, work: timedelta = work) -> datetime:
            """A moment between the acknowledgement (0) and the fix (1)."""
            return first + work * fraction

        bodies: list[tuple[datetime, str, Kind]] = [
            (detected, "alertmanager", Declared(
                title=f"incident {n}", severity=sev, service=rng.choice(SERVICES),
                started_at=detected - timedelta(seconds=int(rng.expovariate(1 / 150))),
                detected_at=detected, source="alertmanager")),
            (detected, "escalation", Escalated(level=1, targets=[who], reason="timeout")),
            (at(0), who, Acknowledged() if acked else Note(text="seen in the channel")),
            (at(0.02), who, RoleAssigned(role=Role.INCIDENT_COMMANDER, person=who)),
            (at(0.3), who, Note(text="looking at the dashboards")),
            (at(0.5), who, StatusChanged(from_status=Status.INVESTIGATING,
                                                 to_status=Status.IDENTIFIED)),
            (at(0.6), who, Note(text="rolling back")),
            (at(0.8), who, StatusChanged(from_status=Status.IDENTIFIED,
                                                 to_status=Status.MONITORING)),
            (at(0.85), who, CommunicationSent(template="update", audience="customers")),
            (at(1), who, StatusChanged(from_status=Status.MONITORING,
                                           to_status=Status.RESOLVED) if resolved
             else Note(text="still watching")),
        ]
        for version, (when, actor, body) in enumerate(bodies, start=1):
            lines.append({
                "incident_id": f"INC-{n}", "version": version,
                "event_id": idempotent_id(f"bench-metrics:{n}:{version}"), "kind": body.kind,
                "actor": actor, "at": iso(when.replace(microsecond=0)),
                "data": body.model_dump(mode="json", exclude_none=True),
            })
    return lines


async def _counts(path: Path) -> tuple[int, int]:
    async with await SQLiteStore.open(path, readonly=True) as store:
        return len(await store.summaries()), await store.last_seq()


async def ensure_db(rebuild: bool, *, path: Path = DB,
                    incidents: int = INCIDENTS) -> float | None:
    """The benchmark room; returns the build time in seconds, or None when reused.

    The dashboard benchmarks reuse this room (and, with `path` and `incidents`, smaller ones).
    """
    if path.exists() and not rebuild:
        try:
            if await _counts(path) == (incidents, incidents * EVENTS_PER_INCIDENT):
                return None
        except Exception:
            pass  # damaged or from an older schema: build it again
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lines = _history(incidents)
    async with await SQLiteStore.open(path) as store:
        await import_history(store, lines)
    return time.perf_counter() - started


def _ms(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {"median": round(statistics.median(ms), 2), "min": round(ms[0], 2),
            "max": round(ms[-1], 2)}


async def _timed(runs: int, fn: Callable[[], Any]) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t0)
    return out


async def bench_in_process(runs: int) -> dict[str, Any]:
    read: list[float] = []
    compute: list[float] = []
    async with await SQLiteStore.open(DB, readonly=True) as store:
        rows = await store.summaries()  # warm the page cache once, as a running pane has it

        async def read_and_compute() -> None:
            t0 = time.perf_counter()
            got = await store.summaries()
            t1 = time.perf_counter()
            metrics_report(got, now=END)
            read.append(t1 - t0)
            compute.append(time.perf_counter() - t1)

        both = await _timed(runs, read_and_compute)
    assert len(rows) == INCIDENTS

    async def open_read_compute_close() -> None:
        async with await SQLiteStore.open(DB, readonly=True) as s:
            metrics_report(await s.summaries(), now=END)

    whole = await _timed(max(3, runs // 2), open_read_compute_close)
    return {"read_compute_ms": _ms(both), "read_ms": _ms(read), "compute_ms": _ms(compute),
            "open_read_compute_close_ms": _ms(whole)}


def bench_cli(runs: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({"WARROOM_DB": str(DB), "WARROOM_USER": "bench"})

    def run(*args: str) -> float:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "warroom", *args], cwd=REPO, env=env,
                           capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"warroom {' '.join(args)} failed: {p.stderr.strip()}")
        return elapsed

    metrics = [run("metrics", "--json", "--until", iso(END)) for _ in range(runs)]
    startup = [run("--version") for _ in range(runs)]
    return {"cli_ms": _ms(metrics), "cli_startup_ms": _ms(startup)}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="in-process runs (median)")
    ap.add_argument("--cli-runs", type=int, default=5, help="CLI process runs (median)")
    ap.add_argument("--rebuild", action="store_true", help="build the room again")
    args = ap.parse_args()
    built = await ensure_db(args.rebuild)
    print(f"room: {DB.relative_to(REPO)} ({INCIDENTS} incidents, "
          f"{INCIDENTS * EVENTS_PER_INCIDENT} events)"
          + (f", built in {built:.1f} s" if built is not None else ", reused"))
    figures = await bench_in_process(args.runs)
    figures.update(bench_cli(args.cli_runs))
    median = figures["read_compute_ms"]["median"]
    result = {
        "benchmark": "warroom metrics",
        "incidents": INCIDENTS,
        "events": INCIDENTS * EVENTS_PER_INCIDENT,
        "runs": args.runs,
        "cli_runs": args.cli_runs,
        "target_ms": TARGET_MS,
        "meets_target": median <= TARGET_MS,
        **figures,
        "build_s": round(built, 1) if built is not None else None,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for key in ("read_compute_ms", "read_ms", "compute_ms", "open_read_compute_close_ms",
                "cli_ms", "cli_startup_ms"):
        f = figures[key]
        print(f"{key:<28} median {f['median']:8.1f} ms   (min {f['min']:.1f}, "
              f"max {f['max']:.1f})")
    verdict = "meets" if result["meets_target"] else "MISSES"
    print(f"read+compute median {median:.1f} ms {verdict} the {TARGET_MS:.0f} ms target "
          f"(load average {result['load_average'][0]})")
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
