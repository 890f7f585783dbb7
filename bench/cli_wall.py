"""Wall time of a mutating CLI command, each run a fresh process, as a script would run it.

Measured: `warroom note INC-1 TEXT` and `warroom ack INC-k` (each ack on an incident of its own,
since an incident is acknowledged once), both through `python -m warroom` and through the
console script installed next to the interpreter, on a room that already exists. The time is
taken around the whole subprocess (fork, exec, interpreter start, imports, opening the store,
the transaction with its fsync, printing, exit). Two references help read it:
`python -c pass` (the interpreter alone) and `warroom --version` (imports and argument parsing,
no store). Child CPU (user+sys) comes from getrusage(RUSAGE_CHILDREN).

Then `python -X importtime -m warroom note ...` is run a few times, and the biggest import costs
are reported (per module, cumulative, and per top-level package, self time summed), with the
median over the runs for each figure.

    python bench/cli_wall.py                  # 20 runs each (after 2 warm-up runs)
    python bench/cli_wall.py --runs 50

Writes bench/results/cli_wall.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS_DIR, make_room_sync, percentile, print_table, scratch_dir
from _common import write_results as write_json

TARGET_MS = 250.0


def cli_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({"WARROOM_DB": str(db), "WARROOM_USER": "bench", "NO_COLOR": "1"})
    return env


def entry_points() -> dict[str, list[str]]:
    """The two ways a person or a script starts warroom."""
    entries = {"python -m warroom": [sys.executable, "-m", "warroom"]}
    script = Path(sys.executable).parent / "warroom"
    if not script.exists():
        found = shutil.which("warroom")
        script = Path(found) if found else script
    if script.exists():
        entries["warroom (console script)"] = [str(script)]
    return entries


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run; a failed run is an error, not a figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def series(name: str, entry: str, make_argv: Callable[[int], list[str]], env: dict[str, str],
           runs: int, warmup: int) -> dict[str, Any]:
    for i in range(warmup):
        timed(make_argv(i), env)
    walls: list[float] = []
    cpus: list[float] = []
    for i in range(warmup, warmup + runs):
        wall, cpu = timed(make_argv(i), env)
        walls.append(wall * 1000)
        cpus.append(cpu * 1000)
    return {
        "command": name,
        "entry": entry,
        "runs": runs,
        "median_ms": round(statistics.median(walls), 1),
        "p90_ms": round(percentile(walls, 90), 1),
        "min_ms": round(min(walls), 1),
        "max_ms": round(max(walls), 1),
        "cpu_median_ms": round(statistics.median(cpus), 1),
    }


def parse_importtime(stderr: str) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, nesting depth) from -X importtime's lines."""
    out: dict[str, tuple[int, int, int]] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        out[name.strip()] = (int(self_us), int(cum_us), depth)
    return out


def import_costs(base: list[str], env: dict[str, str], repeats: int, top: int) -> dict[str, Any]:
    samples = []
    for i in range(repeats):
        p = subprocess.run([*base[:1], "-X", "importtime", *base[1:], "note", "INC-1",
                            f"importtime {i}"], env=env, cwd=REPO, capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError(f"importtime run exited {p.returncode}: {p.stderr[-500:]}")
        samples.append(parse_importtime(p.stderr))

    def med(module: str, field: int) -> float:
        return statistics.median(s[module][field] for s in samples if module in s)

    modules = set().union(*samples)
    total_self = statistics.median(sum(v[0] for v in s.values()) for s in samples)
    by_package: dict[str, list[int]] = defaultdict(lambda: [0] * repeats)
    for i, s in enumerate(samples):
        for module, (self_us, _, _) in s.items():
            by_package[module.split(".")[0]][i] += self_us
    packages = sorted(((k, statistics.median(v)) for k, v in by_package.items()),
                      key=lambda kv: -kv[1])
    cumulative = sorted(modules, key=lambda m: -med(m, 1))
    own = sorted(modules, key=lambda m: -med(m, 0))
    return {
        "repeats": repeats,
        "total_import_ms": round(total_self / 1000, 1),
        "modules_imported": round(statistics.median(len(s) for s in samples)),
        "textual_imported": any("textual" in s for s in samples),
        "rich_imported": any("rich" in s for s in samples),
        "by_package_self_ms": [{"package": k, "self_ms": round(v / 1000, 1)}
                               for k, v in packages[:top]],
        "top_cumulative_ms": [{"module": m, "cumulative_ms": round(med(m, 1) / 1000, 1),
                               "depth": samples[0].get(m, (0, 0, 0))[2]}
                              for m in cumulative[:top]],
        "top_self_ms": [{"module": m, "self_ms": round(med(m, 0) / 1000, 1)}
                        for m in own[:top]],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20, help="timed runs per series (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    p.add_argument("--importtime-runs", type=int, default=5,
                   help="-X importtime runs to take medians from (default 5)")
    p.add_argument("--top", type=int, default=15, help="import rows to report (default 15)")
    p.add_argument("--entries", default="module,script",
                   help="module (python -m warroom), script (the console script), or both "
                        "(default). A patched copy of the repo is measured with `module` only: "
                        "run from its folder, `python -m warroom` imports the copy")
    p.add_argument("--dir", help="where to put the room (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(sys.argv[1:] if argv is None else argv)

    wanted = set(opts.entries.split(","))
    entries = {k: v for k, v in entry_points().items()
               if ("module" if k.startswith("python -m") else "script") in wanted}
    if not entries:
        p.error("--entries takes module, script or both")
    per_series = opts.runs + opts.warmup
    with scratch_dir(opts.dir) as work:
        db = work / "room.db"
        # INC-1 takes the notes; every ack gets a fresh incident of its own.
        ids = make_room_sync(db, 1 + per_series * len(entries))
        env = cli_env(db)
        ack_ids = iter(ids[1:])
        python = [sys.executable]
        results = [
            series("python -c pass", "interpreter only", lambda i: [*python, "-c", "pass"],
                   env, opts.runs, opts.warmup),
            series("--version", "python -m warroom",
                   lambda i: [*python, "-m", "warroom", "--version"], env, opts.runs,
                   opts.warmup),
        ]
        for entry, base in entries.items():
            print(f"cli wall: note and ack through {entry}, {opts.runs} runs each ...",
                  flush=True)
            results.append(series("note", entry,
                                  lambda i, b=base: [*b, "note", "INC-1", f"bench note {i}"],
                                  env, opts.runs, opts.warmup))
            mine = [next(ack_ids) for _ in range(per_series)]
            results.append(series("ack", entry, lambda i, b=base, m=mine: [*b, "ack", m[i]],
                                  env, opts.runs, opts.warmup))
        imports = import_costs(next(iter(entries.values())), env, opts.importtime_runs,
                               opts.top)
    print_table(results, ["command", "entry", "runs", "median_ms", "p90_ms", "min_ms", "max_ms",
                          "cpu_median_ms"])
    print(f"\nimports (median of {imports['repeats']} runs of -X importtime ... note): "
          f"{imports['total_import_ms']} ms in {imports['modules_imported']} modules; "
          f"textual imported: {imports['textual_imported']}")
    print("by top-level package (self time summed):")
    for row in imports["by_package_self_ms"]:
        print(f"  {row['package']:<28} {row['self_ms']:7.1f} ms")
    print("biggest cumulative:")
    for row in imports["top_cumulative_ms"]:
        print(f"  {'  ' * row['depth']}{row['module']:<40} {row['cumulative_ms']:7.1f} ms")
    path = write_json("cli_wall", results, {"imports": imports,
                                             "target": {"median_ms": TARGET_MS}}, opts.out_dir)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
