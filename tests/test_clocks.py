"""Response clocks as pure functions of the state and a fixed now."""

from __future__ import annotations

from datetime import timedelta

from warroom.domain.common.jsonable import to_json
from warroom.domain.incident import commands
from warroom.domain.incident.clocks import (
    ClockState,
    all_clocks,
    next_deadline,
    overdue_clocks,
    response_clocks,
    update_clock,
)
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status

from .escalation_support import T0, incident

M = timedelta(minutes=1)
S = timedelta(seconds=1)


def by_key(clocks):  # type: ignore[no-untyped-def]
    return {c.key: c for c in clocks}


def test_fresh_incident_counts_down_from_detection() -> None:
    rec = incident()
    c = by_key(response_clocks(rec.state, T0 + M))
    ack = c["acknowledge"]
    assert (ack.state, ack.due_at, ack.remaining) == (ClockState.RUNNING, T0 + 5 * M, 4 * M)
    assert ack.text() == "4m00s left"
    assert c["triage"].due_at == T0 + 10 * M and c["assemble"].due_at == T0 + 15 * M
    assert c["first_update"].due_at == T0 + 30 * M
    assert c["root_cause"].state == ClockState.NO_TARGET and c["root_cause"].text() == "ongoing"
    assert c["verify"].state == ClockState.WAITING and c["verify"].text() == "waits for the fix"
    assert c["timeline"].text() == "waits for resolution"
    assert next_deadline(rec.state, T0 + M) == T0 + 5 * M


def test_overdue_says_so_in_words() -> None:
    rec = incident()
    c = by_key(response_clocks(rec.state, T0 + 8 * M + 20 * S))
    assert c["acknowledge"].state == ClockState.OVERDUE
    assert c["acknowledge"].overdue_by == 3 * M + 20 * S
    assert c["acknowledge"].text() == "OVERDUE 3m"
    assert [x.key for x in overdue_clocks(rec.state, T0 + 8 * M)] == ["acknowledge"]
    # exactly at the deadline it is not yet overdue
    assert by_key(response_clocks(rec.state, T0 + 5 * M))["acknowledge"].state == \
        ClockState.RUNNING


def test_done_in_time_and_done_late() -> None:
    rec = incident()
    rec.now = T0 + 3 * M
    rec.commit(commands.acknowledge(rec.state, "alice"))
    rec.now = T0 + 12 * M
    rec.commit(commands.change_severity(rec.state, Severity.SEV1, "alice"))  # confirms: triage
    c = by_key(response_clocks(rec.state, T0 + 20 * M))
    assert (c["acknowledge"].state, c["acknowledge"].text()) == (ClockState.DONE, "done in 3m")
    assert c["triage"].state == ClockState.DONE_LATE and c["triage"].text() == "done 2m late"
    assert c["assemble"].text() == "OVERDUE 5m"


def test_assembly_verification_and_timeline_anchors() -> None:
    rec = incident()
    for role, who in ((Role.INCIDENT_COMMANDER, "carol"), (Role.TECH_LEAD, "dave"),
                      (Role.COMMUNICATIONS_LEAD, "erin")):
        rec.now += M
        rec.commit(commands.assign_role(rec.state, role, who, "carol"))
    rec.now = T0 + 20 * M
    rec.commit(commands.change_status(rec.state, Status.MONITORING, "dave"))
    c = by_key(response_clocks(rec.state, T0 + 40 * M))
    assert c["assemble"].state == ClockState.DONE
    assert c["verify"].due_at == T0 + 35 * M and c["verify"].text() == "OVERDUE 5m"
    rec.now = T0 + 41 * M
    rec.commit(commands.change_status(rec.state, Status.RESOLVED, "dave"))
    c = by_key(response_clocks(rec.state, T0 + 50 * M))
    assert c["verify"].state == ClockState.DONE_LATE
    assert c["timeline"].state == ClockState.RUNNING
    assert c["timeline"].due_at == T0 + 41 * M + timedelta(hours=2)
    # never acknowledged, and now resolved: missed, no longer ticking
    assert c["acknowledge"].state == ClockState.MISSED and c["acknowledge"].text() == "missed"


