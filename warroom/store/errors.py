"""What can go wrong with the shared store, each with its own exit code and one-line message.

The CLI prints `str(error)` and exits with `error.exit_code`; the dashboard shows the same line.
No traceback is ever shown for these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.domain.incident.events import Event


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2  # bad usage or input, refused domain command
    CONFLICT = 3  # someone changed the incident first
    NOT_FOUND = 4  # unknown incident
    READ_ONLY = 5  # read-only store, spectator, or permission denied
    DB_MISSING = 6
    DB_CORRUPT = 7  # not a database, or damaged
    NETWORK_FS = 8
    DB_LOCKED = 9  # locked for longer than the lock timeout
    SCHEMA = 10  # written by a newer warroom, or needs an upgrade a reader cannot do
    DISK_FULL = 11  # the database's disk (or its configured size limit) is full


class StoreError(Exception):
    exit_code: ExitCode = ExitCode.INTERNAL


class DatabaseMissing(StoreError):
    exit_code = ExitCode.DB_MISSING


class DatabaseCorrupt(StoreError):
    exit_code = ExitCode.DB_CORRUPT


class NetworkFilesystem(StoreError):
    exit_code = ExitCode.NETWORK_FS


class DatabaseLocked(StoreError):
    exit_code = ExitCode.DB_LOCKED


class ReadOnly(StoreError):
    exit_code = ExitCode.READ_ONLY


class PermissionDenied(StoreError):
    exit_code = ExitCode.READ_ONLY


class SchemaMismatch(StoreError):
    exit_code = ExitCode.SCHEMA


class DiskFull(StoreError):
    """SQLite's "database or disk is full" (PostgreSQL's disk_full): the transaction was
    rolled back, so the message says that nothing was written."""

    exit_code = ExitCode.DISK_FULL


class InvalidLocation(StoreError):
    """--db is neither a path nor a URL of a supported database."""

    exit_code = ExitCode.USAGE


class NotFound(StoreError):
    exit_code = ExitCode.NOT_FOUND


class DuplicateEventId(StoreError):
    """An event id was reused for a different event: a client bug, never a retry."""

    exit_code = ExitCode.INTERNAL


class Conflict(StoreError):
    """The incident changed after the actor looked at it; nothing was written."""

    exit_code = ExitCode.CONFLICT

    def __init__(self, incident_id: str, expected: int, actual: int,
                 changes: list[Event]) -> None:
        self.incident_id = incident_id
        self.expected = expected
        self.actual = actual
        self.changes = changes
        super().__init__(self.describe())

    def describe(self, now: datetime | None = None, yours: str = "change") -> str:
        """`yours` names what was refused ("handoff"), so the person knows which of their
        actions the notice is about."""
        # Imported here: every command imports these errors (for their exit codes), and only
        # a conflict needs the event kinds' descriptions.
        from warroom.domain.common.timefmt import format_duration
        from warroom.domain.incident.kinds import describe

        now = now or datetime.now(UTC)
        parts = []
        for e in self.changes[-3:]:
            ago = format_duration(max(now - e.recorded_at, now - now))
            what = describe(e) if e.kind != "note" else f'note "{describe(e)}"'
            parts.append(f"{what} by {e.actor} {ago} ago")
        more = len(self.changes) - 3
        if more > 0:
            parts.insert(0, f"{more} earlier change{'s' if more > 1 else ''}")
        what = "; ".join(parts) or "changed"
        return (
            f"{self.incident_id} changed since you looked (you saw version {self.expected}, "
            f"now {self.actual}): {what}. Your {yours} was not applied."
        )
