"""Rotations with fixed clocks: exact handoffs, daylight saving, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warroom.domain.config.model import Rotation
from warroom.domain.oncall.rotation import segments, shift_start, who_is_on_call

from .conftest import run_cli
from .escalation_support import SAMPLE, demo_config

US = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rotation(overrides: list[dict] | None = None, **kw: object) -> Rotation:
    data = {
        "name": "sre",
        "timezone": "Europe/London",
        "handoff": {"weekday": "Monday", "time": "09:00"},
        "start": "2025-01-06T09:00:00",
        "members": ["alice", "bob", "carol", "dave", "erin", "frank"],
        "overrides": overrides or [],
        **kw,
    }
    return Rotation.model_validate(data)


def test_first_shift_and_exact_handoff_boundaries() -> None:
    r = rotation()
    start = utc(2025, 1, 6, 9)  # London is on GMT in January
    before = who_is_on_call(r, start - US)
    assert (before.primary, before.secondary, before.week) == (None, None, None)
    assert before.next_change == start
    first = who_is_on_call(r, start)
    assert (first.primary, first.secondary, first.week) == ("alice", "bob", 0)
    assert (first.shift_start, first.shift_end) == (start, utc(2025, 1, 13, 9))
    assert who_is_on_call(r, utc(2025, 1, 13, 9) - US).primary == "alice"
    second = who_is_on_call(r, utc(2025, 1, 13, 9))
    assert (second.primary, second.secondary) == ("bob", "carol")
    # the sixth week wraps the secondary round to alice, the seventh starts over
    assert who_is_on_call(r, utc(2025, 2, 10, 9)).secondary == "alice"
    assert who_is_on_call(r, utc(2025, 2, 17, 9)).primary == "alice"


def test_demo_rule_primary_is_week_mod_six() -> None:
    r = demo_config().rotations["sre"]
    members = r.members
    for week in range(0, 70, 7):
        at = shift_start(r, week) + timedelta(days=3)
        oc = who_is_on_call(r, at)
        if oc.overrides_applied:
            continue
        assert (oc.week, oc.primary, oc.secondary) == (
            week, members[week % 6], members[(week + 1) % 6])


def test_spring_forward_keeps_handoff_at_nine_local() -> None:
    # Clocks go forward on Sunday 2025-03-30: Monday's 09:00 BST is 08:00 UTC.
    r = rotation()
    handoff = utc(2025, 3, 31, 8)
    before, after = who_is_on_call(r, handoff - US), who_is_on_call(r, handoff)
    assert before.primary != after.primary
    assert after.shift_start == handoff
    assert before.shift_end == handoff
    assert before.shift_end - before.shift_start == timedelta(hours=167)
    # the week after is an ordinary 168 hours, still 09:00 local
    assert after.shift_end - after.shift_start == timedelta(hours=168)
    assert after.shift_start.astimezone(r.tz).hour == 9


def test_fall_back_keeps_handoff_at_nine_local() -> None:
    # Clocks go back on Sunday 2025-10-26: Monday's 09:00 GMT is 09:00 UTC again.
    r = rotation()
    handoff = utc(2025, 10, 27, 9)
    before, after = who_is_on_call(r, handoff - US), who_is_on_call(r, handoff)
    assert before.primary != after.primary and after.shift_start == handoff
    assert before.shift_start == utc(2025, 10, 20, 8)
    assert before.shift_end - before.shift_start == timedelta(hours=169)
    # 08:30 UTC on Monday is 08:30 local: still the old shift
    assert who_is_on_call(r, utc(2025, 10, 27, 8, 30)).primary == before.primary


def test_partial_override_inside_a_shift() -> None:
    r = rotation([{"person": "frank", "start": "2025-01-08T18:00:00",
                   "end": "2025-01-09T08:00:00", "reason": "alice at the dentist"}])
    o_start, o_end = utc(2025, 1, 8, 18), utc(2025, 1, 9, 8)
    assert who_is_on_call(r, o_start - US).primary == "alice"
    during = who_is_on_call(r, o_start)
    assert (during.primary, during.scheduled_primary, during.secondary) == (
        "frank", "alice", "bob")
    (applied,) = during.overrides_applied
    assert (applied.person, applied.replaces, applied.reason) == (
        "frank", "alice", "alice at the dentist")
    assert during.next_change == o_end
    assert who_is_on_call(r, o_end - US).primary == "frank"
    assert who_is_on_call(r, o_end).primary == "alice"  # the end is excluded


def test_overlapping_overrides_last_listed_wins() -> None:
    r = rotation([
        {"person": "carol", "start": "2025-01-07T00:00:00", "end": "2025-01-09T00:00:00"},
        {"person": "dave", "start": "2025-01-08T00:00:00", "end": "2025-01-08T12:00:00"},
    ])
    assert who_is_on_call(r, utc(2025, 1, 7, 12)).primary == "carol"
    both = who_is_on_call(r, utc(2025, 1, 8, 6))
    assert both.primary == "dave"
    assert [o.person for o in both.overrides_applied] == ["dave"]
    assert who_is_on_call(r, utc(2025, 1, 8, 12)).primary == "carol"
    assert who_is_on_call(r, utc(2025, 1, 9)).primary == "alice"


def test_override_across_a_handoff_and_of_the_secondary() -> None:
    r = rotation([
        {"person": "erin", "start": "2025-01-13T06:00:00", "end": "2025-01-13T12:00:00"},
        {"slot": "secondary", "person": "frank", "start": "2025-01-13T09:00:00",
         "end": "2025-01-14T09:00:00"},
    ])
    early = who_is_on_call(r, utc(2025, 1, 13, 8))
    assert (early.primary, early.overrides_applied[0].replaces) == ("erin", "alice")
    late = who_is_on_call(r, utc(2025, 1, 13, 10))
    assert late.primary == "erin" and late.overrides_applied[0].replaces == "bob"
    assert (late.secondary, late.scheduled_secondary) == ("frank", "carol")
    assert who_is_on_call(r, utc(2025, 1, 13, 12)).primary == "bob"


def test_override_with_offset_and_before_the_rotation_starts() -> None:
    r = rotation([{"person": "ken", "start": "2025-01-01T00:00:00+00:00",
                   "end": "2025-01-02T00:00:00+00:00"}])
    oc = who_is_on_call(r, utc(2025, 1, 1, 12))
    assert (oc.primary, oc.secondary, oc.week) == ("ken", None, None)


def test_segments_cover_time_and_split_at_overrides() -> None:
    r = rotation([{"person": "frank", "start": "2025-01-08T18:00:00",
                   "end": "2025-01-09T08:00:00"}])
    segs = segments(r, utc(2025, 1, 6, 9), utc(2025, 1, 20, 9))
    primary = [(s.person, s.start, s.end) for s in segs if s.slot == "primary"]
    assert primary == [
        ("alice", utc(2025, 1, 6, 9), utc(2025, 1, 8, 18)),
        ("frank", utc(2025, 1, 8, 18), utc(2025, 1, 9, 8)),
        ("alice", utc(2025, 1, 9, 8), utc(2025, 1, 13, 9)),
        ("bob", utc(2025, 1, 13, 9), utc(2025, 1, 20, 9)),
    ]
    secondary_hours = sum((s.duration for s in segs if s.slot == "secondary"), timedelta())
    assert secondary_hours == timedelta(weeks=2)


def test_single_member_rotation_has_no_secondary() -> None:
    r = rotation(members=["alice"])
    oc = who_is_on_call(r, utc(2025, 6, 1))
    assert (oc.primary, oc.secondary) == ("alice", None)


@pytest.mark.parametrize("at,primary", [("2025-02-27T10:00Z", "dave"),
                                        ("2025-02-28T09:00Z", "bob")])
def test_oncall_command(tmp_path, at: str, primary: str) -> None:  # type: ignore[no-untyped-def]
    r = run_cli(tmp_path / "room.db", "oncall", "--at", at, "--json", "--config", str(SAMPLE))
    assert r.code == 0, r.err
    (rot,) = r.json()["rotations"]
    assert (rot["rotation"], rot["primary"], rot["secondary"]) == ("sre", primary, "carol")
    assert bool(rot["overrides"]) == (primary == "dave")
    text = run_cli(tmp_path / "room.db", "oncall", "--at", at, "--config", str(SAMPLE))
    assert f"primary    {primary}" in text.out
    if primary == "dave":
        assert "override: covers bob" in text.out and "bob at a wedding" in text.out


ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
         "America/Sao_Paulo"]


def _property_rotation(zone: str, weekday: str, clock: str) -> Rotation | None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    day = datetime(2025, 1, 6) + timedelta(days=["Monday", "Tuesday", "Wednesday", "Thursday",
                                                  "Friday", "Saturday", "Sunday"].index(weekday))
    hh, mm = (int(x) for x in clock.split(":"))
    start = day.replace(hour=hh, minute=mm, tzinfo=tz)
    try:
        return rotation(timezone=zone, handoff={"weekday": weekday, "time": clock},
                        start=start.isoformat(), members=["a", "b", "c"])
    except Exception:
        return None


def test_every_instant_falls_in_exactly_its_shift() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(zone=st.sampled_from(ZONES),
           weekday=st.sampled_from(["Monday", "Sunday", "Friday"]),
           clock=st.sampled_from(["09:00", "02:30", "00:00", "23:45"]),
           offset=st.integers(min_value=0, max_value=3 * 365 * 24 * 3600))
    def check(zone: str, weekday: str, clock: str, offset: int) -> None:
        r = _property_rotation(zone, weekday, clock)
        if r is None:
            return
        at = r.start + timedelta(seconds=offset)
        oc = who_is_on_call(r, at)
        assert oc.shift_start is not None and oc.shift_end is not None
        assert oc.shift_start <= at < oc.shift_end
        assert oc.primary == r.members[oc.week % 3]
        assert timedelta(hours=166) <= oc.shift_end - oc.shift_start <= timedelta(hours=170)

    check()
