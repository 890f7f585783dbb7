"""PostgreSQL schema versions, applied in one transaction at open under an advisory lock.

Everything lives in its own schema, `warroom`, so a room can share a database with other things
and a spectator role can be granted exactly what it may read. Each migration is a list of
statements run inside the opener's transaction; the version is kept in `warroom.meta`. Add new
ones at the end; never edit one that has shipped.

`log_head` is a single row holding the last committed sequence number. Every append locks it
(SELECT ... FOR UPDATE) and assigns `seq` while holding it: see warroom/store/postgres.py for why
that, rather than a PostgreSQL sequence or an advisory lock, gives a gap-free commit order.
"""

from __future__ import annotations

SCHEMA = "warroom"

# Serialises schema creation and upgrades between processes opening the room at once. Advisory
# locks are scoped to one database, so two rooms on one server do not wait on each other.
MIGRATION_LOCK = 0x7761_7272_6F6F_6D00  # "warroom\0"

_V1 = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE {SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL)",
    f"""CREATE TABLE {SCHEMA}.log_head (
        id integer PRIMARY KEY CHECK (id = 1),
        last_seq bigint NOT NULL
    )""",
    f"INSERT INTO {SCHEMA}.log_head (id, last_seq) VALUES (1, 0)",
    f"""CREATE TABLE {SCHEMA}.events (
        seq bigint PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        incident_id text NOT NULL,
        incident_version integer NOT NULL,
        kind text NOT NULL,
        actor text NOT NULL,
        at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        body json NOT NULL,
        UNIQUE (incident_id, incident_version)
    )""",
    f"""CREATE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'events are append-only'; END $$""",
    f"""CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.events
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change()""",
    f"""CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {SCHEMA}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change()""",
    f"""CREATE TABLE {SCHEMA}.incidents (
        id text PRIMARY KEY,
        number integer NOT NULL UNIQUE,
        title text NOT NULL,
        severity text NOT NULL,
        status text NOT NULL,
        phase text NOT NULL,
        service text,
        version integer NOT NULL,
        declared_at timestamptz NOT NULL,
        started_at timestamptz NOT NULL,
        detected_at timestamptz NOT NULL,
        acknowledged_at timestamptz,
        first_resolved_at timestamptz,
        resolved_at timestamptz,
        last_event_at timestamptz NOT NULL,
        state text NOT NULL
    )""",
    f"CREATE INDEX incidents_by_status ON {SCHEMA}.incidents (status, number)",
    f"""CREATE TABLE {SCHEMA}.presence (
        session text PRIMARY KEY,
        person text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        started_at timestamptz NOT NULL,
        seen_at timestamptz NOT NULL,
        incident_id text
    )""",
]

MIGRATIONS: list[list[str]] = [_V1]

SCHEMA_VERSION = len(MIGRATIONS)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_statements(role: str, database: str, *, write: bool) -> list[str]:
    """What a room's owner runs to let `role` watch (write=False) or take part (write=True).

    A watching role gets SELECT only: it cannot insert, lock the log head (FOR UPDATE needs
    UPDATE), create anything, or turn a read-only setting off and then write.
    """
    r, s = quote_ident(role), SCHEMA
    out = [
        f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}",
    ]
    if write:
        out += [
            f"GRANT INSERT ON {s}.events TO {r}",
            f"GRANT INSERT, UPDATE, DELETE ON {s}.incidents, {s}.presence TO {r}",
            f"GRANT UPDATE ON {s}.log_head TO {r}",
            f"GRANT INSERT, UPDATE ON {s}.meta TO {r}",
        ]
    return out
