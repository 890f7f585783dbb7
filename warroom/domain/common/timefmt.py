"""Reading and writing times and durations as people type and read them.

Pure: the current time and the local time zone are always passed in.

Every reader here either returns a value or raises InvalidInput: a time or duration a person
typed is never a crash (no OverflowError from "@1e20" or "+99999999d"), and `TimeWindow` says
which of the readable times a room accepts at all. The writers (`format_*`, `shift`) are total:
whatever a database holds, from year 1 to year 9999, they return text or a clamped time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from warroom.domain.common.errors import InvalidInput

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)", re.IGNORECASE)
_DURATION_FULL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+$", re.IGNORECASE)
_UNIT = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# No configured wait or typed offset is meant to be longer; anything longer is a typo, and
# refusing it keeps `now + duration` inside the calendar.
MAX_DURATION = timedelta(days=36500)
MAX_DURATION_TEXT = "100 years (36500d)"
_MAX_TEXT = 64  # longer than any duration or time a person types


def parse_duration(text: str) -> timedelta:
    """"30s", "5m", "2h", "1h30m", "1d". A bare number is refused: its unit would be a guess."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT or not _DURATION_FULL.match(text):
        shown = text[:_MAX_TEXT] + "..." if isinstance(text, str) and len(text) > _MAX_TEXT \
            else text
        raise InvalidInput(
            f"cannot read duration {shown!r}: write a number with a unit, like 30s, 5m, 2h or "
            "1h30m"
        )
    seconds = sum(float(n) * _UNIT[u.lower()] for n, u in _DURATION_PART.findall(text))
    if not seconds <= MAX_DURATION.total_seconds():  # also catches inf and nan
        raise InvalidInput(f"duration {text!r} is longer than {MAX_DURATION_TEXT}")
    return timedelta(seconds=seconds)


def shift(dt: datetime, by: timedelta) -> datetime:
    """`dt + by`, clamped to the calendar's ends instead of raising OverflowError.

    Deadlines are computed from whatever a database holds: a clock anchored at 9999-12-31
    shows as due at the end of time, never as a crash."""
    try:
        return dt + by
    except OverflowError:
        end = datetime.max if by > timedelta(0) else datetime.min
        return end.replace(tzinfo=dt.tzinfo)


def format_duration(td: timedelta, *, precise: bool = False) -> str:
    """Compact and glanceable: 45s, 3m, 3m05s (precise), 1h05m, 2d03h."""
    total = int(abs(td.total_seconds()))
    sign = "-" if td.total_seconds() < 0 else ""
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{sign}{days}d{hours:02d}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m{seconds:02d}s" if precise else f"{sign}{minutes}m"
    return f"{sign}{seconds}s"


def format_clock(td: timedelta) -> str:
    """A countdown as a ticking clock: 4:59, 1:02:03."""
    total = int(abs(td.total_seconds()))
    sign = "-" if td.total_seconds() < 0 else ""
    hours, rem = divmod(total, 3600)
    minutes, seconds = divmod(rem, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"
    return f"{sign}{minutes}:{seconds:02d}"


_AGO = re.compile(r"^\s*(.+?)\s+ago\s*$", re.IGNORECASE)


def parse_time(text: str, now: datetime, local_tz: tzinfo | None = None) -> datetime:
    """A point in time as a person types it, returned in UTC.

    Accepts ISO 8601 with or without an offset (without one it is local time), "HH:MM[:SS]"
    (today, or yesterday if that would be in the future), "-5m" / "5m ago", "now", and
    "@EPOCHSECONDS". Anything else, or a time the calendar cannot hold, is InvalidInput.
    Whether the room accepts the time is `TimeWindow.check`'s business.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    t = text.strip()
    if not t:
        raise InvalidInput("empty time")
    if len(t) > _MAX_TEXT:
        raise InvalidInput(f"cannot read time {t[:_MAX_TEXT]!r}...: too long")
    try:
        return _parse_time(t, text, now, local_tz or UTC)
    except (OverflowError, ValueError, OSError):
        # fromtimestamp/astimezone/arithmetic past year 1 or 9999, or a NaN: not a bug.
        raise InvalidInput(f"time {text.strip()!r} is outside the calendar (years 1 to "
                           "9999)") from None


def _parse_time(t: str, text: str, now: datetime, tz: tzinfo) -> datetime:
    if t.lower() == "now":
        return now.astimezone(UTC)
    if t.startswith("@"):
        try:
            seconds = float(t[1:])
        except ValueError as e:
            raise InvalidInput(f"cannot read epoch time {text!r}") from e
        return datetime.fromtimestamp(seconds, UTC)
    m = _AGO.match(t)
    if m:
        return (now - parse_duration(m.group(1))).astimezone(UTC)
    if t.startswith("-") and _DURATION_FULL.match(t[1:]):
        return (now - parse_duration(t[1:])).astimezone(UTC)
    if t.startswith("+") and _DURATION_FULL.match(t[1:]):
        return (now + parse_duration(t[1:])).astimezone(UTC)
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", t):
        try:
            clock = time.fromisoformat(t if len(t.split(":")[0]) == 2 else "0" + t)
        except ValueError as e:
            raise InvalidInput(f"cannot read time of day {text!r}") from e
        local_now = now.astimezone(tz)
        candidate = datetime.combine(local_now.date(), clock, tzinfo=tz)
        if candidate - local_now > timedelta(minutes=1):
            candidate -= timedelta(days=1)
        return candidate.astimezone(UTC)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise InvalidInput(
            f"cannot read time {text!r}: use ISO 8601 (2026-03-04T14:32Z), HH:MM, -5m or '5m ago'"
        ) from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(UTC)


# ---- which times a room accepts ----------------------------------------------------------------

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(hours=24)


@dataclass(frozen=True)
class TimeWindow:
    """The times a person or an alert sender may give: from `earliest` to `ahead` of the
    room's clock. Anything outside is a typo, a broken clock or an attack, and would only make
    every clock and metric of the incident absurd."""

    earliest: datetime = EARLIEST
    ahead: timedelta = AHEAD

    def latest(self, now: datetime) -> datetime:
        return shift(now, self.ahead)

    def contains(self, dt: datetime, now: datetime) -> bool:
        return self.earliest <= dt <= self.latest(now)

    def describe(self, now: datetime) -> str:
        hours = self.ahead.total_seconds() / 3600
        ahead = f"{hours:g}h" if hours == int(hours) and hours <= 72 else \
            format_duration(self.ahead)
        return f"from {_day_or_time(self.earliest)} to {ahead} after now"

    def check(self, dt: datetime, now: datetime, what: str) -> datetime:
        """`dt` if the room accepts it, else InvalidInput naming `what` and the window."""
        if self.contains(dt, now):
            return dt
        where = "before" if dt < self.earliest else "after"
        limit = self.earliest if dt < self.earliest else self.latest(now)
        raise InvalidInput(f"{what} {_iso(dt)} is {where} {_iso(limit)}: times must be "
                           f"{self.describe(now)} ([times] in the configuration)")

    def widened(self, ahead: timedelta) -> TimeWindow:
        """The same window reaching at least `ahead` into the future (for lookups such as
        "who is on call next week", which record nothing)."""
        return TimeWindow(self.earliest, max(self.ahead, ahead))


def _iso(dt: datetime) -> str:
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        pass
    text = dt.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day_or_time(dt: datetime) -> str:
    u = dt.astimezone(UTC)
    return _iso(u)[:10] if u.time() == time(0) else _iso(u)


def as_utc_datetime(value: date | datetime) -> datetime:
    """A configured day or time as an aware UTC datetime (a bare day is its midnight UTC)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
