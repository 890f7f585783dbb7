"""Wall time of CLI commands, each run a fresh process, as a person or a script runs them.

Measured, interleaved (one run of each command in turn, then the next round, so that load on a
shared machine falls on all of them alike): `python -c pass` (the interpreter alone, the
baseline every figure is divided by), `warroom --version` (parsing only), `note INC-1 TEXT` and
`ack INC-k` (writes; each ack on an incident of its own, since an incident is acknowledged
once), `show INC-1` and `list` (reads), through `python -m warroom` and through the console
script installed next to the interpreter, on a room that already exists; and the floor, the
imports no store command can avoid (`python -c "import argparse, asyncio, aiosqlite; from
pydantic import BaseModel"` plus one model). The time is taken around the whole subprocess (fork,
exec, interpreter start, imports, opening the store, the transaction with its fsync, printing,
exit), with warroom's bytecode compiled first (as an installed package has it). Each figure is
a median over the runs and a ratio to `python -c pass` of the same run (issue 15's target: at
most 8x). Child CPU (user+sys) comes from getrusage(RUSAGE_CHILDREN).
The load average before and after is recorded: ratios survive load better than milliseconds.

`--base REV` measures a second revision in the same rounds (a temporary git worktree, run as
`python -m warroom` from its folder): before and after, in one run.

Then `python -X importtime -m warroom note ...` is run a few times, and the biggest import costs
are reported (per module, cumulative, and per top-level package, self time summed), with the
median over the runs for each figure.

    python bench/cli_wall.py                  # 20 runs each (after 2 warm-up runs)
    python bench/cli_wall.py --runs 50
    python bench/cli_wall.py --base main --entries module

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
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import REPO, RESULTS_DIR, make_room_sync, percentile, print_table, scratch_dir
from _common import write_results as write_json

TARGET_MS = 250.0
TARGET_X_PASS = 8.0  # issue 15: a command's median at most 8x `python -c pass`, same run

# What every store command must import whatever warroom does: the parser, the event loop, the
# SQLite driver and pydantic with its first model. Its ratio is how low `note` can go.
FLOOR = ("import argparse, asyncio, aiosqlite\nfrom pydantic import BaseModel\n"
         "class M(BaseModel):\n    x: int\nM(x=1)")


def cli_env(db: Path, tree: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({"WARROOM_DB": str(db), "WARROOM_USER": "bench", "NO_COLOR": "1"})
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
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


@dataclass
class Series:
    """One command in one tree: how to start its i-th run, and what the runs took."""

    command: str
    entry: str
    tree: str
    make_argv: Callable[[int], list[str]]
    env: dict[str, str]
    cwd: Path
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    def result(self, baseline_ms: float) -> dict[str, Any]:
        median = statistics.median(self.walls)
        return {
            "command": self.command,
            "entry": self.entry,
            "tree": self.tree,
            "runs": len(self.walls),
            "median_ms": round(median, 1),
            "x_pass": round(median / baseline_ms, 2),
            "p90_ms": round(percentile(self.walls, 90), 1),
            "min_ms": round(min(self.walls), 1),
            "max_ms": round(max(self.walls), 1),
            "cpu_median_ms": round(statistics.median(self.cpus), 1),
        }


def timed(argv: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run; a failed run is an error, not a figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def interleave(all_series: list[Series], runs: int, warmup: int) -> None:
    """Round after round, one run of every series; each round starts one series later, so no
    command always follows the same one (a page cache or a CPU boost left by the previous)."""
    n = len(all_series)
    for i in range(warmup + runs):
        for k in range(n):
            s = all_series[(i + k) % n]
            wall, cpu = timed(s.make_argv(i), s.env, s.cwd)
            if i >= warmup:
                s.walls.append(wall * 1000)
                s.cpus.append(cpu * 1000)


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


def worktree(rev: str) -> tuple[Path, str]:
    """A detached checkout of `rev` in a temporary folder, and its short name."""
    folder = Path(tempfile.mkdtemp(prefix="warroom-cli-wall-base-")) / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(folder),
                    rev], check=True)
    short = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return folder, short


def compile_bytecode(tree: Path) -> None:
    """Write warroom's .pyc files first, as an installed package has them: with
    PYTHONDONTWRITEBYTECODE set (CI, some shells) every run would compile every module from
    source, tens of milliseconds that no installed warroom pays."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "warroom")],
                   check=True, capture_output=True)


