"""Each dialog of the commander's flows at 80x24, compared with reviewed snapshots
(tests/__snapshots__/test_tui_flows_snapshots/). After an intended change:
`pytest tests/test_tui_flows_snapshots.py --snapshot-update`, then look at the SVGs.

The postmortem's save prompt is not here: it shows the room's absolute folder, which is a
temporary folder that changes every run (tests/test_tui_flows.py checks its text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_tui_flows import configured_app
from .tui_support import make_app, seeded_db, settle


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return seeded_db(tmp_path / "room.db")


def _keys(*keys: str, configured: bool = False):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await settle(pilot, lambda: app.dashboard.state is not None
                     and app.dashboard.metrics_report is not None)
        if configured:
            app.dashboard.present = ("alice", "erin")
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        await pilot.pause()

    return run_before


def _typed(text: str) -> list[str]:
    return [c if c != " " else "space" for c in text]


CASES = {
    "matrix_form": ("v", "m", "enter", "4", "0"),
    "matrix_confirmation": ("v", "m", "enter", "4", "0", "enter", "enter", "enter", "enter",
                            "enter"),
    "severity_confirmation": ("v", "3"),
    "identified_cause": ("s", "d"),
    "resolve_sev1": ("s", "r"),
    "move_why": ("s", "m"),
    "fact_choice": ("f",),
    "fact_prompt": ("f", "e"),
    "declare_error": ("D", *_typed("Login broken"), "enter", "9", "enter", "enter"),
    "declare_matrix_back": ("D", *_typed("Checkout slow"), "enter", "m", "enter", "enter",
                            "enter", "5", "enter", "enter", "enter", "enter", "enter"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dialog_80x24(snap_compare, room: Path, case: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(room), terminal_size=(80, 24),
                        run_before=_keys(*CASES[case]))


def test_people_choice_80x24(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(configured_app(room, actor="carol"), terminal_size=(80, 24),
                        run_before=_keys("r", "1", configured=True))


def test_declare_unknown_service_80x24(snap_compare, room: Path) -> None:  # type: ignore[no-untyped-def]
    keys = ("D", *_typed("Card payments failing"), "enter", "1", "enter", *_typed("paymnets"),
            "enter")
    assert snap_compare(configured_app(room), terminal_size=(80, 24), run_before=_keys(*keys))
