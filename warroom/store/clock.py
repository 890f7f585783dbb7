"""How far this terminal's clock is from the store's, and when a screen should say so.

On PostgreSQL every recorded time comes from the database server's clock, so a laptop whose
clock is off sees "3 s ago" where its neighbours see "63 s ago". Each screen shows the offset
that `Store.clock_offset()` measured once it is over a second; below that nobody can tell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.domain.common.timefmt import format_duration

CLOCK_OFFSET_SHOWN = timedelta(seconds=1)


def local_now() -> datetime:
    """This machine's clock (a function, so tests can pretend the laptop's clock is wrong)."""
    return datetime.now(UTC)


def offset_matters(offset: timedelta | None) -> bool:
    return offset is not None and abs(offset) > CLOCK_OFFSET_SHOWN


def clock_offset_note(offset: timedelta | None) -> str | None:
    """One line for the screen ("your clock is 2m behind the server"), or None if it is fine.

    `offset` is server minus local, as `Store.clock_offset()` returns it.
    """
    if offset is None or not offset_matters(offset):
        return None
    size = format_duration(abs(offset))
    if offset > timedelta(0):
        return f"your clock is {size} behind the server"
    return f"your clock is {size} ahead of the server"
