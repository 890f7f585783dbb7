"""The rows of an incident's timeline as the dashboard shows them, in commit order.

Every event is a row, amendments included (the scribe's edit is itself on the record); an
amended row reads as its correction says and is marked edited. Pure, and incremental: the
dashboard passes the rows it already has and gets them back extended by the new events, so a
batch costs its own size (plus a search back for the rare amendment's target), not the
timeline's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from warroom.domain.incident.events import Event, Tone
from warroom.domain.incident.kinds import describe, kind_label, kind_tone, parse_body
from warroom.domain.incident.kinds.records import Amended


@dataclass(frozen=True, slots=True)
class TimelineRow:
    event: Event
    amended_text: str | None = None  # the latest text correction: the row reads as it says
    amended_at: datetime | None = None  # the latest time correction

    @property
    def edited(self) -> bool:
        return self.amended_text is not None or self.amended_at is not None

    @property
    def text(self) -> str:
        """What the row says: the correction's text, or the event's own description.
        Untrusted: render it literally."""
        return describe(self.event) if self.amended_text is None else self.amended_text

    @property
    def label(self) -> str:
        return kind_label(self.event.kind)

    @property
    def tone(self) -> Tone:
        return kind_tone(self.event.kind)


def timeline_rows(events: Sequence[Event],
                  earlier: Sequence[TimelineRow] = ()) -> list[TimelineRow]:
    """`earlier` followed by a row for each of `events`, every amendment applied to its target
    row (an amendment whose target is not on the timeline changes nothing but is still a row).
    """
    rows = list(earlier)
    for e in events:
        if e.kind == Amended.kind:
            _amend(rows, e)
        rows.append(TimelineRow(e))
    return rows


def _amend(rows: list[TimelineRow], e: Event) -> None:
    body = parse_body(e.kind, e.data)
    assert isinstance(body, Amended)
    for i in range(len(rows) - 1, -1, -1):  # a correction is usually of something recent
        row = rows[i]
        if row.event.event_id == body.target:
            rows[i] = replace(
                row,
                amended_text=row.amended_text if body.text is None else body.text,
                amended_at=row.amended_at if body.at is None else body.at,
            )
            return
