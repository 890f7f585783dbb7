"""Run benchmarks on two versions of warroom in ONE run, interleaved, and print them side by side.

A refactor is "not slower" only when both versions were measured on the same machine in the same
minutes: load on a shared host moves every figure, so figures from different runs cannot be
compared. This script checks out a base revision into a temporary git worktree, then runs each
chosen benchmark on the base and on this checkout in turn (base, head, base, head... for
`--rounds` rounds), each in a fresh process whose `PYTHONPATH` points at its own tree. It prints
the median of every summary figure over the rounds and the head/base ratio.

    python bench/compare.py --base HEAD~3                      # every benchmark below
    python bench/compare.py --base main --bench cli_wall --rounds 3

Writes bench/results/compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS_DIR, print_table, write_results

# For each benchmark: its arguments for a comparison (smaller than its defaults, so a round
# takes a minute or two) and how to pick its summary figures from its results JSON.
BENCHES: dict[str, list[str]] = {
    "cli_wall": ["--runs", "15", "--importtime-runs", "1"],
    "dashboard_keypress": ["--samples", "120", "--tmux-samples", "0", "--incidents", "2000"],
    "dashboard_first_paint": ["--runs", "5", "--sizes", "120x40", "--split-runs", "0",
                              "--incidents", "10000"],
    "dashboard_remote_commit": ["--events", "150", "--incidents", "2000"],
    "alert_storm": ["--posts", "40", "--sustain", "15", "--idle-samples", "10"],
    "feed_latency": ["--events", "150"],
}
# The benchmarks that write one file (--out) instead of a folder of results (--out-dir).
OUT_FILE = {"alert_storm"}


def figures(name: str, data: dict[str, Any]) -> dict[str, float]:
    """The figures worth comparing, keyed by a readable label."""
    out: dict[str, float] = {}
    if name == "cli_wall":
        for r in data["runs"]:
            out[f"{r['command']} [{r['entry']}] median ms"] = r["median_ms"]
            if "x_pass" in r:  # the ratio to `python -c pass` of the same run (issue 15)
                out[f"{r['command']} [{r['entry']}] x pass"] = r["x_pass"]
    elif name == "dashboard_keypress":
        for r in data["runs"]:
            for q in ("p50_ms", "p95_ms", "p99_ms"):
                out[f"key {r['kind']} {q.replace('_ms', '')} ms"] = r[q]
    elif name == "dashboard_first_paint":
        paints = [r["paint_ms"] for r in data["runs"]]
        out["first paint median ms"] = statistics.median(paints)
        out["first paint max ms"] = max(paints)
        # CPU time of the program at first paint: what load on the host moves least.
        out["CPU at first paint median ms"] = statistics.median(
            r["cpu_at_paint_ms"] for r in data["runs"])
        out["metrics on screen median ms"] = statistics.median(
            r["metrics_ms"] for r in data["runs"])
    elif name == "dashboard_remote_commit":
        for r in data["runs"]:
            for q in ("p50_ms", "p95_ms", "p99_ms"):
                out[f"remote commit {q.replace('_ms', '')} ms"] = r[q]
    elif name == "feed_latency":
        for r in data["runs"]:
            n = r["readers"]
            for q in ("p50_ms", "p95_ms", "p99_ms"):
                out[f"feed {n} readers {q.replace('_ms', '')} ms"] = r[q]
            out[f"feed {n} readers missed+dup+reordered"] = (
                r["missed"] + r["duplicates"] + r["out_of_order"])
            if "reader_cpu_ms_per_event" in r:  # not in revisions before issue 15's second pass
                out[f"feed {n} readers CPU ms/event"] = r["reader_cpu_ms_per_event"]
    elif name == "alert_storm":
        for phase in ("idle", "sustained_storm"):
            for step, ms in data[f"keypress_{phase}_ms"].items():
                if isinstance(ms, dict):
                    for q in ("p50", "p95", "p99"):
                        out[f"storm {phase} {step} {q} ms"] = ms[q]
    return out


def run_one(tree: Path, name: str, extra: list[str], out_dir: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = ["--out", str(out_dir / f"{name}.json")] if name in OUT_FILE \
        else ["--out-dir", str(out_dir)]
    cmd = [sys.executable, str(tree / "bench" / f"{name}.py"), *BENCHES[name], *extra, *out]
    r = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{name} failed in {tree}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return figures(name, json.loads((out_dir / f"{name}.json").read_text()))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="git revision to compare against")
    p.add_argument("--bench", action="append", choices=sorted(BENCHES),
                   help="benchmark to run (repeatable; default: all)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    names = args.bench or list(BENCHES)

    work = Path(tempfile.mkdtemp(prefix="warroom-compare-"))
    base_tree = work / "base"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base_tree),
                    args.base], check=True)
    base_rev = subprocess.run(["git", "-C", str(base_tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    head_rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    samples: dict[str, dict[str, list[float]]] = {"base": {}, "head": {}}
    try:
        for rnd in range(args.rounds):
            for name in names:
                for side, tree in (("base", base_tree), ("head", REPO)):
                    print(f"round {rnd + 1}/{args.rounds}: {name} on {side}", file=sys.stderr)
                    out = work / f"out-{side}"
                    out.mkdir(exist_ok=True)
                    for k, v in run_one(tree, name, [], out).items():
                        samples[side].setdefault(k, []).append(v)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)],
                       check=False)
        shutil.rmtree(work, ignore_errors=True)

    rows: list[dict[str, Any]] = []
    for key in samples["head"]:
        b = statistics.median(samples["base"].get(key, [float("nan")]))
        h = statistics.median(samples["head"][key])
        rows.append({"figure": key, "base": round(b, 2), "head": round(h, 2),
                     "head/base": round(h / b, 3) if b else None})
    print(f"{', '.join(names)}: base {base_rev}, head {head_rev}, "
          f"median of {args.rounds} alternating rounds")
    print_table(rows, ["figure", "base", "head", "head/base"])
    write_results("compare", rows, {"base": base_rev, "head": head_rev, "rounds": args.rounds,
                                    "benches": names}, out_dir=args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
