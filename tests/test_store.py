"""Store semantics every backend must keep: append-only log, optimistic concurrency, idempotent
retries, a change feed in commit order, projection equal to the fold, literal text."""

from __future__ import annotations

import asyncio
import random

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.fold import fold
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.store import Conflict, NotFound, ReadOnly
from warroom.store.errors import DuplicateEventId
from warroom.store.execute import BACKGROUND, execute

from .conftest import Room


async def declare(store, title: str = "Checkout failing", sev: Severity = Severity.SEV1,
                  actor: str = "alice") -> str:
    result = await store.append(None, commands.declare(title, sev, actor, service="payments"))
    return result.incident_id


async def test_declare_allocates_short_ids_and_projects_state(room: Room) -> None:
    s = await room.open()
    assert [await declare(s) for _ in range(3)] == ["INC-1", "INC-2", "INC-3"]
    state = await s.get("INC-2")
    assert (state.id, state.version, state.status, state.severity) == (
        "INC-2", 1, Status.INVESTIGATING, Severity.SEV1)
    summaries = await s.summaries()
    assert [x.id for x in summaries] == ["INC-3", "INC-2", "INC-1"]
    assert await s.last_seq() == 3
    with pytest.raises(NotFound, match="INC-9"):
        await s.get("INC-9")
    with pytest.raises(NotFound):
        await s.events("INC-9")
    with pytest.raises(NotFound):
        await s.append("INC-9", commands.add_note(state, "x", "a"))


async def test_version_conflict_names_who_changed_what(room: Room) -> None:
    a, b = await room.open(), await room.open()
    inc = await declare(a)
    seen = await b.get(inc)
    await a.append(inc, commands.change_status(seen, Status.RESOLVED, "bob"), expected_version=1)
    with pytest.raises(Conflict) as err:
        await b.append(inc, commands.acknowledge(seen, "carol"), expected_version=seen.version)
    c = err.value
    assert (c.expected, c.actual) == (1, 2)
    assert "status Investigating -> Resolved by bob" in str(c)
    assert "not applied" in str(c)
    state = await a.get(inc)
    assert state.version == 2 and state.acknowledged_at is None  # nothing written


async def test_execute_without_expected_version_decides_again_on_fresh_state(room: Room) -> None:
    a, b = await room.open(), await room.open()
    inc = await declare(a)
    stale = await a.get(inc)
    await b.append(inc, commands.add_note(stale, "from b", "bob"))  # another terminal writes
    real_get = a.get
    gets = 0

    async def get_stale_once(incident_id: str):  # type: ignore[no-untyped-def]
        nonlocal gets
        gets += 1
        return stale if gets == 1 else await real_get(incident_id)

    a.get = get_stale_once  # type: ignore[method-assign]
    seen: list[int] = []

    def decide(state):  # type: ignore[no-untyped-def]
        seen.append(state.version)
        return commands.add_note(state, "from a", "alice")

    r = await execute(a, inc, decide, retry=BACKGROUND)
    assert seen == [1, 2] and r.version == 3
    with pytest.raises(Conflict, match="you saw version 1"):
        await execute(a, inc, decide, expected_version=1)


async def test_retried_write_is_applied_once(room: Room) -> None:
    s = await room.open()
    declared = commands.declare("t", Severity.SEV2, "alice")
    first = await s.append(None, declared)
    again = await s.append(None, declared)
    assert again.duplicate and again.incident_id == first.incident_id == "INC-1"
    state = await s.get("INC-1")
    batch = commands.add_note(state, "once", "alice") + commands.add_note(state, "twice", "alice")
    r1 = await s.append("INC-1", batch, expected_version=1)
    r2 = await s.append("INC-1", batch, expected_version=1)  # a retry after a lost answer
    assert not r1.duplicate and r2.duplicate
    assert [e.seq for e in r2.events] == [e.seq for e in r1.events]
    assert [e.kind for e in await s.events("INC-1")] == ["declared", "note", "note"]
    assert await s.last_seq() == 3


async def test_reused_event_id_for_another_event_is_refused(room: Room) -> None:
    s = await room.open()
    await declare(s)
    state = await s.get("INC-1")
    n1 = commands.add_note(state, "a", "alice")
    await s.append("INC-1", n1)
    mixed = [*n1, *commands.add_note(state, "b", "alice")]
    with pytest.raises(DuplicateEventId):
        await s.append("INC-1", mixed)


