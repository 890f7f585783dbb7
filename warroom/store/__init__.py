"""The shared incident store: one interface, an SQLite backend (and PostgreSQL for rooms that
span machines)."""

from __future__ import annotations

from pathlib import Path

from warroom.store.base import AppendResult, IncidentSummary, Presence, Store
from warroom.store.errors import (
    Conflict,
    ExitCode,
    InvalidLocation,
    NotFound,
    ReadOnly,
    StoreError,
)

__all__ = [
    "AppendResult",
    "Conflict",
    "ExitCode",
    "IncidentSummary",
    "NotFound",
    "Presence",
    "ReadOnly",
    "Store",
    "StoreError",
    "open_store",
]


async def open_store(location: str | Path, *, readonly: bool = False, create: bool = True,
                     lock_timeout: float = 10.0, poll_interval: float | None = None) -> Store:
    """Open the room's store: a path (SQLite) or a postgresql:// URL.

    poll_interval None takes the backend's default: 0.05 s for SQLite, whose feed is that poll;
    1 s for PostgreSQL, whose feed is woken by NOTIFY and polls only as a backup. The driver for
    PostgreSQL (asyncpg) is imported only for a PostgreSQL URL.
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from warroom.store.postgres import DEFAULT_POLL_INTERVAL, PostgresStore

        return await PostgresStore.open(
            text, readonly=readonly, create=create, lock_timeout=lock_timeout,
            poll_interval=DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise InvalidLocation(f"unsupported database URL scheme {scheme!r}: give a file path "
                              "or a postgresql:// URL")
    from warroom.store.sqlite import SQLiteStore

    return await SQLiteStore.open(location, readonly=readonly, create=create,
                                  lock_timeout=lock_timeout,
                                  poll_interval=0.05 if poll_interval is None else poll_interval)
