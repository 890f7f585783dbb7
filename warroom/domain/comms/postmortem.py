"""The postmortem, written from the incident's record: Markdown to review and diff, and JSON.

`build_postmortem` gathers the facts once; `postmortem_markdown` and `postmortem_json` print
the same facts, so the two forms cannot disagree. The Markdown is stable: fixed section order,
entries in time order (ties in recording order), times in UTC, no trailing spaces, and nothing
that changes between two exports of the same record (the export time is not printed; `as of`
appears only for an open incident, whose durations depend on it).

Untrusted text (titles, notes, names) is escaped so that it renders literally; the JSON carries
it verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, computed_field

from warroom.domain.common.jsonable import Seconds, UtcTime, to_json, utc_iso
from warroom.domain.common.text import printable
from warroom.domain.common.timefmt import format_duration
from warroom.domain.comms.markdown import fence_for, md_cell, md_escape, md_paragraph
from warroom.domain.comms.raci import RACI, RACI_COLUMNS, RACI_LEGEND
from warroom.domain.incident.events import Event
from warroom.domain.incident.facts import (
    IncidentFacts,
    TimelineItem,
    gather_facts,
    in_words,
    second_utc,
    window,
)
from warroom.domain.incident.kinds.lifecycle import Declared, SeverityChanged, StatusChanged
from warroom.domain.incident.kinds.records import CommunicationSent
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import SEVERITIES, Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import CUSTOMER_MESSAGES

MISSING_IMPACT = "[impact not yet recorded]"
MISSING_ROOT_CAUSE = "[root cause not yet recorded]"
MISSING_SUMMARY = "[summary not recorded]"


@dataclass(frozen=True)
class Interval:
    """One response time: from one moment to another, None while the second has not come."""

    name: str
    start_label: Annotated[str, Field(serialization_alias="from")]
    end_label: Annotated[str, Field(serialization_alias="to")]
    start: UtcTime
    end: UtcTime | None

    @property
    def duration(self) -> timedelta | None:
        return None if self.end is None else max(self.end - self.start, timedelta(0))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def seconds(self) -> float | None:
        return None if self.duration is None else self.duration.total_seconds()


@dataclass(frozen=True)
class Change:
    at: UtcTime
    actor: str
    before: Annotated[str | None, Field(serialization_alias="from")]
    after: Annotated[str, Field(serialization_alias="to")]
    reason: str | None


@dataclass(frozen=True)
class Stint:
    role: Role
    person: str
    start: UtcTime
    end: UtcTime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def title(self) -> str:
        return self.role.title


@dataclass(frozen=True)
class Decision:
    id: str
    at: UtcTime
    actor: str
    text: str


@dataclass(frozen=True)
class Item:
    """An action item."""

    id: str
    text: str
    owner: str | None
    at: UtcTime
    actor: str
    done_at: UtcTime | None
    done_by: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> str:
        return "done" if self.done_at else "open"


@dataclass(frozen=True)
class Sent:
    id: str
    at: UtcTime
    actor: str
    template: str
    audience: str
    channel: str | None
    text: str


@dataclass(frozen=True)
class Resolution:
    """The seed's resolution message components."""

    status: str  # "Resolved: The issue has been resolved" or the current status while open
    resolved: bool
    start: UtcTime
    end: UtcTime | None
    duration: Annotated[Seconds, Field(serialization_alias="duration_seconds")]
    impact: str | None
    root_cause: str | None
    actions_taken: tuple[str, ...]
    next_steps: tuple[str, ...]


def _or_none(text: str) -> str | None:
    return text or None


def _raci_json(raci: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any]:
    return {"columns": [name for name, _ in RACI_COLUMNS],
            "rows": [{"activity": a, "letters": list(letters)} for a, letters in raci],
            "legend": RACI_LEGEND}


def _timeline_json(items: tuple[TimelineItem, ...]) -> list[dict[str, Any]]:
    """An entry as the record now reads it, with the original and the scribe's corrections:
    a view across the event and its corrections, so written out here rather than derived."""
    return [
        {"seq": i.event.seq, "event_id": i.event.event_id, "at": utc_iso(i.at),
         "actor": i.actor, "kind": i.kind, "text": i.text,
         "original": ({"at": utc_iso(i.event.at), "text": i.original_text}
                      if i.amended else None),
         "corrections": [
             {"at": utc_iso(c.at), "actor": c.actor, "text": c.text,
              "new_at": utc_iso(c.new_at) if c.new_at else None, "reason": c.reason}
             for c in i.corrections
         ]}
        for i in items
    ]


