"""The fold: an incident's state is a pure function of its events.

`fold(events)` and `apply(state, event)` are the only ways to get a state. Each event kind says
what it does to the state (its `apply`); this module checks the history's shape, keeps the
envelope's bookkeeping (version, last event) and calls the kind. It imports the kinds package,
so every process that folds knows every kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from warroom.domain.incident.events import Event
from warroom.domain.incident.kinds import parse_body
from warroom.domain.incident.kinds.lifecycle import Declared
from warroom.domain.incident.state import IncidentState

# Bump when the fold computes something new: a store opened for writing rebuilds every cached
# state from the log, so the projection always equals the fold of this version.
FOLD_VERSION = "4"


class FoldError(ValueError):
    """The events do not start with a declaration or belong to different incidents."""


def fold(events: Iterable[Event]) -> IncidentState:
    state: IncidentState | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise FoldError("no events to fold")
    return state


def apply(state: IncidentState | None, event: Event) -> IncidentState:
    """Apply one committed event. Mutates and returns `state` (a fresh one for a declaration).

    Events are facts that already happened: apply never refuses one. Validation is the commands'
    job, before the store accepts an event. A kind this version does not know only moves the
    version on.
    """
    body = parse_body(event.kind, event.data)
    if state is None:
        if not isinstance(body, Declared):
            raise FoldError(f"{event.incident_id}: history must start with a declaration")
        return body.start(event)
    if event.incident_id != state.id:
        raise FoldError(f"event of {event.incident_id} applied to {state.id}")
    if event.version != state.version + 1:
        raise FoldError(
            f"{state.id}: event version {event.version} after version {state.version}"
        )
    state.version = event.version
    state.last_event_at = event.at
    state.last_actor = event.actor
    state.last_kind = event.kind
    if body is not None:
        body.apply(state, event)
    return state
