"""The commander's dialog flows (issue 12, items 10, 11, 13, 16, 17, 19): what each key asks
before it writes, and that every new dialog is refused, with who did what, when the incident
moved on while it was open. Driven through Textual's Pilot as a person would press the keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from warroom.config_file import load_config
from warroom.domain.config.model import Config
from warroom.domain.incident import commands
from warroom.domain.incident.facts import gather_facts
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.store.sqlite import SQLiteStore
from warroom.tui.app import WarroomApp
from warroom.tui.documents import MarkdownScreen
from warroom.tui.screens import ChoiceScreen, ConfirmScreen, FormScreen, TextPrompt

from .tui_support import CET, NOW, make_app, seeded_db, settle

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "warroom.toml"


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


def sample_config() -> Config:
    """The sample room: services payments, checkout, auth...; rotation sre (alice, bob)."""
    return load_config(str(SAMPLE)).config


def configured_app(path: Path, *, actor: str = "alice") -> WarroomApp:
    async def opener() -> SQLiteStore:
        return await SQLiteStore.open(path, poll_interval=0.01)

    return WarroomApp(actor=actor, clock=lambda: NOW, local_tz=CET, tick=None, presence=False,
                      open_store=opener, engine=False, config=sample_config())


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


async def _clear(pilot, n: int = 80) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        await pilot.press("backspace")


async def _as_other(room: Path, decide: Callable[[Any], Any], incident: str = "INC-1") -> None:
    """Another responder (alice, or whoever `decide` names), on their own connection."""
    other = await SQLiteStore.open(room)
    try:
        seen = await other.get(incident)
        await other.append(incident, decide(seen))
    finally:
        await other.close()


async def _facts(app: WarroomApp, incident: str = "INC-1"):  # type: ignore[no-untyped-def]
    state = await app.store.get(incident)
    return gather_facts(state, await app.store.events(incident), NOW)


def _notices(app: WarroomApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _ready(app: WarroomApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot, lambda: app.dashboard.state is not None)


# ---- item 10: a severity change shows old -> new and why, and applies only on yes -------------


async def test_matrix_shows_its_suggestion_at_80x24_and_asks_before_applying(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("v", "m", "enter")  # revenue: unknown
        await _type(pilot, "40")  # users affected
        form = app.screen
        assert isinstance(form, FormScreen)
        preview = form.query_one("#preview")
        await pilot.pause()
        assert "SEV-2" in str(preview.render())
        assert preview.region.y >= 0 and preview.region.bottom <= 24 and preview.region.height
        for _ in range(5):
            await pilot.press("enter")
        question = app.screen
        assert isinstance(question, ConfirmScreen)  # today: applied on Enter, no question
        text = str(question.question)
        assert "severity SEV-1 -> SEV-2" in text
        assert "matrix: user impact: 40% of users (many, >=10%)" in text  # as the CLI says
        await pilot.press("n")
        await pilot.pause()
        assert app.dashboard.state.severity == Severity.SEV1
        assert (await app.store.get("INC-1")).version == 2  # nothing written
        await pilot.press("v", "m", "enter")
        await _type(pilot, "40")
        for _ in range(5):
            await pilot.press("enter")
        await pilot.press("y")
        await settle(pilot, lambda: app.dashboard.state.severity == Severity.SEV2)
        events = await app.store.events("INC-1")
        assert events[-1].data["assessment"]["decided_by"] == "user impact"


async def test_a_direct_change_confirms_old_to_new_but_confirming_the_level_does_not(
        room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("v", "3")
        assert isinstance(app.screen, ConfirmScreen)
        assert "severity SEV-1 -> SEV-3" in str(app.screen.question)
        await pilot.press("escape")
        await pilot.pause()
        assert app.dashboard.state.severity == Severity.SEV1
        await pilot.press("v", "1")  # the current level: confirmed at once (triage done)
        await settle(pilot, lambda: "triage" in app.dashboard.state.checklist)
        assert app.dashboard.state.severity == Severity.SEV1


async def test_the_matrix_form_keeps_a_wrong_answer_with_its_error(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("v", "m")
        await _type(pilot, "lots")
        for _ in range(6):
            await pilot.press("enter")
        form = app.screen
        assert isinstance(form, FormScreen)  # not closed on the mistake
        assert "revenue: 'lots' is not a number" in form.errors["revenue"]
        assert form.values()["revenue"] == "lots"


@pytest.mark.parametrize("keys", [("v", "2"), ("v", "m", "enter", "4", "0", "enter", "enter",
                                               "enter", "enter", "enter")])
async def test_a_stale_severity_confirmation_is_refused(room: Path, keys: tuple[str, ...]) -> None:
    app = make_app(room, actor="bob")
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press(*keys)
        assert isinstance(app.screen, ConfirmScreen)
        await _as_other(room, lambda s: commands.acknowledge(s, "alice"))
        await settle(pilot, lambda: app.dashboard.state.acknowledged)
        await pilot.press("y")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "acknowledged by alice" in app.dashboard.last_error
        assert " ago" in app.dashboard.last_error and "not applied" in app.dashboard.last_error
        assert (await app.store.get("INC-1")).severity == Severity.SEV1


# ---- item 11: Identified asks the cause, Resolved the impact; f records a fact ----------------


async def test_identified_asks_for_the_cause_and_records_it(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("s", "d")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)  # today: moved at once, nothing asked
        assert "what was identified" in prompt.title_text
        await _type(pilot, "db pool exhausted by the v2.5 retry loop")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.status == Status.IDENTIFIED)
        facts = await _facts(app)
        assert facts.root_cause == "db pool exhausted by the v2.5 retry loop"
        assert facts.root_cause_source == "fact"
        events = await app.store.events("INC-1")
        assert [e.kind for e in events[-2:]] == ["status_changed", "fact_recorded"]


async def test_identified_with_nothing_typed_moves_and_records_no_cause(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("s", "d", "enter")  # Enter skips
        await settle(pilot, lambda: app.dashboard.state.status == Status.IDENTIFIED)
        assert (await app.store.events("INC-1"))[-1].kind == "status_changed"
        await pilot.press("s", "m", "escape")  # Esc cancels the move itself
        await pilot.pause()
        assert app.dashboard.state.status == Status.IDENTIFIED


async def test_resolving_a_sev1_asks_the_impact_prefilled_with_the_record(room: Path) -> None:
    await _as_other(room, lambda s: commands.record_fact(s, "impact", "EU checkout failing",
                                                         "carol"))
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("s", "r")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        assert prompt.title_text.startswith("Resolve INC-1 (SEV-1)?")
        assert prompt.query_one("Input").value == "EU checkout failing"
        await pilot.press("end")
        await _type(pilot, " for 14 min")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.status == Status.RESOLVED)
        assert (await _facts(app)).impact == "EU checkout failing for 14 min"


async def test_f_records_a_fact_prefilled_with_the_current_value(room: Path) -> None:
    await _as_other(room, lambda s: commands.add_note(s, "ETA: 15:30 UTC", "carol"))
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("f")
        choice = app.screen
        assert isinstance(choice, ChoiceScreen)  # today: f does nothing
        assert [c.value for c in choice.choices] == ["impact", "root_cause", "eta", "lessons"]
        assert any("15:30 UTC" in c.label for c in choice.choices)
        await pilot.press("e")
        assert app.screen.query_one("Input").value == "ETA: 15:30 UTC".removeprefix("ETA: ")
        await _clear(pilot)
        await _type(pilot, "16:00 UTC")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 4)
        assert (await _facts(app)).eta == "16:00 UTC"
        await pilot.press("f", "l")
        await _type(pilot, "alert on pool saturation")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.version == 5)
        assert (await _facts(app)).lessons == ("alert on pool saturation",)
        await pilot.press("f", "c", "enter")  # nothing typed: nothing recorded
        await pilot.pause()
        assert app.dashboard.state.version == 5


@pytest.mark.parametrize("keys", [("s", "d"), ("s", "m"), ("s", "r"), ("f", "c")])
async def test_a_stale_prompt_after_a_move_or_a_fact_is_refused(
        room: Path, keys: tuple[str, ...]) -> None:
    app = make_app(room, actor="bob")
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press(*keys)
        assert isinstance(app.screen, TextPrompt)
        await _as_other(room, lambda s: commands.acknowledge(s, "alice"))
        await settle(pilot, lambda: app.dashboard.state.acknowledged)
        await _type(pilot, "x")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "acknowledged by alice" in app.dashboard.last_error
        assert "not applied" in app.dashboard.last_error
        assert (await app.store.get("INC-1")).version == 3  # nothing of bob's was written


# ---- item 17: a move can carry a reason ------------------------------------------------------


async def test_a_move_asks_why_and_records_the_reason(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("s", "m")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt) and "why" in prompt.title_text
        await _type(pilot, "rolled back to v2.4.9")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.status == Status.MONITORING)
        last = (await app.store.events("INC-1"))[-1]
        assert (last.kind, last.data["reason"]) == ("status_changed", "rolled back to v2.4.9")


# ---- item 19: resolve in two keys where safe; people as numbered choices ---------------------


async def test_s_r_resolves_a_sev3_at_once_and_says_f_records_the_impact(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("i", "2")
        await settle(pilot, lambda: app.dashboard.state.id == "INC-2")
        await pilot.press("s", "r")  # two keys, no dialog left
        await settle(pilot, lambda: app.dashboard.state.status == Status.RESOLVED)
        assert any("INC-2 resolved" in n and "f records the impact" in n for n in _notices(app))


async def test_s_r_on_a_sev1_asks_first(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("s", "r")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("escape")
        await pilot.pause()
        assert app.dashboard.state.status == Status.INVESTIGATING


async def test_role_offers_people_in_the_room_on_call_and_recent(room: Path) -> None:
    app = configured_app(room, actor="carol")
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("i", "2")  # bob holds IC on INC-2
        await settle(pilot, lambda: app.dashboard.state.id == "INC-2")
        # The room server's spectators are on the roster, never offered a role.
        app.dashboard.present = ("carol", "erin", "watching: support (3)")
        await pilot.press("r", "2")  # Tech Lead
        people = app.screen
        assert isinstance(people, ChoiceScreen)  # today: a text prompt, one name typed
        labels = {c.value: c.label for c in people.choices}
        assert list(labels)[:4] == ["carol", "erin", "alice", "bob"]
        assert not any("watching" in label for label in labels.values())
        assert "you" in labels["carol"] and "in the room" in labels["erin"]
        assert "on call: sre primary" in labels["alice"]
        assert "on call: sre secondary" in labels["bob"]
        assert "Incident Commander now" in labels["bob"]
        assert [c.key for c in people.choices][-1] == "t"  # vacant: nothing to release
        await pilot.press("2")  # one keypress: erin
        await settle(pilot, lambda: app.dashboard.state.holder(Role.TECH_LEAD) == "erin")
        await pilot.press("r", "2")
        assert people.choices != app.screen.choices  # type: ignore[attr-defined]
        assert [c.key for c in app.screen.choices][-1] == "-"  # type: ignore[attr-defined]
        await pilot.press("minus")
        await settle(pilot, lambda: app.dashboard.state.holder(Role.TECH_LEAD) is None)
        assert app.dashboard.state.role_history[-1].person == "erin"


async def test_a_stale_people_choice_follows_the_incident(room: Path) -> None:
    app = make_app(room, actor="bob")
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("r", "1")
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        assert not any(c.key == "-" for c in dialog.choices)
        await _as_other(room, lambda s: commands.assign_role(
            s, Role.INCIDENT_COMMANDER, "carol", "alice"))
        await settle(pilot, lambda: any(c.key == "-" for c in dialog.choices))
        assert "now carol" in dialog.title_text and "changed while this was open" in str(
            dialog.hint)
        await pilot.press("t")  # and a name typed after the refresh...
        await _as_other(room, lambda s: commands.assign_role(
            s, Role.INCIDENT_COMMANDER, "dave", "alice"))
        await settle(pilot, lambda: app.dashboard.state.holder(Role.INCIDENT_COMMANDER)
                     == "dave")
        await _type(pilot, "frank")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None)
        assert "handed off carol -> dave by alice" in app.dashboard.last_error
        assert "Your handoff was not applied" in app.dashboard.last_error
        assert app.dashboard.state.holder(Role.INCIDENT_COMMANDER) == "dave"


# ---- item 13: the declare form keeps what was typed -----------------------------------------


async def test_declare_keeps_the_title_when_the_severity_is_wrong(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("D")
        await _type(pilot, "Login broken for SSO users")
        await pilot.press("enter", "9", "enter", "enter")
        form = app.screen
        assert isinstance(form, FormScreen)  # today: closed, the title lost
        assert form.values()["title"] == "Login broken for SSO users"
        assert "'9' is not a severity" in form.errors["severity"]
        label = str(form.query_one("#l-severity").render())  # beside the field
        assert label.startswith("Severity") and "'9' is not a severity" in label
        assert form.focused is form.query_one("#f-severity")
        await pilot.press("backspace", "2", "enter", "enter")
        await settle(pilot, lambda: app.dashboard.state.id == "INC-3")
        assert (app.dashboard.state.title, app.dashboard.state.severity) == (
            "Login broken for SSO users", Severity.SEV2)


async def test_declare_warns_of_an_unknown_service_with_the_nearest_names(room: Path) -> None:
    app = configured_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("D")
        await _type(pilot, "Card payments failing")
        await pilot.press("enter", "1", "enter")
        await _type(pilot, "paymnets")
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, FormScreen)  # today: declared silently on the typo
        assert "did you mean payments?" in form.errors["service"]
        assert "did you mean payments?" in str(form.query_one("#l-service").render())
        await _clear(pilot, 10)
        await _type(pilot, "payments")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.state.id == "INC-3")
        assert app.dashboard.state.service == "payments"


async def test_declare_keeps_an_unknown_service_on_a_second_enter(room: Path) -> None:
    app = configured_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("D")
        await _type(pilot, "Ledger export stuck")
        await pilot.press("enter", "3", "enter")
        await _type(pilot, "ledger")
        await pilot.press("enter")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("enter")  # the same name again: kept, with a warning
        await settle(pilot, lambda: app.dashboard.state.id == "INC-3")
        assert app.dashboard.state.service == "ledger"
        assert any("warroom service INC-3 NAME" in n for n in _notices(app))


async def test_declare_m_assesses_with_the_matrix_and_comes_back(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        await pilot.press("D")
        await _type(pilot, "Checkout slow")
        await pilot.press("enter", "m", "enter", "enter")
        matrix = app.screen
        assert isinstance(matrix, FormScreen) and "matrix" in matrix.title_text
        await pilot.press("enter")
        await _type(pilot, "5")  # 5% of users
        for _ in range(5):
            await pilot.press("enter")
        form = app.screen
        assert isinstance(form, FormScreen) and form.title_text == "Declare an incident"
        assert form.values() == {"title": "Checkout slow", "severity": "3", "service": ""}
        assert "matrix: SEV-3: user impact" in str(form.query_one("#preview").render())
        await pilot.press("enter", "enter", "enter")
        await settle(pilot, lambda: app.dashboard.state.id == "INC-3")
        assert app.dashboard.state.severity == Severity.SEV3


# ---- item 16: the postmortem is saved where the person says, beside the room by default ------


async def test_postmortem_save_asks_where_beside_the_room(room: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "started-here"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the process started in another folder
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, MarkdownScreen))
        await pilot.press("ctrl+s")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)  # today: written at once into the cwd
        default = room.parent / "postmortems" / "INC-1-postmortem.md"
        assert prompt.query_one("Input").value == str(default)
        await pilot.press("enter")
        await settle(pilot, lambda: default.exists())
        assert default.read_text().startswith("#")
        assert not list(elsewhere.iterdir())
        default.write_text("edited by hand")
        await pilot.press("ctrl+s", "enter")
        question = app.screen
        assert isinstance(question, ConfirmScreen) and "already exists" in question.question
        await pilot.press("n")
        await pilot.pause()
        assert default.read_text() == "edited by hand"
        await pilot.press("ctrl+s")
        await _clear(pilot, 200)
        await _type(pilot, "reviews/inc1.md")  # relative: beside the room too
        await pilot.press("enter")
        await settle(pilot, lambda: (room.parent / "reviews" / "inc1.md").exists())
        assert isinstance(app.screen, MarkdownScreen)  # still open on the document