# Times in the JSON are ISO 8601 UTC (UtcTime), durations in seconds; the fields are in the
# order of the JSON export.
@dataclass(frozen=True)
class Postmortem:
    incident_id: str
    title: str
    service: str | None
    summary: str | None
    severity: Severity
    peak_severity: Severity
    status: str
    is_open: Annotated[bool, Field(serialization_alias="open")]
    as_of: UtcTime | None  # set only while open: the durations are measured to it
    declared_at: UtcTime
    declared_by: str
    started_at: UtcTime
    detected_at: UtcTime
    acknowledged_at: UtcTime | None
    acknowledged_by: str | None
    identified_at: UtcTime | None
    fix_deployed_at: UtcTime | None
    first_resolved_at: UtcTime | None
    resolved_at: UtcTime | None
    impact: str | None
    impact_source: Annotated[str, PlainSerializer(_or_none, return_type=str | None)]
    root_cause: str | None
    root_cause_source: Annotated[str, PlainSerializer(_or_none, return_type=str | None)]
    resolution: Resolution
    response_times: tuple[Interval, ...]
    severity_history: tuple[Change, ...]
    status_history: tuple[Change, ...]
    roles: tuple[Stint, ...]
    decisions: tuple[Decision, ...]
    action_items: tuple[Item, ...]
    communications: tuple[Sent, ...]
    timeline: Annotated[tuple[TimelineItem, ...],
                        PlainSerializer(_timeline_json, return_type=list[dict[str, Any]])]
    lessons: tuple[str, ...]
    raci: Annotated[tuple[tuple[str, tuple[str, ...]], ...],
                    PlainSerializer(_raci_json, return_type=dict[str, Any])] = field(default=RACI)
    # Who held each RACI column's role during the incident, in the order they took it (the
    # generic table says what a role does; the review asks who did it). In the JSON as
    # raci.people (postmortem_json).
    raci_people: Annotated[tuple[tuple[str, ...], ...], Field(exclude=True)] = ()

    def raci_header(self) -> tuple[str, ...]:
        """'Incident Commander: bob', 'On-call: (nobody)' for each column."""
        people = self.raci_people or tuple(() for _ in RACI_COLUMNS)
        return tuple(f"{name}: {', '.join(who) if who else '(nobody)'}"
                     for (name, _), who in zip(RACI_COLUMNS, people, strict=True))


def build_postmortem(state: IncidentState, events: Sequence[Event],
                     now: datetime) -> Postmortem:
    f = gather_facts(state, events, now)
    peak = min((c.to_severity for c in state.severity_history), key=lambda s: s.rank,
               default=state.severity)
    resolved_at = None if state.is_open else state.resolved_at
    return Postmortem(
        incident_id=state.id,
        title=state.title,
        service=state.service,
        summary=state.summary,
        severity=state.severity,
        peak_severity=peak,
        status=state.status.value,
        is_open=state.is_open,
        as_of=now if state.is_open else None,
        declared_at=state.declared_at,
        declared_by=state.declared_by,
        started_at=state.started_at,
        detected_at=state.detected_at,
        acknowledged_at=state.acknowledged_at,
        acknowledged_by=state.acknowledged_by,
        identified_at=state.identified_at,
        fix_deployed_at=state.fix_deployed_at,
        first_resolved_at=state.first_resolved_at,
        resolved_at=resolved_at,
        impact=f.impact,
        impact_source=f.impact_source,
        root_cause=f.root_cause,
        root_cause_source=f.root_cause_source,
        response_times=(
            Interval("Time to detect", "impact began", "detected",
                     state.started_at, state.detected_at),
            Interval("Time to acknowledge", "detected", "acknowledged",
                     state.detected_at, state.acknowledged_at),
            Interval("Time to resolve", "detected", "first resolved",
                     state.detected_at, state.first_resolved_at),
            Interval("Impact duration", "impact began", "resolved",
                     state.started_at, resolved_at),
        ),
        resolution=_resolution(state, f),
        severity_history=_changes(f, SeverityChanged.kind, "severity"),
        status_history=_changes(f, StatusChanged.kind, "status"),
        timeline=f.items,
        raci_people=tuple(_held(state, role) for _, role in RACI_COLUMNS),
        roles=tuple(
            Stint(s.role, s.person, s.start, s.end)
            for s in sorted(state.role_history,
                            key=lambda s: (s.start, list(Role).index(s.role)))
        ),
        decisions=tuple(
            Decision(d.id, d.at, d.actor, d.text) for d in state.decisions
        ),
        action_items=tuple(
            Item(a.id, a.text, a.owner, a.at, a.actor, a.done_at, a.done_by)
            for a in state.action_items
        ),
        communications=tuple(
            Sent(i.event.event_id, i.at, i.actor, str(i.data.get("template", "")),
                 str(i.data.get("audience", "")), i.data.get("channel"),
                 str(i.data.get("text") or ""))
            for i in f.items if i.kind == CommunicationSent.kind
        ),
        lessons=f.lessons,
    )


