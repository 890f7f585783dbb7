"""`warroom show ID --as-of TIME` (issue 17.4): the incident as the room knew it then, meaning
the events recorded (committed) by TIME. A change recorded after the cut is not shown, nor is
an entry backdated to before the cut but recorded after it; clocks are computed at TIME."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

from warroom.domain.comms.messages import mark_sent
from warroom.domain.incident import commands
from warroom.domain.incident.events import Event
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.domain.incident.timetravel import known_at, later_backdated, state_as_of
from warroom.store import sql
from warroom.store.sqlite import SQLiteStore

from .conftest import run_cli

T0 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def _recorded_at(times: list[datetime]):  # type: ignore[no-untyped-def]
    """Each append recorded at the next of `times` (the store's clock, stood still)."""
    real, left = sql.append_steps, list(times)

    def steps(*args, now, **kwargs):  # type: ignore[no-untyped-def]
        return real(*args, now=left.pop(0), **kwargs)

    return mock.patch.object(sql, "append_steps", steps)


@pytest.fixture
def room(tmp_path: Path) -> Path:
    """INC-1 declared 14:00, acked 14:03, a customer update 14:10, Identified 14:20 (all
    recorded as they happened); at 14:40 someone records a note saying it happened at 14:12."""
    path = tmp_path / "room.db"

    async def build() -> None:
        store = await SQLiteStore.open(path)
        try:
            r = await store.append(None, commands.declare("Checkout down", Severity.SEV1,
                                                          "alice", at=T0, service="payments"))
            steps = [
                lambda s: commands.acknowledge(s, "bob", at=T0 + timedelta(minutes=3)),
                lambda s: mark_sent(s, "initial", "customers", "carol",
                                    at=T0 + timedelta(minutes=10), text="We are on it"),
                lambda s: commands.change_status(s, Status.IDENTIFIED, "carol",
                                                 at=T0 + timedelta(minutes=20)),
                lambda s: commands.add_note(s, "pool was already at 100% (noted late)", "dave",
                                            at=T0 + timedelta(minutes=12)),
            ]
            for make in steps:
                s = await store.get(r.incident_id)
                await store.append(s.id, make(s))
        finally:
            await store.close()

    minutes = [0, 3, 10, 20, 40]
    with _recorded_at([T0 + timedelta(minutes=m) for m in minutes]):
        asyncio.run(build())
    return path


def _show(room: Path, *args: str):  # type: ignore[no-untyped-def]
    r = run_cli(room, "show", "INC-1", *args)
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    return r


def test_a_status_change_after_the_cut_is_not_shown(room: Path) -> None:
    r = _show(room, "--as-of", "2026-03-04T14:15:00Z")
    out = r.out
    assert out.startswith("AS OF 2026-03-04 14:15:00Z: as the room knew it (events recorded "
                          "by then: 3 of 5")
    assert "Investigating" in out and "Identified  (" not in out
    assert "acked:     2026-03-04 14:03:00Z by bob" in out
    assert "declared:  2026-03-04 14:00:00Z by alice (15m ago)" in out  # ago: from the cut
    assert "messages sent:" in out and "initial" in out and "to customers" in out
    # The clocks at 14:15, not now (which would make every one of them days overdue).
    assert "Assess severity" in out and "OVERDUE 5m" in out
    assert out.split("Form response team")[1].splitlines()[0].endswith("0s left")
    assert "2026-03-04 14:10:00Z  initial        to customers (by carol)" in out
    later = _show(room, "--as-of", "2026-03-04T14:25:00Z").out
    assert "SEV-1  Identified" in later and "events recorded by then: 4 of 5" in later


def test_a_backdated_entry_recorded_after_the_cut_is_not_shown(room: Path) -> None:
    out = _show(room, "--as-of", "2026-03-04T14:30:00Z").out
    assert "noted late" not in out
    assert "left out: 1 entry backdated to before then but recorded after (#5)" in out
    # Once recorded, it is shown where it happened (14:12), between the message and the move.
    after = _show(room, "--as-of", "2026-03-04T14:45:00Z").out
    timeline = after.split("timeline:")[1]
    assert "noted late" in timeline and "left out" not in after
    assert timeline.index("noted late") < timeline.index("Identified")


def test_as_of_json(room: Path) -> None:
    data = _show(room, "--as-of", "2026-03-04T14:30:00Z", "--json").json()
    assert data["status"] == "Identified" and data["version"] == 4
    assert data["as_of"] == {"at": "2026-03-04T14:30:00Z", "view": "recorded",
                             "events_known": 4, "events_total": 5, "left_out_backdated": [5]}
    assert [e["kind"] for e in data["timeline"]] == [
        "declared", "acknowledged", "communication_sent", "status_changed"]
    assert [c["template"] for c in data["communications"]] == ["initial"]
    clocks = {c["key"]: c for c in data["clocks"]}
    assert clocks["acknowledge"]["state"] == "done"


def test_as_of_before_the_declaration_and_bad_times(room: Path) -> None:
    r = run_cli(room, "show", "1", "--as-of", "2026-03-04T13:59:00Z")
    assert r.code == 2 and "INC-1 was not declared yet at 2026-03-04 13:59:00Z" in r.err
    r = run_cli(room, "show", "1", "--as-of", "yesterday-ish")
    assert r.code == 2 and "--as-of" in r.err
    r = run_cli(room, "show", "9", "--as-of", "2026-03-04T14:30:00Z")
    assert r.code != 0 and "INC-9" in r.err and "Traceback" not in r.err


def _ev(version: int, at: datetime, recorded: datetime) -> Event:
    return Event(seq=version, event_id=str(version), incident_id="INC-1", version=version,
                 kind="note_added", actor="a", at=at, recorded_at=recorded, data={"text": "x"})


def test_the_known_history_is_a_prefix_of_the_log() -> None:
    """A clock that stepped back (v3 stamped before v2) ends the prefix at v2: the state shown
    is one the room really passed through."""
    t = T0
    events = [_ev(1, t, t), _ev(2, t, t + timedelta(minutes=5)),
              _ev(3, t, t + timedelta(minutes=1))]
    assert [e.version for e in known_at(events, t + timedelta(minutes=2))] == [1]
    assert [e.version for e in later_backdated(events, t + timedelta(minutes=2))] == [2, 3]
    assert state_as_of([], t) is None
