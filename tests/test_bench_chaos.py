"""bench/chaos.py still runs, and the room still keeps every acknowledged write under kill -9.

Tiny parameters (two short rounds per kind of writer); the figures worth quoting come from the
default run (bench/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_bench_smoke import run_script


@pytest.mark.slow
def test_chaos_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    doc = run_script("chaos", tmp_path, "--quick")
    assert doc["quick"] is True
    assert [r["kind"] for r in doc["runs"]] == ["cli", "api", "serve"]
    for r in doc["runs"]:
        assert r["rounds"] == 2 and r["killed"] >= 1, r
        assert r["lost"] == 0 and r["duplicated"] == 0, r
        assert r["integrity_check"] == "ok"
        assert r["acknowledged"] <= r["attempted"]
    assert doc["runs"][1]["acknowledged"] > 0  # the API writers always get some in
    assert doc["total"]["lost"] == 0 and doc["total"]["integrity_ok"]