def _resolution(state: IncidentState, f: IncidentFacts) -> Resolution:
    if state.is_open:
        status = f"Not resolved: {state.status.value}. {CUSTOMER_MESSAGES[state.status]}."
    else:
        status = f"Resolved. {CUSTOMER_MESSAGES[state.status]}."
    return Resolution(
        status=status,
        resolved=not state.is_open,
        start=f.started_at,
        end=f.ended_at,
        duration=f.duration,
        impact=f.impact,
        root_cause=f.root_cause,
        actions_taken=f.actions_taken,
        next_steps=f.next_steps,
    )


def _changes(f: IncidentFacts, kind: str, what: str) -> tuple[Change, ...]:
    out: list[Change] = []
    for i in f.items:
        if i.kind == Declared.kind:
            initial = i.data.get("severity") if what == "severity" else "Investigating"
            out.append(Change(i.at, i.actor, None, str(initial), "declared"))
        elif i.kind == kind:
            out.append(Change(
                i.at, i.actor, str(i.data.get(f"from_{what}")), str(i.data.get(f"to_{what}")),
                i.data.get("reason"),
            ))
    return tuple(out)


# -- Markdown ---------------------------------------------------------------------------------

def _t(dt: datetime | None) -> str:
    return "-" if dt is None else second_utc(dt)


def _d(td: timedelta | None) -> str:
    return "not yet" if td is None else format_duration(td, precise=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c if c else "-" for c in row) + " |" for row in rows]
    return out


def _list(values: Sequence[str], missing: str, numbered: bool = True) -> list[str]:
    if not values:
        return [md_escape(missing)]
    if numbered:
        return [f"{n}. {md_escape(v)}" for n, v in enumerate(values, 1)]
    return [f"- {md_escape(v)}" for v in values]


def _timeline_cell(item: TimelineItem) -> str:
    """The entry as corrected, then who corrected it and what it said before."""
    text = md_cell(item.text)
    if not item.corrections:
        return text
    notes = []
    for c in item.corrections:
        note = f"corrected by {md_cell(c.actor)} at {second_utc(c.at)}"
        notes.append(note + (f" ({md_cell(c.reason)})" if c.reason else ""))
    if any(c.text is not None for c in item.corrections):
        notes.append(f"originally: {md_cell(item.original_text)}")
    if any(c.new_at is not None for c in item.corrections):
        notes.append(f"originally at {second_utc(item.event.at)}")
    return f"{text} *({'; '.join(notes)})*"


