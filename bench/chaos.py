"""Chaos: kill -9 against the room's writers, and count what the room kept.

Three kinds of writer, each on a fresh room, in rounds; every round ends with SIGKILL:

- cli:   `--lanes` lanes each run `python -m warroom note INC TEXT` again and again; at a random
         moment of the round every `warroom` process still running is killed. A note is
         acknowledged when its process exited 0.
- api:   `--lanes` processes each open the store and write notes in a loop through
         `execute(..., retry=BACKGROUND)`, printing each note's text (flushed) once `execute`
         returned; at a random moment all are killed. Acknowledged = printed.
- serve: a real `warroom serve` (receiver and escalation engine) takes Alertmanager posts,
         `--lanes` in flight at once, each post one alert of its own; at a random moment the
         server is killed mid-post and started again for the next round. Acknowledged = the
         post was answered 200.

Every text and alert is unique, so after each kind the room is read back: `lost` = acknowledged
but not in the log (must be 0), `duplicated` = written more than once (must be 0), the writes
that were committed although their writer died before saying so (`committed_unacknowledged`,
allowed: nobody was told they were written, and a retry would reuse their ids), and
`PRAGMA integrity_check`.

    python bench/chaos.py                        # 20 cli, 40 api, 25 serve rounds (~3 min)
    python bench/chaos.py --quick                # two short rounds of each (the smoke test)
    python bench/chaos.py --kinds api --rounds-api 100

Writes bench/results/chaos.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    RESULTS_DIR,
    make_room,
    make_room_sync,
    print_table,
    scratch_dir,
    write_results,
)

KINDS = ("cli", "api", "serve")
TOKEN = "chaos-token-0123456789abcdef"


def _env(db: Path, config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_DB=str(db), WARROOM_USER="chaos", NO_COLOR="1",
               PYTHONPATH=str(REPO))
    if config is not None:
        env["WARROOM_CONFIG"] = str(config)
    return env


def _kill(proc: subprocess.Popen[Any]) -> bool:
    """SIGKILL if still running; whether it was."""
    if proc.poll() is not None:
        return False
    try:
        proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        return False
    proc.wait()
    return True


# ---- reading the room back ---------------------------------------------------------------------


def room_facts(db: Path) -> tuple[collections.Counter[str], collections.Counter[str], str]:
    """(note texts, attached alert keys, integrity), each with how many times it is in the log."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        notes: collections.Counter[str] = collections.Counter()
        alerts: collections.Counter[str] = collections.Counter()
        for kind, body in conn.execute(
                "SELECT kind, body FROM events WHERE kind IN ('note', 'alert_attached')"):
            data = json.loads(body)
            if kind == "note":
                notes[data.get("text", "")] += 1
            else:
                alerts[str(data.get("key", "")).removeprefix("am:")] += 1
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    return notes, alerts, str(check)


def tally(kind: str, rounds: int, kills: int, attempted: set[str], acked: set[str],
          stored: collections.Counter[str], integrity: str, seconds: float) -> dict[str, Any]:
    mine = {k: n for k, n in stored.items() if k in attempted}
    return {
        "kind": kind,
        "rounds": rounds,
        "killed": kills,
        "attempted": len(attempted),
        "acknowledged": len(acked),
        "lost": len(acked - set(mine)),
        "duplicated": sum(n - 1 for n in mine.values() if n > 1),
        "committed_unacknowledged": len(set(mine) - acked),
        "integrity_check": integrity,
        "seconds": round(seconds, 1),
    }


# ---- cli ---------------------------------------------------------------------------------------


