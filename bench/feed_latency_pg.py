"""Commit-to-feed latency across processes on the PostgreSQL store.

One writer (this process) appends notes to one incident at a steady pace with random jitter and
takes CLOCK_MONOTONIC right after each `append` returns. N reader processes, each subscribed with
`store.subscribe()` (read-only, the store's default backup poll of 1 s, so what is measured is
the LISTEN/NOTIFY wake-up and the read by sequence), take CLOCK_MONOTONIC when a batch reaches
them. CLOCK_MONOTONIC is one clock for every process on a Linux host, so the difference is the
latency from "the writer was told it committed" to "a reader holds the event"; a reader can be
woken before the writer's answer arrives, so min_ms may be slightly negative.

Every reader must receive every event exactly once and in commit order: `missed`, `duplicates`
and `out_of_order` count what did not.

    python bench/feed_latency_pg.py                       # 10 readers, 200 events
    python bench/feed_latency_pg.py --readers 30 --events 500 --url postgresql://...

The room is a fresh database made on the server of --url (or $WARROOM_BENCH_PG_URL, or
$WARROOM_TEST_PG_URL: a role that may CREATE DATABASE) and dropped afterwards. Without a URL a
throwaway local cluster is started (tests/pg_cluster.py) and removed. The same JSON shape as
bench/feed_latency.py (SQLite) is written to bench/results/feed_latency_pg.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "feed_latency_pg.json"

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from _common import HELLO, STOP, percentile, record_feed  # noqa: E402  (after the path)

# ---- a reader process ----------------------------------------------------------------------


async def reader(url: str, out: str) -> None:
    from warroom.store import open_store

    await record_feed(await open_store(url, readonly=True), out)


# ---- the writer ----------------------------------------------------------------------------


def wait_for_files(paths: list[Path], timeout: float, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        dead = [p for p in procs if p.poll() not in (None, 0)]
        if dead:
            raise RuntimeError(f"a reader exited with {dead[0].returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {len(paths)} readers")
        time.sleep(0.01)


async def write_events(url: str, count: int, interval: float, jitter: float, seed: int,
                       live: list[Path], procs: list[subprocess.Popen[bytes]]) -> dict[int, float]:
    from warroom.domain.incident import commands
    from warroom.domain.incident.severity import Severity
    from warroom.store import open_store

    rng = random.Random(seed)
    committed: dict[int, float] = {}
    store = await open_store(url)
    try:
        inc = (await store.append(None, commands.declare("bench", Severity.SEV3, "bench"))
               ).incident_id
        state = await store.get(inc)
        deadline = time.monotonic() + 120
        while True:  # until every reader has a live feed
            await store.append(inc, commands.add_note(state, HELLO, "bench"))
            try:
                await asyncio.to_thread(wait_for_files, live, 1.0, procs)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
        await asyncio.sleep(0.5)
        for i in range(count):
            await asyncio.sleep(interval * (1 + rng.uniform(-jitter, jitter)))
            result = await store.append(inc, commands.add_note(state, f"bench {i}", "bench"))
            committed[result.events[0].seq] = time.monotonic()
        await store.append(inc, commands.add_note(state, STOP, "bench"))
    finally:
        await store.close()
    return committed


async def admin(url: str, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def run(server_url: str, readers: int, events: int, interval: float, jitter: float,
        seed: int, work: Path) -> dict[str, Any]:
    name = f"warroom_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    parts = urllib.parse.urlsplit(server_url)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    try:
        version = asyncio.run(admin(url, "SHOW server_version"))

        async def init() -> None:  # the writer makes the schema before readers open
            from warroom.store import open_store

            await (await open_store(url)).close()

        asyncio.run(init())
        outs = [work / f"reader-{i}.json" for i in range(readers)]
        procs = [subprocess.Popen([sys.executable, __file__, "_reader", url, str(o)])
                 for o in outs]
        try:
            wait_for_files([Path(f"{o}.ready") for o in outs], 180.0, procs)
            committed = asyncio.run(write_events(
                url, events, interval, jitter, seed, [Path(f"{o}.live") for o in outs], procs))
            for p in procs:
                p.wait(timeout=60)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    latencies: list[float] = []
    missed = duplicates = out_of_order = 0
    for out in outs:
        received = json.loads(out.read_text())["received"] if out.exists() else []
        seqs = [seq for seq, _ in received]
        duplicates += len(seqs) - len(set(seqs))
        out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        got = dict(received)
        missed += sum(1 for seq in committed if seq not in got)
        latencies.extend(got[seq] - t for seq, t in committed.items() if seq in got)
    ms = [x * 1000 for x in latencies]
    return {
        "backend": "postgresql",
        "readers": readers,
        "events": len(committed),
        "samples": len(ms),
        "p50_ms": round(percentile(ms, 50), 2) if ms else None,
        "p99_ms": round(percentile(ms, 99), 2) if ms else None,
        "min_ms": round(min(ms), 2) if ms else None,
        "max_ms": round(max(ms), 2) if ms else None,
        "missed": missed,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "interval_s": interval,
        "server_version": version,
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_reader":
        asyncio.run(reader(args[1], args[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readers", type=int, default=10, help="reader processes (default 10)")
    p.add_argument("--events", type=int, default=200, help="events per run (default 200)")
    p.add_argument("--interval", type=float, default=0.05,
                   help="mean seconds between two commits (default 0.05)")
    p.add_argument("--jitter", type=float, default=0.5,
                   help="each gap is interval*(1 +- jitter), uniform (default 0.5)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--url", help="a PostgreSQL URL whose role may CREATE DATABASE")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output (default {RESULTS})")
    opts = p.parse_args(args)

    import tempfile

    url = opts.url or os.environ.get("WARROOM_BENCH_PG_URL") or os.environ.get(
        "WARROOM_TEST_PG_URL")
    cluster = None
    if not url:
        sys.path.insert(0, str(REPO / "tests"))
        import pg_cluster  # type: ignore[import-not-found]

        cluster = pg_cluster.start()
        url = cluster.url
    try:
        with tempfile.TemporaryDirectory(prefix="warroom-bench-") as work:
            result = run(url, opts.readers, opts.events, opts.interval, opts.jitter, opts.seed,
                         Path(work))
    finally:
        if cluster is not None:
            pg_cluster.stop(cluster.directory)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"postgresql, {result['readers']} readers, {result['samples']} samples: "
          f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
          f"(missed {result['missed']}, duplicates {result['duplicates']}, "
          f"out of order {result['out_of_order']})")
    print(f"wrote {opts.out}")
    return 0 if not (result["missed"] or result["duplicates"] or result["out_of_order"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