def postmortem_markdown(pm: Postmortem) -> str:
    sev = SEVERITIES[pm.severity]
    out: list[str] = [f"# Postmortem: {pm.incident_id}: {md_escape(pm.title)}", ""]
    out.append(f"- **Status:** {pm.status}" + (" (open: this is a draft)" if pm.is_open else ""))
    out.append(f"- **Severity:** {pm.severity.value} ({sev.name}); peak "
               f"{pm.peak_severity.value} ({SEVERITIES[pm.peak_severity].name})")
    out.append(f"- **Service:** {md_escape(pm.service) if pm.service else '-'}")
    out.append(f"- **Declared:** {_t(pm.declared_at)} UTC by {md_escape(pm.declared_by)}")
    out.append(f"- **Impact window:** {window(pm.started_at, pm.resolved_at)}")
    if pm.as_of is not None:
        out.append(f"- **As of:** {_t(pm.as_of)} UTC")
    out += ["", "## Summary", "", md_paragraph(pm.summary or MISSING_SUMMARY), ""]
    out += ["## Impact", "", md_paragraph(pm.impact or MISSING_IMPACT), ""]
    if pm.impact_source == "summary":
        out += ["*(No \"Impact:\" note was recorded; this is the summary.)*", ""]

    r = pm.resolution
    out += ["## Resolution", ""]
    out.append(f"- **Status:** {r.status}")
    dur = in_words(r.duration) + ("" if r.resolved else " so far")
    out.append(f"- **Duration:** {dur} ({window(r.start, r.end)})")
    out.append(f"- **Impact:** {md_escape(r.impact or MISSING_IMPACT)}")
    out.append(f"- **Root cause:** {md_escape(r.root_cause or MISSING_ROOT_CAUSE)}")
    out.append("- **Actions taken:**")
    out += ["  " + x for x in _list(r.actions_taken, "[no actions recorded yet]")]
    out.append("- **Next steps:**")
    out += ["  " + x for x in _list(r.next_steps, "[next steps not yet recorded]")]
    out.append("")

    out += ["## Response times", ""]
    out += _table(
        ("Measure", "From", "To", "Time"),
        [(i.name, f"{i.start_label} {_t(i.start)}",
          f"{i.end_label} {_t(i.end)}" if i.end else f"{i.end_label}: not yet", _d(i.duration))
         for i in pm.response_times],
    )
    out.append("")

    out += ["## Severity history", ""]
    out += _table(
        ("Time (UTC)", "Actor", "Change", "Reason"),
        [(_t(c.at), md_cell(c.actor),
          c.after if c.before is None else f"{c.before} -> {c.after}",
          md_cell(c.reason or "")) for c in pm.severity_history],
    )
    out += ["", "## Status history", ""]
    out += _table(
        ("Time (UTC)", "Actor", "Change", "Reason"),
        [(_t(c.at), md_cell(c.actor),
          c.after if c.before is None else f"{c.before} -> {c.after}",
          md_cell(c.reason or "")) for c in pm.status_history],
    )
    out += ["", "## Roles", ""]
    if pm.roles:
        out += _table(
            ("Role", "Person", "From (UTC)", "To (UTC)"),
            [(s.role.title, md_cell(s.person), _t(s.start), _t(s.end) if s.end else "still held")
             for s in pm.roles],
        )
    else:
        out.append("No roles were assigned.")
    out += ["", "## Decisions", ""]
    if pm.decisions:
        out += _table(("Time (UTC)", "By", "Decision"),
                      [(_t(d.at), md_cell(d.actor), md_cell(d.text)) for d in pm.decisions])
    else:
        out.append("No decisions were recorded.")
    out += ["", "## Action items", ""]
    if pm.action_items:
        out += _table(
            ("Id", "Action", "Owner", "State", "Recorded (UTC)"),
            [(a.id[:8], md_cell(a.text), md_cell(a.owner or "no owner"),
              f"done by {md_cell(a.done_by or '?')} at {_t(a.done_at)}" if a.done_at else "open",
              f"{_t(a.at)} by {md_cell(a.actor)}") for a in pm.action_items],
        )
    else:
        out.append("No action items were recorded.")
    out += ["", "## Communications sent", ""]
    if pm.communications:
        out += _table(
            ("Time (UTC)", "By", "Template", "Audience", "Channel"),
            [(_t(c.at), md_cell(c.actor), md_cell(c.template), md_cell(c.audience),
              md_cell(c.channel or "")) for c in pm.communications],
        )
    else:
        out.append("No communications were recorded.")
    out += ["", "## Timeline", ""]
    out += _table(
        ("Time (UTC)", "Actor", "Event"),
        [(_t(i.at), md_cell(i.actor), _timeline_cell(i)) for i in pm.timeline],
    )
    out += ["", "## Lessons", ""]
    out += _list(pm.lessons, "[no lessons recorded yet]", numbered=False)
    out += ["", "## RACI", ""]
    out += _table(("Activity", *(md_cell(h) for h in pm.raci_header())),
                  [(activity, *letters) for activity, letters in pm.raci])
    out += ["", f"*{RACI_LEGEND}*"]
    texts = [c for c in pm.communications if c.text.strip()]
    if texts:
        out += ["", "## Messages sent", ""]
        for c in texts:
            body = _printable_block(c.text)
            fence = fence_for(body)
            out += [f"### {_t(c.at)} UTC: {md_escape(c.template)} to {md_escape(c.audience)}",
                    "", f"{fence}text", body, fence, ""]
    return "\n".join(x.rstrip() for x in out).rstrip("\n") + "\n"


def _printable_block(text: str) -> str:
    return "\n".join(x.rstrip() for x in printable(text, single_line=False).split("\n"))


# -- JSON -------------------------------------------------------------------------------------

def postmortem_json(pm: Postmortem) -> dict[str, Any]:
    """The same facts as the Markdown, with text verbatim and times in ISO 8601 UTC."""
    result: dict[str, Any] = to_json(pm)
    people = pm.raci_people or tuple(() for _ in RACI_COLUMNS)
    result["raci"]["people"] = {name: list(who)
                                for (name, _), who in zip(RACI_COLUMNS, people, strict=True)}
    return result


def _held(state: IncidentState, role: Role) -> tuple[str, ...]:
    """Everyone who held `role`, in the order they took it, each once."""
    seen: list[str] = []
    for s in sorted(state.role_history, key=lambda s: s.start):
        if s.role == role and s.person not in seen:
            seen.append(s.person)
    return tuple(seen)


def render_postmortem(state: IncidentState, events: Sequence[Event], now: datetime) -> str:
    """The Markdown postmortem in one call (the JSON form: postmortem_json(build_postmortem))."""
    return postmortem_markdown(build_postmortem(state, events, now))
