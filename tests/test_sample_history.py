"""The sample history: the generator reproduces the committed file, the file has the year the
demo needs, and the importer rebuilds the same incidents in a room (and refuses what it must)."""

from __future__ import annotations

import collections
import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from warroom.domain.common.jsonable import to_json
from warroom.domain.incident.fold import fold
from warroom.domain.incident.state import IncidentState
from warroom.domain.metrics.report import metrics_report
from warroom.store.importer import (
    ImportRefused,
    import_history,
    read_history,
    sample_history_path,
)
from warroom.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parent.parent
HISTORY = REPO / "sample_data" / "history.jsonl"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    path = REPO / "sample_data" / "generate_history.py"
    spec = importlib.util.spec_from_file_location("generate_history", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_history"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    return read_history(HISTORY)


@pytest.fixture(scope="module")
def states(lines: list[dict[str, Any]]) -> list[IncidentState]:
    from warroom.domain.incident.events import Event

    by: dict[str, list[Event]] = collections.defaultdict(list)
    for n, e in enumerate(lines, start=1):
        at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
        by[e["incident_id"]].append(Event(n, e["event_id"], e["incident_id"], e["version"],
                                          e["kind"], e["actor"], at, at, e["data"]))
    return [fold(events) for events in by.values()]


def test_generator_reproduces_the_committed_file(generator: ModuleType) -> None:
    text = generator.render(generator.generate())
    assert text == HISTORY.read_text(encoding="utf-8")
    assert HISTORY.stat().st_size < 5_000_000


def test_history_covers_a_year_of_all_services_and_severities(
        states: list[IncidentState], generator: ModuleType) -> None:
    assert len(states) >= 150
    first = min(s.detected_at for s in states)
    last = max(s.detected_at for s in states)
    assert last - first >= timedelta(days=365)
    assert last < generator.ANCHOR
    assert {s.service for s in states} == {
        "payments", "checkout", "auth", "search", "notifications", "pipeline"}
    severities = collections.Counter(s.severity.value for s in states)
    assert set(severities) == {"SEV-1", "SEV-2", "SEV-3", "SEV-4"}
    assert 3 <= severities["SEV-1"] <= severities["SEV-2"]
    months = collections.Counter(s.detected_at.strftime("%Y-%m") for s in states)
    assert len(months) >= 12
    assert max(months.values()) >= 2 * min(months.values())  # busy months and quiet ones


def test_history_is_realistic(states: list[IncidentState], generator: ModuleType) -> None:
    tz = {s.name: s.tz for s in generator.SERVICES}
    after_hours = [s for s in states if not generator.business_hours(s.detected_at,
                                                                      tz[s.service])]
    assert len(after_hours) >= 0.15 * len(states)
    assert any(s.detected_at.weekday() >= 5 for s in states)
    never_acked = [s for s in states if s.acknowledged_at is None and not s.is_open]
    assert 1 <= len(never_acked) <= 0.1 * len(states)
    assert sum(s.is_open for s in states) >= 2  # live incidents for the demo room
    acked = sorted((s.acknowledged_at - s.detected_at).total_seconds()
                   for s in states if s.acknowledged_at)
    assert acked[len(acked) // 2] < 300  # most within minutes...
    assert acked[-1] > 900  # ...with a tail
    assert any(s.first_resolved_at != s.resolved_at for s in states)  # a reopened one
    for s in states:
        # Every page goes first to the rotation's primary of that week.
        if s.escalations:
            assert s.escalations[0].level == 1
            assert s.escalations[0].targets == [generator.on_call(s.escalations[0].at)[0]]
        if s.severity.rank <= 2 and s.first_resolved_at:
            assert any(c.audience == "customers" for c in s.communications)
        if s.first_resolved_at and s.acknowledged_at:
            assert s.acknowledged_at <= s.first_resolved_at
    slow = [s for s in states if len(s.escalations) >= 2]
    assert slow
    for s in slow:  # the next level fires 5 minutes later, only while nobody acknowledged
        page, second = s.escalations[0], s.escalations[1]
        assert second.level == 2 and second.at - page.at == timedelta(minutes=5)
        assert s.acknowledged_at is None or s.acknowledged_at > second.at
        assert "grace" in second.targets


def test_rotation_follows_the_demo_world(generator: ModuleType) -> None:
    first = datetime(2025, 1, 6, 9, 0, tzinfo=generator.LONDON)
    assert generator.on_call(first) == ("alice", "bob")
    assert generator.on_call(first - timedelta(minutes=1)) == ("frank", "alice")
    assert generator.on_call(first + timedelta(weeks=6, hours=3)) == ("alice", "bob")
    # Summer time: the handoff is still 09:00 London, i.e. 08:00 UTC.
    handoff = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    assert generator.on_call(handoff) != generator.on_call(handoff - timedelta(seconds=1))


async def test_import_round_trips(store: SQLiteStore, lines: list[dict[str, Any]],
                                  states: list[IncidentState]) -> None:
    assert await import_history(store, lines) == len(states)
    summaries = {s.id: s for s in await store.summaries()}
    assert set(summaries) == {s.id for s in states}
    for st in states:
        row = summaries[st.id]
        assert (row.title, row.severity, row.status, row.service, row.version) == (
            st.title, st.severity.value, st.status.value, st.service, st.version)
        assert (row.started_at, row.detected_at, row.acknowledged_at, row.first_resolved_at,
                row.resolved_at) == (st.started_at, st.detected_at, st.acknowledged_at,
                                     st.first_resolved_at, st.resolved_at)
    stored = await store.events("INC-7")
    from_file = [e for e in lines if e["incident_id"] == "INC-7"]
    assert [(e.event_id, e.version, e.kind, e.actor, e.data) for e in stored] == [
        (e["event_id"], e["version"], e["kind"], e["actor"], e["data"]) for e in from_file]
    assert await store.last_seq() == len(lines)
    # The metrics of the room equal the metrics of the file.
    anchor = datetime(2026, 11, 20, tzinfo=UTC)
    from_store = metrics_report(list(summaries.values()), now=anchor)
    from_states = metrics_report(states, now=anchor)
    assert to_json(from_store) == to_json(from_states)


async def test_import_refuses_a_room_that_is_not_empty(store: SQLiteStore,
                                                       lines: list[dict[str, Any]]) -> None:
    first = [e for e in lines if e["incident_id"] == "INC-1"]
    assert await import_history(store, first) == 1
    with pytest.raises(ImportRefused, match="already has 1 incident"):
        await import_history(store, lines)
    assert await store.last_seq() == len(first)


def _renumbered(lines: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [{**e, "incident_id": mapping.get(e["incident_id"], e["incident_id"])}
            for e in lines]


@pytest.mark.parametrize("mangle, message", [
    (lambda ls: [e for e in ls if e["incident_id"] != "INC-1"], "expected INC-1 next"),
    (lambda ls: ls[1:], "expected version 1"),
    (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "expected version 2"),
    (lambda ls: [ls[0], {**ls[1], "kind": "declared", "data": ls[0]["data"]}],
     "only the first event"),
    (lambda ls: [{**ls[0], "data": {**ls[0]["data"], "severity": "SEV-9"}}], "invalid declared"),
    (lambda ls: [{**ls[0], "at": "2026-01-01T10:00"}], "no UTC offset"),
    (lambda ls: [{k: v for k, v in ls[0].items() if k != "event_id"}], "missing event_id"),
])
async def test_bad_history_is_refused_before_any_write(store: SQLiteStore,
                                                       lines: list[dict[str, Any]],
                                                       mangle: Any, message: str) -> None:
    head = [e for e in lines if e["incident_id"] in ("INC-1", "INC-2")]
    with pytest.raises(ImportRefused, match=message):
        await import_history(store, mangle(head))
    assert await store.last_seq() == 0


async def test_split_incident_is_refused(store: SQLiteStore, lines: list[dict[str, Any]]) -> None:
    one = [e for e in lines if e["incident_id"] == "INC-1"]
    two = [e for e in lines if e["incident_id"] == "INC-2"]
    with pytest.raises(ImportRefused, match="INC-1's events are not together"):
        await import_history(store, [*one[:2], *two, *one[2:]])
    assert await store.last_seq() == 0


def test_read_history_reports_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "h.jsonl"
    bad.write_text(json.dumps({"incident_id": "INC-1"}) + "\n\n{oops\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match="line 3: not JSON"):
        read_history(bad)
    with pytest.raises(ImportRefused, match="cannot read"):
        read_history(tmp_path / "missing.jsonl")


def test_sample_history_path_finds_the_checkout_file() -> None:
    assert sample_history_path() == HISTORY
