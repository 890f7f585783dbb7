"""The fold: state is a pure function of the events, and every kind lands where it should."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warroom.domain.common.errors import InvalidInput
from warroom.domain.incident import commands
from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import FoldError, apply, fold
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.kinds.alerts import AlertAttached, AlertResolved
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import parse_incident_id
from warroom.domain.incident.status import Status


def test_fold_equals_incremental_apply(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.state
    rec.tick(minutes=1)
    s = rec.commit(commands.acknowledge(s, "bob"))
    s = rec.commit(commands.add_note(s, "looking at dashboards", "bob"))
    s = rec.commit(commands.add_note(s, "roll back v2.5.0", "carol", kind="decision"))
    s = rec.commit(commands.add_note(s, "add pool alarm", "carol", kind="action", owner="dan"))
    item = s.action_items[0].id
    s = rec.commit(commands.complete_action(s, item[:6], "dan"))
    s = rec.commit(commands.record_communication(s, "initial", "customers", "erin", text="hi"))
    s = rec.commit([NewEvent.of(Escalated(level=2, targets=["bob", "lead"]), "engine")])
    s = rec.commit([NewEvent.of(AlertAttached(source="am", key="k1", summary="5xx"), "am")])
    s = rec.commit([NewEvent.of(AlertAttached(source="am", key="k1", summary="5xx"), "am")])
    s = rec.commit([NewEvent.of(AlertResolved(source="am", key="k1"), "am")])
    s = rec.commit(commands.retitle(s, "Checkout failing for EU", "alice"))
    target = rec.events[2].event_id
    s = rec.commit(commands.amend(s, target, "alice", text="looked at the 5xx dashboard"))
    assert fold(rec.events).model_dump() == s.model_dump()
    assert s.version == len(rec.events)
    assert s.decisions[0].text == "roll back v2.5.0"
    assert s.action_items[0].done_by == "dan"
    assert s.communications[0].audience == "customers" and "first_update" in s.checklist
    assert s.escalations[0].targets == ["bob", "lead"]
    assert s.alerts["k1"].count == 2 and not s.alerts["k1"].firing
    assert s.title == "Checkout failing for EU"
    assert s.amendments[target] == rec.events[-1].event_id


def test_fold_is_a_pure_function_of_events(rec) -> None:  # type: ignore[no-untyped-def]
    rec.commit(commands.acknowledge(rec.state, "bob"))
    a, b = fold(rec.events), fold(list(rec.events))
    assert a.model_dump() == b.model_dump() and a is not b


def test_backdated_event_times(rec) -> None:  # type: ignore[no-untyped-def]
    earlier = rec.now - timedelta(minutes=3)
    s = rec.commit(commands.acknowledge(rec.state, "bob", at=earlier))
    assert s.acknowledged_at == earlier


def test_unknown_kinds_are_kept_not_refused(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.commit([NewEvent(kind="from_the_future", actor="x", data={"a": 1})])
    assert s.version == 2 and s.last_kind == "from_the_future"
    assert describe(rec.events[-1]) == "from_the_future: a=1"


def test_fold_refuses_histories_that_cannot_be(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FoldError):
        fold([])
    e = rec.events[0]
    note = Event(2, "x", "INC-1", 2, "note", "a", e.at, e.at, {"text": "n"})
    with pytest.raises(FoldError, match="must start with a declaration"):
        fold([note])
    with pytest.raises(FoldError, match="version"):
        fold([e, Event(3, "y", "INC-1", 3, "note", "a", e.at, e.at, {"text": "n"})])
    with pytest.raises(FoldError, match="INC-2"):
        apply(fold([e]), Event(2, "z", "INC-2", 2, "note", "a", e.at, e.at, {"text": "n"}))


def test_declare_validation(t0) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="title"):
        commands.declare("   ", Severity.SEV1, "alice")
    with pytest.raises(InvalidInput, match="limit"):
        commands.declare("x" * 201, Severity.SEV1, "alice")
    with pytest.raises(InvalidInput, match="--as"):
        commands.declare("t", Severity.SEV1, "")
    with pytest.raises(InvalidInput, match="start after"):
        commands.declare("t", Severity.SEV1, "a", started_at=t0, detected_at=t0 - timedelta(1))


def test_started_and_detected_times(t0) -> None:  # type: ignore[no-untyped-def]
    ev = commands.declare("t", Severity.SEV2, "a", started_at=t0 - timedelta(minutes=4),
                          detected_at=t0)
    e = Event(1, ev[0].event_id, "INC-7", 1, ev[0].kind, "a", t0 + timedelta(minutes=1),
              t0 + timedelta(minutes=1), ev[0].data)
    s = fold([e])
    assert s.number == 7 and s.detected_at == t0 and s.started_at == t0 - timedelta(minutes=4)
    assert s.declared_at == t0 + timedelta(minutes=1) and s.status == Status.INVESTIGATING


@pytest.mark.parametrize("text,expected", [("INC-42", "INC-42"), ("inc-7", "INC-7"),
                                           ("42", "INC-42"), ("#3", "INC-3"), (" 0042 ", "INC-42")])
def test_incident_ids(text: str, expected: str) -> None:
    assert parse_incident_id(text) == expected


@pytest.mark.parametrize("text", ["", "INC-", "INC-x", "0", "-1", "INC-1; drop table"])
def test_bad_incident_ids(text: str) -> None:
    with pytest.raises(InvalidInput, match="INC-42"):
        parse_incident_id(text)


def test_action_done_says_what_was_done(rec) -> None:  # type: ignore[no-untyped-def]
    """`x` on the dashboard made "action done: 3f2a9c..." appear on every timeline (issue 12)."""
    from warroom.domain.incident.kinds import describe

    s = rec.commit(commands.add_note(rec.state, "add pool alarm", "carol", kind="action"))
    rec.commit(commands.complete_action(s, s.action_items[0].id, "dan"))
    assert describe(rec.events[-1]) == "action done: add pool alarm"
