"""The benchmark scripts still run and still write the JSON the README describes.

Tiny parameters: these check that each script works end to end and that its correctness figures
hold (no missed event, no write error, no Textual on the CLI path), never how fast anything is.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import REPO

BENCH = REPO / "bench"


def run_script(name: str, tmp_path: Path, *args: str, result: str | None = None
               ) -> dict[str, Any]:
    out_dir = tmp_path / "results"
    p = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--dir", str(tmp_path / "work"),
         "--out-dir", str(out_dir), *args],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "written to" in p.stdout
    doc = json.loads((out_dir / f"{result or name}.json").read_text())
    assert doc["benchmark"] == (result or name)
    machine = doc["machine"]
    assert machine["cores"] >= 1 and machine["python"] and machine["sqlite"] and machine["date"]
    assert not list(out_dir.glob("*.tmp"))
    return doc


def _load_common() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_common", BENCH / "_common.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_percentile_interpolates_between_ranks() -> None:
    common = _load_common()
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert common.percentile(values, 50) == 30.0
    assert common.percentile(values, 0) == 10.0 and common.percentile(values, 100) == 50.0
    assert common.percentile(values, 90) == pytest.approx(46.0)
    assert common.percentile([7.0], 99) == 7.0
    assert common.summary_ms([0.001, 0.002, 0.003])["p50_ms"] == 2.0


@pytest.mark.slow
def test_feed_latency_every_reader_gets_every_event(tmp_path: Path) -> None:
    doc = run_script("feed_latency", tmp_path, "--readers", "1,2", "--events", "5",
                     "--interval", "0.02")
    runs = doc["runs"]
    assert [r["readers"] for r in runs] == [1, 2]
    for r in runs:
        assert r["backend"] == "sqlite" and r["variant"] == "store"
        assert r["events"] == 5 and r["samples"] == 5 * r["readers"]
        assert r["missed"] == 0 and r["duplicates"] == 0 and r["out_of_order"] == 0
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"]


@pytest.mark.slow
def test_feed_latency_patched_poller_also_misses_nothing(tmp_path: Path) -> None:
    doc = run_script("feed_latency", tmp_path, "--readers", "2",
                     "--events", "5", "--interval", "0.02", "--variant", "poll-thread",
                     result="feed_latency-poll-thread")
    (run,) = doc["runs"]
    assert run["variant"] == "poll-thread"
    assert run["samples"] == 10 and run["missed"] == 0 and run["out_of_order"] == 0


@pytest.mark.slow
def test_idle_reader_cpu_reports_every_variant(tmp_path: Path) -> None:
    doc = run_script("idle_reader_cpu", tmp_path, "--duration", "0.5", "--warmup", "0",
                     "--polls", "20")
    assert [r["variant"] for r in doc["runs"]] == ["store", "poll", "poll-thread",
                                                   "inline-sqlite3", "floor"]
    for r in doc["runs"]:
        assert r["cpu_pct_of_core"] >= 0 and r["polls_per_s"] == 20.0
    assert set(doc["per_poll_cpu_us"]) == {"asyncio_timer_wakeup_us",
                                           "data_version_via_aiosqlite_us",
                                           "data_version_plain_sqlite3_us"}


@pytest.mark.slow
def test_write_contention_loses_nothing_and_raises_nothing(tmp_path: Path) -> None:
    doc = run_script("write_contention", tmp_path, "--writers", "3", "--duration", "0.5")
    assert [r["mode"] for r in doc["runs"]] == ["shared", "separate"]
    for r in doc["runs"]:
        assert r["writers"] == 3 and len(r["per_writer_events_per_s"]) == 3
        assert r["events"] > 0 and r["errors"] == 0 and r["error_kinds"] == {}
        assert r["events_in_log"] == r["events"] and r["log_matches_acks"] is True
        assert r["integrity_check"] == "ok"
        assert set(r["append"]) == {"p50_ms", "p95_ms", "p99_ms", "max_ms"}


@pytest.mark.slow
def test_cli_wall_runs_the_real_commands_without_textual(tmp_path: Path) -> None:
    doc = run_script("cli_wall", tmp_path, "--runs", "2", "--warmup", "0",
                     "--importtime-runs", "1", "--top", "5")
    commands = {(r["command"], r["entry"]) for r in doc["runs"]}
    for command in ("note", "ack", "show", "list", "--version"):
        assert (command, "python -m warroom") in commands
    assert ("python -c pass", "interpreter only") in commands
    for r in doc["runs"]:
        assert r["runs"] == 2 and r["min_ms"] <= r["median_ms"] <= r["max_ms"]
        assert r["x_pass"] > 0
    imports = doc["imports"]
    assert imports["textual_imported"] is False
    assert imports["total_import_ms"] > 0 and len(imports["top_cumulative_ms"]) == 5
    assert any(row["module"].startswith("warroom.") for row in imports["top_cumulative_ms"])


@pytest.mark.slow
def test_alert_storm_accounts_for_every_alert(tmp_path: Path) -> None:
    out = tmp_path / "storm.json"
    p = subprocess.run(
        [sys.executable, str(BENCH / "alert_storm.py"), "--posts", "4", "--alerts-per-post",
         "5", "--services", "2", "--idle-samples", "2", "--sustain", "0.5", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert p.returncode == 0, (p.stdout, p.stderr)
    doc = json.loads(out.read_text())
    assert doc["incidents"] == doc["incidents_expected"] == 2
    assert doc["alert_records"] == 20 and doc["every_alert_accounted_for"] is True
    assert (doc["alerts_attached"] + doc["alerts_counted_on_repeats"]
            == doc["alerts_posted_with_repeats"] >= 20)
    assert set(doc["http_statuses"]) == {"200"}
    assert doc["keypress_idle_ms"]["samples"] == 2
