"""Time travel on the dashboard (issue 17.4): `[`/`]` step through the followed incident's
events, every pane shows the room as of that event, a banner says so, nothing can be changed
while scrubbing, and Esc comes back to live with whatever arrived meanwhile. The 80x24 banner
is compared with a reviewed snapshot (tests/__snapshots__/test_tui_timetravel/)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.events import idempotent_id
from warroom.domain.incident.roles import Role
from warroom.domain.incident.status import Status
from warroom.store import sql
from warroom.store.sqlite import SQLiteStore
from warroom.tui.actions import ACTIONS
from warroom.tui.timetravel import AsOfBar
from warroom.tui.widgets.timeline import TimelineView

from .tui_support import CET, NOW, make_app, seeded_db, settle

T = NOW - timedelta(minutes=14)  # INC-1's declaration in the seed


def _as_it_happened():  # type: ignore[no-untyped-def]
    """Each append recorded at its events' own time, as when people type live."""
    real = sql.append_steps

    def steps(*args, now, **kwargs):  # type: ignore[no-untyped-def]
        events = args[3]
        first = events[0].at if events and events[0].at is not None else now
        return real(*args, now=first, **kwargs)

    return mock.patch.object(sql, "append_steps", steps)


@pytest.fixture
def room(tmp_path: Path) -> Path:
    """INC-1 (the seed's declaration v1 and note v2), acknowledged by bob at +3m (v3), carol
    IC at +4m (v4), Identified at +6m (v5)."""
    path = seeded_db(tmp_path / "room.db")

    async def grow() -> None:
        store = await SQLiteStore.open(path)
        try:
            for make in (
                lambda s: commands.acknowledge(s, "bob", at=T + timedelta(minutes=3)),
                lambda s: commands.assign_role(s, Role.INCIDENT_COMMANDER, "carol", "bob",
                                               at=T + timedelta(minutes=4)),
                lambda s: commands.change_status(s, Status.IDENTIFIED, "carol",
                                                 at=T + timedelta(minutes=6)),
            ):
                s = await store.get("INC-1")
                events = make(s)
                for i, e in enumerate(events):
                    e.name(idempotent_id(f"timetravel {s.version} {i}"))
                await store.append("INC-1", events)
        finally:
            await store.close()

    with _as_it_happened():
        asyncio.run(grow())
    return path


