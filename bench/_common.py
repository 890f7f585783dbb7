"""What every benchmark script shares: machine facts, percentiles, a fresh room, the JSON file.

The scripts are run as `python bench/<name>.py` (this folder is then on sys.path), so they import
this module as `_common`. Nothing here is timed: it only prepares and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# The scripts import warroom from the checkout they sit in, whatever is installed.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def machine_info() -> dict[str, Any]:
    """Enough to tell two runs' machines apart, and to see how busy this one was."""
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    import aiosqlite  # a dependency of warroom: always there

    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolated between the two nearest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max of durations given in seconds, in milliseconds rounded to 0.01."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else math.nan,
    }


def write_results(name: str, runs: list[dict[str, Any]], extra: dict[str, Any] | None = None,
                  out_dir: Path | None = None) -> Path:
    """bench/results/<name>.json: {"benchmark", "machine", "runs", ...extra}.

    Written to a temporary name and renamed, so a reader never sees half a file.
    """
    folder = out_dir or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"benchmark": name, "machine": machine_info(), "runs": runs}
    if extra:
        doc.update(extra)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


@contextlib.contextmanager
def scratch_dir(given: str | None) -> Iterator[Path]:
    """Where the benchmark's rooms live: a local disk (SQLite WAL refuses network ones).

    A folder we made is removed afterwards; one the caller named is kept for inspection.
    """
    if given:
        p = Path(given)
        p.mkdir(parents=True, exist_ok=True)
        yield p
        return
    p = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    try:
        yield p
    finally:
        shutil.rmtree(p, ignore_errors=True)


async def make_room(db: Path, incidents: int = 1) -> list[str]:
    """A fresh room with `incidents` declared incidents; returns their ids."""
    from warroom.domain.incident import commands
    from warroom.domain.incident.severity import Severity
    from warroom.store.sqlite import SQLiteStore

    store = await SQLiteStore.open(db)
    ids: list[str] = []
    try:
        for i in range(incidents):
            result = await store.append(
                None, commands.declare(f"bench incident {i + 1}", Severity.SEV2, "bench",
                                       service="payments"))
            ids.append(result.incident_id)
    finally:
        await store.close()
    return ids


def make_room_sync(db: Path, incidents: int = 1) -> list[str]:
    return asyncio.run(make_room(db, incidents))


def wait_for_files(paths: Iterable[Path], timeout: float, procs: Sequence[Any] = ()) -> None:
    """Wait until every path exists; fail early if one of `procs` (Popen) died meanwhile."""
    pending = list(paths)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [p for p in pending if not p.exists()]
        if not pending:
            return
        for proc in procs:
            if proc.poll() is not None and proc.returncode != 0:
                raise RuntimeError(f"a worker process exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} worker(s) not ready after {timeout:.0f} s")
        time.sleep(0.05)


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned table on stdout: the figures a person reads after a run."""
    cells = [[str(c) for c in columns]] + [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for n, row in enumerate(cells):
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-" if value is None else str(value)


# ---- the feed-latency readers (SQLite and PostgreSQL share them) ------------------------------

HELLO = "bench: hello"  # the warm-up event: a reader that got it has a live feed
STOP = "bench: stop"  # the last event: readers write what they saw and exit


async def record_feed(store: Any, out: str) -> None:
    """Subscribe from now on, note when each event arrives (time.monotonic(), comparable across
    processes on one host), and write them to `out` when the STOP event comes."""
    import json
    import time
    from pathlib import Path

    received: list[tuple[int, float]] = []
    live = Path(out + ".live")
    try:
        since = await store.last_seq()
        Path(out + ".ready").touch()
        async for batch in store.subscribe(since):
            now = time.monotonic()
            done = False
            for e in batch:
                text = e.data.get("text")
                if text == HELLO:
                    live.touch()
                elif text == STOP:
                    done = True
                else:
                    received.append((e.seq, now))
            if done:
                break
    finally:
        await store.close()
    Path(out).write_text(json.dumps({"received": received}))
