"""The comms commands stay light: they load no Textual. (That the comms domain imports nothing
of the store, the content readers or Rich is an import contract in pyproject.toml.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHECK = """
import sys
from warroom.cli.main import build_parser
build_parser()
import warroom.cli.comms
bad = sorted(m for m in sys.modules if m.split(".")[0] == "textual")
assert not bad, bad
"""


def test_comms_commands_do_not_load_the_dashboard() -> None:
    r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
