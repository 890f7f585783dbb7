"""The facts a message or a postmortem states, read from the incident's own record.

Messages and postmortems are written from the event log, never typed from memory, so every fact
has one documented source (docs/comms.md has the table):

- impact: the latest note starting "Impact:", else the incident's summary;
- root cause: the latest note starting "Root cause:" (or "Cause:") or reason given with a move
  to Identified, whichever was recorded last;
- actions taken: decisions, reasons given with a move to Monitoring, notes starting
  "Mitigation:" (or "Action taken:") and completed action items, in timeline order;
- next steps: notes starting "Next:" (or "Next steps:"), then the open action items;
- progress (for updates): what happened since the last communication was sent;
- ETA: the latest note starting "ETA:"; lessons: notes starting "Lesson:" (or "Lessons:").

A fact set directly (`fact_recorded`: `warroom fact ID root-cause TEXT`, or `status identified
--cause`, `status resolved --impact`) counts like its note, source "fact": the latest impact,
root cause or ETA recorded wins, whatever recorded it; lessons add up.

The scribe's corrections (`amended` events) are applied first: a corrected note says what the
correction says, at the corrected time. Text is returned verbatim: callers escape for display.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from warroom.domain.common.timefmt import shift
from warroom.domain.incident.events import Event
from warroom.domain.incident.kinds import describe, kind_for, parse_body
from warroom.domain.incident.kinds.lifecycle import StatusChanged
from warroom.domain.incident.kinds.records import (
    FACT_TITLES,
    ActionDone,
    ActionItem,
    Amended,
    CommunicationSent,
    Decision,
    FactRecorded,
    Note,
)
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status

# Note prefixes that feed a fact, lower case, longest first so "next steps:" wins over "next:".
NOTE_PREFIXES: dict[str, tuple[str, ...]] = {
    "impact": ("impact",),
    "root_cause": ("root cause", "cause"),
    "mitigation": ("action taken", "mitigation"),
    "next_steps": ("next steps", "next step", "next"),
    "eta": ("eta",),
    "progress": ("progress", "update"),
    "lessons": ("lessons learned", "lessons", "lesson"),
}
_PREFIX_RE = re.compile(
    r"^\s*(?P<prefix>"
    + "|".join(
        re.escape(p)
        for p in sorted({p for ps in NOTE_PREFIXES.values() for p in ps}, key=len, reverse=True)
    )
    + r")\s*:\s*(?P<value>.*)$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Correction:
    """One scribe's edit of an earlier entry (the original stays in the log)."""

    event_id: str
    at: datetime
    actor: str
    text: str | None
    new_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class TimelineItem:
    """An event as the record now reads: corrections applied, original kept alongside."""

    event: Event
    at: datetime
    data: dict[str, Any]
    text: str
    corrections: tuple[Correction, ...] = ()

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def actor(self) -> str:
        return self.event.actor

    @property
    def amended(self) -> bool:
        return bool(self.corrections)

    @property
    def original_text(self) -> str:
        return describe(self.event)


def corrections_by_target(events: Sequence[Event]) -> dict[str, list[Correction]]:
    out: dict[str, list[Correction]] = {}
    for e in events:
        if e.kind != Amended.kind:
            continue
        body = parse_body(e.kind, e.data)
        assert isinstance(body, Amended)
        out.setdefault(body.target, []).append(Correction(
            event_id=e.event_id, at=e.at, actor=e.actor, text=body.text,
            new_at=body.at.astimezone(UTC) if body.at else None, reason=body.reason,
        ))
    return out


def timeline(events: Sequence[Event]) -> list[TimelineItem]:
    """The record in time order, each entry corrected by its amendments.

    Amendments of a known entry are shown on that entry, not as entries of their own; an
    amendment whose target is not in the list stays visible as a line of its own. Ties in time
    keep the order of recording, so the result is stable.
    """
    corrections = corrections_by_target(events)
    ids = {e.event_id for e in events}
    items: list[TimelineItem] = []
    action_texts: dict[str, str] = {}
    for e in events:
        if e.kind == Amended.kind and e.data.get("target") in ids:
            continue
        fixes = corrections.get(e.event_id, [])
        at, data = e.at, dict(e.data)
        cls = kind_for(e.kind)
        field = None if cls is None else cls.text_field  # what a text correction replaces
        for fix in fixes:
            if fix.new_at is not None:
                at = fix.new_at
            if fix.text is not None and field is not None:
                data[field] = fix.text
        if e.kind == ActionItem.kind:
            action_texts[e.event_id] = str(data.get("text", ""))
        elif e.kind == ActionDone.kind and "text" not in data:
            # "action done: <what>" reads better than the item's event id.
            data["text"] = action_texts.get(str(data.get("item")), str(data.get("item")))
        effective = replace(e, at=at, data=data)
        items.append(TimelineItem(e, at, data, describe(effective), tuple(fixes)))
    items.sort(key=lambda i: (i.at, i.event.version, i.event.seq))
    return items


def prefixed(text: str) -> tuple[str, str] | None:
    """("root_cause", "pool exhausted") for a note "Root cause: pool exhausted", else None."""
    m = _PREFIX_RE.match(text)
    if m is None:
        return None
    value = m.group("value").strip()
    if not value:
        return None
    prefix = m.group("prefix").lower()
    for fact, names in NOTE_PREFIXES.items():
        if prefix in names:
            return fact, value
    return None  # pragma: no cover - the regex only matches known prefixes


