"""The dashboard's remaining keys: escalate, communications, runbook, postmortem, metrics
switch; and the bell and flash when a page goes out."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.tui.documents import MarkdownScreen, MessageScreen
from warroom.tui.screens import ChoiceScreen, ConfirmScreen

from .tui_support import make_app, seeded_db, settle


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


async def test_e_escalates_one_level_after_asking(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("e")
        assert isinstance(app.screen, ConfirmScreen)
        assert "L1" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.dashboard.state.escalations == []
        await pilot.press("e", "y")
        await settle(pilot, lambda: len(app.dashboard.state.escalations) == 1)
        fired = app.dashboard.state.escalations[0]
        assert (fired.level, fired.reason) == (1, "manual")
        await settle(pilot, lambda: any("escalated manually to L1" in a
                                        for a in app.dashboard.alarms))


async def test_engine_in_the_terminal_climbs_and_every_screen_rings(room: Path) -> None:
    writer = make_app(room, engine=True)
    watcher = make_app(room, actor="bob", spectator=True)
    async with watcher.run_test(size=(80, 24)) as pv:
        # watching before the page goes out
        await settle(pv, lambda: watcher.dashboard.state is not None)
        async with writer.run_test(size=(160, 48)) as pw:
            await settle(pw, lambda: writer.dashboard.state is not None
                         and writer.dashboard.state.escalations != [])
            assert writer.dashboard.state.escalations[0].level == 1
            await settle(pv, lambda: any("escalated to L1" in a for a in watcher.dashboard.alarms))
            assert watcher.session.engine is None  # spectators never run the engine
            pane = str(writer.query_one("#escalation-pane").render())
            assert "L1" in pane and "FIRED" in pane


async def test_c_previews_edits_and_marks_a_message_sent(room: Path) -> None:
    app = make_app(room)
    copied: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("c")
        assert isinstance(app.screen, ChoiceScreen)
        assert "Customers" in app.screen.hint.plain  # the stakeholder plan for SEV-1
        await pilot.press("1")  # initial
        await settle(pilot, lambda: isinstance(app.screen, MessageScreen))
        text = app.screen.text
        assert "[bold red]failing[/]" in text and "\\x1b[31m" in text  # literal, never markup
        assert "\x1b" not in text
        await pilot.press("ctrl+g")
        assert copied == [text]
        await pilot.press("end")
        for ch in " More soon.":
            await pilot.press(ch if ch != " " else "space")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("1")  # customers
        await settle(pilot, lambda: len(app.dashboard.state.communications) == 1)
        sent = app.dashboard.state.communications[0]
        assert (sent.template, sent.audience, sent.actor) == ("initial", "customers", "alice")
        assert "first_update" in app.dashboard.state.checklist
        events = await app.store.events("INC-1")
        assert "Investigating More soon." in events[-1].data["text"]  # the edited text is sent
        assert not isinstance(app.screen, MessageScreen)


async def test_spectator_can_read_a_message_but_not_mark_it_sent(room: Path) -> None:
    app = make_app(room, spectator=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("c", "2")
        await settle(pilot, lambda: isinstance(app.screen, MessageScreen))
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "spectator" in app.dashboard.last_error
        assert app.dashboard.state.communications == []


async def test_b_opens_the_services_runbook(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("b")
        await settle(pilot, lambda: isinstance(app.screen, MarkdownScreen))
        assert "payments" in app.screen.title_text
        assert "## Emergency Procedures" in app.screen.markdown
        await pilot.press("escape")
        assert not isinstance(app.screen, MarkdownScreen)


async def test_capital_p_shows_and_saves_the_postmortem(room: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, MarkdownScreen))
        assert "INC-1" in app.screen.markdown
        await pilot.press("ctrl+s", "enter")  # the default: postmortems/ beside the room
        saved = room.parent / "postmortems" / "INC-1-postmortem.md"
        await settle(pilot, saved.exists)
        assert saved.read_text() == app.screen.markdown


async def test_m_switches_metrics_and_on_call_load(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.metrics_report is not None)
        assert app.dashboard.metrics_report.incidents == 2
        pane = app.query_one("#metrics-pane")
        assert "MTTA" in str(pane.render())
        await pilot.press("m")
        await settle(pilot, lambda: app.dashboard.oncall_rows is not None)
        assert pane.border_title == "On-call load"
        assert "On-call load" in str(pane.render())
        await pilot.press("m")
        await settle(pilot, lambda: "MTTA" in str(pane.render()))


async def test_l_shows_alert_payloads_and_cleared_alerts_suggest_monitoring(tmp_path: Path) -> None:
    from .conftest import REPO, run_cli

    db = tmp_path / "alerts.db"
    alerts = REPO / "sample_data" / "alerts"
    for name in ("alertmanager_firing.json", "alertmanager_resolved.json"):
        r = run_cli(db, "ingest", str(alerts / name))
        assert r.code == 0, r.err
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        assert app.dashboard.state.source == "alertmanager"
        status = str(app.query_one("#status-pane").render())
        assert "ALL ALERTS RESOLVED: move to Monitoring?" in status
        await pilot.press("l")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "TextScreen")
        body = app.screen.body.plain
        assert "alertmanager" in body and "service: payments" in body
        assert body.count("firing") >= 2
        await pilot.press("escape")
        await pilot.press("s", "m", "enter")  # no reason given
        await settle(pilot, lambda: app.dashboard.state.status.value == "Monitoring")
        assert "ALL ALERTS RESOLVED" not in str(app.query_one("#status-pane").render())
