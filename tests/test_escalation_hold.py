"""The escalation hold: the ladder waits until a time before its first level."""

from __future__ import annotations

from datetime import timedelta

from warroom.domain.incident.kinds import describe
from warroom.domain.oncall import escalation as esc

from .escalation_support import T0, demo_config, incident


def test_hold_delays_the_first_level_and_the_ladder_after_it() -> None:
    cfg = demo_config()
    r = incident()
    until = T0 + timedelta(hours=2)
    r.commit(esc.hold_ladder(until, "queued until business hours", "alerts", T0,
                             cause="queued"))
    state = r.state
    assert state is not None and state.escalation_hold is not None
    assert esc.due_escalations(cfg, state, T0 + timedelta(minutes=30)) == []
    assert esc.next_due_at(cfg, state) == until
    view = esc.escalation_view_for(cfg, state, T0 + timedelta(minutes=1))
    assert view.held_until == until
    assert view.status_text().startswith("held until 16:32Z (queued until business hours)")
    r.now = until
    fired = esc.due_escalations(cfg, state, until)
    assert [e.data["level"] for e in fired] == [1]
    state = r.commit(fired)
    assert esc.active_hold(state) is None  # a level fired after the hold: it no longer counts
    assert esc.next_due_at(cfg, state) == until + timedelta(minutes=5)
    assert esc.escalation_view_for(cfg, state, until).held_until is None


def test_manual_escalation_lifts_the_hold() -> None:
    cfg = demo_config()
    r = incident()
    r.commit(esc.hold_ladder(T0 + timedelta(hours=8), "night", "alerts", T0))
    r.tick(minutes=3)
    state = r.commit(esc.escalate_now(r.state, cfg, "carol", r.now))  # type: ignore[arg-type]
    assert esc.active_hold(state) is None
    assert esc.next_due_at(cfg, state) == r.now + timedelta(minutes=5)


def test_a_hold_ending_now_releases_it_and_acknowledgement_still_freezes() -> None:
    cfg = demo_config()
    r = incident()
    r.commit(esc.hold_ladder(T0 + timedelta(hours=1), "window", "alerts", T0,
                             cause="remediation"))
    r.tick(minutes=2)
    state = r.commit(esc.hold_ladder(r.now, "remediation failed", "alerts", r.now))
    assert state.escalation_hold is None
    assert [e.data["level"] for e in esc.due_escalations(cfg, state, r.now)] == [1]
    assert "escalation held until" in describe(r.events[1])


def test_hold_before_detection_changes_nothing() -> None:
    cfg = demo_config()
    r = incident()
    state = r.commit(esc.hold_ladder(T0 - timedelta(minutes=1), "old", "alerts",
                                     T0 - timedelta(minutes=2)))
    assert esc.next_due_at(cfg, state) == T0