def _texts(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


async def test_brackets_step_through_the_events_and_esc_is_live(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        d = app.dashboard
        await settle(pilot, lambda: d.state is not None and d.state.version == 5)
        timeline = d.query_one(TimelineView)
        assert not d.query(AsOfBar)

        await pilot.press("left_square_bracket")  # one step back: as of v4 (carol IC)
        await settle(pilot, lambda: bool(d.query(AsOfBar)))
        assert d.state is not None
        assert (d.state.version, d.state.status) == (4, Status.INVESTIGATING)
        assert d.state.holder(Role.INCIDENT_COMMANDER) == "carol"
        assert d.now == T + timedelta(minutes=4)  # clocks at that event's time
        assert timeline.row_count == 4 and timeline.cursor == 3  # its last row selected
        bar = str(d.query_one(AsOfBar).render())
        utc, local = T + timedelta(minutes=4), (T + timedelta(minutes=4)).astimezone(CET)
        assert f"AS OF {utc:%H:%M:%S} - Esc: live" in bar and "v4/5" in bar
        assert f"({local:%H:%M} CET)" in bar

        await pilot.press("left_square_bracket", "left_square_bracket")  # v2: not yet acked
        assert d.state is not None and d.state.version == 2
        assert d.state.acknowledged_at is None and d.state.holder(
            Role.INCIDENT_COMMANDER) is None
        assert d.now == T + timedelta(minutes=2) and timeline.row_count == 2
        status_text = str(d.query_one("#status-pane").render())
        assert "Investigating" in status_text

        await pilot.press("left_square_bracket", "left_square_bracket")  # stops at v1
        assert d.state is not None and d.state.version == 1
        assert any("nothing earlier" in t for t in _texts(app))

        await pilot.press("right_square_bracket")
        assert d.state is not None and d.state.version == 2

        await pilot.press("escape")
        await settle(pilot, lambda: not d.query(AsOfBar))
        assert d.state is not None and d.state.version == 5
        assert d.state.status == Status.IDENTIFIED
        assert timeline.row_count == 5 and d.now == NOW

        await pilot.press("left_square_bracket")  # `]` past the newest event is live too
        assert d.state is not None and d.state.version == 4
        await pilot.press("right_square_bracket")
        assert d.state is not None and d.state.version == 5
        await pilot.press("right_square_bracket")
        await settle(pilot, lambda: not d.query(AsOfBar))
        assert d.follow_id == "INC-1"


async def test_every_mutating_key_is_refused_while_scrubbing(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        d = app.dashboard
        await settle(pilot, lambda: d.state is not None and d.state.version == 5)
        await pilot.press("left_square_bracket")
        await settle(pilot, lambda: bool(d.query(AsOfBar)))
        mutating = [s for s in ACTIONS if s.mutating]
        assert len(mutating) >= 15
        for spec in mutating:
            before = len(app._notifications)
            assert d.check_action(spec.action, ()) is False  # the spectators' gate, reused
            await pilot.press(spec.key)
            await pilot.pause()
            assert app.screen is d, f"{spec.key} opened a dialog while scrubbing"
            said = _texts(app)[before:]
            assert any("nothing can be changed while scrubbing" in t for t in said), spec.key
        # The live incident's own actions too (comms could mark a message sent).
        for key in ("c", "i", "P", "l"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is d, key
        assert any("works on the live room" in t for t in _texts(app))
        store = await SQLiteStore.open(room, readonly=True)
        try:
            assert (await store.get("INC-1")).version == 5  # nothing was written
        finally:
            await store.close()
        # Help still opens, and lists the time-travel keys.
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is not d
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is d)
        assert d.state is not None and d.state.version == 4  # Esc closed help, not the scrub
        await pilot.press("escape")
        await settle(pilot, lambda: not d.query(AsOfBar))
        assert d.check_action("ack", ()) is True


async def test_live_events_arriving_while_scrubbing_are_shown_after_esc(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        d = app.dashboard
        timeline = d.query_one(TimelineView)
        await settle(pilot, lambda: d.state is not None and d.state.version == 5)
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert d.state is not None and d.state.version == 3

        other = await SQLiteStore.open(room)  # another terminal
        try:
            s = await other.get("INC-1")
            await other.append("INC-1", commands.add_note(s, "pool resized", "dave", at=NOW))
            s = await other.get("INC-1")
            await other.append("INC-1", commands.change_status(s, Status.MONITORING, "dave",
                                                               at=NOW))
            s2 = await other.get("INC-2")
            await other.append("INC-2", commands.change_status(s2, Status.RESOLVED, "bob",
                                                               at=NOW))
        finally:
            await other.close()
        # The feed delivers underneath (INC-2's summary is live) ...
        await settle(pilot, lambda: not d._summaries["INC-2"].is_open)
        assert d._summaries["INC-1"].status == "Monitoring"
        # ... while the screen still shows v3, its timeline and clocks.
        assert d.state is not None and d.state.version == 3
        assert timeline.row_count == 3 and d.now == T + timedelta(minutes=3)
        await pilot.press("right_square_bracket")  # steps stay within what scrubbing began with
        assert d.state is not None and d.state.version == 4

        await pilot.press("escape")
        await settle(pilot, lambda: not d.query(AsOfBar))
        assert d.state is not None and d.state.version == 7
        assert d.state.status == Status.MONITORING
        assert timeline.row_count == 7
        assert "pool resized" in timeline.rows()[-2].text

        # Live again: the next commit reaches the screen as usual.
        other = await SQLiteStore.open(room)
        try:
            s = await other.get("INC-1")
            await other.append("INC-1", commands.add_note(s, "after", "dave", at=NOW))
        finally:
            await other.close()
        await settle(pilot, lambda: d.state is not None and d.state.version == 8)
        assert timeline.row_count == 8


async def test_a_spectator_may_scrub(room: Path) -> None:
    app = make_app(room, spectator=True)
    async with app.run_test(size=(160, 48)) as pilot:
        d = app.dashboard
        await settle(pilot, lambda: d.state is not None and d.state.version == 5)
        await pilot.press("left_square_bracket")
        await settle(pilot, lambda: bool(d.query(AsOfBar)))
        assert d.state is not None and d.state.version == 4
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is d
        await pilot.press("escape")
        await settle(pilot, lambda: not d.query(AsOfBar))
        assert d.state is not None and d.state.version == 5


def test_scrubbing_banner_80x24(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        d = pilot.app.dashboard
        await settle(pilot, lambda: d.state is not None and d.state.version == 5
                     and d.metrics_report is not None)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot, lambda: bool(d.query(AsOfBar)))
        await pilot.pause()

    assert snap_compare(make_app(room), terminal_size=(80, 24), run_before=run_before)


async def test_scrubbing_from_the_focused_timeline_with_remapped_keys(room: Path) -> None:
    """The refusal follows warroom.toml's [keys] (a remapped note key is refused, its old key
    is nothing), and the time-travel keys work with the timeline focused."""
    app = make_app(room, keys={"note": "z", "time_back": "comma"})
    async with app.run_test(size=(160, 48)) as pilot:
        d = app.dashboard
        await settle(pilot, lambda: d.state is not None and d.state.version == 5)
        await pilot.press("tab")
        assert isinstance(app.focused, TimelineView)
        await pilot.press("comma")
        await settle(pilot, lambda: bool(d.query(AsOfBar)))
        assert d.state is not None and d.state.version == 4
        before = len(app._notifications)
        await pilot.press("z")
        await pilot.pause()
        assert app.screen is d
        assert any(t.startswith("Note: nothing can be changed") for t in _texts(app)[before:])
        await pilot.press("escape")
        await settle(pilot, lambda: not d.query(AsOfBar))
        assert d.state is not None and d.state.version == 5
