"""The shared incident store: one interface, an SQLite backend (and PostgreSQL for rooms that
span machines)."""

from __future__ import annotations

from pathlib import Path

from warroom.store.base import AppendResult, IncidentSummary, Presence, Store
from warroom.store.errors import (
    Conflict,
    ExitCode,
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
                     lock_timeout: float = 10.0, poll_interval: float = 0.05) -> Store:
    """Open the room's store: a path (SQLite) or a postgresql:// URL."""
    from warroom.store.sqlite import SQLiteStore

    return await SQLiteStore.open(location, readonly=readonly, create=create,
                                  lock_timeout=lock_timeout, poll_interval=poll_interval)
