"""What goes out to the terminal around a dialog (issue 15, part 3): a dialog answered with a
change closes in the frame that shows the change, not a frame before it; a cancelled or
refused one lets the screen paint at once; nothing holds the screen for good."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from warroom.domain.incident import commands
from warroom.store.sqlite import SQLiteStore
from warroom.tui.app import WarroomApp
from warroom.tui.screens import TextPrompt
from warroom.tui.widgets.timeline import TimelineView

from .tui_support import make_app, seeded_db, settle


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


def _frames(app: WarroomApp, what: Callable[[], Any]) -> list[Any]:
    """`what()` at every screen update handed to the driver. `App._display` is Textual's (the
    benchmarks' probe wraps it too): if it goes, this fails rather than seeing no frame."""
    seen: list[Any] = []
    original = app._display

    def display(screen: Any, update: Any) -> None:
        original(screen, update)
        if update is not None:
            seen.append(what())

    app._display = display  # type: ignore[method-assign]
    return seen


def _last_text(app: WarroomApp) -> object:
    rows = app.query_one(TimelineView).rows()
    return rows[-1].event.data.get("text") if rows else None


async def test_a_note_prompt_closes_in_the_frame_that_shows_the_note(
        room: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The mechanism, not the machine's speed: on a loaded machine a write may take longer than
    # the 50 ms the screen is held for, and the dialog then rightly closes on its own first.
    monkeypatch.setattr("warroom.tui.dashboard.HOLD", 5.0)
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        for n in range(3):
            await pilot.press("n")
            await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
            app.screen.query_one("#text").value = f"held {n}"
            await pilot.pause()
            frames = _frames(app, lambda: (isinstance(app.screen, TextPrompt), _last_text(app)))
            await pilot.press("enter")
            await settle(pilot, lambda n=n, frames=frames: (False, f"held {n}") in frames)
            assert (False, f"held {n}") == next(f for f in frames if not f[0]), frames
            assert app.dashboard._hold is None


async def test_a_cancelled_or_refused_dialog_does_not_hold_the_screen(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.dashboard)
        assert app.dashboard._hold is None
        # A retitle to the same title writes nothing: the action ends, the screen paints.
        await pilot.press("T")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        frames = _frames(app, lambda: app.screen is app.dashboard)
        await pilot.press("enter")
        await settle(pilot, lambda: True in frames)
        assert app.dashboard._hold is None
        # Refused as stale: the notice and the prompt again, no hold left behind.
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        app.screen.query_one("#text").value = "too late"
        other = await SQLiteStore.open(room)
        try:
            seen = await other.get("INC-1")
            await other.append("INC-1", commands.add_note(seen, "first", "bob"))
        finally:
            await other.close()
        await settle(pilot, lambda: _last_text(app) == "first")
        await pilot.press("enter")
        await settle(pilot, lambda: app.dashboard.last_error is not None
                     and isinstance(app.screen, TextPrompt))
        assert app.dashboard._hold is None


def test_the_frame_override_still_has_textuals_names_under_it() -> None:
    """DashboardScreen._on_timer_update extends Textual's private frame: if Textual renames
    it or the flag it clears, the override is a no-op, and this says so."""
    from textual.screen import Screen

    assert callable(getattr(Screen, "_on_timer_update", None))
    assert hasattr(Screen(), "_repaint_required")


async def test_messages_to_the_dashboard_under_a_dialog_do_not_repaint_it(room: Path) -> None:
    """Under an open dialog, a message that changes nothing on the dashboard (a feed batch
    about another incident, the same presence again) sends no frame; a change does."""
    from textual.widgets import Input

    from warroom.tui.session import PresenceChanged

    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        app.screen.query_one(Input).cursor_blink = False
        app.dashboard.present = ("alice",)  # one change under the dialog: one repaint
        await pilot.pause(0.1)
        frames = _frames(app, lambda: None)
        for _ in range(5):
            app.dashboard.post_message(PresenceChanged(["alice"]))
            await pilot.pause(0.05)
        assert frames == []
        app.dashboard.post_message(PresenceChanged(["alice", "bob"]))
        await settle(pilot, lambda: len(frames) > 0)


async def test_the_prompt_asked_again_asks_what_it_is_asked_now(room: Path) -> None:
    """The one-line prompt is built once and reused: each time it shows its own title, value
    (offered whole, selected, as a fresh one would), placeholder and hint, and answers it."""
    from textual.widgets import Input, Label, Static

    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        title = app.dashboard.state.title
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        first = app.screen
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("T")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.pause()
        prompt = app.screen
        assert prompt is first  # the same one, asked again
        field = prompt.query_one(Input)
        assert "Title of INC-1" in str(prompt.query_one(".dialog-title", Label).render())
        assert field.value == prompt.value and field.value
        assert field.has_focus and field.selection == (0, len(field.value))
        assert "Enter to save" in str(prompt.query_one(".dialog-hint", Static).render())
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, TextPrompt))
        assert app.screen is first and app.screen.query_one(Input).value == ""
        assert "Add a note" in str(app.screen.query_one(".dialog-title", Label).render())
        await pilot.press(*"again")
        await pilot.press("enter")
        await settle(pilot, lambda: _last_text(app) == "again")
        assert app.dashboard.state.title == title