async def test_declaration_rules(room: Room) -> None:
    s = await room.open()
    with pytest.raises(ValueError, match="declaration"):
        await s.append(None, [NewEvent(kind="note", actor="a", data={"text": "x"})])
    await declare(s)
    with pytest.raises(ValueError, match="already declared"):
        await s.append("INC-1", commands.declare("again", Severity.SEV1, "a"))
    assert await s.last_seq() == 1


async def test_store_clock_fills_unspecified_times_and_keeps_backdated_ones(room: Room, t0) -> None:
    s = await room.open()
    inc = await declare(s)
    state = await s.get(inc)
    r = await s.append(inc, commands.acknowledge(state, "bob", at=t0))
    e = r.events[0]
    assert e.at == t0 and e.recorded_at > t0
    declared = (await s.events(inc))[0]
    assert declared.at == declared.recorded_at


async def test_feed_delivers_every_commit_in_order_to_every_process(room: Room) -> None:
    writer_a, writer_b, reader = await room.open(), await room.open(), await room.open(
        readonly=True)
    inc = await declare(writer_a)
    got: dict[str, list[int]] = {"reader": [], "a": []}

    async def follow(store, name: str, until: int) -> None:  # type: ignore[no-untyped-def]
        async for batch in store.subscribe(0):
            got[name].extend(e.seq for e in batch)
            if got[name][-1] >= until:
                return

    total = 1 + 2 * 20
    tasks = [asyncio.create_task(follow(reader, "reader", total)),
             asyncio.create_task(follow(writer_a, "a", total))]
    for i in range(20):
        for w in (writer_a, writer_b):
            state = await w.get(inc)
            await w.append(inc, commands.add_note(state, f"n{i}", "x"))
    await asyncio.wait_for(asyncio.gather(*tasks), 20)
    assert got["reader"] == got["a"] == list(range(1, total + 1))


async def test_own_write_wakes_own_feed_without_waiting_for_the_poll(db_path) -> None:  # type: ignore[no-untyped-def]
    from warroom.store.sqlite import SQLiteStore

    s = await SQLiteStore.open(db_path, poll_interval=3600)  # the poll would never notice
    try:
        inc = await declare(s)
        feed = s.subscribe()
        nxt = asyncio.ensure_future(feed.__anext__())
        await asyncio.sleep(0)
        state = await s.get(inc)
        await s.append(inc, commands.add_note(state, "mine", "a"))
        batch = await asyncio.wait_for(nxt, 5)
        assert batch[0].data["text"] == "mine"
        await feed.aclose()
    finally:
        await s.close()


async def test_projection_always_equals_the_fold(room: Room) -> None:
    s = await room.open()
    rng = random.Random(7)
    for _ in range(3):
        await declare(s)
    for _ in range(150):
        inc = f"INC-{rng.randint(1, 3)}"
        state = await s.get(inc)
        options = [
            lambda st: commands.add_note(st, "n", "a"),
            lambda st: commands.acknowledge(st, "b"),
            lambda st: commands.change_status(st, rng.choice(list(Status)), "c"),
            lambda st: commands.assign_role(st, rng.choice(list(Role)), rng.choice("xyz"), "d"),
            lambda st: commands.release_role(st, rng.choice(list(Role)), "d"),
            lambda st: commands.change_severity(st, rng.choice(list(Severity)), "e"),
            lambda st: commands.add_note(st, "do it", "a", kind="action", owner="o"),
        ]
        try:
            events = rng.choice(options)(state)
        except Exception:
            continue
        await s.append(inc, events, expected_version=state.version)
    for summary in await s.summaries():
        cached = await s.get(summary.id)
        folded = fold(await s.events(summary.id))
        assert cached.model_dump() == folded.model_dump()
        assert (summary.status, summary.version) == (cached.status.value, cached.version)


UNTRUSTED = [
    "[bold red]not markup[/bold red] [link=http://x]y[/link]",
    "\x1b[2J\x1b[31mescape\x1b[0m \x1b]0;title\x07 \x9b31m",
    "nul\x00byte and \u202eRTL and 日本語 ☕ and 'quotes\" and \\backslash",
    "line one\nline two\r\n\ttabbed",
]


