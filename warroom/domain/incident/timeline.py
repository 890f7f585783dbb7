"""The rows of an incident's timeline as the dashboard and `warroom show` list them.

Commit order by default (the dashboard's incremental view); `by_time=True` lists them by the
time they happened (a corrected time counts), so a note backdated to 22:45 and recorded at
23:06 comes before the 22:55 entry, and marks the rows recorded later ("recorded 23:06").

Every event is a row, amendments included (the scribe's edit is itself on the record); an
amended row reads as its correction says and is marked edited. Pure, and incremental: the
dashboard passes the rows it already has and gets them back extended by the new events, so a
batch costs its own size (plus a search back for the rare amendment's target), not the
timeline's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from warroom.domain.incident.events import Event, Tone
from warroom.domain.incident.kinds import describe, kind_label, kind_tone, parse_body
from warroom.domain.incident.kinds.records import Amended

# Past this, an entry is marked as recorded later than it happened (a clock's skew, a slow
# write, or a few seconds' typing are not news).
RECORDED_LATER = timedelta(minutes=1)


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
    def happened_at(self) -> datetime:
        """When it happened: the scribe's corrected time, or the event's own."""
        return self.amended_at or self.event.at

    @property
    def recorded_later(self) -> bool:
        """Recorded more than RECORDED_LATER after it happened (backdated, or corrected)."""
        return self.event.recorded_at - self.happened_at > RECORDED_LATER

    @property
    def recorded_note(self) -> str | None:
        """'recorded 23:06' (UTC) for a row recorded later, else None."""
        if not self.recorded_later:
            return None
        return f"recorded {self.event.recorded_at.astimezone(UTC):%H:%M}"

    @property
    def label(self) -> str:
        return kind_label(self.event.kind)

    @property
    def tone(self) -> Tone:
        return kind_tone(self.event.kind)


def timeline_rows(events: Sequence[Event], earlier: Sequence[TimelineRow] = (), *,
                  by_time: bool = False) -> list[TimelineRow]:
    """`earlier` followed by a row for each of `events`, every amendment applied to its target
    row (an amendment whose target is not on the timeline changes nothing but is still a row).
    `by_time`: sorted by when each happened, commit order among equal times (stable, and
    nearly sorted already, so it costs little more than the append).
    """
    rows = list(earlier)
    for e in events:
        if e.kind == Amended.kind:
            _amend(rows, e)
        rows.append(TimelineRow(e))
    if by_time:
        rows.sort(key=lambda r: r.happened_at)
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
