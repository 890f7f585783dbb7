"""The single write path's rules, beyond deciding again (tests/test_store.py): what a decide
with nothing to do returns, how an unversioned write ends when the incident never stops
changing, and that a reused derived id reaches the caller unchanged."""

from __future__ import annotations

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.events import NewEvent, idempotent_id
from warroom.domain.incident.kinds.records import Note
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState
from warroom.store import Conflict
from warroom.store.errors import DatabaseLocked, DuplicateEventId, ExitCode
from warroom.store.execute import NEVER, Retry, execute

from .conftest import Room


async def _declared(room: Room):  # type: ignore[no-untyped-def]
    s = await room.open()
    r = await execute(s, None, lambda _: commands.declare("t", Severity.SEV2, "alice"))
    return s, r.incident_id


async def test_a_decide_with_nothing_to_do_writes_nothing(room: Room) -> None:
    s, inc = await _declared(room)
    seq = await s.last_seq()
    r = await execute(s, inc, lambda state: [], retry=Retry.until(5))
    assert (r.incident_id, r.version, r.events, r.duplicate) == (inc, 1, [], False)
    assert await s.last_seq() == seq


async def test_an_unversioned_write_that_never_gets_through_is_busy_not_a_conflict(
        room: Room) -> None:
    s, inc = await _declared(room)
    other = await room.open()
    calls = 0

    def decide(state: IncidentState) -> list[NewEvent]:
        nonlocal calls
        calls += 1
        return commands.add_note(state, "mine", "alice")

    real_append = s.append

    async def always_overtaken(incident_id, events, expected_version=None):  # type: ignore[no-untyped-def]
        state = await other.get(incident_id)
        await other.append(incident_id, commands.add_note(state, "theirs", "bob"))
        return await real_append(incident_id, events, expected_version)

    s.append = always_overtaken  # type: ignore[method-assign]
    with pytest.raises(DatabaseLocked, match="kept changing") as info:
        await execute(s, inc, decide, retry=Retry.until(0.3))
    assert info.value.exit_code == ExitCode.DB_LOCKED
    assert isinstance(info.value.__cause__, Conflict)
    assert calls > 1
    texts = [e.data.get("text") for e in await s.events(inc)]
    assert "mine" not in texts and "theirs" in texts
    # With the version the person saw, the same race is the person's Conflict, at once.
    state = await s.get(inc)
    with pytest.raises(Conflict, match="not applied"):
        await execute(s, inc, decide, expected_version=state.version, retry=NEVER)


async def test_a_reused_derived_id_reaches_the_caller(room: Room) -> None:
    s, inc = await _declared(room)
    eid = idempotent_id("test:once")
    first = await execute(s, inc, lambda _: [NewEvent.of(Note(text="a"), "x", None, eid)])
    again = await execute(s, inc, lambda _: [NewEvent.of(Note(text="a"), "x", None, eid)])
    assert not first.duplicate and again.duplicate and again.events == first.events
    with pytest.raises(DuplicateEventId):
        await execute(s, inc, lambda _: [NewEvent.of(Note(text="a"), "x", None, eid),
                                         NewEvent.of(Note(text="b"), "x")])