def head_rev() -> str:
    r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "head"


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
    p.add_argument("--base", metavar="REV",
                   help="also measure this git revision, interleaved in the same rounds "
                        "(through python -m warroom)")
    p.add_argument("--dir", help="where to put the room (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(sys.argv[1:] if argv is None else argv)

    wanted = set(opts.entries.split(","))
    entries = {k: v for k, v in entry_points().items()
               if ("module" if k.startswith("python -m") else "script") in wanted}
    if not entries:
        p.error("--entries takes module, script or both")
    per_series = opts.runs + opts.warmup
    load_before = os.getloadavg()
    base_tree: Path | None = None
    trees: list[tuple[str, Path | None, dict[str, list[str]]]] = [(head_rev(), None, entries)]
    try:
        if opts.base:
            base_tree, base_name = worktree(opts.base)
            trees.append((f"{base_name} (base)", base_tree,
                          {"python -m warroom": [sys.executable, "-m", "warroom"]}))
        for folder in (REPO, base_tree):
            if folder is not None:
                compile_bytecode(folder)
        with scratch_dir(opts.dir) as work:
            python = [sys.executable]
            plain = cli_env(work / "none.db")
            all_series = [
                Series("python -c pass", "interpreter only", "-", lambda i: [*python, "-c",
                                                                             "pass"],
                       plain, REPO),
                Series("floor", "argparse+asyncio+aiosqlite+pydantic", "-",
                       lambda i: [*python, "-c", FLOOR], plain, REPO),
            ]
            first_env: dict[str, str] = {}
            for t, (tree_name, folder, tree_entries) in enumerate(trees):
                db = work / f"room-{t}.db"
                # INC-1 takes the notes; every ack gets a fresh incident of its own.
                ids = make_room_sync(db, 1 + per_series * len(tree_entries))
                env = cli_env(db, folder)
                cwd = folder or REPO
                first_env = first_env or env
                ack_ids = iter(ids[1:])
                for entry, base in tree_entries.items():
                    mine = [next(ack_ids) for _ in range(per_series)]
                    all_series += [
                        Series("--version", entry, tree_name,
                               lambda i, b=base: [*b, "--version"], env, cwd),
                        Series("note", entry, tree_name,
                               lambda i, b=base: [*b, "note", "INC-1", f"bench note {i}"],
                               env, cwd),
                        Series("ack", entry, tree_name, lambda i, b=base, m=mine: [*b, "ack",
                                                                                   m[i]],
                               env, cwd),
                        Series("show", entry, tree_name,
                               lambda i, b=base: [*b, "show", "INC-1", "--last", "20"], env,
                               cwd),
                        Series("list", entry, tree_name, lambda i, b=base: [*b, "list"], env,
                               cwd),
                    ]
            print(f"cli wall: {len(all_series)} series, {opts.runs} interleaved rounds ...",
                  flush=True)
            interleave(all_series, opts.runs, opts.warmup)
            imports = import_costs(next(iter(entries.values())), first_env,
                                   opts.importtime_runs, opts.top)
    finally:
        if base_tree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(base_tree)], check=False)
            shutil.rmtree(base_tree.parent, ignore_errors=True)
    load_after = os.getloadavg()
    baseline = statistics.median(all_series[0].walls)
    results = [s.result(baseline) for s in all_series]
    print_table(results, ["command", "tree", "entry", "runs", "median_ms", "x_pass", "p90_ms",
                          "min_ms", "max_ms", "cpu_median_ms"])
    print(f"\nload average (1, 5, 15 min): before {load_before}, after {load_after}; "
          f"target: median <= {TARGET_X_PASS:g}x python -c pass")
    print(f"\nimports (median of {imports['repeats']} runs of -X importtime ... note): "
          f"{imports['total_import_ms']} ms in {imports['modules_imported']} modules; "
          f"textual imported: {imports['textual_imported']}")
    print("by top-level package (self time summed):")
    for row in imports["by_package_self_ms"]:
        print(f"  {row['package']:<28} {row['self_ms']:7.1f} ms")
    print("biggest cumulative:")
    for row in imports["top_cumulative_ms"]:
        print(f"  {'  ' * row['depth']}{row['module']:<40} {row['cumulative_ms']:7.1f} ms")
    path = write_json("cli_wall", results, {
        "imports": imports,
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "cpus": os.cpu_count(),
        "target": {"median_ms": TARGET_MS, "x_pass": TARGET_X_PASS},
    }, opts.out_dir)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
