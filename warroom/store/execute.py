"""The one way to write: read the state, decide, append at that version.

Every write in the package goes through `execute`; it is the only caller of `Store.append`.
Each caller says how to meet a concurrent change with a `Retry` policy:

- a person's action carries the version their screen showed (`expected_version`) and uses
  `Retry.never()`: if the incident moved on, nothing is written and the Conflict says who did
  what, so nobody's change is overwritten in silence;
- a script, the engine or the alert receiver uses `Retry.until(seconds)`: a concurrent change
  means deciding again on the fresh state (the command's own checks then see what the other
  process did), with jittered backoff, until the deadline. An unversioned write under contention
  therefore ends in success or in the command's own refusal, never in a bare conflict: past the
  deadline it is refused as DatabaseLocked (exit 9, "busy for too long"), since its writer saw
  no version that could have been overtaken.

A decide that returns no events (nothing to do on this state) writes nothing: the result has
no events and the state's version. DuplicateEventId is never retried: it means an event id the
caller derived (`idempotent_id`) is already used by a different batch, which such a caller reads
as "someone else did this first" (the alert receiver's race to open an incident).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.state import IncidentState
from warroom.store.base import AppendResult, Store
from warroom.store.errors import Conflict, DatabaseLocked

Decide = Callable[[IncidentState], Sequence[NewEvent]]
Declare = Callable[[None], Sequence[NewEvent]]


@dataclass(frozen=True, slots=True)
class Retry:
    """How long to keep re-deciding after a concurrent change (0: refuse at once)."""

    seconds: float = 0.0
    first_pause: float = 0.002
    max_pause: float = 0.1

    @classmethod
    def never(cls) -> Retry:
        return cls(0.0)

    @classmethod
    def until(cls, seconds: float) -> Retry:
        return cls(max(0.0, seconds))

    def pause(self, attempt: int) -> float:
        """Full jitter: spreads racing writers apart so one of them wins each round."""
        return random.uniform(0, min(self.max_pause, self.first_pause * 2 ** min(attempt, 16)))


NEVER = Retry.never()
# Background writers (CLI scripts without --expect-version, the engine, the receiver): long
# enough to outlast any burst a room sees, short of the lock timeout a person would notice.
BACKGROUND = Retry.until(30.0)


async def execute(
    store: Store,
    incident_id: str | None,
    decide: Decide | Declare,
    *,
    expected_version: int | None = None,
    retry: Retry = NEVER,
) -> AppendResult:
    """Decide on the incident's current state and append the result at that version.

    incident_id None declares a new incident: decide receives None and must return the
    declaration first; the store allocates the id. With `expected_version` a change since the
    actor looked is always a Conflict, whatever the retry policy says.
    """
    deadline = time.monotonic() + retry.seconds
    attempt = 0
    while True:
        if incident_id is None:
            events = list(decide(None))  # type: ignore[arg-type]
            return await store.append(None, events)
        state = await store.get(incident_id)
        if expected_version is not None and state.version != expected_version:
            changes = await store.events(incident_id, after_version=expected_version)
            raise Conflict(incident_id, expected_version, state.version, changes[-50:])
        events = list(decide(state))  # type: ignore[arg-type]
        if not events:
            return AppendResult(incident_id, state.version, [])
        try:
            return await store.append(incident_id, events, expected_version=state.version)
        except Conflict as conflict:
            if expected_version is not None:
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLocked(
                    f"{incident_id} kept changing under other writers for "
                    f"{retry.seconds:g} s; nothing was written, try again"
                ) from conflict
        await asyncio.sleep(retry.pause(attempt))
        attempt += 1
