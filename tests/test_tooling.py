"""The rules the tools enforce: `lint-imports` (the contracts in pyproject.toml) and `ruff check`
(with the domain's banned clock reads, random ids and file I/O in warroom/domain/ruff.toml) pass
on the tree, and fail on a copy of it with one rule broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

BIN = Path(sys.executable).parent


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH: import-linter finds the package to analyse by importing it, so a copy in
    # cwd must come before the editable install of the checkout.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(BIN / name), *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return _tool("lint-imports", "--no-cache", cwd=cwd)


def _ruff(cwd: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return _tool("ruff", "check", "--no-cache", "--output-format", "concise", *paths, cwd=cwd)


def test_the_import_contracts_hold() -> None:
    r = _lint_imports(REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_ruff_passes() -> None:
    r = _ruff(REPO, "warroom", "tests", "bench")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its settings, to break."""
    shutil.copytree(REPO / "warroom", tmp_path / "warroom",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


# A module of its own, so the plant does not depend on what the domain's modules hold today.
PLANTED = Path("warroom/domain/planted.py")


def _plant(tree: Path, code: str) -> None:
    (tree / PLANTED).write_text('"""Planted by tests/test_tooling.py."""\n\n' + code,
                                encoding="utf-8")


def test_the_copy_passes_before_anything_is_planted(tree: Path) -> None:
    """So the failures below are the planted lines', and the copy is what the tools read."""
    assert _lint_imports(tree).returncode == 0
    assert _ruff(tree, "warroom").returncode == 0


def test_a_clock_read_in_the_domain_fails_ruff(tree: Path) -> None:
    _plant(tree, "from datetime import datetime\n\n\n"
                 "def planted() -> datetime:\n    return datetime.now()\n")
    r = _ruff(tree, "warroom")
    assert r.returncode == 1, r.stdout
    assert f"{PLANTED}:7:12: TID251 `datetime.datetime.now` is banned" in r.stdout, r.stdout


@pytest.mark.parametrize("line", ["datetime.now(UTC)", "time.time()", "uuid.uuid4()",
                                  'open("incident.json")'])
def test_each_banned_call_fails_ruff(tree: Path, line: str) -> None:
    _plant(tree, "import time\nimport uuid\nfrom datetime import UTC, datetime\n\n\n"
                 f"def planted() -> object:\n    return {line}\n")
    r = _ruff(tree, str(PLANTED))
    assert r.returncode == 1, r.stdout
    assert ("TID251" in r.stdout) or ("PTH123" in r.stdout), r.stdout


def test_the_bans_apply_to_the_domain_only(tree: Path) -> None:
    path = tree / "warroom" / "store" / "clock.py"
    path.write_text(path.read_text(encoding="utf-8")
                    + "\n\ndef _planted() -> datetime:\n    return datetime.now(UTC)\n",
                    encoding="utf-8")
    assert _ruff(tree, "warroom").returncode == 0


def test_importing_textual_in_the_domain_fails_lint_imports(tree: Path) -> None:
    _plant(tree, "import textual  # noqa: F401\n")
    assert _ruff(tree, "warroom").returncode == 0  # only the contract sees it
    r = _lint_imports(tree)
    assert r.returncode == 1, r.stdout
    assert "BROKEN" in r.stdout
    assert "warroom.domain.planted -> textual" in r.stdout, r.stdout
