"""The decisions inside an append, once for every backend: pure, no SQL, no clock.

A backend's append transaction reads what is committed (events with the batch's ids, the
incident's version and state, the last sequence number, the store's clock), and these functions
say what follows from it: the answer to a retried batch, the refusal of a reused id or a bad
declaration, and otherwise the events to insert, numbered, with the incident's new state.
`warroom.store.sql.append_steps` runs them between the statements both backends share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import apply
from warroom.domain.incident.kinds.lifecycle import Declared
from warroom.domain.incident.state import IncidentState
from warroom.store.base import AppendResult
from warroom.store.errors import DuplicateEventId


@dataclass(frozen=True, slots=True)
class Target:
    """The incident a batch goes to, as committed before it (state None: being declared)."""

    incident_id: str
    version: int
    state: IncidentState | None


@dataclass(frozen=True, slots=True)
class Plan:
    """What to write: the batch as committed events, and the projection row after them."""

    events: list[Event]
    state: IncidentState

    @property
    def result(self) -> AppendResult:
        return AppendResult(self.state.id, self.state.version, self.events, False)


def repeated(incident_id: str | None, events: Sequence[NewEvent],
             existing: Sequence[Event]) -> AppendResult:
    """A batch some of whose ids are committed already (`existing`, in commit order).

    Every id committed, on this incident: the same batch again, a retry whose first answer was
    lost; it is answered with what was committed and nothing is written. Anything else reuses
    an id for another event.
    """
    if len(existing) == len(events) and (
        incident_id is None or all(e.incident_id == incident_id for e in existing)
    ):
        return AppendResult(existing[0].incident_id, existing[-1].version, list(existing), True)
    raise DuplicateEventId(f"event id {existing[0].event_id} is already used by another event")


def check_declaration(events: Sequence[NewEvent], expected: int | None) -> None:
    """A new incident starts with its declaration and has no version to expect."""
    if events[0].kind != Declared.kind:
        raise ValueError("a new incident must start with a declaration")
    if expected not in (None, 0):
        raise ValueError("a new incident has no version to expect")


def plan(target: Target, events: Sequence[NewEvent], *, first_seq: int, now: datetime) -> Plan:
    """Number the batch after what is committed and fold it into the state.

    Times are UTC; an event that does not say when it happened happened `now`, the store's
    clock read under the write lock. The fold refuses what it cannot apply (FoldError), so a
    batch the state cannot take is never written.
    """
    now = now.astimezone(UTC)
    state = target.state
    committed: list[Event] = []
    for i, new in enumerate(events):
        if new.kind == Declared.kind and (i > 0 or state is not None):
            raise ValueError(f"{target.incident_id} is already declared")
        at = (new.at or now).astimezone(UTC)
        event = Event(
            seq=first_seq + i, event_id=new.event_id, incident_id=target.incident_id,
            version=target.version + 1 + i, kind=new.kind, actor=new.actor,
            at=at, recorded_at=min(at, now) if new.replayed else now, data=new.data,
        )
        state = apply(state, event)
        committed.append(event)
    assert state is not None
    return Plan(committed, state)
