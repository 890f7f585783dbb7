"""Commit-to-remote-spectator latency through the room server, on loopback (issue 14).

A real `warroom serve` process holds the room. N remote spectators (default 30), spread over
a few client processes, each open the room through the server exactly as `warroom watch
--server` does (`RemoteStore`: a snapshot, then one server-sent-events stream) and take
CLOCK_MONOTONIC when a batch reaches them. This process commits notes to the room's database
directly (as a CLI in the room would), one every 100 ms +- 50 %, and takes CLOCK_MONOTONIC right
after each append returns: the difference is commit -> the server notices (its poll) -> it
reads the batch once -> every stream -> the spectator holds the event.

Every spectator must receive every event exactly once and in commit order: `missed`,
`duplicates` and `out_of_order` count what did not.

    python bench/remote_spectators.py                       # 30 spectators, 200 events
    python bench/remote_spectators.py --spectators 1,30 --events 500

Writes bench/results/remote_spectators.json.
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
from pathlib import Path
from typing import Any

from _common import (
    HELLO,
    REPO,
    RESULTS_DIR,
    STOP,
    make_room_sync,
    print_table,
    record_feed,
    scratch_dir,
    summary_ms,
    wait_for_files,
    write_results,
)

TARGET_P99_MS = 50.0
TOKEN = "bench-spectator-token-0123456789"


# ---- a client process: several remote spectators ----------------------------------------


async def clients(url: str, outs: list[str]) -> None:
    from warroom.store.remote import RemoteStore

    async def one(out: str) -> None:
        store = await RemoteStore.open(url, TOKEN)
        await store.wait_live()
        await record_feed(store, out)

    await asyncio.gather(*(one(o) for o in outs))


# ---- the server, the writer and the orchestration -----------------------------------------


def start_server(db: Path, poll: float | None) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_DB=str(db), WARROOM_USER="server", WARROOM_TOKEN="bench-alert-token-0",
               WARROOM_SPECTATOR_TOKEN=TOKEN, NO_COLOR="1")
    cmd = [sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json",
           "--no-engine"]
    if poll is not None:
        cmd += ["--poll-interval", str(poll)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError("warroom serve did not start")
    return proc, f"http://127.0.0.1:{json.loads(line)['port']}"


async def write_events(db: Path, incident: str, count: int, interval: float, jitter: float,
                       seed: int, wait_live: list[Path], procs: list[subprocess.Popen[bytes]],
                       ) -> dict[int, float]:
    from warroom.domain.incident import commands
    from warroom.store import open_store

    rng = random.Random(seed)
    committed: dict[int, float] = {}
    store = await open_store(db)
    try:
        state = await store.get(incident)
        deadline = time.monotonic() + 120.0
        while True:  # warm up: every spectator has a live stream
            await store.append(incident, commands.add_note(state, HELLO, "bench"))
            try:
                await asyncio.to_thread(wait_for_files, wait_live, 1.0, procs)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
        await asyncio.sleep(1.0)
        for i in range(count):
            await asyncio.sleep(interval * (1 + rng.uniform(-jitter, jitter)))
            result = await store.append(incident, commands.add_note(state, f"bench {i}",
                                                                    "bench"))
            committed[result.events[0].seq] = time.monotonic()
        await store.append(incident, commands.add_note(state, STOP, "bench"))
    finally:
        await store.close()
    return committed


def run_once(work: Path, spectators: int, per_process: int, events: int, interval: float,
             jitter: float, seed: int, poll: float | None) -> dict[str, Any]:
    run_dir = work / f"spectators-{spectators}"
    run_dir.mkdir(parents=True, exist_ok=True)
    db = run_dir / "room.db"
    (incident,) = make_room_sync(db)
    server, url = start_server(db, poll)
    outs = [run_dir / f"spectator-{i}.json" for i in range(spectators)]
    groups = [outs[i:i + per_process] for i in range(0, len(outs), per_process)]
    procs = [subprocess.Popen([sys.executable, __file__, "_clients", url, *map(str, g)])
             for g in groups]
    try:
        wait_for_files([Path(f"{o}.ready") for o in outs], 180.0, procs)
        committed = asyncio.run(write_events(
            db, incident, events, interval, jitter, seed,
            [Path(f"{o}.live") for o in outs], procs))  # type: ignore[arg-type]
        for p in procs:
            p.wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        server.terminate()
        server.wait(30)

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
    return {
        "spectators": spectators,
        "client_processes": len(groups),
        "events": len(committed),
        "samples": len(latencies),
        **summary_ms(latencies),
        "min_ms": round(min(latencies) * 1000, 2) if latencies else None,
        "missed": missed,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "interval_s": interval,
        "server_poll_s": poll if poll is not None else "default (0.02)",
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_clients":
        asyncio.run(clients(args[1], args[2:]))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spectators", default="30",
                   help="comma-separated numbers of remote spectators (default 30)")
    p.add_argument("--per-process", type=int, default=10,
                   help="remote spectators per client process (default 10)")
    p.add_argument("--events", type=int, default=200, help="events per run (default 200)")
    p.add_argument("--interval", type=float, default=0.1,
                   help="mean seconds between two commits (default 0.1)")
    p.add_argument("--jitter", type=float, default=0.5,
                   help="each gap is interval*(1 +- jitter), uniform (default 0.5)")
    p.add_argument("--server-poll", type=float, default=None,
                   help="the server's poll interval (default: warroom serve's own, 0.02)")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--dir", help="where to put the rooms (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(args)

    runs = []
    with scratch_dir(opts.dir) as work:
        for n in (int(x) for x in opts.spectators.split(",")):
            print(f"remote spectators: {n}, {opts.events} events ...", flush=True)
            runs.append(run_once(work, n, opts.per_process, opts.events, opts.interval,
                                 opts.jitter, opts.seed, opts.server_poll))
    print_table(runs, ["spectators", "samples", "p50_ms", "p95_ms", "p99_ms", "max_ms",
                       "min_ms", "missed", "duplicates", "out_of_order"])
    path = write_results("remote_spectators", runs,
                         {"target": {"p99_ms_with_30_spectators": TARGET_P99_MS, "missed": 0}},
                         opts.out_dir)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
