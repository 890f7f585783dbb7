"""What a command loads before it does anything (issue 15.2): start-up is imports, so the import
set is what keeps `warroom --version` and `warroom note` fast. Not timed: each check runs the
command in a fresh interpreter and reads `sys.modules` after `main()` returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

CHECK = """
import json, sys
from warroom.cli.main import main
try:
    code = main({argv!r})
except SystemExit as e:
    code = e.code
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update({"WARROOM_DB": str(db), "WARROOM_USER": "alice", "NO_COLOR": "1"})
    return env


def loaded(argv: list[str], db: Path) -> tuple[int, set[str]]:
    """(exit code, every module imported) of `warroom ARGV` in a fresh interpreter."""
    r = subprocess.run([sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True,
                       text=True, cwd=REPO, env=_env(db))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["code"], set(out["modules"])


def _under(modules: set[str], *packages: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


# Nothing a command needs before it knows which command it is.
HEAVY_FOR_PARSING = ("pydantic", "pydantic_core", "asyncio", "aiosqlite", "sqlite3",
                     "warroom.domain", "warroom.store", "warroom.settings", "warroom.cli.context",
                     "warroom.cli.incidents", "textual", "rich", "inspect")


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["note", "--help"]],
                         ids=" ".join)
def test_version_and_help_load_no_domain_store_pydantic_nor_asyncio(tmp_path: Path,
                                                                    argv: list[str]) -> None:
    code, modules = loaded(argv, tmp_path / "room.db")
    assert code == 0
    assert _under(modules, *HEAVY_FOR_PARSING) == []


def test_metrics_help_loads_only_the_definitions_it_prints(tmp_path: Path) -> None:
    code, modules = loaded(["metrics", "--help"], tmp_path / "room.db")
    assert code == 0
    assert _under(modules, *HEAVY_FOR_PARSING) == ["warroom.domain",
                                                   "warroom.domain.metrics",
                                                   "warroom.domain.metrics.definitions"]


def test_a_usage_error_still_loads_nothing_heavy(tmp_path: Path) -> None:
    code, modules = loaded(["no-such-command"], tmp_path / "room.db")
    assert code == 2
    assert _under(modules, "pydantic", "asyncio", "warroom.store", "warroom.cli.context") == []


def test_reading_the_environment_builds_no_pydantic_model(tmp_path: Path) -> None:
    """Every command reads it first; a model (and pydantic's plugin lookup) cost ~30 ms."""
    code = ("import sys; from warroom.settings import Settings; "
            "s = Settings.from_env({'WARROOM_LOCK_TIMEOUT': '2.5'}); "
            "assert s.lock_timeout == 2.5; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('pydantic', 'pydantic_core')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       env=_env(tmp_path / "room.db"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# What a note never needs: the dashboard, the servers, the other drivers, Markdown, and the
# other commands' implementations.
NOT_FOR_A_NOTE = ("textual", "rich", "aiohttp", "asyncpg", "markdown_it", "warroom.tui",
                  "warroom.serve", "warroom.ingest", "warroom.escalation", "warroom.content",
                  "warroom.demo", "warroom.config_file", "warroom.store.postgres",
                  "warroom.cli.room", "warroom.cli.alerts", "warroom.cli.comms",
                  "warroom.cli.escalation", "warroom.cli.metrics", "warroom.domain.config",
                  "warroom.domain.metrics", "warroom.domain.oncall",
                  "warroom.domain.incident.timeline", "warroom.domain.incident.clocks")


def test_note_and_ack_load_only_what_writing_an_event_needs(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    r = subprocess.run([sys.executable, "-m", "warroom", "declare", "--title", "db slow",
                        "--severity", "SEV-2"], capture_output=True, text=True, cwd=REPO,
                       env=_env(db))
    assert r.returncode == 0, r.stderr
    for argv in (["note", "INC-1", "checking the replica"], ["ack", "INC-1"], ["list"]):
        code, modules = loaded(argv, db)
        assert code == 0, argv
        assert _under(modules, *NOT_FOR_A_NOTE) == [], argv
        # It did write (or read) through the store: the check is not vacuous.
        assert "warroom.store.sqlite" in modules


def test_every_subcommand_names_a_handler_that_exists() -> None:
    """Handlers are named as text so that parsing imports none of them: a typo would only
    show when that command runs, so resolve every one here."""
    import argparse
    import inspect

    from warroom.cli.args import resolve_handler
    from warroom.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) > 30
    for name, p in sub.choices.items():
        handler = resolve_handler(p.get_default("handler"))
        assert callable(handler), name
        assert list(inspect.signature(handler).parameters) == ["ctx"], name


def test_the_grammar_spells_the_domain_values_as_the_domain_does() -> None:
    """warroom.cli.args.incidents spells these out to import no domain module."""
    from warroom.cli.args import incidents as grammar
    from warroom.domain.incident import commands
    from warroom.domain.incident.checklist import CHECKLIST
    from warroom.domain.incident.severity import DataRisk, Reputation, SecurityImpact
    from warroom.domain.incident.status import Phase

    assert grammar.NOTE_KINDS == commands.NOTE_KINDS
    assert tuple(i.key for i in CHECKLIST) == grammar.CHECKLIST_KEYS
    assert tuple(p.value for p in Phase) == grammar.PHASES
    assert tuple(d.value for d in DataRisk) == grammar.DATA_RISKS
    assert tuple(s.value for s in SecurityImpact) == grammar.SECURITY_IMPACTS
    assert tuple(r.value for r in Reputation) == grammar.REPUTATIONS
