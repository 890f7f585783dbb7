"""The escalation commands stay light: they load neither Textual nor aiohttp. (That the domain
imports no I/O library is an import contract in pyproject.toml.)"""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout
    return set(out.split())


def test_escalation_commands_do_not_load_the_dashboard() -> None:
    mods = _loaded_after(
        "from warroom.cli.main import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['oncall', '--config', 'sample_data/warroom.toml', '--at', '2025-03-01T00:00Z'])"
    )
    assert "textual" not in mods and "aiohttp" not in mods
