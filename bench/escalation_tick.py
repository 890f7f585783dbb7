"""Benchmark: one engine tick over N open incidents (default 1,000).

Measures, on a fresh room in a temporary folder:
  - fire_l1: the tick that records L1 on every incident (N appends, one per incident);
  - idle: a tick where nothing is due (the steady state between levels; states are cached);
  - fire_l2: the tick at T+5 min that records L2 everywhere;
  - pure: `due_escalations` alone over the N states (no store).
The sample configuration has no channels, so no page leaves: the figures are the engine's own
cost (stall checks included).

    .venv/bin/python bench/escalation_tick.py [--incidents 1000] [--out bench/results/...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from warroom.config_file import read_config  # noqa: E402
from warroom.domain.incident import commands  # noqa: E402
from warroom.domain.incident.severity import Severity  # noqa: E402
from warroom.domain.oncall.escalation import due_escalations  # noqa: E402
from warroom.escalation.engine import Engine  # noqa: E402
from warroom.store.sqlite import SQLiteStore  # noqa: E402

T0 = datetime(2026, 3, 4, 14, 32, 15, tzinfo=UTC)
SERVICES = ("payments", "checkout", "auth", "search", "notifications", "pipeline")


async def run(n: int) -> dict[str, object]:
    config = read_config(REPO / "sample_data" / "warroom.toml")
    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.db")
        try:
            for i in range(n):
                await store.append(None, commands.declare(
                    f"incident {i}", Severity.SEV2, "bench", at=T0,
                    service=SERVICES[i % len(SERVICES)]))
            engine = Engine(store, config)
            figures: dict[str, float] = {}

            async def timed(name: str, now: datetime) -> int:
                t = time.perf_counter()
                fired = await engine.tick(now)
                figures[name + "_ms"] = round((time.perf_counter() - t) * 1000, 1)
                return len(fired)

            fired1 = await timed("fire_l1", T0)
            await timed("idle_first", T0 + timedelta(minutes=1))  # re-reads changed states
            idle = []
            for k in range(5):
                t = time.perf_counter()
                await engine.tick(T0 + timedelta(minutes=2, seconds=k))
                idle.append((time.perf_counter() - t) * 1000)
            figures["idle_ms_median"] = round(sorted(idle)[len(idle) // 2], 1)
            fired2 = await timed("fire_l2", T0 + timedelta(minutes=5))
            states = [await store.get(s.id) for s in await store.summaries(open_only=True)]
            t = time.perf_counter()
            for s in states:
                due_escalations(config, s, T0 + timedelta(minutes=7))
            figures["pure_decide_ms"] = round((time.perf_counter() - t) * 1000, 1)
            await engine.close()
        finally:
            await store.close()
    return {
        "benchmark": "escalation_tick",
        "incidents": n,
        "fired_l1": fired1,
        "fired_l2": fired2,
        **figures,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--incidents", type=int, default=1000)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "escalation_tick.json")
    a = p.parse_args()
    result = asyncio.run(run(a.incidents))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
