"""Every status move the workflow allows, and every one it refuses, with the reason given."""

from __future__ import annotations

import itertools

import pytest

from warroom.domain.common.errors import InvalidInput, TransitionRefused
from warroom.domain.incident import commands
from warroom.domain.incident.status import ALLOWED_MOVES, Phase, Status, allowed_moves, check_move

ALLOWED = {
    (Status.INVESTIGATING, Status.IDENTIFIED),
    (Status.INVESTIGATING, Status.MONITORING),
    (Status.INVESTIGATING, Status.RESOLVED),
    (Status.IDENTIFIED, Status.MONITORING),
    (Status.IDENTIFIED, Status.RESOLVED),
    (Status.MONITORING, Status.RESOLVED),
    (Status.MONITORING, Status.INVESTIGATING),  # the fix failed
    (Status.RESOLVED, Status.INVESTIGATING),  # reopened
}


@pytest.mark.parametrize("frm,to", sorted(itertools.product(Status, Status)))
def test_every_pair_is_allowed_or_refused_with_the_allowed_moves(frm: Status, to: Status) -> None:
    if (frm, to) in ALLOWED:
        check_move(frm, to)
        return
    with pytest.raises(TransitionRefused) as err:
        check_move(frm, to)
    message = str(err.value)
    for allowed in allowed_moves(frm):
        assert allowed.value in message
    assert "allowed moves" in message


def test_table_is_exactly_the_documented_moves() -> None:
    assert {(f, t) for f, ts in ALLOWED_MOVES.items() for t in ts} == ALLOWED


def test_same_status_says_already() -> None:
    with pytest.raises(TransitionRefused, match="already Identified"):
        check_move(Status.IDENTIFIED, Status.IDENTIFIED)


@pytest.mark.parametrize("text,expected", [
    ("investigating", Status.INVESTIGATING), ("IDENTIFIED", Status.IDENTIFIED),
    ("mon", Status.MONITORING), ("Resolved", Status.RESOLVED), (" resolved ", Status.RESOLVED),
])
def test_status_parse(text: str, expected: Status) -> None:
    assert Status.parse(text) == expected


@pytest.mark.parametrize("text", ["", "re", "fixed", "closed"])
def test_status_parse_refuses_unknown(text: str) -> None:
    with pytest.raises(InvalidInput):
        Status.parse(text)


def test_walk_through_the_lifecycle(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.state
    assert (s.status, s.phase) == (Status.INVESTIGATING, Phase.DETECTION)
    rec.tick(minutes=2)
    s = rec.commit(commands.acknowledge(s, "bob"))
    assert s.phase == Phase.TRIAGE
    s = rec.commit(commands.change_severity(s, s.severity, "bob"))  # confirm: triage done
    assert s.phase == Phase.RESPONSE and "triage" in s.checklist
    s = rec.commit(commands.change_status(s, Status.IDENTIFIED, "bob"))
    assert s.phase == Phase.RESPONSE and s.identified_at is not None
    s = rec.commit(commands.change_status(s, Status.MONITORING, "bob"))
    assert s.phase == Phase.RECOVERY and "fix_deployed" in s.checklist
    # The fix failed: back to investigating, the fix no longer counts as deployed.
    s = rec.commit(commands.change_status(s, Status.INVESTIGATING, "bob", reason="errors back"))
    assert s.phase == Phase.RESPONSE and "fix_deployed" not in s.checklist
    s = rec.commit(commands.change_status(s, Status.MONITORING, "bob"))
    rec.tick(minutes=20)
    s = rec.commit(commands.change_status(s, Status.RESOLVED, "bob"))
    assert s.phase == Phase.ANALYSIS and "verify" in s.checklist
    first = s.first_resolved_at
    assert first == s.resolved_at == rec.now
    rec.tick(hours=1)
    s = rec.commit(commands.change_status(s, Status.INVESTIGATING, "bob", reason="reopened"))
    assert s.is_open and s.resolved_at is None and s.first_resolved_at == first
    rec.tick(minutes=5)
    s = rec.commit(commands.change_status(s, Status.RESOLVED, "bob"))
    assert s.first_resolved_at == first and s.resolved_at == rec.now
    s = rec.commit(commands.change_phase(s, Phase.IMPROVEMENT, "scribe"))
    assert s.phase == Phase.IMPROVEMENT
    assert [c.to_status for c in s.status_history] == [
        Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.INVESTIGATING,
        Status.MONITORING, Status.RESOLVED, Status.INVESTIGATING, Status.RESOLVED,
    ]


def test_ack_refused_twice_and_when_resolved(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.commit(commands.acknowledge(rec.state, "bob"))
    with pytest.raises(TransitionRefused, match="already acknowledged by bob"):
        commands.acknowledge(s, "carol")
    s = rec.commit(commands.change_status(s, Status.RESOLVED, "bob"))
    with pytest.raises(TransitionRefused, match="resolved"):
        commands.acknowledge(s, "carol")
