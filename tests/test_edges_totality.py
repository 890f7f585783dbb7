"""Issue 13, item 1: every renderer is total. Whatever times a database holds (an old room, a
newer warroom, a write that went around the CLI's checks: year 1, year 9999, the calendar's
very ends), the clocks, countdowns, escalation views, metrics, comms, postmortem and on-call
views return something to show instead of raising OverflowError."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from warroom.domain.alerts.automation import alert_payloads
from warroom.domain.common.jsonable import to_json
from warroom.domain.common.timefmt import shift
from warroom.domain.comms.messages import comms_schedule, next_update_due, render_message
from warroom.domain.comms.postmortem import build_postmortem, postmortem_json, postmortem_markdown
from warroom.domain.comms.stakeholders import stakeholders_for
from warroom.domain.incident import commands
from warroom.domain.incident.checklist import CHECKLIST
from warroom.domain.incident.clocks import all_clocks, next_deadline, overdue_clocks
from warroom.domain.incident.facts import gather_facts, timeline
from warroom.domain.incident.fold import fold
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.domain.metrics.report import metrics_report
from warroom.domain.oncall.escalation import (
    countdown_text,
    due_escalations,
    escalation_view_for,
    next_due_at,
)
from warroom.domain.oncall.load import oncall_load
from warroom.domain.oncall.paging import stalled_pages
from warroom.domain.oncall.rotation import who_is_on_call
from warroom.store.base import summary_of

from .conftest import Recorder
from .escalation_support import T0, demo_config

MIN = datetime.min.replace(tzinfo=UTC)
MAX = datetime.max.replace(tzinfo=UTC)
EXTREMES = {
    "min": MIN,
    "year1": datetime(1, 1, 1, 0, 5, tzinfo=UTC),
    "year9999": datetime(9999, 12, 31, 23, 50, tzinfo=UTC),
    "max": MAX,
}


def _history(at: datetime, *, everything_at_extreme: bool) -> Recorder:
    """An incident that went through every step, declared (impact start and detection
    included) at `at`; its later steps happen at `at` too, or at normal times (a room where
    one write went wrong)."""
    from warroom.domain.comms.messages import mark_sent
    from warroom.domain.oncall.escalation import escalate_now

    r = Recorder(start=T0)
    s = r.commit(commands.declare("far", Severity.SEV1, "alice", service="checkout"))
    s = r.commit(commands.assign_role(s, Role.INCIDENT_COMMANDER, "bob", "alice"))
    s = r.commit(escalate_now(s, demo_config(), "alice", r.now))
    s = r.commit(mark_sent(s, "update", "customers", "alice", text="hi"))
    s = r.commit(commands.acknowledge(s, "bob"))
    s = r.commit(commands.add_note(s, "n", "bob", kind="action", owner="bob"))
    for item in CHECKLIST[:3]:
        if item.key not in s.checklist:
            s = r.commit(commands.complete_checklist(s, item.key, "bob"))
    r.commit(commands.change_status(s, Status.MONITORING, "bob"))
    # What the store could hold: the same log with its times moved to the extreme.
    moved = []
    for i, e in enumerate(r.events):
        data = dict(e.data)
        if i == 0:
            data.update(started_at=at.isoformat(), detected_at=at.isoformat())
        if i == 0 or everything_at_extreme:
            e = dataclasses.replace(e, at=at, data=data)
        moved.append(e)
    r.events = moved
    r.state = fold(moved)
    return r


def _renderers(r: Recorder, now: datetime) -> dict[str, Callable[[], Any]]:
    config = demo_config()
    state, events = r.state, r.events
    assert state is not None
    rotation = next(iter(config.rotations.values()))
    return {
        "clocks": lambda: [(c.text(), to_json(c)) for c in all_clocks(state, now)],
        "overdue": lambda: overdue_clocks(state, now),
        "next_deadline": lambda: next_deadline(state, now),
        "escalation_view": lambda: (lambda v: (v.status_text(), countdown_text(v), to_json(v)))(
            escalation_view_for(config, state, now)),
        "due_escalations": lambda: due_escalations(config, state, now),
        "next_due_at": lambda: next_due_at(config, state),
        "stalled_pages": lambda: stalled_pages(config, state, now),
        "comms_schedule": lambda: [to_json(row) for row in comms_schedule(state, now)],
        "next_update_due": lambda: next_update_due(state),
        "stakeholders": lambda: stakeholders_for(state.severity),
        "describe": lambda: [describe(e) for e in events],
        "timeline": lambda: timeline(events),
        "facts": lambda: gather_facts(state, events, now),
        "postmortem": lambda: (lambda pm: (postmortem_markdown(pm), postmortem_json(pm)))(
            build_postmortem(state, events, now)),
        "messages": lambda: [render_message(t, state, events, now).text
                             for t in _templates().values()],
        "payloads": lambda: alert_payloads(events),
        "metrics": lambda: to_json(metrics_report([summary_of(state)], now=now)),
        "oncall_load": lambda: oncall_load(config, [state], shift(now, -timedelta(days=60)),
                                           now),
        "who_is_on_call": lambda: to_json(who_is_on_call(rotation, now)),
    }


def _templates() -> dict[str, Any]:
    from warroom.content.templates import load_templates

    return load_templates()


CASES = [(name, at, whole) for name, at in EXTREMES.items() for whole in (True, False)]


@pytest.mark.parametrize("name,at,whole", CASES,
                         ids=[f"{c[0]}-{'all' if c[2] else 'declared'}" for c in CASES])
def test_renderers_never_raise_on_extreme_times(name: str, at: datetime, whole: bool) -> None:
    """`now` is the room's clock (or a --now inside the window): only the stored times are
    extreme."""
    r = _history(at, everything_at_extreme=whole)
    now = T0
    failures = {}
    for what, render in _renderers(r, now).items():
        try:
            render()
        except Exception as e:  # collected, so one run shows them all
            failures[what] = f"{type(e).__name__}: {e}"
    assert not failures, failures
