"""The dashboard's layout at the sizes people use (issue 12, items 7-10 and 18): the timeline
has the width and every entry can be read whole, in the order things happened; a live resize
gives the layout of a fresh start; the key bar and every dialog fit 80x24; a toast never
hides a dialog; the header says the time once when local time is UTC, and how to start."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Input

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.store.sqlite import SQLiteStore
from warroom.tui.documents import TextScreen
from warroom.tui.prompts import comms_choices
from warroom.tui.screens import FormScreen, InfoScreen
from warroom.tui.widgets.keybar import KeyBar
from warroom.tui.widgets.timeline import TimelineView

from .tui_support import NOW, make_app, seeded_db, settle

LONG = ("pool exhausted on db-3 after the 14:20 deploy; rolled back the connection limit, "
        "watching p99 for ten minutes before we call it; END-OF-TEXT")


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await settle(pilot, lambda: app.dashboard.state is not None
                 and app.dashboard.metrics_report is not None)
    await pilot.pause()


async def _append(path: Path, make: Any) -> None:
    """A second writer (another terminal, the CLI) adds to INC-1."""
    store = await SQLiteStore.open(path)
    try:
        state = await store.get("INC-1")
        await store.append(state.id, make(state))
    finally:
        await store.close()


def _timeline(app) -> TimelineView:  # type: ignore[no-untyped-def]
    return app.dashboard.query_one(TimelineView)


# ---- item 7: the timeline has the width; Enter opens an entry whole -------------------------

@pytest.mark.parametrize("size, least", [((120, 40), 110), ((160, 48), 90), ((80, 24), 78)])
async def test_the_timeline_has_the_width(room: Path, size: tuple[int, int], least: int) -> None:
    """At 120x40 the timeline was 54 columns and most entries ended in '…'."""
    app = make_app(room)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot)
        assert _timeline(app).scrollable_content_region.width >= least
        if app.dashboard.compact:  # the stacked panes have the whole width too
            assert app.dashboard.query_one("#right").region.width == size[0]


async def test_enter_on_the_focused_timeline_opens_the_entry_whole(room: Path) -> None:
    await _append(room, lambda s: commands.add_note(s, LONG, "carol",
                                                    at=NOW - timedelta(minutes=1)))
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        timeline = _timeline(app)
        await settle(pilot, lambda: timeline.row_count == 3)
        await pilot.press("tab")
        assert app.focused is timeline
        await pilot.press("end", "enter")
        await settle(pilot, lambda: isinstance(app.screen, TextScreen))
        body = str(app.screen.body)
        assert LONG in body  # the whole text, not the row's "…"
        for field in ("Kind", "note", "Actor", "carol", "Happened", "14:45:20 UTC",
                      "Recorded"):
            assert field in body
        dialog = app.screen.query_one(".dialog")
        assert app.screen.region.contains_region(dialog.region)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.dashboard)
        assert app.focused is timeline  # back where the reader was


async def test_an_amended_entry_opens_with_its_amendments(room: Path) -> None:
    async def amend() -> None:
        store = await SQLiteStore.open(room)
        try:
            events = await store.events("INC-1")
            note = next(e for e in events if e.kind == "note")
            state = await store.get("INC-1")
            await store.append(state.id, commands.amend(state, note.event_id, "dave",
                                                        "5xx on /v2/charge (corrected)"))
        finally:
            await store.close()

    await amend()
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        timeline = _timeline(app)
        await pilot.press("tab", "home", "down", "enter")
        await settle(pilot, lambda: isinstance(app.screen, TextScreen))
        body = str(app.screen.body)
        assert "5xx on /v2/charge (corrected)" in body
        assert "As first recorded" in body and "pool at 100%" in body
        assert "Amendments (1)" in body and "by dave" in body
        del timeline


# ---- item 8: by the time things happened ----------------------------------------------------

async def test_a_backdated_entry_lands_where_it_happened_marked_recorded_later(
        room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        timeline = _timeline(app)
        assert timeline.row_count == 2
        # 14:33:20, between the declaration (14:32:20) and carol's note (14:34:20), typed now
        await _append(room, lambda s: commands.add_note(s, "paged db on-call by phone", "bob",
                                                        at=NOW - timedelta(minutes=13)))
        await settle(pilot, lambda: timeline.row_count == 3)
        texts = [row.text for row in timeline.rows()]
        assert texts[1] == "paged db on-call by phone", texts
        row = timeline.rows()[1]
        assert row.recorded_note is not None
        line = "".join(seg.text for seg in timeline.render_line(
            1 - int(timeline.scroll_offset.y)))
        assert "14:33:20" in line and row.recorded_note in line


async def test_the_selected_entry_stays_selected_when_an_earlier_one_arrives(
        room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        timeline = _timeline(app)
        await pilot.press("tab", "end")
        selected = timeline.selected_event()
        assert selected is not None and selected.kind == "note"
        await _append(room, lambda s: commands.add_note(s, "backdated", "bob",
                                                        at=NOW - timedelta(minutes=13)))
        await settle(pilot, lambda: timeline.row_count == 3)
        assert timeline.selected_event() == selected


# ---- item 9: a live resize gives the layout of a fresh start --------------------------------

def _layout(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    d = app.dashboard
    regions = {w.id: w.region for w in d.query("*") if w.id}
    return {"regions": regions, "compact": d.compact, "classes": sorted(d.classes),
            "keys": str(d.query_one(KeyBar).render()), "short": app.has_class("-short")}


async def _layout_at(room: Path, start: tuple[int, int], resizes: list[tuple[int, int]],
                     dialog: str | None = None) -> dict[str, Any]:
    app = make_app(room)
    async with app.run_test(size=start) as pilot:
        await _ready(pilot)
        if dialog:
            await pilot.press(dialog)
            await settle(pilot, lambda: app.screen is not app.dashboard)
        for size in resizes:
            await pilot.resize_terminal(*size)
            await pilot.pause()
        if dialog:
            await pilot.press("escape")
            await settle(pilot, lambda: app.screen is app.dashboard)
        await pilot.pause()
        return _layout(app)


@pytest.mark.parametrize("start, resizes, dialog", [
    ((200, 50), [(80, 24)], None),
    ((80, 24), [(200, 50)], None),
    ((200, 50), [(150, 40), (120, 40), (80, 24)], None),
    ((200, 50), [(80, 24)], "question_mark"),  # resized under a dialog
    ((120, 40), [(160, 48)], "s"),
])
async def test_a_live_resize_gives_the_layout_of_a_fresh_start(
        room: Path, start: tuple[int, int], resizes: list[tuple[int, int]],
        dialog: str | None) -> None:
    fresh = await _layout_at(room, resizes[-1], [])
    resized = await _layout_at(room, start, resizes, dialog)
    assert resized == fresh


# ---- item 10: the key bar and every dialog fit 80x24 -----------------------------------------

async def test_the_key_bar_fits_80_columns_and_always_offers_help(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        bar = app.dashboard.query_one(KeyBar)
        await settle(pilot, lambda: "Ack" in str(bar.render()))
        text = str(bar.render())
        assert len(text) <= 80 and "…" not in text, text
        assert " ? Help +" in text  # the keys left out are one key away
        for shown in ("a Ack", "s Status", "n Note", "e Escalate", "c Comms"):
            assert shown in text
        assert len(bar.hidden) == int(text.split("Help +")[1].split()[0])


async def test_an_empty_room_at_80x24_shows_how_to_start(tmp_path: Path) -> None:
    app = make_app(tmp_path / "empty.db", keys={"declare": "f2"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: "No open incident" in str(
            app.dashboard.query_one("#header").render()))
        header = str(app.dashboard.query_one("#header").render())
        assert "No open incident: f2 declares one; alerts open incidents by themselves" \
            in header
        bar = str(app.dashboard.query_one(KeyBar).render())
        assert "f2 Declare" in bar and "?" in bar


DIALOGS = [["s"], ["v"], ["v", "m"], ["r"], ["n"], ["D"], ["c"], ["c", "1"], ["i"], ["b"],
           ["P"], ["l"], ["question_mark"], ["k"], ["e"], ["tab", "enter"]]


@pytest.mark.parametrize("keys", DIALOGS, ids=["+".join(k) for k in DIALOGS])
async def test_every_dialog_fits_and_scrolls_at_80x24(room: Path, keys: list[str]) -> None:
    await _append(room, lambda s: commands.add_note(s, LONG * 4, "carol"))
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await settle(pilot, lambda: app.screen is not app.dashboard)
        await pilot.pause()
        screen = app.screen
        dialog = screen.query_one(".dialog")
        assert Region(0, 0, 80, 24).contains_region(dialog.region)
        # Whatever does not fit can be scrolled to: the dialog scrolls, or the part that
        # overflows (a document, a list) does.
        def scrolls(widget: Any) -> bool:
            return widget.styles.overflow_y in ("auto", "scroll")

        for part in [dialog, *dialog.query("*")]:
            if part.virtual_size.height > part.scrollable_content_region.height + 1:
                chain = [part, *part.ancestors_with_self[1:]]
                chain = chain[:chain.index(dialog) + 1] if dialog in chain else chain
                assert any(scrolls(w) for w in chain), part


async def test_the_matrix_suggestion_is_in_sight_at_80x24(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("v", "m")
        await settle(pilot, lambda: isinstance(app.screen, FormScreen))
        for key in "5000":
            await pilot.press(key)
        await pilot.pause()
        form = app.screen
        preview = form.query_one("#preview")
        dialog = form.query_one(".dialog")
        assert "suggestion: SEV-2" in str(preview.render())
        assert dialog.region.contains_region(preview.region)
        assert preview.region.y + preview.region.height <= 24
        # and every field is on screen with it (no field hidden under the suggestion)
        for field in form.query(Input):
            assert dialog.region.contains_region(field.region), field.id
            assert not field.region.overlaps(preview.region)


def test_stakeholder_lines_wrap_under_their_own_column(room: Path) -> None:
    import asyncio

    async def state() -> Any:
        store = await SQLiteStore.open(room)
        try:
            return await store.get("INC-1")
        finally:
            await store.close()

    s = asyncio.run(state())
    width = 70  # inside a dialog (76 columns, its border and padding)
    for sev in Severity:
        s.severity = sev
        _, plan = comms_choices(s, NOW)
        lines = plan.plain.splitlines()[1:]
        assert all(len(line) <= width for line in lines), lines
        # What the status page says closes the plan (issue 16): two lines of their own.
        assert lines[-2].startswith("Status page now: ")
        assert lines[-1].startswith("Next public update: ")
        lines = lines[:-2]
        for line in lines:  # a name, or a continuation under the detail column
            assert line.startswith("  ") and (line[2] != " " or line.startswith(" " * 16))
        assert " - " not in plan.plain and "· -" not in plan.plain


async def test_a_toast_never_hides_an_open_dialog(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _ready(pilot)
        await pilot.press("question_mark")  # the tallest dialog: every key
        await settle(pilot, lambda: isinstance(app.screen, InfoScreen))
        app.dashboard.notify_error("INC-1 changed while this was open: Incident Commander: "
                                   "carol, assigned by alice 4s ago; your handoff was not "
                                   "applied")
        await settle(pilot, lambda: bool(app.screen.query("Toast")))
        await pilot.pause()
        toast = app.screen.query_one("Toast")
        dialog = app.screen.query_one(".dialog")
        assert toast.region.height > 0 and dialog.region.height > 0
        assert not toast.region.overlaps(dialog.region), (toast.region, dialog.region)


# ---- item 18: the header ----------------------------------------------------------------------

async def test_the_header_says_the_time_once_when_local_time_is_utc(room: Path) -> None:
    app = make_app(room)
    app.local_tz = UTC
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        header = str(app.dashboard.query_one("#header").render())
        assert "14:46:20 UTC" in header and header.count("14:46:20") == 1, header


async def test_the_header_shows_local_time_with_its_zone_when_it_differs(room: Path) -> None:
    app = make_app(room)  # CET
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot)
        header = str(app.dashboard.query_one("#header").render())
        assert "14:46:20 UTC · 15:46:20 CET" in header
