"""Each of the new dialogs (issue 12: S, p, x, T, N, M) at 80x24, compared with reviewed
snapshots (tests/__snapshots__/test_tui_parity_snapshots/). After an intended change:
`pytest tests/test_tui_parity_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from warroom.domain.config.model import parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.events import idempotent_id
from warroom.store.sqlite import SQLiteStore
from warroom.tui.app import WarroomApp

from .tui_support import CET, NOW, seeded_db, settle

SERVICES = {
    "teams": {"payments-team": {}, "search-team": {}},
    "services": {"payments": {"team": "payments-team"}, "search": {"team": "search-team"},
                 "checkout": {"team": "payments-team"}},
}


@pytest.fixture
def room(tmp_path: Path) -> Path:
    path = seeded_db(tmp_path / "room.db")

    async def items() -> None:
        store = await SQLiteStore.open(path)
        try:
            for text in ("roll back the pool @bob", "page the DBA"):
                s = await store.get("INC-1")
                events = [replace(e, replayed=True)  # recorded as it happened: no "recorded"
                          for e in commands.add_note(s, text, "carol", at=NOW, kind="action")]
                events[0].name(idempotent_id(f"snapshot {text}"))  # its id is on the screen
                await store.append("INC-1", events)
            s = await store.get("INC-1")
            events = [replace(e, replayed=True) for e in
                      commands.complete_action(s, s.action_items[1].id, "carol", at=NOW)]
            events[0].name(idempotent_id("snapshot done"))
            await store.append("INC-1", events)
        finally:
            await store.close()

    asyncio.run(items())
    return path


def _app(room: Path) -> WarroomApp:
    async def opener() -> SQLiteStore:
        return await SQLiteStore.open(room, poll_interval=0.01)

    return WarroomApp(actor="alice", clock=lambda: NOW, local_tz=CET, tick=None,
                      presence=False, open_store=opener, engine=False,
                      config=parse_config(SERVICES))


@pytest.mark.parametrize("keys", [
    ("S",), ("S", "t", "ctrl+u", "c", "h", "e", "k", "o", "u", "t", "enter"), ("p",), ("x",),
    ("T",), ("N", "1", "5", ":", "3", "0"), ("M", "t", "u", "e", "space", "1", "4", ":", "0",
                                              "0"),
], ids=["service", "service-unknown", "phase", "action-done", "retitle", "backdate",
        "postmortem-schedule"])
def test_dialog_80x24(snap_compare, room: Path, keys: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await settle(pilot, lambda: app.dashboard.state is not None
                     and app.dashboard.metrics_report is not None)
        await pilot.press(*keys)
        await pilot.pause()

    assert snap_compare(_app(room), terminal_size=(80, 24), run_before=run_before)
