"""What the screen shows, compared with reviewed snapshots (tests/__snapshots__/).

After an intended change of the screen: `pytest tests/test_tui_snapshots.py --snapshot-update`,
then look at the new SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .tui_support import make_app, seeded_db, settle


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


def _footer_current(app) -> bool:  # type: ignore[no-untyped-def]
    """Wait until the key bar shows no key still greyed out from before the incident loaded."""
    from warroom.tui.widgets.keybar import KeyBar

    shown = app.query_one(KeyBar)._shown
    return bool(shown) and all(state is not None for _, state in shown)


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await settle(pilot, lambda: app.dashboard.state is not None
                 and app.dashboard.metrics_report is not None)
    await settle(pilot, lambda: _footer_current(app))
    await pilot.pause()


def test_dashboard_80x24(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(room), terminal_size=(80, 24), run_before=_ready)


def test_dashboard_120x40(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    """Below 140 columns the panes stack above a timeline as wide as the terminal."""
    assert snap_compare(make_app(room), terminal_size=(120, 40), run_before=_ready)


def test_dashboard_160x48(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(room), terminal_size=(160, 48), run_before=_ready)


def test_empty_room_80x24(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: pilot.app.dashboard.metrics_report is not None)
        await pilot.pause()

    assert snap_compare(make_app(tmp_path / "empty.db"), terminal_size=(80, 24),
                        run_before=run_before)


def test_entry_dialog_80x24(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    """Tab, then Enter: the newest entry whole."""
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("tab", "enter")
        await pilot.pause()

    assert snap_compare(make_app(room), terminal_size=(80, 24), run_before=run_before)


def test_spectator_160x48(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(room, actor="watcher", spectator=True),
                        terminal_size=(160, 48), run_before=_ready)


def test_status_dialog_80x24(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(make_app(room), terminal_size=(80, 24), run_before=run_before)
