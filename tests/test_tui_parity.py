"""Everything the CLI does, the dashboard does too, and the seed's procedure is on the screen
(issue 12, items 3, 12, 17, 20): the service (`S`), the phase (`p`), an action item done
(`x`), the title (`T`), a backdated entry (`N`), the postmortem's schedule (`M`); each
checklist item's owner and who holds it; what the severity asks of the room."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input

from warroom.domain.config.model import parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.roles import Role
from warroom.domain.incident.status import Phase, Status
from warroom.store.sqlite import SQLiteStore
from warroom.tui.actions import ACTIONS, BY_ACTION
from warroom.tui.app import WarroomApp
from warroom.tui.render import safe
from warroom.tui.screens import ChoiceScreen, FormScreen, TextPrompt

from .tui_support import CET, NOW, make_app, seeded_db, settle

NEW_ACTIONS = ("service", "phase", "complete_action", "retitle", "backdate", "schedule_postmortem")
SERVICES = {
    "teams": {"payments-team": {}, "search-team": {}},
    "services": {"payments": {"team": "payments-team"}, "search": {"team": "search-team"},
                 "checkout": {"team": "payments-team"}},
}


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


def _app(room: Path, *, actor: str = "alice", spectator: bool = False,
         config: dict[str, object] | None = None, follow: str | None = None) -> WarroomApp:
    """make_app, with a configuration (services and teams) as warroom.toml would give it."""
    async def opener() -> SQLiteStore:
        return await SQLiteStore.open(room, readonly=spectator, poll_interval=0.01)

    return WarroomApp(actor=actor, clock=lambda: NOW, local_tz=CET, tick=None, presence=False,
                      open_store=opener, spectator=spectator, engine=False, follow=follow,
                      config=parse_config(SERVICES if config is None else config))


async def _as_alice(room: Path, decide) -> None:  # type: ignore[no-untyped-def]
    """Another responder, on their own connection to the same room."""
    other = await SQLiteStore.open(room)
    try:
        seen = await other.get("INC-1")
        await other.append("INC-1", decide(seen))
    finally:
        await other.close()


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


def _status_text(app: WarroomApp) -> str:
    from warroom.tui.widgets.panes import StatusPane

    pane = app.query_one(StatusPane)
    return pane._shown.plain if pane._shown is not None else ""


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot, lambda: pilot.app.dashboard.state is not None)


# ---- S: the service ------------------------------------------------------------------------


async def test_capital_s_offers_the_configured_services_with_their_teams(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("S")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        labels = {c.value: c for c in dialog.choices}
        assert [c.value[1] for c in dialog.choices[:3]] == ["checkout", "payments", "search"]
        assert [c.key for c in dialog.choices] == ["1", "2", "3", "t", "n"]
        assert "team search-team" in labels[("service", "search")].label
        current = labels[("service", "payments")]
        assert "(current)" in current.label and not current.enabled
        assert "type a name" in labels[("type", "")].label
        await pilot.press("3")
        await settle(pilot, lambda: app.dashboard.state.service == "search")
        assert app.dashboard.state.version == 3 and app.dashboard.last_error is None


async def test_capital_s_typed_unknown_name_offers_the_nearest(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("S", "t")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        assert prompt.query_one(Input).value == "payments"  # the current one, to correct
        prompt.query_one(Input).value = "chekout"
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        warn = app.screen
        assert isinstance(warn, ChoiceScreen)
        assert "'chekout' is not a configured service" in warn.title_text
        assert "did you mean checkout?" in str(warn.hint)
        assert "warroom service" not in str(warn.hint)  # the CLI's fix; here, the choices
        assert [c.value for c in warn.choices] == ["checkout", "chekout"]
        await pilot.press("1")  # the nearest configured name
        await settle(pilot, lambda: app.dashboard.state.service == "checkout")
        await pilot.press("S", "t")
        app.screen.query_one(Input).value = "ledger-v2"
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert "configured: checkout, payments, search" in str(app.screen.hint)
        await pilot.press("u")  # use it anyway: the room may not configure every service
        await settle(pilot, lambda: app.dashboard.state.service == "ledger-v2")
        await pilot.press("S", "n")  # none
        await settle(pilot, lambda: app.dashboard.state.service is None)
        events = await app.store.events("INC-1")
        assert [e.kind for e in events[-3:]] == ["service_changed"] * 3


async def test_capital_s_a_configured_name_typed_is_written_without_asking(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("S", "t")
        app.screen.query_one(Input).value = "search"
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.service == "search")


# ---- p, x, T: phase, action item done, retitle ---------------------------------------------


async def test_p_sets_the_phase_with_the_current_one_marked(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("p")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen) and dialog.title_text.endswith("(now Detection)")
        assert [c.value for c in dialog.choices] == list(Phase)
        first = dialog.choices[0]
        assert first.label.endswith("(current)") and not first.enabled
        await pilot.press("1")  # the current phase: not pickable
        await pilot.pause(0.05)
        assert app.screen is dialog
        await pilot.press("3")
        await settle(pilot, lambda: app.dashboard.state.phase == Phase.RESPONSE)
        assert "[Response]" in _status_text(app)


async def test_x_marks_an_open_action_item_done_and_done_ones_are_not_offered(
        room: Path) -> None:
    await _as_alice(room, lambda s: commands.add_note(s, "roll back the pool @bob", "alice",
                                                      kind="action"))
    await _as_alice(room, lambda s: commands.add_note(s, "page the DBA", "alice",
                                                      kind="action"))
    await _as_alice(room, lambda s: commands.complete_action(s, s.action_items[1].id, "carol"))
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        open_item, done_item = dialog.choices
        assert open_item.label == "roll back the pool · @bob" and open_item.enabled
        assert "done by carol" in done_item.label and not done_item.enabled
        await pilot.press("2")  # done: not pickable
        await pilot.pause(0.05)
        assert app.screen is dialog
        await pilot.press("1")
        await settle(pilot, lambda: app.dashboard.state.action_items[0].done_by == "alice")


async def test_x_with_no_action_items_says_so_and_opens_nothing(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("x")
        await pilot.pause(0.05)
        assert app.screen is app.screen_stack[0]
        assert any("no action items yet (t adds one)" in n.message
                   for n in app._notifications)


async def test_capital_t_retitles_from_the_title_as_it_is(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        old = app.dashboard.state.title
        await pilot.press("T")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        assert prompt.query_one(Input).value == safe(old)  # its escape codes as text
        assert "\x1b" not in prompt.query_one(Input).value
        prompt.query_one(Input).value = "Checkout failing for EU cards"
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.title == "Checkout failing for EU cards")
        await pilot.press("T", "enter")  # unchanged: nothing written
        await pilot.pause(0.05)
        assert app.dashboard.state.version == 3


# ---- N: a backdated entry; M: the postmortem's time ----------------------------------------


async def test_capital_n_backdates_an_entry_in_the_terminals_zone(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("N")
        form = app.screen
        assert isinstance(form, FormScreen)
        await _type(pilot, "15:30")  # CET: 14:30 UTC, 16 minutes ago
        await pilot.press("enter")
        await _type(pilot, "rolled back the deploy")
        await pilot.press("enter")
        preview = str(form.query_one("#preview").render())
        assert "Wed 2026-03-04 15:30 CET (14:30 UTC), 16m ago" in preview
        await _type(pilot, "d")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 3)
        event = (await app.store.events("INC-1"))[-1]
        assert event.kind == "decision" and event.data["text"] == "rolled back the deploy"
        assert event.at == NOW.replace(minute=30, second=0)
        await pilot.press("N")
        await _type(pilot, "-5m")
        await pilot.press("enter")
        await _type(pilot, "db failover @bob")
        await pilot.press("enter")
        await _type(pilot, "action")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 4)
        item = app.dashboard.state.action_items[-1]
        assert item.owner == "bob" and item.at == NOW - timedelta(minutes=5)


async def test_capital_n_an_unreadable_time_keeps_what_was_typed(room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("N")
        await _type(pilot, "yesterday-ish")
        await pilot.press("enter")
        await _type(pilot, "the pool filled up")
        await pilot.press("enter", "enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "cannot read time 'yesterday-ish'" in app.dashboard.last_error
        await settle(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        assert isinstance(form, FormScreen)
        await pilot.pause(0.05)
        assert form.values()["text"] == "the pool filled up"  # not lost
        form.query_one("#f-when", Input).value = "+3d"  # past the room's window: refused too
        form.query_one("#f-kind", Input).focus()
        app.dashboard.last_error = None
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "when 2026-03-07T14:46:20Z is after" in app.dashboard.last_error
        assert app.dashboard.state.version == 2


async def test_capital_m_schedules_the_postmortem_and_the_pane_shows_its_clock(
        room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        assert "Postmortem" not in _status_text(app)  # open and not scheduled: not yet
        await pilot.press("M")
        form = app.screen
        assert isinstance(form, FormScreen)
        await _type(pilot, "tue 14:00")  # NOW is Wednesday 15:46 CET: next week's Tuesday
        preview = str(form.query_one("#preview").render())
        assert "meets Tue 2026-03-10 14:00 CET (13:00 UTC), in 5d22h" in preview
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.postmortem_at is not None)
        assert app.dashboard.state.postmortem_at == NOW.replace(
            day=10, hour=13, minute=0, second=0)
        assert "Postmortem: Tue 10 Mar 13:00 UTC, in 5d22h" in _status_text(app)
        await pilot.press("M")
        await _type(pilot, "15:00")  # a time of day: the next one (tomorrow), never the last
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 4)
        assert app.dashboard.state.postmortem_at == NOW.replace(
            day=5, hour=14, minute=0, second=0)


async def test_a_resolved_incident_without_a_postmortem_says_so(room: Path) -> None:
    await _as_alice(room, lambda s: commands.change_status(s, Status.RESOLVED, "alice"))
    app = _app(room, follow="INC-1")
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await settle(pilot, lambda: "Postmortem" in _status_text(app))
        assert "Postmortem: not scheduled" in _status_text(app)


# ---- the seed's procedure on the status pane and in k --------------------------------------


async def test_status_pane_shows_owners_holders_and_the_severity_profile(room: Path) -> None:
    await _as_alice(room, lambda s: commands.assign_role(
        s, Role.INCIDENT_COMMANDER, "carol", "alice"))
    app = _app(room)
    async with app.run_test(size=(200, 50)) as pilot:  # wide enough for one profile line
        await _ready(pilot)
        await settle(pilot, lambda: "IC carol" in _status_text(app))
        text = _status_text(app)
        for line in ("Acknowledge alert     On-call VACANT",
                     "Form response team    IC carol",
                     "First customer update Comms VACANT",
                     "Root cause analysis   Tech Lead VACANT",
                     "Deploy fix            Dev Team",
                     "Confirm fixed         QA/Ops",
                     "Timeline complete     Scribe VACANT"):
            assert line in text, line
        # The profile: one line where the pane is wide enough, two in the 72-column pane here.
        assert "SEV-1 respond < 15 min (acknowledge < 5 min)" in text
        assert "war room mandatory: all hands war room" in text
        await pilot.press("k")
        labels = [c.label for c in app.screen.choices]
        assert "Form response team · IC: carol (< 15 min)" in labels
        assert "Deploy fix · Dev Team (ASAP)" in labels
        await pilot.press("escape", "i", "2")  # INC-2: SEV-3, its IC is bob
        await settle(pilot, lambda: app.dashboard.state.id == "INC-2")
        await settle(pilot, lambda: "normal team channel" in _status_text(app))
        text = _status_text(app).replace("\n", " · ")  # one line or two, by the pane's width
        assert "SEV-3 respond < 2 h · war room not needed: normal team channel" in text
        assert "IC bob" in _status_text(app)


async def test_status_pane_at_80x24_keeps_the_profile_and_the_urgent_owner(
        room: Path) -> None:
    app = _app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await settle(pilot, lambda: "war room" in _status_text(app))
        lines = _status_text(app).splitlines()
        assert lines[1].endswith("respond < 15 min · war room mandatory")
        assert "Acknowledge alert (On-call VACANT) OVERDUE 9m" in lines[2]
        assert len(lines) == 3  # compact mode adds no line


async def test_status_pane_at_80x24_shows_the_postmortem_on_the_checklist_line(
        room: Path) -> None:
    await _as_alice(room, lambda s: commands.schedule_postmortem(
        s, NOW.replace(day=10, hour=13, minute=0, second=0), "alice"))
    app = _app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await settle(pilot, lambda: "postmortem" in _status_text(app))
        lines = _status_text(app).splitlines()
        assert lines[2].startswith("checklist 0/8 · postmortem Tue 13:00 UTC in 5d22h · ")
        assert len(lines) == 3


async def test_an_open_x_choice_follows_the_incident(room: Path) -> None:
    await _as_alice(room, lambda s: commands.add_note(s, "roll back @bob", "alice",
                                                      kind="action"))
    app = _app(room, actor="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen) and dialog.choices[0].enabled
        await _as_alice(room, lambda s: commands.complete_action(
            s, s.action_items[0].id, "alice"))
        await settle(pilot, lambda: not dialog.choices[0].enabled)
        assert "done by alice" in dialog.choices[0].label
        await pilot.press("1")  # done meanwhile: nothing to pick
        await pilot.pause(0.05)
        assert app.screen is dialog and app.dashboard.state.version == 4


async def test_status_pane_at_120x40_is_whole_beside_the_others(room: Path) -> None:
    """At 120x40 the panes stack above the full-width timeline, the status pane whole (every
    checklist item with its owner and clock; only the Target column goes) in the left half."""
    app = _app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        await settle(pilot, lambda: "war room" in _status_text(app))
        text = _status_text(app)
        assert "SEV-1 respond < 15 min (acknowledge < 5 min)\nwar room mandatory" in text
        assert "Acknowledge alert     On-call VACANT    OVERDUE 9m" in text
        assert "Timeline complete     Scribe VACANT" in text
        assert "< 10 min" not in text  # the Target column goes under 80 columns
        timeline = app.query_one("#timeline")
        assert timeline.size.width >= 118  # the timeline keeps the whole width


# ---- stale dialogs, spectators, the registry -----------------------------------------------


@pytest.mark.parametrize("keys,yours", [
    (("S", "n"), "service change"),
    (("S", "t", "enter"), "service change"),  # the current name, retyped: refused as stale
    (("p", "3"), "move to Response"),
    (("x", "1"), "action item done"),
    (("T", "x", "enter"), "retitle"),
    (("N", "-", "5", "m", "enter", "x", "enter", "enter"), "backdated note"),
    (("M", "+", "2", "d", "enter"), "postmortem schedule"),
])
async def test_every_new_dialog_writes_at_the_version_it_opened_on(
        room: Path, keys: tuple[str, ...], yours: str) -> None:
    await _as_alice(room, lambda s: commands.add_note(s, "roll back @bob", "alice",
                                                      kind="action"))
    app = _app(room, actor="bob", config={} if keys[:2] == ("S", "t") else None)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        await pilot.press(keys[0])
        app.workers.cancel_group(app, "feed")  # the news has not reached this screen yet
        await _as_alice(room, lambda s: commands.acknowledge(s, "alice"))
        if keys[:2] == ("S", "t"):
            await pilot.press("t")
            app.screen.query_one(Input).value = "ledger"
            keys = keys[1:]
        await pilot.press(*keys[1:])
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "acknowledged by alice" in app.dashboard.last_error
        assert f"Your {yours} was not applied" in app.dashboard.last_error
        assert (await app.store.get("INC-1")).version == 4  # nothing of bob's was written


async def test_spectators_cannot_use_any_new_key(room: Path) -> None:
    app = _app(room, actor="watcher", spectator=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        for action in NEW_ACTIONS:
            assert BY_ACTION[action].mutating
            assert app.dashboard.check_action(action, ()) is False
            await pilot.press(BY_ACTION[action].key)
            await pilot.pause(0.05)
            assert app.screen is app.screen_stack[0], action  # no dialog opened
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any(t.startswith(BY_ACTION[a].label + " (") for a in NEW_ACTIONS
                       for t in titles)
        assert app.dashboard.state.version == 2


async def test_the_new_keys_are_in_help_and_the_palette(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await _ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for action in NEW_ACTIONS:
            spec = BY_ACTION[action]
            assert f"{spec.label} ({spec.key})" in titles
            assert not spec.footer  # the key bar is helper A's to arrange
        await pilot.press("question_mark")
        help_text = app.screen.body.plain
        for action in NEW_ACTIONS:
            assert BY_ACTION[action].description in help_text


def test_the_new_rows_sit_after_the_checklist_row() -> None:
    names = [a.action for a in ACTIONS]
    at = names.index("checklist")
    assert names[at + 1:at + 1 + len(NEW_ACTIONS)] == list(NEW_ACTIONS)


# ---- how the two time dialogs read a time (pure) -------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("tue 14:00", "2026-03-10T13:00"),  # NOW is Wednesday 15:46 CET
    ("Wednesday 16:00", "2026-03-04T15:00"),  # later today
    ("wed 15:00", "2026-03-11T14:00"),  # earlier today: next week
    ("14:00", "2026-03-05T13:00"),  # a time of day: the next one
    ("17:30", "2026-03-04T16:30"),
    ("tomorrow 9:00", "2026-03-05T08:00"),
    ("today 9:00", "2026-03-04T08:00"),  # said so: this morning
    ("+2d", "2026-03-06T14:46"),
    ("2026-03-10T14:00", "2026-03-10T13:00"),  # no offset: local time
    ("2026-03-10T14:00Z", "2026-03-10T14:00"),
])
def test_meeting_time_reads_ahead(text: str, expected: str) -> None:
    from warroom.domain.common.timefmt import TimeWindow
    from warroom.tui.prompts import meeting_time

    at = meeting_time(text, NOW, CET, TimeWindow())
    assert at.strftime("%Y-%m-%dT%H:%M") == expected and at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text,problem", [
    ("t 14:00", "cannot read day 't'"),
    ("funday 14:00", "cannot read day 'funday'"),
    ("25:00", "cannot read time of day '25:00'"),
    ("+400d", "is after"),
    ("", "empty time"),
])
def test_meeting_time_refuses_what_it_cannot_read(text: str, problem: str) -> None:
    from warroom.domain.common.errors import InvalidInput
    from warroom.domain.common.timefmt import TimeWindow
    from warroom.tui.prompts import meeting_time

    with pytest.raises(InvalidInput, match=problem):
        meeting_time(text, NOW, CET, TimeWindow())


def test_read_backdate_reads_as_the_clis_at() -> None:
    from warroom.domain.common.errors import InvalidInput
    from warroom.domain.common.timefmt import TimeWindow, parse_time
    from warroom.tui.prompts import read_backdate

    window = TimeWindow()
    for when in ("22:45", "-15m", "15m ago", "2026-03-04T09:00", "@1772600000"):
        at, text, kind = read_backdate({"when": when, "text": " x ", "kind": "a"}, NOW, CET,
                                       window)
        assert at == parse_time(when, NOW, CET) and (text, kind) == ("x", "action")
    assert read_backdate({"when": "22:45", "text": "x", "kind": ""}, NOW, CET,
                         window)[0].isoformat() == "2026-03-03T21:45:00+00:00"  # yesterday
    for values, problem in [({"when": "", "text": "x"}, "give a time"),
                            ({"when": "-5m", "text": " "}, "give the text"),
                            ({"when": "-5m", "text": "x", "kind": "fact"}, "kind 'fact'"),
                            ({"when": "1999-12-31", "text": "x"}, "is before")]:
        with pytest.raises(InvalidInput, match=problem):
            read_backdate(values, NOW, CET, window)