def test_customer_update_cadence_by_severity() -> None:
    rec = incident(Severity.SEV1)
    u = update_clock(rec.state, T0 + 10 * M)
    # The first customer update is due by the checklist's 30 minutes, then every 15.
    assert (u.due_at, u.target_text, u.text()) == (T0 + 30 * M, "every 15m", "20m00s left")
    rec.now = T0 + 12 * M
    rec.commit(commands.record_communication(rec.state, "initial", "customers", "erin"))
    rec.now = T0 + 20 * M
    rec.commit(commands.record_communication(rec.state, "update", "engineering", "erin"))
    u = update_clock(rec.state, T0 + 30 * M)
    assert u.anchor_at == T0 + 12 * M and u.due_at == T0 + 27 * M  # internal ones don't count
    assert u.text() == "OVERDUE 3m"
    rec.now = T0 + 31 * M
    rec.commit(commands.change_severity(rec.state, Severity.SEV2, "alice"))
    assert update_clock(rec.state, T0 + 31 * M).due_at == T0 + 42 * M
    rec.commit(commands.change_status(rec.state, Status.RESOLVED, "alice"))
    assert update_clock(rec.state, T0 + 99 * M).text() == "stopped (resolved)"


def test_sev3_and_sev4_cadence() -> None:
    assert update_clock(incident(Severity.SEV3).state, T0).due_at == T0 + 30 * M  # first one
    rec = incident(Severity.SEV3)
    rec.commit(commands.record_communication(rec.state, "initial", "customers", "erin"))
    assert update_clock(rec.state, T0).due_at == rec.now + 60 * M
    sev4 = update_clock(incident(Severity.SEV4).state, T0 + 999 * M)
    assert sev4.state == ClockState.NO_TARGET and sev4.text() == "none for SEV-4"
    assert not sev4.overdue


def test_all_clocks_json_is_plain() -> None:
    rec = incident()
    items = [to_json(c) for c in all_clocks(rec.state, T0 + 6 * M)]
    assert items[0]["state"] == "overdue" and items[0]["text"] == "OVERDUE 1m"
    assert items[0]["overdue_s"] == 60.0
    assert items[-1]["key"] == "customer_update"


def test_acknowledge_target_follows_the_response_time_of_a_minor_severity() -> None:
    """SEV-1/SEV-2 keep the checklist's 5 minutes; a SEV-3 has its 2 hours, a SEV-4 its day."""
    for sev, target, text in ((Severity.SEV1, 5 * M, "< 5 min"), (Severity.SEV2, 5 * M, "< 5 min"),
                              (Severity.SEV3, 120 * M, "< 2 h"), (Severity.SEV4, 24 * 60 * M,
                                                                 "< 24 h")):
        rec = incident(sev)
        ack = by_key(response_clocks(rec.state, T0 + 30 * M))["acknowledge"]
        assert ack.due_at == T0 + target, sev
        assert ack.target_text == text, sev
    rec = incident(Severity.SEV3)
    # Its triage and assembly wait for the response time too (no war room to form in 15 min).
    assert [c.key for c in overdue_clocks(rec.state, T0 + 31 * M)] == [
        "first_update", "customer_update"]
    assert by_key(response_clocks(rec.state, T0))["triage"].due_at == T0 + 120 * M


def test_no_customer_comms_means_the_first_update_is_not_required() -> None:
    rec = incident(Severity.SEV4)
    c = by_key(response_clocks(rec.state, T0 + 94 * M))["first_update"]
    assert c.state == ClockState.NO_TARGET
    assert c.text() == "not required"
    assert "OVERDUE" not in c.text()
    assert "first_update" not in [x.key for x in overdue_clocks(rec.state, T0 + 94 * M)]