@pytest.mark.parametrize("text", UNTRUSTED)
async def test_untrusted_text_round_trips_exactly(room: Room, text: str) -> None:
    s = await room.open()
    r = await s.append(None, commands.declare(text, Severity.SEV3, text, service=text,
                                              summary=text))
    state = await s.get(r.incident_id)
    await s.append(r.incident_id, commands.add_note(state, text, text))
    state = await s.get(r.incident_id)
    assert state.title == state.summary == state.service == state.declared_by == text
    events = await s.events(r.incident_id)
    assert events[1].data["text"] == text and events[1].actor == text
    assert (await s.summaries())[0].title == text


async def test_read_only_store_refuses_every_write(room: Room) -> None:
    w = await room.open()
    await declare(w)
    ro = await room.open(readonly=True)
    state = await ro.get("INC-1")
    with pytest.raises(ReadOnly):
        await ro.append("INC-1", commands.add_note(state, "x", "spy"))
    with pytest.raises(ReadOnly):
        await ro.append(None, commands.declare("x", Severity.SEV1, "spy"))
    from datetime import UTC, datetime

    from warroom.store.base import Presence

    now = datetime.now(UTC)
    with pytest.raises(ReadOnly):
        await ro.heartbeat(Presence("s", "spy", "h", 1, now, now, None))
    assert await w.last_seq() == 1


async def test_presence_announces_and_forgets(room: Room) -> None:
    from datetime import UTC, datetime, timedelta

    from warroom.store.base import Presence

    a, b = await room.open(), await room.open(readonly=True)
    now = datetime.now(UTC)
    await a.heartbeat(Presence("s1", "alice", "host", 11, now, now, "INC-1"))
    await a.heartbeat(Presence("s2", "bob", "host", 12, now - timedelta(minutes=5),
                               now - timedelta(minutes=5), None))
    here = await b.present(now - timedelta(seconds=30))
    assert [p.person for p in here] == ["alice"] and here[0].incident_id == "INC-1"
    await a.leave("s1")
    assert await b.present(now - timedelta(seconds=30)) == []


async def test_same_idempotent_event_from_many_terminals_is_written_once(room: Room) -> None:
    """An escalation level fired by every terminal at once: one commit, the rest duplicates."""
    from warroom.domain.incident.events import idempotent_id
    from warroom.domain.incident.kinds.paging import Escalated

    terminals = [await room.open() for _ in range(6)]
    inc = await declare(terminals[0])
    event_id = idempotent_id(f"escalation:{inc}:level:1")

    async def fire(store) -> object:  # type: ignore[no-untyped-def]
        body = Escalated(level=1, targets=["grace"])
        return await store.append(inc, [NewEvent.of(body, "engine", event_id=event_id)])

    results = await asyncio.gather(*(fire(t) for t in terminals))
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert {r.events[0].seq for r in results} == {2}
    assert [e.kind for e in await terminals[0].events(inc)] == ["declared", "escalated"]


async def test_summaries_of_reads_the_rows_a_whole_state_would_give(room: Room,
                                                                    monkeypatch) -> None:
    """The dashboard re-reads the incidents a feed batch touched through summaries_of: each
    must equal the summary of the incident's state, unknown ids left out, in batches."""
    from warroom.store import sql
    from warroom.store.base import Store, summary_of

    s = await room.open()
    ids = [await declare(s, f"t{n}", Severity.SEV2) for n in range(5)]
    state = await s.get(ids[1])
    await s.append(ids[1], commands.acknowledge(state, "bob"), expected_version=state.version)
    monkeypatch.setattr(sql, "SUMMARY_BATCH", 2)  # several statements for five ids
    wanted = [ids[1], ids[3], "INC-99", ids[0], ids[4], ids[1]]
    got = {x.id: x for x in await s.summaries_of(wanted)}
    assert sorted(got) == sorted({ids[0], ids[1], ids[3], ids[4]})
    for incident_id, summary in got.items():
        assert summary == summary_of(await s.get(incident_id))
    assert got[ids[1]].acknowledged_at is not None and got[ids[1]].version == 2
    # The interface's own reading (what a backend without summary rows does) agrees.
    by_state = {x.id: x for x in await Store.summaries_of(s, wanted)}
    assert by_state == got
    assert await s.summaries_of([]) == []
