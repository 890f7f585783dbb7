"""The dashboard's first screen (issue 15, part 5): what it shows is read while Textual builds
the screen, the first frame waits for those reads only a moment, what follows the first paint
(every summary, the metrics) still arrives, and the garbage collector paused for start-up
resumes. No timing here: only that each piece arrives, and where it comes from."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.store.sqlite import STATEMENTS, SQLiteStore
from warroom.tui.dashboard import FIRST_READ_WAIT
from warroom.tui.run import collector_paused
from warroom.tui.widgets.timeline import TimelineView

from .tui_support import make_app, seeded_db, settle


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


async def test_the_first_screen_shows_the_room_and_what_follows_it_arrives(room: Path) -> None:
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        timeline = app.query_one(TimelineView)
        await settle(pilot, lambda: screen.state is not None and timeline.row_count > 0)
        assert screen.state is not None and screen.state.id == "INC-1"
        assert screen.follow_id == screen.session.follow_id == "INC-1"
        assert timeline.row_count == 2
        assert timeline.border_title == "Timeline · 2 events"
        assert screen.open_count == 2
        # After the first paint: every summary, then the metrics.
        await settle(pilot, lambda: screen.metrics_report is not None)
        assert [s.id for s in screen.summaries] == ["INC-2", "INC-1"]


async def test_a_slow_store_gets_the_empty_screen_first_then_the_room(
        room: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first frame waits FIRST_READ_WAIT for the reads, not longer: a store slower than
    that (a remote room) shows the screen at once and the room when it answers."""
    answer = asyncio.Event()
    real = SQLiteStore.summaries

    async def slow(self: SQLiteStore, **kwargs: Any) -> Any:
        if kwargs.get("open_only"):
            await answer.wait()
        return await real(self, **kwargs)

    monkeypatch.setattr(SQLiteStore, "summaries", slow)
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        timeline = app.query_one(TimelineView)
        await pilot.pause(FIRST_READ_WAIT * 4)
        assert screen.state is None
        assert timeline.size.height > 0  # laid out and drawn without the room
        answer.set()
        await settle(pilot, lambda: screen.state is not None and timeline.row_count == 2)
        await settle(pilot, lambda: screen.metrics_report is not None)


async def test_a_screen_closed_before_the_room_answered_stops_reading(
        room: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(self: SQLiteStore, **kwargs: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(SQLiteStore, "summaries", never)
    app = make_app(room)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        await pilot.pause(FIRST_READ_WAIT * 2)
        assert screen.state is None
        await pilot.press("q")
    assert screen._first_read.cancelled()


async def test_the_feed_starts_where_the_first_reads_started(room: Path) -> None:
    """Committed after the cursor was taken but before the reads: in the reads and in the
    feed; the fold takes it once."""
    store = await SQLiteStore.open(room)
    real = SQLiteStore.summaries
    committed: list[str] = []

    async def commit_first(self: SQLiteStore, **kwargs: Any) -> Any:
        if kwargs.get("open_only") and not committed:
            s = await store.get("INC-1")
            await store.append(s.id, commands.add_note(s, "between the reads", "bob"))
            committed.append("note")
        return await real(self, **kwargs)

    SQLiteStore.summaries = commit_first  # type: ignore[method-assign]
    try:
        app = make_app(room)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.dashboard
            timeline = app.query_one(TimelineView)
            await settle(pilot, lambda: screen.state is not None and timeline.row_count == 3)
            await pilot.pause(0.1)  # the feed brings the same note again: taken once
            assert timeline.row_count == 3
            assert screen.state is not None and screen.state.version == 3
    finally:
        SQLiteStore.summaries = real  # type: ignore[method-assign]
        await store.close()


def test_the_collector_is_paused_for_start_up_and_always_resumes() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the dashboard could not start")
    assert gc.isenabled()


async def test_the_settled_dashboard_resumes_the_collector(room: Path) -> None:
    """`warroom` runs the dashboard with the collector paused: the screen resumes it once its
    metrics are on screen, not when the app ends."""
    app = make_app(room)
    with collector_paused():
        async with app.run_test(size=(120, 40)) as pilot:
            assert not gc.isenabled()
            screen = app.dashboard
            await settle(pilot, lambda: screen.metrics_report is not None)
            await settle(pilot, gc.isenabled)
    assert gc.isenabled()


async def test_open_incidents_are_read_through_the_status_index(room: Path) -> None:
    """`status != 'Resolved'` read every row of a 10,000-incident room before the first
    paint; the open statuses spelled out use the (status, number) index."""
    store = await SQLiteStore.open(room)
    try:
        s = await store.get("INC-2")
        await store.append(s.id, commands.change_status(s, Status.RESOLVED, "bob"))
        await store.append(None, commands.declare("third", Severity.SEV2, "bob"))
        every = await store.summaries()
        open_rows = await store.summaries(open_only=True)
    finally:
        await store.close()
    assert [r.id for r in open_rows] == [r.id for r in every if r.is_open] == ["INC-3", "INC-1"]
    with sqlite3.connect(room) as db:
        plan = " ".join(str(row) for row in db.execute(
            "EXPLAIN QUERY PLAN " + STATEMENTS.summaries + STATEMENTS.open_only))
    assert "incidents_by_status" in plan
