"""Time travel on the dashboard (issue 17.4): `[` and `]` step through the followed incident's
events, and every pane shows the room as of the event stepped to; Esc comes back to live.

While scrubbing, the screen follows no incident as far as the change feed is concerned: new
events of the incident go on arriving in the store (and the other incidents' summaries, the
alarms and the roster stay live), and Esc reloads the incident whole, with everything that came
meanwhile. Nothing can be changed: the dashboard's `check_action` withholds every action that
writes or works on the live incident, and a key pressed for one is refused with `refusal`.

What is shown at a step: the fold of the events up to that version (the room's state then),
clocks computed at that event's recorded time (when the room knew it), the timeline of those
events with that event's row selected. Steps are in commit order, the order the room learned
things in; a backdated entry therefore appears at the step it was recorded, on its own row
where it happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from rich.text import Text
from textual.widgets import Static

from warroom.domain.incident.events import Event
from warroom.domain.incident.fold import apply
from warroom.domain.incident.state import IncidentState
from warroom.tui.actions import BY_ACTION

# What may be pressed while scrubbing: the time-travel keys and what only reads the screen.
# Everything else writes, or works on the live incident (comms can mark a message sent, the
# switch changes what is followed): Esc first.
CHECKPOINT = 500
ALLOWED = frozenset({"time_back", "time_forward", "time_live", "help", "quit", "metrics_mode",
                     "runbook"})


@dataclass
class Scrub:
    """The incident being scrubbed: its events as they were when scrubbing began (in version
    order, versions 1..N), and the version shown."""

    incident_id: str
    events: list[Event]
    version: int
    # Folded states at every CHECKPOINT-th version (and the last one shown), so a step folds at
    # most CHECKPOINT events instead of the whole history (an incident of 10,000 events stays
    # quick to scrub both ways).
    _states: dict[int, IncidentState] = field(default_factory=dict, repr=False)
    _shown: int = 0

    @property
    def last(self) -> int:
        return len(self.events)

    @property
    def event(self) -> Event:
        return self.events[self.version - 1]

    @property
    def at(self) -> datetime:
        """The moment shown: when the room learned of this event (its commit)."""
        return self.event.recorded_at

    def state(self) -> IncidentState:
        """The fold of the events up to the version shown, a copy the screen may keep."""
        v = self.version
        base = max((k for k in self._states if k <= v), default=0)
        state = self._states[base].model_copy(deep=True) if base else None
        for e in self.events[base:v]:
            state = apply(state, e)
            if e.version % CHECKPOINT == 0 and e.version not in self._states:
                self._states[e.version] = state.model_copy(deep=True)
        assert state is not None
        if self._shown % CHECKPOINT:
            self._states.pop(self._shown, None)  # only the last shown besides checkpoints
        self._shown = v
        self._states.setdefault(v, state.model_copy(deep=True))
        return state


def scrub_of(state: IncidentState, events: list[Event]) -> Scrub | None:
    """Start scrubbing one step back from what the screen shows (`events`: the timeline's, in
    any order). None if the events do not cover the state's versions one by one."""
    ordered = sorted(events, key=lambda e: e.version)
    if [e.version for e in ordered] != list(range(1, state.version + 1)):
        return None
    return Scrub(state.id, ordered, max(1, state.version - 1))


def banner(scrub: Scrub, local_tz: tzinfo) -> Text:
    """ "AS OF 14:05:12 - Esc: live" in UTC, as the timeline's times are, then where the step
    is (plain text: nothing in it is read as markup)."""
    utc, local = scrub.at.astimezone(UTC), scrub.at.astimezone(local_tz)
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f" AS OF {utc:%H:%M:%S} - Esc: live ", style="bold reverse yellow")
    e = scrub.event
    t.append(f" {scrub.incident_id} v{scrub.version}/{scrub.last} #{e.seq} · {utc:%Y-%m-%d} "
             f"UTC ({local:%H:%M} {local.tzname() or ''}) · [ ] step · read-only")
    return t


def refusal(scrub: Scrub, action: str, local_tz: tzinfo) -> str:
    spec = BY_ACTION.get(action)
    what = spec.label if spec else action
    when = scrub.at.astimezone(UTC).strftime("%H:%M:%S UTC")
    if spec is not None and spec.mutating:
        return f"{what}: nothing can be changed while scrubbing (as of {when}) · Esc: live"
    return f"{what} works on the live room, not as of {when} · Esc: live first"


class AsOfBar(Static):
    """The banner above the panes while scrubbing."""

    DEFAULT_CSS = """
    AsOfBar {
        height: 1;
        background: $warning 20%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, text: Text) -> None:
        super().__init__(text, id="as-of", markup=False)
