"""Value types of the configuration file and its problem reports.

Each type reads what people write in TOML ("5m", "Monday", "09:00", "Europe/London", a URL, a
command line) and, when it cannot, says what was expected and what it got, so the loader can
print one line per problem with its key path.
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.timefmt import parse_duration
from warroom.domain.incident.severity import Severity

KeyPath = tuple[str | int, ...]
Problem = tuple[KeyPath, str]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_TITLES = tuple(d.title() for d in WEEKDAYS)


MAX_PROBLEM = 300


class ConfigError(InvalidInput):
    """The configuration cannot be used. One problem per line, each with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        # A problem quotes what it got; a megabyte of it would bury the key path.
        self.problems = [p if len(p) <= MAX_PROBLEM else p[: MAX_PROBLEM - 1] + "…"
                         for p in problems]
        n = len(problems)
        if n == 1:  # one line, as every other refusal
            super().__init__(f"{source}: {self.problems[0]}")
            return
        head = f"{source}: {n} problems in the configuration"
        super().__init__(head + "".join(f"\n  {p}" for p in self.problems))


def _problems(problems: list[Problem]) -> PydanticCustomError:
    """A validation error that carries several problems, each at its own sub-path."""
    summary = "; ".join(f"{format_path(p)}: {m}" if p else m for p, m in problems)
    return PydanticCustomError("config_problems", "{summary}",
                               {"problems": problems, "summary": summary})


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# ---- value types ------------------------------------------------------------------------------


def duration_text(td: timedelta) -> str:
    """The shortest exact text parse_duration reads back: 5m, 1h30m, 90s, 0s."""
    total = td.total_seconds()
    if total == 0:
        return "0s"
    whole = int(total)
    if whole != total:
        return f"{total:g}s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, whole = divmod(whole, size)
        if n:
            out += f"{n}{unit}"
    return out


_DURATION_SHAPE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+$", re.IGNORECASE)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except InvalidInput as e:
            if len(value) <= 64 and _DURATION_SHAPE.match(value):  # readable, but too long
                raise PydanticCustomError("duration", "{problem}", {"problem": str(e)}) from None
    raise PydanticCustomError(
        "duration", "expected a duration such as \"30s\", \"5m\" or \"2h\", got {got}",
        {"got": repr(value)},
    )


Duration = Annotated[timedelta, BeforeValidator(_duration),
                     PlainSerializer(duration_text, when_used="json")]


def parse_weekday(value: Any) -> int:
    if isinstance(value, str):
        t = value.strip().lower()
        for i, name in enumerate(WEEKDAYS):
            if t == name or (len(t) >= 3 and name.startswith(t)):
                return i
    raise PydanticCustomError("weekday", "expected a weekday name, got {got}",
                              {"got": repr(value)})


Weekday = Annotated[int, BeforeValidator(parse_weekday),
                    PlainSerializer(lambda d: WEEKDAY_TITLES[d], when_used="json")]


def _time_of_day(value: Any) -> time:
    if isinstance(value, time) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip().zfill(5) if len(value.strip()) == 4
                                      else value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("time_of_day", "expected a time of day such as \"09:00\", got {got}",
                              {"got": repr(value)})


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day),
                      PlainSerializer(lambda t: t.strftime("%H:%M"), when_used="json")]


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """The named IANA zone (from the tzdata package when the system has no zone files)."""
    return ZoneInfo(name)


def _zone_name(value: str) -> str:
    try:
        zone(value)
    except (ValueError, KeyError, OSError):
        raise PydanticCustomError(
            "time_zone", "unknown time zone {got}: use an IANA name such as Europe/London",
            {"got": repr(value)},
        ) from None
    return value


ZoneName = Annotated[str, AfterValidator(_zone_name)]


def _severity(value: Any) -> Severity:
    if isinstance(value, Severity):
        return value
    try:
        return Severity.parse(str(value))
    except InvalidInput:
        raise PydanticCustomError("severity", "expected SEV-1, SEV-2, SEV-3 or SEV-4, got {got}",
                                  {"got": repr(value)}) from None


SeverityName = Annotated[Severity, BeforeValidator(_severity)]


def _webhook(value: str) -> str:
    url = urllib.parse.urlsplit(value)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise PydanticCustomError("webhook", "expected an http:// or https:// URL, got {got}",
                                  {"got": repr(value)})
    return value


WebhookURL = Annotated[str, AfterValidator(_webhook)]


def _command(value: Any) -> list[str]:
    """A program and its arguments. A string is split like a shell would, but never run by one."""
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as e:
            raise PydanticCustomError("command", "cannot split the command line: {why}",
                                      {"why": str(e)}) from None
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v for v in value)):
        raise PydanticCustomError(
            "command", "expected a program and its arguments, as a list of strings or one "
            "string, got {got}", {"got": repr(value)})
    return value


Command = Annotated[list[str], BeforeValidator(_command)]

HANDLE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def _handle(value: str) -> str:
    if not value or not set(value.lower()) <= HANDLE_CHARS or value[0] in "._-":
        raise PydanticCustomError(
            "handle", "expected a handle of letters, digits, '.', '_' or '-', got {got}",
            {"got": repr(value)})
    return value


Handle = Annotated[str, AfterValidator(_handle)]

KEY_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_KEY_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _key_list(value: Any) -> str:
    """One key or several separated by commas, as Textual writes them: "n", "?", "ctrl+n",
    "f2,ctrl+n". Only the shape is checked here; whether the terminal has such a key is the
    dashboard's to say (it knows Textual's key names)."""
    if not isinstance(value, str):
        raise PydanticCustomError("key_list", "expected a key such as \"n\" or \"ctrl+n\", "
                                  "got {got}", {"got": repr(value)})
    keys = [k.strip() for k in value.split(",")]
    for key in keys:
        *modifiers, name = key.split("+") if len(key) > 1 else [key]
        bad = [m for m in modifiers if m not in KEY_MODIFIERS]
        if not key or not name or bad or (len(name) > 1 and not set(name) <= _KEY_NAME_CHARS):
            raise PydanticCustomError(
                "key_list", "{got} is not a key: use one character (\"n\", \"?\"), a key name "
                "(\"f2\", \"question_mark\"), modifiers joined by + (\"ctrl+n\"), or several "
                "keys separated by commas", {"got": repr(key or value)})
    return ",".join(keys)


KeyList = Annotated[str, BeforeValidator(_key_list)]
