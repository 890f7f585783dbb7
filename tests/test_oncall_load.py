"""On-call load per person and month, against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warroom.domain.common.jsonable import to_json
from warroom.domain.config.model import parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.kinds.paging import Escalated, PageDelivered
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.oncall.load import is_night, oncall_load

from .conftest import Recorder


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


CONFIG = parse_config({
    "people": {"x": {}, "y": {}, "z": {"timezone": "America/New_York", "webhook":
                                       "http://127.0.0.1:9/z"}},
    "rotations": {"ops": {"timezone": "Europe/London", "start": "2025-01-27T09:00:00",
                          "members": ["x", "y"]}},
})


def _incident() -> Recorder:
    r = Recorder(start=utc(2025, 1, 29, 13, 55))
    r.commit(commands.declare("db down", Severity.SEV2, "x"))
    r.commit([NewEvent.of(Escalated(level=1, targets=["x"]), "engine", utc(2025, 1, 29, 14))])
    r.commit([NewEvent.of(PageDelivered(level=1, to="x", channel="webhook"), "engine",
                          utc(2025, 1, 29, 14, 0, 1))])
    r.now = utc(2025, 1, 29, 14, 3)
    r.commit(commands.acknowledge(r.state, "x"))
    # Saturday noon: outside business hours, not night
    r.commit([NewEvent.of(Escalated(level=2, targets=["x", "y"], cycle=0), "engine",
                          utc(2025, 2, 1, 12))])
    r.now = utc(2025, 2, 1, 12, 5)
    r.commit(commands.assign_role(r.state, Role.INCIDENT_COMMANDER, "y", "y"))
    # Tuesday 23:30 UTC: night in London, 18:30 in New York (after hours, not night)
    r.commit([NewEvent.of(Escalated(level=3, targets=["y", "z"]), "engine",
                          utc(2025, 2, 4, 23, 30))])
    return r


def test_hours_pages_and_incidents_per_person_and_month() -> None:
    rows = oncall_load(CONFIG, [_incident().state], utc(2025, 1, 27, 9), utc(2025, 2, 10, 9))
    got = {(r.person, r.month): r for r in rows}
    x_jan, x_feb = got[("x", "2025-01")], got[("x", "2025-02")]
    y_jan, y_feb = got[("y", "2025-01")], got[("y", "2025-02")]
    # week 0 (Jan 27 09:00 - Feb 3 09:00): x primary, y secondary; week 1 the other way round
    assert (x_jan.primary_hours, x_jan.secondary_hours) == (111, 0)
    assert (x_feb.primary_hours, x_feb.secondary_hours) == (57, 168)
    assert (y_jan.primary_hours, y_jan.secondary_hours) == (0, 111)
    assert (y_feb.primary_hours, y_feb.secondary_hours) == (168, 57)
    assert (x_jan.pages, x_jan.pages_delivered, x_jan.pages_after_hours, x_jan.pages_night) == (
        1, 1, 0, 0)
    assert (x_feb.pages, x_feb.pages_after_hours, x_feb.pages_night) == (1, 1, 0)
    assert (y_feb.pages, y_feb.pages_after_hours, y_feb.pages_night) == (2, 2, 1)
    z_feb = got[("z", "2025-02")]
    assert (z_feb.pages, z_feb.pages_after_hours, z_feb.pages_night, z_feb.oncall_hours) == (
        1, 1, 0, 0)
    assert x_jan.incidents == ["INC-1"] and y_feb.incidents == ["INC-1"]
    assert x_feb.incidents_handled == 0
    assert to_json(x_jan)["incidents_handled"] == 1


def test_window_excludes_pages_and_hours_outside() -> None:
    rows = oncall_load(CONFIG, [_incident().state], utc(2025, 2, 1), utc(2025, 2, 2))
    got = {(r.person, r.month): r for r in rows}
    assert got[("x", "2025-02")].primary_hours == 24
    assert got[("x", "2025-02")].pages == 1 and ("z", "2025-02") not in got


@pytest.mark.parametrize("hour,night", [(21, False), (22, True), (3, True), (6, True),
                                        (7, False)])
def test_night_is_22_to_07_local(hour: int, night: bool) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Berlin")
    assert is_night(datetime(2025, 6, 2, hour, 30, tzinfo=tz), tz) is night
