"""On-call load per person and calendar month: the seed's burnout guard, made measurable.

For each person and month (months in `tz`, UTC by default):
- primary_hours / secondary_hours: time holding each slot of any rotation (overrides included);
- pages: times they were paged (one per escalation level that named them);
  pages_delivered: of those, how many reached at least one of their channels;
- pages_after_hours: pages outside their business hours (their team's hours, in their zone;
  09:00-18:00 Monday-Friday when they have no team);
- pages_night: pages between 22:00 and 07:00 in their own zone (person.timezone, else their
  team's, else their rotation's; see Config.person_zone). Nights are counted by the person's
  clock, not the rotation's, because that is where they sleep;
- incidents: incidents they acknowledged or held a role in, counted in the month of their first
  involvement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Annotated

from pydantic import PlainSerializer, computed_field

from warroom.domain.config.model import BusinessHours, Config
from warroom.domain.incident.state import IncidentState
from warroom.domain.oncall.rotation import segments

NIGHT_START = time(22, 0)
NIGHT_END = time(7, 0)


# Hours on call, written to the hundredth.
Hours = Annotated[float, PlainSerializer(lambda h: round(h, 2), return_type=float,
                                         when_used="json")]


@dataclass
class PersonMonthLoad:
    person: str
    month: str  # "2025-03"
    primary_hours: Hours = 0.0
    secondary_hours: Hours = 0.0
    pages: int = 0
    pages_delivered: int = 0
    pages_after_hours: int = 0
    pages_night: int = 0
    incidents: list[str] = field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def incidents_handled(self) -> int:
        return len(self.incidents)

    @property
    def oncall_hours(self) -> float:
        return self.primary_hours + self.secondary_hours


def is_night(at: datetime, tz: tzinfo) -> bool:
    t = at.astimezone(tz).time()
    return t >= NIGHT_START or t < NIGHT_END


def _month_key(at: datetime, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


def _month_start(key: str, tz: tzinfo) -> datetime:
    y, m = (int(x) for x in key.split("-"))
    return datetime(y, m, 1, tzinfo=tz).astimezone(UTC)


def _next_month(key: str) -> str:
    y, m = (int(x) for x in key.split("-"))
    return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"


def _split_by_month(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[str, timedelta]]:
    out: list[tuple[str, timedelta]] = []
    key = _month_key(start, tz)
    cur = start
    while cur < end:
        boundary = _month_start(_next_month(key), tz)
        stop = min(end, boundary)
        out.append((key, stop - cur))
        cur, key = stop, _next_month(key)
    return out


def oncall_load(config: Config, incidents: Iterable[IncidentState], since: datetime,
                until: datetime, *, tz: tzinfo = UTC) -> list[PersonMonthLoad]:
    """Per person and month over [since, until), sorted by month then person."""
    rows: dict[tuple[str, str], PersonMonthLoad] = {}

    def row(person: str, month: str) -> PersonMonthLoad:
        key = (month, person)
        if key not in rows:
            rows[key] = PersonMonthLoad(person, month)
        return rows[key]

    for rotation in config.rotations.values():
        for seg in segments(rotation, since, until):
            for month, length in _split_by_month(seg.start, seg.end, tz):
                r = row(seg.person, month)
                hours = length.total_seconds() / 3600
                if seg.slot == "primary":
                    r.primary_hours += hours
                else:
                    r.secondary_hours += hours

    for state in incidents:
        for rec in state.escalations:
            if not since <= rec.at < until:
                continue
            month = _month_key(rec.at, tz)
            for handle in rec.targets:
                r = row(handle, month)
                r.pages += 1
                if any(d.recipient == handle and d.outcome == "delivered"
                       for d in rec.deliveries):
                    r.pages_delivered += 1
                zone = config.person_zone(handle)
                team = config.person_team(handle)
                hours = team.business_hours if team else BusinessHours()
                if not hours.contains(rec.at, zone):
                    r.pages_after_hours += 1
                if is_night(rec.at, zone):
                    r.pages_night += 1
        for person, first in _involvement(state).items():
            if since <= first < until:
                r = row(person, _month_key(first, tz))
                if state.id not in r.incidents:
                    r.incidents.append(state.id)

    return [rows[k] for k in sorted(rows)]


def _involvement(state: IncidentState) -> dict[str, datetime]:
    """Each person's first acknowledgement or role in the incident."""
    first: dict[str, datetime] = {}
    if state.acknowledged_by and state.acknowledged_at:
        first[state.acknowledged_by] = state.acknowledged_at
    for stint in state.role_history:
        if stint.person not in first or stint.start < first[stint.person]:
            first[stint.person] = stint.start
    return first
