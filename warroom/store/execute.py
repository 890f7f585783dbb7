"""Run a domain command against the store: read the state, decide, append at that version.

With `expected_version` the actor says "only if nobody changed it since I looked": a change in
between is reported as a Conflict. Without it, a concurrent change simply means deciding again
on the fresh state (the command's own checks then see what the other terminal did).
"""

from __future__ import annotations

from collections.abc import Callable

from warroom.domain.events import NewEvent
from warroom.domain.incident import IncidentState
from warroom.store.base import AppendResult, Store
from warroom.store.errors import Conflict

Decide = Callable[[IncidentState], list[NewEvent]]


async def execute(store: Store, incident_id: str, decide: Decide,
                  expected_version: int | None = None, attempts: int = 5) -> AppendResult:
    for attempt in range(attempts):
        state = await store.get(incident_id)
        if expected_version is not None and state.version != expected_version:
            changes = await store.events(incident_id, after_version=expected_version)
            raise Conflict(incident_id, expected_version, state.version, changes[-50:])
        events = decide(state)
        try:
            return await store.append(incident_id, events, expected_version=state.version)
        except Conflict:
            if expected_version is not None or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
