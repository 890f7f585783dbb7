"""What a command loads at start-up: CLI commands never pay for Textual, SQLite rooms never for
the PostgreSQL driver. (Which package may import which is not tested here: the import
contracts in pyproject.toml hold that, and tests/test_tooling.py runs them.)"""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO

CHECK = """
import sys
{imports}
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
assert not bad, bad
"""


def _run(imports: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHECK.format(imports=imports)],
                          capture_output=True, text=True, cwd=REPO)


def test_cli_commands_do_not_import_textual() -> None:
    r = _run("from warroom.cli.main import build_parser\nbuild_parser()")
    assert r.returncode == 0, r.stderr


def test_sqlite_rooms_never_load_the_postgresql_driver() -> None:
    r = _run("import asyncio, tempfile, os\n"
             "from warroom.store import open_store\n"
             "from warroom.cli.main import build_parser\n"
             "build_parser()\n"
             "async def main():\n"
             "    s = await open_store(os.path.join(tempfile.mkdtemp(), 'r.db'))\n"
             "    await s.close()\n"
             "asyncio.run(main())\n"
             "assert 'asyncpg' not in sys.modules, 'asyncpg was imported'")
    assert r.returncode == 0, r.stderr
