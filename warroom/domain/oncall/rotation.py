"""Who is on call: weekly rotations with a handoff at a local time, and temporary overrides.

Shift n starts at the handoff's local weekday and time, n weeks after the rotation's first
shift, in the rotation's own zone: the handoff stays at 09:00 local across daylight-saving
changes (so a shift that spans one is 167 or 169 hours long). A local handoff time that does
not exist on a spring-forward day moves forward with the clock, the usual zoneinfo reading.

Overrides cover one slot for [start, end). When several cover the same instant, the one listed
last wins (it is the most recent decision). Before the first shift nobody is on call from the
rotation itself; overrides still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Annotated

from pydantic import Field

from warroom.domain.common.jsonable import UtcTime
from warroom.domain.config.model import Override, Rotation, Slot


@dataclass(frozen=True)
class AppliedOverride:
    slot: Slot
    person: str
    replaces: str | None
    start: UtcTime
    end: UtcTime
    reason: str | None = None


@dataclass(frozen=True)
class OnCall:
    rotation: str
    at: UtcTime
    primary: str | None
    secondary: str | None
    scheduled_primary: str | None  # who the weekly schedule names, before overrides
    scheduled_secondary: str | None
    shift_start: UtcTime | None  # the scheduled weekly shift containing `at`
    shift_end: UtcTime | None
    week: int | None  # shift number since the first shift (None before it)
    next_change: UtcTime | None = None  # when primary or secondary changes next
    overrides_applied: Annotated[tuple[AppliedOverride, ...],
                                 Field(serialization_alias="overrides")] = ()

    def holder(self, slot: Slot) -> str | None:
        return self.primary if slot == "primary" else self.secondary


_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def shift_start(rotation: Rotation, week: int) -> datetime:
    """The start of shift `week` (0 = the first), in UTC: the same local time every week.
    A shift beyond the calendar (an incident dated 9999 asks who is on call after it) starts
    at the calendar's end."""
    local0 = rotation.start.astimezone(rotation.tz)
    try:
        day = local0.date() + timedelta(weeks=week)
        local = datetime.combine(day, rotation.handoff.time, tzinfo=rotation.tz)
        return local.astimezone(UTC)
    except OverflowError:
        return _LAST if week > 0 else _FIRST


def week_at(rotation: Rotation, at: datetime) -> int:
    """The shift number containing `at` (negative before the first shift)."""
    local0 = rotation.start.astimezone(rotation.tz).date()
    try:
        local = at.astimezone(rotation.tz).date()
    except OverflowError:  # the calendar's first or last day: a day off is no matter there
        local = at.date()
    week = (local - local0).days // 7
    # The local date can sit either side of the handoff time on the handoff day.
    while at < (start := shift_start(rotation, week)) and start != _FIRST:
        week -= 1
    while at >= (start := shift_start(rotation, week + 1)) and start != _LAST:
        week += 1
    return week


def scheduled(rotation: Rotation, week: int) -> tuple[str | None, str | None]:
    if week < 0:
        return None, None
    members = rotation.members
    primary = members[week % len(members)]
    if rotation.secondary_offset == 0 or len(members) < 2:
        return primary, None
    secondary = members[(week + rotation.secondary_offset) % len(members)]
    return primary, (secondary if secondary != primary else None)


def _covering(rotation: Rotation, slot: Slot, at: datetime) -> Override | None:
    found = None
    for o in rotation.overrides:
        if o.slot == slot and o.start <= at < o.end:
            found = o  # the last listed wins
    return found


def who_is_on_call(rotation: Rotation, at: datetime) -> OnCall:
    if at.tzinfo is None:
        raise ValueError("`at` must be time-zone aware")
    week = week_at(rotation, at)
    primary, secondary = scheduled(rotation, week)
    start = shift_start(rotation, week) if week >= 0 else None
    end = shift_start(rotation, week + 1) if week >= 0 else shift_start(rotation, 0)
    applied: list[AppliedOverride] = []
    holders = {"primary": primary, "secondary": secondary}
    for slot in ("primary", "secondary"):
        o = _covering(rotation, slot, at)  # type: ignore[arg-type]
        if o is not None:
            applied.append(AppliedOverride(o.slot, o.person, holders[slot], o.start, o.end,
                                           o.reason))
            holders[slot] = o.person
    return OnCall(
        rotation=rotation.name,
        at=at,
        primary=holders["primary"],
        secondary=holders["secondary"],
        shift_start=start,
        shift_end=end if week >= 0 else None,
        week=week if week >= 0 else None,
        scheduled_primary=primary,
        scheduled_secondary=secondary,
        overrides_applied=tuple(applied),
        next_change=_next_change(rotation, at, end),
    )


def _next_change(rotation: Rotation, at: datetime, shift_end: datetime) -> datetime:
    candidates = [shift_end]
    for o in rotation.overrides:
        for edge in (o.start, o.end):
            if edge > at:
                candidates.append(edge)
    return min(candidates)


@dataclass(frozen=True)
class Segment:
    """A stretch of time during which one person holds one slot."""

    rotation: str
    slot: Slot
    person: str
    start: datetime
    end: datetime
    overrides: tuple[AppliedOverride, ...] = field(default=())

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def segments(rotation: Rotation, since: datetime, until: datetime) -> list[Segment]:
    """Who held each slot over [since, until), adjacent stretches of one person merged."""
    if until <= since:
        return []
    edges = {since, until}
    week = week_at(rotation, since)
    while True:
        week += 1
        edge = shift_start(rotation, max(week, 0))
        if edge >= until:
            break
        if edge > since:
            edges.add(edge)
    for o in rotation.overrides:
        for edge in (o.start, o.end):
            if since < edge < until:
                edges.add(edge)
    points = sorted(edges)
    out: dict[str, list[Segment]] = {"primary": [], "secondary": []}
    for a, b in pairwise(points):
        now = who_is_on_call(rotation, a)
        for slot in ("primary", "secondary"):
            person = now.holder(slot)  # type: ignore[arg-type]
            if person is None:
                continue
            ovr = tuple(o for o in now.overrides_applied if o.slot == slot)
            runs = out[slot]
            if runs and runs[-1].person == person and runs[-1].end == a:
                last = runs[-1]
                runs[-1] = Segment(last.rotation, last.slot, person, last.start, b,
                                   last.overrides + tuple(x for x in ovr
                                                          if x not in last.overrides))
            else:
                runs.append(Segment(rotation.name, slot, person, a, b, ovr))  # type: ignore[arg-type]
    return sorted(out["primary"] + out["secondary"], key=lambda s: (s.start, s.slot))
