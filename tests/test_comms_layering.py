"""The comms, runbook and postmortem domain stays pure; the CLI commands stay light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHECK = """
import sys
import warroom.domain.comms.messages, warroom.domain.incident.facts, warroom.domain.comms.postmortem
import warroom.domain.comms.runbook, warroom.domain.comms.stakeholders, warroom.domain.comms.raci
import warroom.domain.comms.markdown
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in {"textual", "rich", "aiosqlite", "sqlite3"}
               or m.startswith("warroom.store") or m.startswith("warroom.content"))
assert not heavy, heavy
from warroom.cli.main import build_parser
build_parser()
import warroom.cli.comms
bad = sorted(m for m in sys.modules if m.split(".")[0] == "textual")
assert not bad, bad
"""


def test_domain_modules_import_nothing_heavy() -> None:
    r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
