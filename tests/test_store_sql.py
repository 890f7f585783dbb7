"""The statements and transactions both SQL backends share (warroom/store/sql.py): each
dialect's spelling, the log read a page at a time, a batch larger than one id lookup."""

from __future__ import annotations

import sqlite3

import asyncpg

from warroom.domain.incident import commands
from warroom.domain.incident.fold import fold
from warroom.domain.incident.severity import Severity
from warroom.store import postgres, sql, sqlite
from warroom.store.execute import execute

from .conftest import Room


def test_each_dialect_spells_the_same_statement() -> None:
    text = "SELECT state FROM {s}incidents WHERE id = ? AND version > ?"
    assert sqlite.DIALECT.sql(text) == "SELECT state FROM incidents WHERE id = ? AND version > ?"
    assert postgres.DIALECT.sql(text) == (
        "SELECT state FROM warroom.incidents WHERE id = $1 AND version > $2")


async def test_rebuild_reads_the_log_a_page_at_a_time(room: Room) -> None:
    s = await room.open()
    ids = []
    for title in ("a", "b\x00nul", "c"):
        r = await execute(s, None, lambda _, t=title: commands.declare(t, Severity.SEV2, "x"))
        ids.append(r.incident_id)
    for i in range(4):  # interleaved, so each incident's events are spread over the log
        for inc in ids:
            await execute(s, inc, lambda st, i=i: commands.add_note(st, f"n{i}", "x"))
    await s.close()

    if room.backend == "sqlite":
        conn = sqlite3.connect(room.location, isolation_level=None)
        try:
            count = sqlite._transaction(conn, lambda c: sql.drive(
                sql.rebuild_steps(sqlite.STATEMENTS, page=4),
                lambda statement: sqlite._run(c, statement)))
        finally:
            conn.close()
    else:
        conn = await asyncpg.connect(room.location)
        try:
            async with conn.transaction():
                count = await sql.drive_async(
                    sql.rebuild_steps(postgres.STATEMENTS, page=4),
                    lambda statement: postgres._run_statement(conn, statement))
        finally:
            await conn.close()

    assert count == 3
    s = await room.open()
    for inc in ids:
        assert (await s.get(inc)).model_dump() == fold(await s.events(inc)).model_dump()
    assert (await s.get(ids[1])).title == "b\x00nul"


async def test_a_batch_larger_than_one_id_lookup_is_retried_once(room: Room) -> None:
    s = await room.open()
    inc = (await execute(s, None, lambda _: commands.declare("t", Severity.SEV3, "x"))).incident_id
    state = await s.get(inc)
    batch = [e for i in range(sql.ID_CHUNK + 20) for e in commands.add_note(state, f"{i}", "x")]
    first = await s.append(inc, batch)
    again = await s.append(inc, batch)  # the same batch: its first answer was lost
    assert not first.duplicate and again.duplicate
    assert [e.seq for e in again.events] == [e.seq for e in first.events]
    assert (await s.get(inc)).version == len(batch) + 1
