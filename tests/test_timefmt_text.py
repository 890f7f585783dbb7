"""Times and durations as people type them; untrusted text made safe to show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.text import printable
from warroom.domain.common.timefmt import format_clock, format_duration, parse_duration, parse_time

NOW = datetime(2026, 3, 4, 14, 32, 15, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize("text,seconds", [
    ("30s", 30), ("5m", 300), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1.5h", 5400),
    ("250ms", 0.25), ("5M", 300),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5", "", "m", "5 minutes", "-5m", "5x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput, match="30s, 5m, 2h"):
        parse_duration(text)


@pytest.mark.parametrize("text,expected", [
    ("2026-03-04T14:00:00Z", datetime(2026, 3, 4, 14, tzinfo=UTC)),
    ("2026-03-04T15:00:00+01:00", datetime(2026, 3, 4, 14, tzinfo=UTC)),
    ("2026-03-04 15:00", datetime(2026, 3, 4, 14, tzinfo=UTC)),  # naive = local (CET)
    ("15:20", datetime(2026, 3, 4, 14, 20, tzinfo=UTC)),
    ("16:00", datetime(2026, 3, 3, 15, 0, tzinfo=UTC)),  # later than now today: yesterday
    ("-5m", NOW - timedelta(minutes=5)), ("5m ago", NOW - timedelta(minutes=5)),
    ("+1h", NOW + timedelta(hours=1)), ("now", NOW), ("@0", datetime(1970, 1, 1, tzinfo=UTC)),
])
def test_times(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW, CET) == expected


@pytest.mark.parametrize("text", ["yesterday", "25:00", "2026-13-01", "", "@x"])
def test_bad_times(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_time(text, NOW, CET)


def test_format() -> None:
    assert format_duration(timedelta(seconds=45)) == "45s"
    assert format_duration(timedelta(seconds=185)) == "3m"
    assert format_duration(timedelta(seconds=185), precise=True) == "3m05s"
    assert format_duration(timedelta(hours=1, minutes=5)) == "1h05m"
    assert format_duration(timedelta(days=2, hours=3)) == "2d03h"
    assert format_duration(timedelta(minutes=-3)) == "-3m"
    assert format_clock(timedelta(minutes=4, seconds=59)) == "4:59"
    assert format_clock(timedelta(hours=1, minutes=2, seconds=3)) == "1:02:03"


@pytest.mark.parametrize("raw,shown", [
    ("plain [bold]markup[/bold]", "plain [bold]markup[/bold]"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
    ("two\nlines", "two\\nlines"), ("tab\there", "tab here"), ("\x9bcsi", "\\x9bcsi"),
    ("rtl\u202eoverride", "rtl\\u202eoverride"), ("naïve ☕ 日本", "naïve ☕ 日本"),
])
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_multiline_keeps_newlines() -> None:
    assert printable("a\nb\x1b", single_line=False) == "a\nb\\x1b"
