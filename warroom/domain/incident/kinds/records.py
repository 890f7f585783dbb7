"""What the room writes down: notes, decisions, action items, messages sent, and the scribe's
corrections."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field
from pydantic_core import to_jsonable_python

from warroom.domain.incident.events import Event, Kind, Tone
from warroom.domain.incident.state import (
    ActionRecord,
    CommunicationRecord,
    DecisionRecord,
    IncidentState,
)

# A message to one of these audiences is the customers' first update (the checklist item).
CUSTOMER_AUDIENCES = frozenset({"customers", "status page", "statuspage", "public"})


class Note(Kind):
    kind = "note"
    label = "note"
    tone = Tone.QUIET
    text_field = "text"

    text: str = Field(min_length=1)

    def describe(self) -> str:
        return self.text


class Decision(Kind):
    kind = "decision"
    label = "decision"
    tone = Tone.DECISION
    text_field = "text"

    text: str = Field(min_length=1)

    def describe(self) -> str:
        return f"DECISION: {self.text}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.decisions.append(DecisionRecord(
            id=event.event_id, text=self.text, at=event.at, actor=event.actor
        ))


class ActionItem(Kind):
    kind = "action_item"
    label = "action"
    tone = Tone.ACTION
    text_field = "text"

    text: str = Field(min_length=1)
    owner: str | None = None

    def describe(self) -> str:
        owner = f" (owner {self.owner})" if self.owner else ""
        return f"ACTION: {self.text}{owner}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.action_items.append(ActionRecord(
            id=event.event_id, text=self.text, owner=self.owner, at=event.at, actor=event.actor,
        ))


class ActionDone(Kind):
    kind = "action_done"
    label = "action"
    tone = Tone.ACTION

    item: str  # event id of the action item
    # The item's text, written since issue 12 ("action done: <what>" reads better than an
    # event id); for older events a timeline that knows the item fills it in.
    text: str | None = None

    def describe(self) -> str:
        return f"action done: {self.item if self.text is None else self.text}"

    def apply(self, state: IncidentState, event: Event) -> None:
        for item in state.action_items:
            if item.id == self.item and item.done_at is None:
                item.done_at = event.at
                item.done_by = event.actor


class CommunicationSent(Kind):
    kind = "communication_sent"
    label = "comms"
    tone = Tone.COMMS
    text_field = "text"

    template: str  # initial, update, resolution, rca or a team's own
    audience: str  # customers, support, engineering, leadership, sales, internal...
    channel: str | None = None
    text: str = ""

    def describe(self) -> str:
        ch = f" via {self.channel}" if self.channel else ""
        return f"{self.template} message sent to {self.audience}{ch}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.communications.append(CommunicationRecord(
            id=event.event_id, template=self.template, audience=self.audience,
            channel=self.channel, at=event.at, actor=event.actor,
        ))
        if self.audience in CUSTOMER_AUDIENCES:
            state.check("first_update", event.at)


class StatusPageNotified(Kind):
    """A status page subscriber told of an update (warroom/statuspage/live.py): claimed once
    across servers, then each attempt's outcome, like a page's deliveries."""

    kind = "statuspage_notified"
    label = "status"
    tone = Tone.QUIET

    subscriber: str
    update: str  # the page's update id (a communication's event id)
    outcome: str  # claimed | delivered | failed
    attempt: int = Field(default=1, ge=1)
    detail: str = ""
    retry_at: datetime | None = None

    def describe(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        again = (f"; retry at {self.retry_at.astimezone(UTC):%H:%M:%S}"
                 if self.retry_at else "")
        return (f"status page subscriber {self.subscriber}: {self.outcome} "
                f"(attempt {self.attempt}){detail}{again}")


class Amended(Kind):
    """The scribe's correction of an earlier event: the log stays append-only."""

    kind = "amended"
    label = "edit"
    tone = Tone.QUIET

    target: str  # event id
    text: str | None = None
    at: datetime | None = None
    reason: str | None = None

    def describe(self) -> str:
        parts = []
        if self.text is not None:
            parts.append(f"text -> {self.text}")
        if self.at is not None:
            parts.append(f"time -> {to_jsonable_python(self.at)}")  # as the log holds it
        return "edited an entry: " + ("; ".join(parts) or "no change")

    def apply(self, state: IncidentState, event: Event) -> None:
        state.amendments[self.target] = event.event_id
        # Amending a decision or an action item changes what the postmortem lists.
        if self.text is not None:
            for record in (*state.decisions, *state.action_items):
                if record.id == self.target:
                    record.text = self.text


# The facts a person can set directly (`warroom fact`), by their name in the log, and how
# the timeline names them.
FACT_TITLES: dict[str, str] = {
    "impact": "Impact",
    "root_cause": "Root cause",
    "eta": "ETA",
    "lessons": "Lessons",
}


class FactRecorded(Kind):
    """A fact stated for the record (impact, root cause, ETA, lessons): what messages and the
    postmortem say, without a note's magic prefix. The latest of each fact wins; lessons add up.
    """

    kind = "fact_recorded"
    label = "fact"
    tone = Tone.DECISION
    text_field = "text"

    fact: str = Field(min_length=1)  # one of FACT_TITLES (kept as text: newer facts stay readable)
    text: str = Field(min_length=1)

    def describe(self) -> str:
        return f"{FACT_TITLES.get(self.fact, self.fact)}: {self.text}"


class PostmortemScheduled(Kind):
    """The seed's last step, "Document & Schedule Postmortem": when the review meets. The
    resolution and RCA messages say it; a later one moves it."""

    kind = "postmortem_scheduled"
    label = "pm"
    tone = Tone.DECISION

    meets_at: datetime

    def describe(self) -> str:
        return f"postmortem scheduled for {meeting_text(self.meets_at)}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.postmortem_at = self.meets_at


def meeting_text(at: datetime) -> str:
    """'Tuesday 14:00 UTC (2026-12-01)': the weekday people plan by, the zone and the date."""
    u = at.astimezone(UTC)
    return f"{u:%A %H:%M} UTC ({u:%Y-%m-%d})"
