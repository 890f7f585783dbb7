"""SQLite schema versions (PRAGMA user_version), applied in one write transaction at open.

Each migration is a function of the raw connection, run inside the caller's transaction. Add a
new one at the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _v1_event_log(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            incident_id TEXT NOT NULL,
            incident_version INTEGER NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (incident_id, incident_version)
        )""")
    conn.execute("""
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""")
    conn.execute("""
        CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _v2_projection_and_presence(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            number INTEGER NOT NULL UNIQUE,
            title TEXT NOT NULL,
            severity TEXT NOT NULL,
            status TEXT NOT NULL,
            phase TEXT NOT NULL,
            service TEXT,
            version INTEGER NOT NULL,
            declared_at TEXT NOT NULL,
            started_at TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            acknowledged_at TEXT,
            first_resolved_at TEXT,
            resolved_at TEXT,
            last_event_at TEXT NOT NULL,
            state TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX incidents_by_status ON incidents (status, number)")
    conn.execute("""
        CREATE TABLE presence (
            session TEXT PRIMARY KEY,
            person TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            incident_id TEXT
        )""")
    # The projection is filled by the store's rebuild right after migrating (fold_version).


def not_a_room(conn: sqlite3.Connection) -> str | None:
    """Why this SQLite database is another program's, in words; None for a room or an empty file.

    Read before anything is written (even before WAL mode is set, which rewrites the header):
    a writer pointed at someone else's database must leave it byte for byte as it was, not add
    warroom's tables to it. A room always has its schema version and its event log, both
    written in the first migration's transaction.
    """
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    names = sorted(row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    if version == 0 and names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return f"it holds {shown} and no warroom schema version"
    if version > 0 and not {"events", "meta"} <= set(names):
        return f"it has schema version {version} but no warroom event log"
    return None


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_event_log,
    _v2_projection_and_presence,
]

SCHEMA_VERSION = len(MIGRATIONS)