@dataclass(frozen=True)
class IncidentFacts:
    """Everything a message or a postmortem says beyond the state's own fields."""

    impact: str | None
    impact_source: str  # "fact", "note", "summary" or "" when unknown
    root_cause: str | None
    root_cause_source: str  # "fact", "note", "status reason" or ""
    actions_taken: tuple[str, ...]
    next_steps: tuple[str, ...]
    progress: tuple[str, ...]
    eta: str | None
    lessons: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None  # resolution, None while open
    duration: timedelta  # impact start to resolution, or to `now` while open
    items: tuple[TimelineItem, ...]


def gather_facts(state: IncidentState, events: Sequence[Event], now: datetime) -> IncidentFacts:
    items = timeline(events)
    impact_note: str | None = None
    impact_from = "note"
    root_cause: str | None = None
    root_cause_source = ""
    eta: str | None = None
    actions: list[str] = []
    next_notes: list[str] = []
    lessons: list[str] = []
    progress: list[str] = []
    last_comm = _last_communication_at(items)

    for item in items:
        d, kind = item.data, item.kind
        since_update = last_comm is None or item.at > last_comm
        # A fact comes from a note's prefix ("root cause: ...") or is stated directly
        # (fact_recorded, only the facts it names); both feed the same dispatch below.
        found: tuple[str, str] | None = None
        source = "note"
        if kind == Note.kind:
            found = prefixed(str(d.get("text", "")))
        elif kind == FactRecorded.kind:
            fact, value = str(d.get("fact", "")), str(d.get("text", "")).strip()
            if value and fact in FACT_TITLES:
                found, source = (fact, value), "fact"
        if found is not None:
            fact, value = found
            if fact == "impact":
                impact_note, impact_from = value, source
            elif fact == "root_cause":
                root_cause, root_cause_source = value, source
            elif fact == "eta":
                eta = value
            elif fact == "next_steps":
                next_notes.append(value)
            elif fact == "lessons":
                lessons.append(value)
            elif fact == "mitigation":
                actions.append(value)
                if since_update:
                    progress.append(value)
            elif fact == "progress" and since_update:
                progress.append(value)
        if kind == Decision.kind:
            actions.append(str(d.get("text", "")))
            if since_update:
                progress.append(f"Decided: {d.get('text', '')}")
        elif kind == StatusChanged.kind:
            to, reason = d.get("to_status"), d.get("reason")
            if to == Status.IDENTIFIED and reason:
                root_cause, root_cause_source = str(reason), "status reason"
            if to == Status.MONITORING and reason:
                actions.append(str(reason))
            if since_update:
                progress.append(f"Status: {to}" + (f" ({reason})" if reason else ""))
        elif kind == ActionDone.kind:
            text = _action_text(state, str(d.get("item", "")))
            if text is not None:
                actions.append(text)
                if since_update:
                    progress.append(f"Done: {text}")

    open_items = [
        a.text + (f" (owner: {a.owner})" if a.owner else "")
        for a in state.action_items
        if a.done_at is None
    ]
    if impact_note is not None:
        impact, impact_source = impact_note, impact_from
    elif state.summary:
        impact, impact_source = state.summary, "summary"
    else:
        impact, impact_source = None, ""
    ended = None if state.is_open else state.resolved_at
    return IncidentFacts(
        impact=impact,
        impact_source=impact_source,
        root_cause=root_cause,
        root_cause_source=root_cause_source,
        actions_taken=tuple(_unique(actions)),
        next_steps=tuple(_unique([*next_notes, *open_items])),
        progress=tuple(progress),
        eta=eta,
        lessons=tuple(lessons),
        started_at=state.started_at,
        ended_at=ended,
        duration=max((ended or now) - state.started_at, timedelta(0)),
        items=tuple(items),
    )


def _last_communication_at(items: Sequence[TimelineItem]) -> datetime | None:
    times = [i.at for i in items if i.kind == CommunicationSent.kind]
    return max(times) if times else None


def _action_text(state: IncidentState, item_id: str) -> str | None:
    for a in state.action_items:
        if a.id == item_id:
            return a.text
    return None


def _unique(values: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for v in values:
        v = v.strip()
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


# -- how times and durations read in messages -------------------------------------------------

def minute_utc(dt: datetime) -> str:
    """2026-03-04 14:32 UTC: messages name the zone, since readers are everywhere."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def second_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def window(start: datetime, end: datetime | None) -> str:
    """2026-03-04 14:32 - 15:19 UTC, the date repeated only when the end is on another day;
    2026-03-04 14:32 UTC - ongoing while open."""
    s = start.astimezone(UTC)
    if end is None:
        return f"{minute_utc(s)} - ongoing"
    e = end.astimezone(UTC)
    if e.date() == s.date():
        return f"{s:%Y-%m-%d %H:%M} - {e:%H:%M} UTC"
    return f"{minute_utc(s)} - {minute_utc(e)}"


def in_words(td: timedelta) -> str:
    """47 minutes, 2 hours 5 minutes, 1 day 3 hours: for people outside the room."""
    total = int(max(td.total_seconds(), 0))
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60

    def unit(n: int, name: str) -> str:
        return f"{n} {name}" + ("" if n == 1 else "s")

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    if minutes:
        return unit(minutes, "minute")
    return "less than a minute"


def ceil_minute(dt: datetime) -> datetime:
    """A promised time is rounded up, so the promise is never earlier than the cadence."""
    floor = dt.replace(second=0, microsecond=0)
    return floor if floor == dt else shift(floor, timedelta(minutes=1))
