"""Time travel: the incident as the room knew it at a moment (`show --as-of`, the dashboard's
`[`/`]`).

"Knew" is the commit: an event counts from its `recorded_at` (the store's clock), not from its
`at` (when it happened, which a person may backdate). A note typed at 15:00 saying it happened at
14:20 was not known at 14:30, so the room as of 14:30 does not show it; the room as of 15:01 does,
at 14:20 on its timeline. This is the honest answer to "what did the commander see then?".

Pure: the events and the cut are arguments; the state is the fold of the known prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from warroom.domain.incident.events import Event
from warroom.domain.incident.fold import fold
from warroom.domain.incident.state import IncidentState

VIEW = "recorded"  # what `show --as-of` says it gives: events recorded (committed) by the cut


def known_at(events: Sequence[Event], cut: datetime) -> list[Event]:
    """The events committed by `cut`, in version order.

    The known history is a prefix of the log: the fold needs every version in turn, and the
    store numbers versions in commit order. Should a clock have stepped back (a later version
    stamped earlier), the prefix stops at the first event recorded after the cut, so the state
    shown is always one the room really passed through."""
    known: list[Event] = []
    for e in sorted(events, key=lambda e: e.version):
        if e.recorded_at > cut:
            break
        known.append(e)
    return known


def later_backdated(events: Sequence[Event], cut: datetime) -> list[Event]:
    """Entries recorded after the cut that say they happened before it: left out of the view
    (the room did not know them then), counted so the output can say so."""
    known = {e.event_id for e in known_at(events, cut)}
    return [e for e in events if e.event_id not in known and e.at <= cut]


def state_as_of(events: Sequence[Event], cut: datetime) -> IncidentState | None:
    """The incident at `cut`, or None if it had not been declared (recorded) yet."""
    known = known_at(events, cut)
    return fold(known) if known else None