def run_cli(work: Path, rounds: int, lanes: int, window: tuple[float, float],
            rng: random.Random) -> dict[str, Any]:
    db = work / "cli.db"
    (incident,) = make_room_sync(db)
    env = _env(db)
    attempted: set[str] = set()
    acked: set[str] = set()
    kills = 0
    start = time.monotonic()
    for r in range(rounds):
        end = time.monotonic() + rng.uniform(*window)
        running: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
        counters = [0] * lanes
        while True:
            now = time.monotonic()
            for lane in range(lanes):
                current = running.get(lane)
                if current is not None and current[0].poll() is not None:
                    if current[0].returncode == 0:
                        acked.add(current[1])
                    current = None
                    del running[lane]
                if current is None and now < end:
                    text = f"cli r{r} l{lane} n{counters[lane]}"
                    counters[lane] += 1
                    attempted.add(text)
                    running[lane] = (subprocess.Popen(
                        [sys.executable, "-m", "warroom", "note", incident, text],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                        cwd=REPO), text)
            if now >= end:
                break
            time.sleep(0.005)
        for proc, text in running.values():
            if _kill(proc):
                kills += 1
            elif proc.returncode == 0:
                acked.add(text)
    notes, _, integrity = room_facts(db)
    return tally("cli", rounds, kills, attempted, acked, notes, integrity,
                 time.monotonic() - start)


# ---- api ---------------------------------------------------------------------------------------


async def api_writer(db: str, incident: str, tag: str) -> None:
    """A writer process: notes in a loop through the one write path, each printed once written."""
    from warroom.domain.incident import commands
    from warroom.store import open_store
    from warroom.store.execute import BACKGROUND, execute

    store = await open_store(db)
    try:
        i = 0
        while True:
            text = f"{tag} n{i}"
            print(f"try {text}", flush=True)
            await execute(store, incident, lambda s, t=text: commands.add_note(s, t, "chaos"),
                          retry=BACKGROUND)
            print(f"ok {text}", flush=True)
            i += 1
    finally:
        await store.close()


