"""The dashboard under load (issue 15, parts 3-5): what the feed brings is folded and painted in
batches, the first screen reads only what it shows, and nothing is lost on the way."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.message import Message

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.domain.metrics.report import metrics_report
from warroom.store.sqlite import SQLiteStore
from warroom.tui.dashboard import DashboardScreen
from warroom.tui.session import EventsArrived, RoomSession
from warroom.tui.widgets.panes import MetricsPane
from warroom.tui.widgets.timeline import TimelineView

from .tui_support import NOW, make_app, seeded_db, settle

REPO = Path(__file__).resolve().parent.parent
# Another process commits 500 notes as fast as it can, and declares two incidents on the way.
BURST = """
import asyncio, sys
from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.store.sqlite import SQLiteStore

async def main(db, followed):
    store = await SQLiteStore.open(db)
    for n in range(500):
        s = await store.get(followed)
        await store.append(followed, commands.add_note(s, f"burst {n:03d}", "bob"))
        if n in (100, 400):
            await store.append(None, commands.declare(f"new {n}", Severity.SEV2, "bob"))
    await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


class _Listener:
    """Keeps what the session posts, as a busy screen's queue would."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def post_message(self, message: Message) -> bool:
        self.messages.append(message)
        return True


def _session() -> tuple[RoomSession, _Listener]:
    session = RoomSession.__new__(RoomSession)  # no store needed to deliver batches
    listener = _Listener()
    session._listener = listener  # type: ignore[assignment]
    session._unread = None
    return session, listener


def test_batches_arriving_while_the_screen_is_busy_become_one_message() -> None:
    session, listener = _session()
    a, b, c = (object() for _ in range(3))
    session._deliver([a])  # type: ignore[list-item]
    session._deliver([b])  # type: ignore[list-item]
    assert len(listener.messages) == 1
    first = listener.messages[0]
    assert isinstance(first, EventsArrived)
    assert first.take() == [a, b]
    session._deliver([c])  # type: ignore[list-item]  # taken: the next batch is a new message
    assert len(listener.messages) == 2
    second = listener.messages[1]
    assert isinstance(second, EventsArrived)
    assert second.take() == [c] and first.batch == [a, b]


async def test_a_burst_from_another_process_reaches_the_timeline_in_order(room: Path) -> None:
    """500 notes and two new incidents committed by another connection while the screen
    shows INC-1: every note is on the timeline once, in commit order, and the summaries and
    the open count are right once the burst is over."""
    db = room
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.dashboard
        await settle(pilot, lambda: screen.state is not None)
        followed = screen.state.id
        texts = [f"burst {n:03d}" for n in range(500)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BURST, str(db), followed,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        assert await proc.wait() == 0
        other = await SQLiteStore.open(db)
        try:
            want = await other.summaries()
        finally:
            await other.close()
        timeline = app.query_one(TimelineView)
        await settle(pilot, lambda: screen.state.version == 2 + 500
                     and screen.open_count == 4
                     and {s.id: s.version for s in screen.summaries}
                     == {s.id: s.version for s in want}, limit=30)
        shown = [r.event.data.get("text") for r in timeline.rows()]
        assert [t for t in shown if isinstance(t, str) and t.startswith("burst")] == texts
        seqs = [r.event.seq for r in timeline.rows()]
        assert len(seqs) == len(set(seqs))
        assert screen.summaries == want  # newest first, every field as the store has it


async def test_metrics_come_after_the_first_paint_and_count_every_incident(room: Path) -> None:
    """The first screen reads the open incidents only; every summary is read after it, and
    the metrics are those of every incident, resolved ones included."""
    db = room
    store = await SQLiteStore.open(db)
    try:
        for n in range(5):  # resolved: not needed for the first screen, needed for metrics
            r = await store.append(None, commands.declare(f"old {n}", Severity.SEV3, "bob"))
            s = await store.get(r.incident_id)
            await store.append(s.id, commands.acknowledge(s, "bob"))
            s = await store.get(r.incident_id)
            await store.append(s.id, commands.change_status(s, Status.RESOLVED, "bob"))
        everything = await store.summaries()
    finally:
        await store.close()
    reads: list[dict[str, Any]] = []
    shown_with: list[int] = []
    real_summaries = SQLiteStore.summaries
    real_show = DashboardScreen._show_incident

    async def summaries(self: SQLiteStore, **kwargs: Any) -> Any:
        reads.append(kwargs)
        return await real_summaries(self, **kwargs)

    def show(self: DashboardScreen, *args: Any) -> None:
        shown_with.append(len(self._summaries))
        real_show(self, *args)

    SQLiteStore.summaries = summaries  # type: ignore[method-assign]
    DashboardScreen._show_incident = show  # type: ignore[method-assign]
    try:
        app = make_app(db)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.dashboard
            await settle(pilot, lambda: screen.metrics_report is not None)
            assert reads[0] == {"open_only": True}
            assert shown_with == [2]  # the two open incidents, not the seven
            assert screen.open_count == 2
            assert [s.id for s in screen.summaries] == [s.id for s in everything]
            assert screen.metrics_report == metrics_report(
                everything, now=NOW, targets=screen.config.metrics)
    finally:
        SQLiteStore.summaries = real_summaries  # type: ignore[method-assign]
        DashboardScreen._show_incident = real_show  # type: ignore[method-assign]


async def test_the_switcher_lists_every_open_incident_after_start(room: Path) -> None:
    db = room
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.dashboard
        await settle(pilot, lambda: screen.metrics_report is not None)
        await pilot.press("i")
        await settle(pilot, lambda: app.screen is not screen)
        text = " ".join(str(c) for c in _choices(app))
        assert "INC-1" in text and "INC-2" in text


def _choices(app: App[Any]) -> list[Any]:
    dialog = app.screen
    return [c.label for c in getattr(dialog, "choices", [])]


async def test_a_pane_whose_text_changes_height_is_laid_out_again(room: Path) -> None:
    """Panes repaint without a layout pass while their height stays: one that grows or
    shrinks (the metrics pane switching to the on-call load and back) still gets it."""
    app = make_app(room)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.dashboard
        await settle(pilot, lambda: screen.metrics_report is not None)
        pane = app.query_one(MetricsPane)
        heights = []
        for mode in ("oncall", "metrics"):
            await pilot.press("m")
            await settle(pilot, lambda m=mode: screen.metrics_mode == m  # type: ignore[misc]
                         and (m == "metrics" or screen.oncall_rows is not None))
            await pilot.pause(0.05)
            want = len(pane.build().plain.split("\n"))
            await settle(pilot, lambda w=want: pane.content_size.height == w)  # type: ignore[misc]
            heights.append(want)
        assert heights[0] != heights[1]  # the test changes the pane's height at all
