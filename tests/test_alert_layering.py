"""The alert code keeps the layers: a pure domain, entry points without Textual."""

from __future__ import annotations

from .test_layering import _run


def test_alert_domain_is_pure() -> None:
    r = _run("import warroom.domain.alerts.formats, warroom.domain.alerts.routing\n"
             "import warroom.domain.alerts.automation, warroom.domain.alerts.state\n"
             "for m in ('aiohttp', 'aiosqlite', 'sqlite3', 'asyncio.subprocess'):\n"
             "    assert m not in sys.modules, m")
    assert r.returncode == 0, r.stderr


def test_receiver_and_server_do_not_import_textual() -> None:
    r = _run("import warroom.ingest.receiver, warroom.serve.http, warroom.serve.run\n"
             "import warroom.cli.alerts")
    assert r.returncode == 0, r.stderr
