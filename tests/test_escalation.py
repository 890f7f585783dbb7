"""The pure escalation clock with fixed clocks: every level, acknowledgement before and after a
level, escalate now, resolution, repeat, late engines, severity filters, the pane's view."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warroom.domain.common.errors import TransitionRefused
from warroom.domain.config.model import default_config
from warroom.domain.incident import commands
from warroom.domain.incident.events import idempotent_id
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.domain.oncall.escalation import (
    countdown_text,
    due_escalations,
    escalate_now,
    escalation_event_id,
    escalation_view_for,
    next_due_at,
)

from .escalation_support import T0, config_with, demo_config, incident

M = timedelta(minutes=1)
S = timedelta(seconds=1)


def run_engine(rec, config, now):  # type: ignore[no-untyped-def]
    """What one engine tick records at `now`."""
    events = due_escalations(config, rec.state, now)
    rec.now = now
    if events:
        rec.commit(events)
    return events


def test_each_level_fires_once_at_its_time_with_its_people() -> None:
    c, rec = demo_config(), incident()
    assert run_engine(rec, c, T0 - S) == []
    (l1,) = run_engine(rec, c, T0)
    assert l1.data["level"] == 1 and l1.data["targets"] == ["alice"]
    assert l1.data["labels"] == {"alice": "primary (sre)"}
    assert l1.event_id == idempotent_id("INC-1:escalation:0:1") == escalation_event_id(
        "INC-1", 0, 1)
    assert run_engine(rec, c, T0 + 5 * M - S) == []
    (l2,) = run_engine(rec, c, T0 + 5 * M)
    assert l2.data["targets"] == ["bob", "grace"]
    assert l2.data["labels"]["grace"] == "team lead (payments)"
    (l3,) = run_engine(rec, c, T0 + 10 * M)
    assert l3.data["targets"] == ["heidi", "ivan"]
    (l4,) = run_engine(rec, c, T0 + 15 * M)
    assert l4.data["targets"] == ["judy", "ken"] and l4.data["reason"] == "timeout"
    assert run_engine(rec, c, T0 + 60 * M) == []
    assert [(e.level, e.at - T0) for e in rec.state.escalations] == [
        (1, 0 * M), (2, 5 * M), (3, 10 * M), (4, 15 * M)]
    assert next_due_at(c, rec.state) is None
    assert describe(rec.events[-1]) == "escalated to L4: paged judy, ken"


def test_acknowledged_before_l2_stops_the_climb() -> None:
    c, rec = demo_config(), incident()
    run_engine(rec, c, T0)
    rec.now = T0 + 4 * M
    rec.commit(commands.acknowledge(rec.state, "alice"))
    assert run_engine(rec, c, T0 + 30 * M) == []
    view = escalation_view_for(c, rec.state, T0 + 30 * M)
    assert view.frozen and view.acknowledged_by == "alice"
    assert view.status_text() == "frozen: acknowledged by alice at 14:36Z at L1"
    assert [lv.state for lv in view.levels] == ["fired", "frozen", "frozen", "frozen"]
    assert view.countdown is None and countdown_text(view) == "frozen (acked)"


def test_acknowledged_after_l2_stops_before_l3() -> None:
    c, rec = demo_config(), incident()
    run_engine(rec, c, T0)
    run_engine(rec, c, T0 + 5 * M)
    rec.now = T0 + 9 * M
    rec.commit(commands.acknowledge(rec.state, "bob"))
    assert run_engine(rec, c, T0 + 10 * M) == []
    assert [e.level for e in rec.state.escalations] == [1, 2]


def test_escalate_now_jumps_exactly_one_level_and_keeps_the_schedule() -> None:
    c, rec = demo_config(), incident()
    run_engine(rec, c, T0)
    rec.now = T0 + 1 * M
    (manual,) = escalate_now(rec.state, c, "carol", rec.now)
    assert (manual.data["level"], manual.data["reason"]) == (2, "manual")
    assert manual.event_id == escalation_event_id("INC-1", 0, 2)  # the same level's key
    rec.commit([manual])
    # L3 stays at T+10 (detection-based), the manual jump never delays what follows
    assert next_due_at(c, rec.state) == T0 + 10 * M
    assert run_engine(rec, c, T0 + 10 * M - S) == []
    assert [e.data["level"] for e in run_engine(rec, c, T0 + 10 * M)] == [3]
    assert rec.state.escalations[1].actor == "carol"
    assert describe(rec.events[2]) == "escalated manually to L2: paged bob, grace"


def test_escalate_now_after_ack_is_allowed_but_refused_at_top_or_resolved() -> None:
    c, rec = demo_config(), incident()
    rec.commit(commands.acknowledge(rec.state, "alice"))
    (e,) = escalate_now(rec.state, c, "alice", T0)
    assert e.data["level"] == 1
    for level in (1, 2, 3, 4):
        if level > 1:
            rec.commit(escalate_now(rec.state, c, "alice", T0))
        else:
            rec.commit([e])
    with pytest.raises(TransitionRefused, match=r"top of escalation policy 'default' \(L4"):
        escalate_now(rec.state, c, "alice", T0)
    r2 = incident()
    r2.commit(commands.change_status(r2.state, Status.RESOLVED, "alice"))
    with pytest.raises(TransitionRefused, match="resolved"):
        escalate_now(r2.state, c, "alice", T0)


def test_resolution_ends_the_climb() -> None:
    c, rec = demo_config(), incident()
    run_engine(rec, c, T0)
    rec.now = T0 + 3 * M
    rec.commit(commands.change_status(rec.state, Status.RESOLVED, "alice"))
    assert run_engine(rec, c, T0 + 20 * M) == []
    view = escalation_view_for(c, rec.state, T0 + 20 * M)
    assert view.ended and not view.frozen
    assert view.status_text() == "ended: resolved at 14:35Z at L1"
    assert [lv.state for lv in view.levels] == ["fired", "ended", "ended", "ended"]


def test_reopened_unacknowledged_incident_climbs_on() -> None:
    c, rec = demo_config(), incident()
    run_engine(rec, c, T0)
    rec.now = T0 + 1 * M
    rec.commit(commands.change_status(rec.state, Status.RESOLVED, "alice"))
    rec.now = T0 + 30 * M
    rec.commit(commands.change_status(rec.state, Status.INVESTIGATING, "alice"))
    (e,) = run_engine(rec, c, T0 + 30 * M)
    assert e.data["level"] == 2


def test_late_engine_climbs_one_level_at_a_time() -> None:
    c, rec = demo_config(), incident()
    (l1,) = run_engine(rec, c, T0 + 20 * M)  # nobody ran an engine for 20 minutes
    assert l1.data["level"] == 1
    assert next_due_at(c, rec.state) == T0 + 25 * M  # L2 still gets its 5 minutes
    assert run_engine(rec, c, T0 + 25 * M - S) == []
    assert [e.data["level"] for e in run_engine(rec, c, T0 + 25 * M)] == [2]


def test_levels_sharing_a_delay_fire_together() -> None:
    c = config_with(escalation_policies={"default": {"levels": [
        {"after": "0s", "targets": ["primary"]},
        {"after": "0s", "targets": ["secondary"]},
        {"after": "2m", "targets": ["cto"]}]}})
    rec = incident()
    assert [e.data["level"] for e in run_engine(rec, c, T0)] == [1, 2]


def test_repeat_runs_the_ladder_again_with_the_cycle_in_the_event() -> None:
    c = config_with(escalation_policies={"default": {
        "repeat": 1, "repeat_after": "10m",
        "levels": [{"after": "0s", "targets": ["primary"]},
                   {"after": "5m", "targets": ["secondary"]}]}})
    rec = incident()
    run_engine(rec, c, T0)
    run_engine(rec, c, T0 + 5 * M)
    assert next_due_at(c, rec.state) == T0 + 15 * M
    view = escalation_view_for(c, rec.state, T0 + 6 * M)
    assert view.next_cycle == 1 and view.status_text() == "L1 (repeat 1) in 9:00"
    (again,) = run_engine(rec, c, T0 + 15 * M)
    assert (again.data["level"], again.data["cycle"]) == (1, 1)
    assert again.event_id == escalation_event_id("INC-1", 1, 1)
    assert describe(rec.events[-1]) == "escalated to L1 (repeat 1): paged alice"
    run_engine(rec, c, T0 + 20 * M)
    assert run_engine(rec, c, T0 + 90 * M) == []  # repeat = 1: two passes in all
    assert [(e.cycle, e.level) for e in rec.state.escalations] == [(0, 1), (0, 2), (1, 1),
                                                                   (1, 2)]
    assert escalation_view_for(c, rec.state, T0 + 90 * M).exhausted


def test_acknowledged_during_repeat_wait_stops_it() -> None:
    c = config_with(escalation_policies={"default": {
        "repeat": 2, "levels": [{"after": "0s", "targets": ["primary"]}]}})
    rec = incident()
    run_engine(rec, c, T0)
    rec.now = T0 + 2 * M
    rec.commit(commands.acknowledge(rec.state, "alice"))
    assert run_engine(rec, c, T0 + 60 * M) == []


def test_severity_filter_skips_levels() -> None:
    c = config_with(escalation_policies={"default": {"levels": [
        {"after": "0s", "targets": ["primary"]},
        {"after": "5m", "targets": ["director"], "severities": ["SEV-1", "SEV-2"]},
        {"after": "10m", "targets": ["ceo"], "severities": ["SEV-1"]}]}})
    rec = incident(Severity.SEV3)
    run_engine(rec, c, T0)
    assert next_due_at(c, rec.state) is None
    view = escalation_view_for(c, rec.state, T0 + M)
    assert [lv.state for lv in view.levels] == ["fired", "skipped", "skipped"]
    rec.now = T0 + 2 * M
    rec.commit(commands.change_severity(rec.state, Severity.SEV2, "alice"))
    assert [e.data["level"] for e in run_engine(rec, c, T0 + 5 * M)] == [2]


def test_unresolvable_targets_are_recorded_not_silently_dropped() -> None:
    rec = incident(service=None)
    (e,) = run_engine(rec, default_config(), T0)
    assert e.data["targets"] == [] and e.data["unresolved"] == ["primary: no rotation configured"]
    rec.now = T0 + 5 * M
    (e2,) = run_engine(rec, demo_config(), T0 + 5 * M)
    assert e2.data["targets"] == ["bob"]
    assert e2.data["unresolved"] == ["team lead: the incident has no service"]
    assert describe(rec.events[-1]) == (
        "escalated to L2: paged bob; could not page team lead: the incident has no service")


def test_targets_follow_the_rotation_at_fire_time() -> None:
    # Declared on Sunday 2026-03-08 evening; L2 fires after Monday 09:00's handoff (week 61).
    c = demo_config()
    from datetime import UTC, datetime

    start = datetime(2026, 3, 9, 8, 58, tzinfo=UTC)
    rec = incident(start=start)
    (l1,) = run_engine(rec, c, start)
    (l2,) = run_engine(rec, c, start + 5 * M)
    assert l1.data["targets"] == ["alice"]
    assert l2.data["targets"] == ["carol", "grace"]  # week 61: bob primary, carol secondary


def test_view_for_the_pane() -> None:
    c, rec = demo_config(), incident()
    run_engine(rec, c, T0)
    now = T0 + 2 * M + 30 * S
    view = escalation_view_for(c, rec.state, now)
    assert (view.policy, view.cycle, view.passes) == ("default", 0, 1)
    assert view.next_level == 2 and view.next_due_at == T0 + 5 * M
    assert view.countdown == 2 * M + 30 * S
    assert view.status_text() == "L2 in 2:30" and countdown_text(view) == "L2 in 2m30s"
    l1, l2, l3, l4 = view.levels
    assert (l1.state, l1.fired_at, l1.reason) == ("fired", T0, "timeout")
    (p,) = l1.paged
    assert (p.handle, p.label) == ("alice", "primary (sre)")
    assert p.delivery == "in the room only (no channel configured)"
    assert (l2.state, l2.due_at, l2.would_page) == ("next", T0 + 5 * M, ["bob", "grace"])
    assert l2.target_labels == ["secondary", "team lead"]
    assert (l3.state, l3.would_page) == ("pending", ["heidi", "ivan"])
    assert l4.target_labels == ["CTO", "CEO"]
    late = escalation_view_for(c, rec.state, T0 + 6 * M)
    assert late.status_text() == "L2 due now"


@pytest.mark.parametrize("severity,levels", [
    (Severity.SEV1, [1, 2, 3, 4]), (Severity.SEV2, [1, 2, 3, 4]),
    (Severity.SEV3, [1, 2]), (Severity.SEV4, [1]),
])
def test_default_ladder_per_severity(severity: Severity, levels: list[int]) -> None:
    """The seed's ladder for SEV-1/SEV-2 (L1 T+0 .. L4 T+15); a SEV-3 stops at L2 and a SEV-4
    pages L1 only: nobody wakes leadership for a minor incident."""
    for c in (default_config(), demo_config()):
        rec = incident(severity)
        fired = []
        for minute in range(0, 61):
            fired += [(e.data["level"], rec.now - T0) for e in run_engine(rec, c, T0 + minute * M)]
        assert fired == [(lvl, (lvl - 1) * 5 * M) for lvl in levels]


def test_a_ladder_long_lapsed_pages_nobody() -> None:
    """An unacknowledged incident a week old (an engine that was never run, an imported
    history) is not paged now: its whole ladder, and a day's margin, passed long ago."""
    c, rec = demo_config(), incident(Severity.SEV4)
    week = T0 + timedelta(days=8)
    assert run_engine(rec, c, week) == []
    assert next_due_at(c, rec.state, week) is None
    assert next_due_at(c, rec.state) == T0  # the time it was due, before it lapsed
    assert "lapsed" in escalation_view_for(c, rec.state, week).status_text()
    # One level fired long ago: the next is not fired a week later either.
    c1, rec1 = demo_config(), incident(Severity.SEV1)
    run_engine(rec1, c1, T0)
    assert run_engine(rec1, c1, week) == []
    # Within the margin the late engine still climbs (an engine down for an hour).
    c2, rec2 = demo_config(), incident(Severity.SEV1)
    assert [e.data["level"] for e in run_engine(rec2, c2, T0 + 3 * 60 * M)] == [1]
    # A reopened incident starts counting again.
    rec.now = week
    rec.commit(commands.change_status(rec.state, Status.RESOLVED, "alice"))
    rec.commit(commands.change_status(rec.state, Status.INVESTIGATING, "alice"))
    assert [e.data["level"] for e in run_engine(rec, c, week)] == [1]


def test_a_backdated_note_does_not_make_a_live_ladder_lapse() -> None:
    """The lapse counts from the latest activity: a note backdated to last week (the time it
    happened, not when it was written) must not hide a reopen made just now."""
    c, rec = demo_config(), incident(Severity.SEV4)
    week = T0 + timedelta(days=8)
    rec.now = week
    rec.commit(commands.change_status(rec.state, Status.RESOLVED, "alice"))
    rec.commit(commands.change_status(rec.state, Status.INVESTIGATING, "alice"))
    rec.commit(commands.add_note(rec.state, "first seen", "alice", at=T0))
    assert [e.data["level"] for e in run_engine(rec, c, week)] == [1]