def run_api(work: Path, rounds: int, lanes: int, window: tuple[float, float],
            rng: random.Random) -> dict[str, Any]:
    db = work / "api.db"
    (incident,) = make_room_sync(db)
    env = _env(db)
    attempted: set[str] = set()
    acked: set[str] = set()
    kills = 0
    start = time.monotonic()
    for r in range(rounds):
        procs = [subprocess.Popen(
            [sys.executable, __file__, "_api", str(db), incident, f"api r{r} l{lane}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO)
            for lane in range(lanes)]
        _wait_first_line(procs, 60.0)  # started writing: now the kill lands mid-loop
        time.sleep(rng.uniform(*window))
        for proc in procs:
            kills += _kill(proc)
            assert proc.stdout is not None
            for line in proc.stdout.read().decode().splitlines():
                what, _, text = line.partition(" ")
                if what == "try":
                    attempted.add(text)
                elif what == "ok":
                    acked.add(text)
    notes, _, integrity = room_facts(db)
    return tally("api", rounds, kills, attempted, acked, notes, integrity,
                 time.monotonic() - start)


def _wait_first_line(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Until every process printed something (or died): peek without consuming."""
    import select

    deadline = time.monotonic() + timeout
    pending = [p for p in procs if p.stdout is not None]
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select([p.stdout for p in pending], [], [], 0.05)
        pending = [p for p in pending if p.stdout not in ready and p.poll() is None]


# ---- serve -------------------------------------------------------------------------------------


def alert_post(key: str, group: str) -> str:
    return json.dumps({
        "receiver": "warroom", "status": "firing", "version": "4", "truncatedAlerts": 0,
        "groupKey": group, "groupLabels": {"service": "payments"},
        "commonLabels": {"alertname": "Chaos", "service": "payments"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.chaos:9093",
        "alerts": [{"status": "firing", "fingerprint": key,
                    "labels": {"alertname": "Chaos", "service": "payments", "post": key},
                    "annotations": {"summary": f"chaos {key}"},
                    "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "endsAt": "0001-01-01T00:00:00Z"}],
    })


async def _start_serve(db: Path, config: Path) -> tuple[asyncio.subprocess.Process, int]:
    env = _env(db, config)
    env["WARROOM_USER"] = "serve"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if not line:
        raise SystemExit("warroom serve did not start")
    info = json.loads(line)
    port = info.get("port") or int(str(info["listening"]).rsplit(":", 1)[-1])
    return proc, int(port)


async def run_serve_async(work: Path, rounds: int, lanes: int, window: tuple[float, float],
                          rng: random.Random) -> dict[str, Any]:
    import aiohttp

    db = work / "serve.db"
    await make_room(db, 0)
    config = work / "serve.toml"
    config.write_text(f'[alerts]\ntoken = "{TOKEN}"\n')
    attempted: set[str] = set()
    acked: set[str] = set()
    kills = 0
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=30)
    for r in range(rounds):
        proc, port = await _start_serve(db, config)
        url = f"http://127.0.0.1:{port}/alertmanager"
        end = time.monotonic() + rng.uniform(*window)

        async def lane(n: int, session: aiohttp.ClientSession, r: int = r,
                       url: str = url, end: float = end) -> None:
            i = 0
            while time.monotonic() < end + 60:  # until the server is gone
                key = f"r{r}-l{n}-p{i}"
                i += 1
                attempted.add(key)
                try:
                    async with session.post(url, data=alert_post(key, f"chaos-{r}-{n % 2}"),
                                            headers=headers) as answer:
                        await answer.read()
                        if answer.status == 200:
                            acked.add(key)
                except (aiohttp.ClientError, TimeoutError):
                    return

        async with aiohttp.ClientSession(timeout=timeout) as session:
            posting = [asyncio.ensure_future(lane(n, session)) for n in range(lanes)]
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            await proc.wait()
            await asyncio.gather(*posting)
    _, alerts, integrity = room_facts(db)
    return tally("serve", rounds, kills, attempted, acked, alerts, integrity,
                 time.monotonic() - start)


# ---- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_api":
        try:
            asyncio.run(api_writer(*args[1:4]))
        except KeyboardInterrupt:
            pass
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: cli, api, serve")
    p.add_argument("--rounds-cli", type=int, default=20)
    p.add_argument("--rounds-api", type=int, default=40)
    p.add_argument("--rounds-serve", type=int, default=25)
    p.add_argument("--lanes", type=int, default=4,
                   help="writers (cli, api) or posts in flight (serve) at once (default 4)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--quick", action="store_true",
                   help="two short rounds of each kind (the suite's smoke test)")
    p.add_argument("--dir", help="where to put the rooms (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(args)
    kinds = [k for k in opts.kinds.split(",") if k]
    if any(k not in KINDS for k in kinds):
        p.error(f"--kinds takes {', '.join(KINDS)}")
    rounds = {"cli": opts.rounds_cli, "api": opts.rounds_api, "serve": opts.rounds_serve}
    windows = {"cli": (2.0, 5.0), "api": (0.1, 1.0), "serve": (0.5, 2.0)}
    if opts.quick:
        rounds = dict.fromkeys(KINDS, 2)
        windows = {"cli": (3.0, 4.0), "api": (0.1, 0.3), "serve": (0.3, 0.6)}
    rng = random.Random(opts.seed)
    runs: list[dict[str, Any]] = []
    with scratch_dir(opts.dir) as work:
        for kind in kinds:
            print(f"chaos: {rounds[kind]} rounds of kill -9 against {kind} writers ...",
                  flush=True)
            if kind == "cli":
                runs.append(run_cli(work, rounds[kind], opts.lanes, windows[kind], rng))
            elif kind == "api":
                runs.append(run_api(work, rounds[kind], opts.lanes, windows[kind], rng))
            else:
                runs.append(asyncio.run(run_serve_async(work, rounds[kind], opts.lanes,
                                                        windows[kind], rng)))
    print_table(runs, ["kind", "rounds", "killed", "attempted", "acknowledged", "lost",
                       "duplicated", "committed_unacknowledged", "integrity_check", "seconds"])
    total = {"rounds": sum(r["rounds"] for r in runs),
             "acknowledged": sum(r["acknowledged"] for r in runs),
             "lost": sum(r["lost"] for r in runs),
             "duplicated": sum(r["duplicated"] for r in runs),
             "integrity_ok": all(r["integrity_check"] == "ok" for r in runs)}
    path = write_results("chaos", runs, {"total": total, "quick": opts.quick,
                                         "target": {"lost": 0, "duplicated": 0}}, opts.out_dir)
    print(f"written to {path}")
    return 0 if total["lost"] == 0 and total["duplicated"] == 0 and total["integrity_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
