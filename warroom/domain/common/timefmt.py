"""Reading and writing times and durations as people type and read them.

Pure: the current time and the local time zone are always passed in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

from warroom.domain.common.errors import InvalidInput

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)", re.IGNORECASE)
_DURATION_FULL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+$", re.IGNORECASE)
_UNIT = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> timedelta:
    """"30s", "5m", "2h", "1h30m", "1d". A bare number is refused: its unit would be a guess."""
    if not isinstance(text, str) or not _DURATION_FULL.match(text):
        raise InvalidInput(
            f"cannot read duration {text!r}: write a number with a unit, like 30s, 5m, 2h or 1h30m"
        )
    seconds = sum(float(n) * _UNIT[u.lower()] for n, u in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


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
    "@EPOCHSECONDS".
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    tz = local_tz or UTC
    t = text.strip()
    if not t:
        raise InvalidInput("empty time")
    if t.lower() == "now":
        return now.astimezone(UTC)
    if t.startswith("@"):
        try:
            return datetime.fromtimestamp(float(t[1:]), UTC)
        except ValueError as e:
            raise InvalidInput(f"cannot read epoch time {text!r}") from e
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
