"""A drill scenario: what happens, and when, relative to the drill's start.

The format (TOML, read by warroom/drills/files.py; documented in the README's "Drills"):

    [meta]
    name = "payments-outage"
    description = "Checkout fails: the payments DB pool is exhausted"
    severity = "SEV-1"          # the severity the scenario's incident is declared at, if no
    service = "payments"        # alert opens it first
    duration = "60m"            # how long the drill runs (the runner stops there)

    [[steps]]
    at = "+0m"                  # offset from the start: "+3m30s", "+1h", "+45s"
    alert = { ... }             # an Alertmanager or PagerDuty payload, fed through the receiver
    format = "auto"             # optional: alertmanager | pagerduty | auto

    [[steps]]
    at = "+3m30s"
    fact = "The DB pool is at 100%"   # a timeline note from "scenario"

    [[steps]]
    at = "+10m"
    severity = "SEV-1"          # a severity change by "scenario"
    reason = "card payments fail in every region"

Steps run in offset order; steps at the same offset in file order (so a run is deterministic).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from warroom.domain.common.errors import InvalidInput

_OFFSET = re.compile(r"^\+?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")


def parse_offset(text: str) -> timedelta:
    """"+3m30s" -> 210 s. Hours, minutes and seconds, each optional, in that order."""
    m = _OFFSET.match(text.strip())
    if not m or not any(m.groups()):
        raise InvalidInput(f"bad offset {text!r}: write it like +0m, +3m30s, +1h")
    h, mi, s = (int(g or 0) for g in m.groups())
    return timedelta(hours=h, minutes=mi, seconds=s)


def format_offset(delta: timedelta) -> str:
    """The inverse of parse_offset, for listings and replays: "+3m30s"."""
    total = max(int(delta.total_seconds()), 0)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    out = "+" + (f"{h}h" if h else "") + (f"{m}m" if m or not (h or s) else "") + (
        f"{s}s" if s else "")
    return out


def _offset_or_iso(v: object) -> object:
    """A file's "+3m30s"; an ISO 8601 duration ("PT3M30S", as the room's marker stores a
    scenario) is pydantic's to read."""
    if isinstance(v, str) and not v.lstrip("-").startswith("P"):
        return parse_offset(v)
    return v


StepKind = Literal["alert", "fact", "severity"]


class Step(BaseModel):
    """One thing that happens at an offset. Exactly one of alert, fact, severity."""

    model_config = {"extra": "forbid"}

    at: timedelta
    alert: dict[str, Any] | None = None
    format: Literal["auto", "alertmanager", "pagerduty"] = "auto"
    fact: str | None = Field(default=None, min_length=1)
    severity: str | None = None
    reason: str | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _offset(cls, v: object) -> object:
        return _offset_or_iso(v)

    @model_validator(mode="after")
    def _one_thing(self) -> Step:
        given = [k for k in ("alert", "fact", "severity") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a step says exactly one of alert, fact, severity "
                             f"(this one says {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> StepKind:
        if self.alert is not None:
            return "alert"
        return "fact" if self.fact is not None else "severity"

    def describe(self) -> str:
        if self.alert is not None:
            return f"alert ({self.format})"
        if self.fact is not None:
            return f"fact: {self.fact}"
        return f"severity -> {self.severity}" + (f" ({self.reason})" if self.reason else "")


class Meta(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1)
    description: str = ""
    severity: str = "SEV-2"
    service: str | None = None
    duration: timedelta = timedelta(minutes=60)
    # A replay: the incident it re-lives and the original's times (for the scorecard).
    replay_of: str | None = None
    # Pin the drill clock's start to a local time of day ("23:10" in `timezone`), for a
    # scenario that needs the night (the decision tree queues what can wait until morning).
    start: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    timezone: str = "UTC"

    @field_validator("duration", mode="before")
    @classmethod
    def _offset(cls, v: object) -> object:
        return _offset_or_iso(v)


class Scenario(BaseModel):
    model_config = {"extra": "forbid"}

    meta: Meta
    steps: list[Step] = Field(default_factory=list)
    # A replay's original responders' actions, revealed in the scorecard (offsets, text).
    original: list[tuple[timedelta, str]] = Field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "scenario") -> Scenario:
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"{source}: {where}: {first['msg']}") from None

    def schedule(self) -> list[Step]:
        """The steps in the order they run: by offset, ties in file order (sorted is stable)."""
        return sorted(self.steps, key=lambda s: s.at)


class DrillClock(BaseModel):
    """The drill's time: `start` on the drill clock when the real clock read `real_start`, and
    `speed` drill seconds per real second. Kept in the room's marker, so every process of the
    room can read the same drill time."""

    start: datetime
    real_start: datetime
    speed: float = Field(default=1.0, gt=0)

    def now(self, real_now: datetime) -> datetime:
        return self.start + (real_now - self.real_start) * self.speed

    def real_delay(self, drill_now: datetime, until: datetime) -> float:
        """Real seconds to wait until the drill clock reads `until` (0 when it is past)."""
        return max((until - drill_now).total_seconds() / self.speed, 0.0)


def pinned_start(real_now: datetime, start: str, tz: tzinfo) -> datetime:
    """The latest moment at or before `real_now` whose local time of day in `tz` is `start`
    ("23:10"): a drill that needs the night starts last night, never in the future."""
    hh, mm = (int(x) for x in start.split(":"))
    local = real_now.astimezone(tz)
    at = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if at > local:
        at = (at - timedelta(days=1)).replace(hour=hh, minute=mm)
    return at.astimezone(real_now.tzinfo)
