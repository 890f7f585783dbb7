"""Every key of the dashboard, driven through Textual's Pilot as a person would press it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from warroom.config_file import LoadedConfig
from warroom.domain.config.model import BINDING_IDS, ConfigError, parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.store.sqlite import SQLiteStore
from warroom.tui.actions import ACTIONS, ActionKeys
from warroom.tui.screens import ChoiceScreen, ConfirmScreen, InfoScreen, TextPrompt

from .tui_support import EVIL_TITLE, make_app, seeded_db, settle


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


async def test_opens_on_the_most_severe_open_incident(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        assert app.dashboard.state.id == "INC-1" and app.dashboard.state.title == EVIL_TITLE
        assert app.query_one("#timeline").row_count == 2


async def test_a_acknowledges(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("a")
        await settle(pilot, lambda: app.dashboard.state.acknowledged)
        assert app.dashboard.state.acknowledged_by == "alice"
        assert app.query_one("#timeline").rows()[-1].event.kind == "acknowledged"
        await pilot.press("a")  # a second time: refused with a message, nothing written
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "already acknowledged by alice" in app.dashboard.last_error
        assert app.dashboard.state.version == 3


async def test_s_moves_status_and_resolve_asks_first(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("s")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("d", "enter")  # Identified; the cause may be left empty
        await settle(pilot, lambda: app.dashboard.state.status == Status.IDENTIFIED)
        await pilot.press("s", "r")  # a SEV-1: the impact prompt is the confirmation
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("escape")  # not now
        await pilot.pause()
        assert app.dashboard.state.status == Status.IDENTIFIED
        await pilot.press("s", "r", "enter")
        await settle(pilot, lambda: app.dashboard.state.status == Status.RESOLVED)
        await pilot.press("s", "escape")
        assert not isinstance(app.screen, ChoiceScreen)


async def test_v_changes_severity_and_assesses(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("v", "2")
        assert isinstance(app.screen, ConfirmScreen)  # old -> new first
        await pilot.press("y")
        await settle(pilot, lambda: app.dashboard.state.severity == Severity.SEV2)
        await pilot.press("v", "m")
        await pilot.press("enter")  # revenue: unknown
        await _type(pilot, "100")  # all users
        for _ in range(4):
            await pilot.press("enter")
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)  # old -> new and why first
        await pilot.press("y")
        await settle(pilot, lambda: app.dashboard.state.severity == Severity.SEV1)
        events = await app.store.events("INC-1")
        assert events[-1].data["assessment"]["decided_by"] == "user impact"


async def test_r_assigns_hands_off_and_releases(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("r", "1", "1")  # the people offered start with me: alice takes IC
        await settle(pilot, lambda: app.dashboard.state.holder(Role.INCIDENT_COMMANDER) == "alice")
        await pilot.press("r", "1", "t")  # type a name
        await _type(pilot, "dave")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.holder(Role.INCIDENT_COMMANDER) == "dave")
        await pilot.press("r", "1", "minus")  # release
        await settle(pilot, lambda: app.dashboard.state.holder(Role.INCIDENT_COMMANDER) is None)
        assert [s.person for s in app.dashboard.state.role_history] == ["alice", "dave"]


@pytest.mark.parametrize("key,kind,text", [
    ("n", "note", "db pool at 100%"),
    ("d", "decision", "roll back to v2.4.9"),
    ("t", "action_item", "add pool alarm"),
])
async def test_note_decision_action(room: Path, key: str, kind: str, text: str) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press(key)
        await _type(pilot, text + (" @frank" if key == "t" else ""))
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 3)
        last = app.query_one("#timeline").rows()[-1].event
        assert (last.kind, last.data["text"], last.actor) == (kind, text, "alice")
        if key == "t":
            assert last.data["owner"] == "frank"
        await pilot.press(key, "x", "escape")  # Escape writes nothing
        await pilot.pause()
        assert app.dashboard.state.version == 3


async def test_i_switches_incident(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("i", "2")
        await settle(pilot, lambda: app.dashboard.state.id == "INC-2")
        assert app.query_one("#timeline").row_count == 3


async def test_capital_d_declares_and_follows(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("D")
        await _type(pilot, "Login broken")
        await pilot.press("enter", "2", "enter")
        await _type(pilot, "auth")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.id == "INC-3")
        state = app.dashboard.state
        assert (state.title, state.severity, state.service) == (
            "Login broken", Severity.SEV2, "auth")


async def test_k_checklist_and_capital_e_edits_an_entry(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("k", "8")  # timeline documented
        await settle(pilot, lambda: "timeline" in app.dashboard.state.checklist)
        await pilot.press("tab", "up")  # select the note
        await pilot.press("E")
        for _ in range(40):
            await pilot.press("backspace")
        await _type(pilot, "5xx on /v2/charge only")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 4)
        row = app.query_one("#timeline").rows()[1]
        assert row.amended_text == "5xx on /v2/charge only"


async def test_help_lists_every_key(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("question_mark")
        assert isinstance(app.screen, InfoScreen)
        text = app.screen.body.plain
        for spec in ACTIONS:
            assert spec.description in text
        await pilot.press("escape")
        assert not isinstance(app.screen, InfoScreen)


async def test_palette_offers_every_action(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for spec in ACTIONS:
            if spec.action != "quit":
                assert any(t.startswith(spec.label) for t in titles), spec


async def test_q_quits(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_stale_screen_is_refused_with_who_did_what(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        app.workers.cancel_group(app, "feed")  # this screen stops hearing of changes
        other = await SQLiteStore.open(room)
        try:
            seen = await other.get("INC-1")
            await other.append("INC-1", commands.change_status(seen, Status.RESOLVED, "bob"))
        finally:
            await other.close()
        await pilot.press("a")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "status Investigating -> Resolved by bob" in app.dashboard.last_error
        assert "not applied" in app.dashboard.last_error
        events = await app.store.events("INC-1")
        assert [e.kind for e in events][-1] == "status_changed"  # alice's ack was not written


async def test_spectator_has_no_mutating_keys(room: Path) -> None:
    app = make_app(room, spectator=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        mutating = [s for s in ACTIONS if s.mutating]
        for spec in mutating:
            assert app.dashboard.check_action(spec.action, ()) is False
        footer_keys = {b.binding.key for b in app.screen.active_bindings.values()
                       if b.enabled and b.binding.show}
        assert not footer_keys & {s.key for s in mutating}
        from warroom.tui.widgets.keybar import KeyBar

        bar = app.query_one(KeyBar)
        assert not set(bar.enabled_keys()) & {s.action for s in mutating}
        assert "Ack" not in str(bar.render()) and "Help" in str(bar.render())
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any(t.startswith(s.label) for s in mutating for t in titles)
        for key in ("a", "n", "s", "v", "r", "t", "d", "e", "D"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.screen_stack[0]  # no dialog opened
        await pilot.press("question_mark")
        help_text = app.screen.body.plain
        assert "Spectator mode" in help_text
        assert not any(s.description in help_text for s in mutating)
        await pilot.press("escape")
        assert app.dashboard.state.version == 2 and not app.dashboard.state.acknowledged
        with pytest.raises(Exception, match="read-only"):
            await app.store.append("INC-1", commands.acknowledge(app.dashboard.state, "spy"))


async def test_two_dashboards_on_one_room(room: Path) -> None:
    a, b = make_app(room, actor="alice"), make_app(room, actor="bob")
    async with a.run_test(size=(160, 48)) as pa, b.run_test(size=(80, 24)) as pb:
        await settle(pa, lambda: a.dashboard.state is not None)
        await settle(pb, lambda: b.dashboard.state is not None)
        await pa.press("n")
        await _type(pa, "seen from the other screen")
        await pa.press("enter")
        await settle(pb, lambda: b.dashboard.state.version == 3)  # no key pressed on b
        assert b.query_one("#timeline").rows()[-1].event.data["text"] == (
            "seen from the other screen")
        await pb.press("a")
        await settle(pa, lambda: a.dashboard.state.acknowledged_by == "bob")


async def test_header_shows_the_clock_offset_from_the_store(room: Path) -> None:
    from datetime import timedelta

    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)

        async def behind() -> timedelta:
            return timedelta(minutes=2)

        app.store.clock_offset = behind  # type: ignore[method-assign]  # as PostgreSQL would
        app.session.watch_clock()
        await settle(pilot, lambda: app.dashboard.clock_note is not None)
        assert "your clock is 2m behind the server" in str(app.query_one("#header").render())


async def test_two_dashboards_on_a_postgresql_room(pg_url: str) -> None:
    from warroom.store import open_store
    from warroom.tui.app import WarroomApp

    from .tui_support import CET, NOW, seed

    s = await open_store(pg_url)
    try:
        await seed(s)  # type: ignore[arg-type]
    finally:
        await s.close()

    def pg_app(actor: str, spectator: bool = False) -> WarroomApp:
        async def opener():  # type: ignore[no-untyped-def]
            return await open_store(pg_url, readonly=spectator)

        return WarroomApp(actor=actor, clock=lambda: NOW, local_tz=CET, tick=None,
                          presence=False, open_store=opener, spectator=spectator, engine=False)

    a, b = pg_app("alice"), pg_app("watcher", spectator=True)
    async with a.run_test(size=(160, 48)) as pa, b.run_test(size=(80, 24)) as pb:
        await settle(pa, lambda: a.dashboard.state is not None)
        await settle(pb, lambda: b.dashboard.state is not None)
        await pa.press("a")
        await settle(pb, lambda: b.dashboard.state.acknowledged_by == "alice", limit=20)
        await pb.press("a")  # the spectator's key does nothing
        await pb.pause()
        assert b.dashboard.state.version == a.dashboard.state.version == 3


async def test_long_timeline_opens_on_its_newest_entry(tmp_path: Path) -> None:
    db = tmp_path / "long.db"
    store = await SQLiteStore.open(db)
    try:
        r = await store.append(None, commands.declare("busy", Severity.SEV2, "alice"))
        state = await store.get(r.incident_id)
        notes = [e for i in range(300) for e in commands.add_note(state, f"note {i}", "bob")]
        await store.append(r.incident_id, notes)
    finally:
        await store.close()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        timeline = app.query_one("#timeline")
        await pilot.pause()
        await pilot.pause()
        assert timeline.max_scroll_y > 0
        assert timeline.scroll_y == timeline.max_scroll_y  # no key pressed: newest in view
        await pilot.press("tab", "home")  # and the whole history is reachable
        await settle(pilot, lambda: timeline.scroll_y == 0)
        assert timeline.rows()[timeline.cursor].event.data.get("title") == "busy"


async def test_writing_terminals_are_in_the_room(room: Path) -> None:
    from warroom.tui.app import WarroomApp

    from .tui_support import CET, NOW

    def app_for(actor: str, spectator: bool = False) -> WarroomApp:
        async def opener():  # type: ignore[no-untyped-def]
            return await SQLiteStore.open(room, readonly=spectator, poll_interval=0.01)

        return WarroomApp(actor=actor, clock=lambda: NOW, local_tz=CET, tick=None,
                          presence=True, open_store=opener, spectator=spectator, engine=False)

    alice, watcher = app_for("alice"), app_for("watcher", spectator=True)
    async with alice.run_test(size=(160, 48)) as pa:
        await settle(pa, lambda: alice.session.present == ["alice"])  # at once, not after a beat
        async with watcher.run_test(size=(160, 48)) as pw:
            # spectators are not listed; the screen hears it from the session
            await settle(pw, lambda: watcher.session.present == ["alice"])
            await settle(pw, lambda: watcher.dashboard.present == ("alice",))
            assert "In the room: alice (1)" in str(watcher.query_one("#roster-pane").render())
    s = await SQLiteStore.open(room, readonly=True)
    try:
        assert await s.present(NOW - timedelta(minutes=1)) == []  # gone when it closed
    finally:
        await s.close()


# ---- keys remapped in warroom.toml ([keys]) ---------------------------------------------------


async def test_a_remapped_key_is_pressed_shown_and_listed(room: Path) -> None:
    app = make_app(room, keys={"ack": "A", "help": "f1"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        from warroom.tui.widgets.keybar import KeyBar

        bar = str(app.query_one(KeyBar).render())
        assert " A Ack" in bar and " a Ack" not in bar and " f1 Help" in bar
        await pilot.press("a")  # the old key does nothing now
        await pilot.pause()
        assert not app.dashboard.state.acknowledged
        await pilot.press("A")
        await settle(pilot, lambda: app.dashboard.state.acknowledged)
        await pilot.press("f1")
        assert isinstance(app.screen, InfoScreen)
        lines = app.screen.body.plain.splitlines()
        assert "       A  Acknowledge the incident (stops escalation)" in lines
        assert "      f1  Show every key" in lines
        titles = [c.title for c in app.get_system_commands(app.dashboard)]
        assert "Ack (A)" in titles


def test_every_action_has_a_binding_id_the_config_accepts() -> None:
    assert {spec.action for spec in ACTIONS} == set(BINDING_IDS)


def _keys(table: dict[str, object]) -> ActionKeys:
    return ActionKeys.load(LoadedConfig(parse_config({"keys": table}, "w.toml"), "w.toml", None))


def test_a_keys_table_is_checked_with_key_paths() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"keys": {"note": "ctlr+n"}}, "w.toml")
    assert e.value.problems[0].startswith(
        "keys.note: 'ctlr+n' is not a key: use one character")
    with pytest.raises(ConfigError) as e:  # `warroom config check` says so too
        parse_config({"keys": {"ackk": "A"}}, "w.toml")
    assert e.value.problems[0].startswith(
        "keys.ackk: unknown binding id 'ackk' (did you mean 'ack'?); known: ack, action_item,")
    for table, problem in [
        ({"note": "a"}, "keys.note: 'a' is also the key of ack: give it another key too"),
        ({"note": "ctrl+escpae"}, "keys.note: 'ctrl+escpae' is not a key Textual knows"),
        ({"note": "tab"}, "keys.note: 'tab' is the dashboard's own key for focusing the "
                          "timeline"),
        ({"note": "x", "decision": "x"}, "keys.note: 'x' is also the key of decision"),
    ]:
        with pytest.raises(ConfigError) as e:
            _keys(table)
        assert any(p.startswith(problem) for p in e.value.problems), e.value.problems
    swapped = _keys({"ack": "n", "note": "a", "help": "?,f1"})  # a swap is no clash
    assert (swapped.label("ack"), swapped.label("note"), swapped.label("help")) == (
        "n", "a", "?/f1")


def test_the_dashboard_refuses_a_clashing_keys_table_before_it_opens(tmp_path: Path) -> None:
    from .conftest import run_cli

    db = tmp_path / "room.db"
    (tmp_path / "warroom.toml").write_text('[keys]\nnote = "a"\n')
    r = run_cli(db)
    assert r.code == 2, r.err
    assert "keys.note: 'a' is also the key of ack" in r.err and "Traceback" not in r.err
    assert not db.exists()


async def _as_alice(room: Path, decide) -> None:  # type: ignore[no-untyped-def]
    """Another responder, on their own connection to the same room."""
    other = await SQLiteStore.open(room)
    try:
        seen = await other.get("INC-1")
        await other.append("INC-1", decide(seen))
    finally:
        await other.close()


async def test_a_handoff_typed_while_someone_assigned_is_not_applied(room: Path) -> None:
    await _as_alice(room, lambda s: commands.assign_role(
        s, Role.INCIDENT_COMMANDER, "alice", "alice"))
    app = make_app(room, actor="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("r", "1", "t")
        await _type(pilot, "dave")
        await _as_alice(room, lambda s: commands.assign_role(
            s, Role.INCIDENT_COMMANDER, "carol", "alice"))
        await settle(pilot, lambda: app.dashboard.state.holder(Role.INCIDENT_COMMANDER)
                     == "carol")  # the screen heard of it while the dialog was open
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "carol" in app.dashboard.last_error and "by alice" in app.dashboard.last_error
        assert "Incident Commander handed off alice -> carol by alice 0s ago" in (
            app.dashboard.last_error)
        assert "Your handoff was not applied" in app.dashboard.last_error
        assert app.dashboard.state.holder(Role.INCIDENT_COMMANDER) == "carol"
        events = await app.store.events("INC-1")
        assert [e.actor for e in events][-1] == "alice"  # bob's handoff was not written


async def test_a_stale_status_dialog_says_who_moved_it_and_when(room: Path) -> None:
    app = make_app(room, actor="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("s")
        assert isinstance(app.screen, ChoiceScreen)
        app.workers.cancel_group(app, "feed")  # the news has not reached this screen yet
        await _as_alice(room, lambda s: commands.change_status(s, Status.RESOLVED, "alice"))
        await pilot.press("d", "enter")  # Identified, as offered when it opened; no cause
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "Investigating -> Resolved by alice" in app.dashboard.last_error
        assert " ago" in app.dashboard.last_error
        assert "move to Identified was not applied" in app.dashboard.last_error
        assert (await app.store.get("INC-1")).status == Status.RESOLVED


@pytest.mark.parametrize("keys,yours", [
    (("n", "x", "enter"), "note"),
    (("k", "8"), "checklist mark"),
    (("v", "2", "y"), "severity change"),
    (("v", "m", "enter", "1", "0", "0", "enter", "enter", "enter", "enter", "enter", "y"),
     "assessment"),
    (("r", "2", "1"), "assignment"),
    (("E", "x", "enter"), "correction"),
])
async def test_every_dialog_writes_at_the_version_it_opened_on(
        room: Path, keys: tuple[str, ...], yours: str) -> None:
    app = make_app(room, actor="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press(keys[0])
        app.workers.cancel_group(app, "feed")  # the news has not reached this screen yet
        await _as_alice(room, lambda s: commands.acknowledge(s, "alice"))
        await pilot.press(*keys[1:])
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "acknowledged by alice" in app.dashboard.last_error
        assert f"Your {yours}" in app.dashboard.last_error
        assert (await app.store.get("INC-1")).version == 3  # nothing of bob's was written


async def test_k_offers_the_open_items_and_a_bare_enter_records_nothing(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        for key in ("k", "s", "v", "r", "i"):  # a name typed with no dialog open ends in Enter
            await pilot.press(key, "enter")
            await pilot.pause(0.05)
            assert isinstance(app.screen, ChoiceScreen), key  # still asking
            await pilot.press("escape")
        assert app.dashboard.state.version == 2
        await pilot.press("k", "8")
        await settle(pilot, lambda: "timeline" in app.dashboard.state.checklist)
        await pilot.press("k")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        done = next(c for c in dialog.choices if c.value == "timeline")
        assert not done.enabled and done.label.endswith("(done)")
        assert [c.key for c in dialog.choices] == [str(i + 1) for i in range(len(dialog.choices))]
        await pilot.press("8")  # done: not choosable
        await pilot.pause(0.05)
        assert app.screen is dialog
        await pilot.press("down", "enter")  # arrows, then Enter: the first open item
        await settle(pilot, lambda: app.dashboard.state.version == 4)
        assert "acknowledge" in app.dashboard.state.checklist


async def test_an_open_choice_follows_the_incident_and_writes_at_its_version(
        room: Path) -> None:
    app = make_app(room, actor="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("s")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen) and dialog.title_text == "Move Investigating to…"
        await _as_alice(room, lambda s: commands.change_status(s, Status.RESOLVED, "alice"))
        await settle(pilot, lambda: dialog.title_text == "Move Resolved to…")
        assert [c.value for c in dialog.choices] == [Status.INVESTIGATING]
        assert "changed while this was open" in str(dialog.hint)
        await pilot.press("d")  # Identified is no longer offered: nothing happens
        await pilot.pause(0.05)
        assert app.screen is dialog and app.dashboard.state.version == 3
        await pilot.press(dialog.choices[0].key, "enter")  # reopen (no reason), at the version
        # the dialog shows
        await settle(pilot, lambda: app.dashboard.state.status == Status.INVESTIGATING)
        assert app.dashboard.last_error is None


async def test_a_message_is_marked_sent_at_the_version_it_was_written_on(room: Path) -> None:
    from warroom.tui.documents import MessageScreen

    app = make_app(room, actor="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("c", "1")  # the initial message, built on version 2
        await settle(pilot, lambda: isinstance(app.screen, MessageScreen))
        await _as_alice(room, lambda s: commands.change_status(s, Status.RESOLVED, "alice"))
        await settle(pilot, lambda: app.dashboard.state.status == Status.RESOLVED)
        await pilot.press("ctrl+s", "1")  # sent to customers: its text says Investigating
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "Investigating -> Resolved by alice" in app.dashboard.last_error
        assert "Your initial mark-sent was not applied" in app.dashboard.last_error
        assert app.dashboard.state.communications == []


async def test_a_note_refused_as_stale_comes_back_with_its_text(room: Path) -> None:
    """A note typed while the engine paged (or a colleague acted) was refused and its text lost:
    the prompt now comes back with it, on the new version, and Enter writes it then."""
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        await _type(pilot, "pool at 100% on db-3")
        other = await SQLiteStore.open(room)
        try:
            seen = await other.get("INC-1")
            await other.append("INC-1", commands.acknowledge(seen, "bob"))
        finally:
            await other.close()
        await settle(pilot, lambda: app.dashboard.state.acknowledged)
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "acknowledged by bob" in app.dashboard.last_error
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        assert app.screen.query_one("#text").value == "pool at 100% on db-3"
        assert "changed while you typed" in str(app.screen.hint)
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == seen.version + 2)
        events = await app.store.events("INC-1")
        assert [e.kind for e in events][-2:] == ["acknowledged", "note"]
        assert events[-1].data["text"] == "pool at 100% on db-3"
