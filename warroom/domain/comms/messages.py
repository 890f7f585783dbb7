"""Communication templates and the messages rendered from an incident's record.

The seed's four templates (Initial, Update, Resolution, RCA) ship as text files; a team may
replace any of them with its own. Their syntax is `string.Template`'s: `$name` or `${name}`
fills in a fact, `$$` is a dollar sign, and nothing else is special. A template can therefore
not run code, and text from the incident (a title containing "$root_cause", say) is inserted
once and never read as a placeholder itself. A fact with no data renders as a visible marker
such as "[root cause not yet recorded]", never as "None" or an empty gap.

Rendering is pure: state, events and `now` in, text out. The text carries titles and notes
verbatim (markup and escape sequences included); the caller decides how to display it.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.jsonable import UtcTime
from warroom.domain.common.timefmt import shift
from warroom.domain.incident import commands
from warroom.domain.incident.checklist import CHECKLIST_BY_KEY
from warroom.domain.incident.clocks import next_customer_update_due
from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.facts import (
    IncidentFacts,
    ceil_minute,
    gather_facts,
    in_words,
    minute_utc,
    window,
)
from warroom.domain.incident.kinds.lifecycle import (
    Acknowledged,
    Declared,
    SeverityChanged,
    StatusChanged,
)
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.kinds.records import Decision, meeting_text
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import SEVERITIES
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import CUSTOMER_MESSAGES, INTERNAL_ACTIONS


@dataclass(frozen=True)
class TemplateInfo:
    """The seed's guidance for one template: shown next to the preview, never rendered."""

    name: str
    title: str
    when: str
    key_elements: tuple[str, ...]
    tone: str
    audiences: tuple[str, ...]  # who it is usually sent to


TEMPLATES: dict[str, TemplateInfo] = {
    t.name: t
    for t in (
        TemplateInfo("initial", "Initial", "First 30 min",
                     ("Impact", "investigating", "next update"), "Acknowledge concern",
                     ("customers", "internal")),
        TemplateInfo("update", "Update", "Every 30-60 min",
                     ("Progress", "current state", "ETA"), "Transparent",
                     ("customers", "internal")),
        TemplateInfo("resolution", "Resolution", "When fixed",
                     ("Duration", "cause", "prevention"), "Apologetic, forward-looking",
                     ("customers", "internal")),
        TemplateInfo("rca", "RCA", "Within 48hr",
                     ("Deep dive", "lessons", "improvements"), "Technical, honest",
                     ("internal",)),
    )
}
TEMPLATE_NAMES: tuple[str, ...] = tuple(TEMPLATES)

# When the RCA is due after resolution (the seed's "within 48hr").
RCA_WITHIN = timedelta(hours=48)

# The audiences a communication can be marked sent to: the stakeholder plan's rows, plus
# "internal" for the seed's "Internal Teams" (everyone inside the company at once).
AUDIENCES: tuple[str, ...] = (
    "customers", "support", "engineering", "leadership", "sales", "internal",
)
_AUDIENCE_ALIASES: dict[str, str] = {
    "customer": "customers",
    "status page": "customers",
    "statuspage": "customers",
    "public": "customers",
    "eng": "engineering",
    "engineers": "engineering",
    "exec": "leadership",
    "execs": "leadership",
    "management": "leadership",
    "internal teams": "internal",
    "staff": "internal",
}
MAX_MESSAGE = 50_000
_TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def parse_audience(text: str) -> str:
    t = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    if t in AUDIENCES:
        return t
    if t in _AUDIENCE_ALIASES:
        return _AUDIENCE_ALIASES[t]
    raise InvalidInput(f"unknown audience {text!r}: use one of {', '.join(AUDIENCES)}")


def check_template_name(name: str) -> str:
    """Template names are file names too: short, lower case, no path characters."""
    n = name.strip().lower()
    if not _TEMPLATE_NAME.match(n):
        raise InvalidInput(
            f"bad template name {name!r}: use lower-case letters, digits, '-' or '_' "
            f"(the defaults are {', '.join(TEMPLATE_NAMES)})"
        )
    return n


@dataclass(frozen=True)
class Placeholder:
    name: str
    meaning: str
    missing: str | None  # the visible marker when there is no data; None: always known


PLACEHOLDERS: dict[str, Placeholder] = {
    p.name: p
    for p in (
        Placeholder("incident_id", "the incident's id, INC-42", None),
        Placeholder("title", "the incident's title", None),
        Placeholder("service", "the affected service", "[service not recorded]"),
        Placeholder("summary", "the summary given at declaration", "[summary not recorded]"),
        Placeholder("severity", "current severity, SEV-1..SEV-4", None),
        Placeholder("severity_name", "Critical, Major, Minor or Low", None),
        Placeholder("peak_severity", "the most severe level the incident reached", None),
        Placeholder("status", "Investigating, Identified, Monitoring or Resolved", None),
        Placeholder("status_message", "the seed's customer message for the status", None),
        Placeholder("internal_action", "the seed's internal action for the status", None),
        Placeholder("impact", "latest 'Impact:' note, else the summary",
                    "[impact not yet recorded]"),
        Placeholder("root_cause", "latest 'Root cause:' note or reason of the move to "
                    "Identified", "[root cause not yet recorded]"),
        Placeholder("actions_taken", "numbered: decisions, Monitoring reasons, "
                    "'Mitigation:' notes, completed action items", "[no actions recorded yet]"),
        Placeholder("next_steps", "numbered: 'Next:' notes, then open action items",
                    "[next steps not yet recorded]"),
        Placeholder("progress", "what happened since the last communication",
                    "[no progress recorded since the last update]"),
        Placeholder("eta", "latest 'ETA:' note", "[no ETA yet]"),
        Placeholder("lessons", "'Lesson:' notes", "[no lessons recorded yet]"),
        Placeholder("improvements", "every action item with its owner and state",
                    "[no action items recorded]"),
        Placeholder("timeline", "key moments, one per line, in UTC", None),
        Placeholder("started", "when the impact began (UTC)", None),
        Placeholder("detected", "when it was detected (UTC)", None),
        Placeholder("resolved", "when it was resolved (UTC)", "[not resolved yet]"),
        Placeholder("duration", "impact start to resolution, in words ('so far' if open)",
                    None),
        Placeholder("window", "start - end in UTC, or 'start - ongoing'", None),
        Placeholder("time_to_detect", "impact start to detection", None),
        Placeholder("time_to_acknowledge", "detection to acknowledgement",
                    "[not acknowledged yet]"),
        Placeholder("time_to_resolve", "detection to first resolution", "[not resolved yet]"),
        Placeholder("next_update", "'by <time>' from the severity's update cadence",
                    None),
        Placeholder("rca_due", "resolution + 48 h", "[not resolved yet]"),
        Placeholder("postmortem", "when the postmortem meets ('Tuesday 14:00 UTC (date)')",
                    "[postmortem not scheduled yet: warroom schedule-postmortem]"),
        Placeholder("now", "the time of rendering (UTC)", None),
        Placeholder("incident_commander", "current Incident Commander",
                    "[no Incident Commander assigned]"),
        Placeholder("tech_lead", "current Tech Lead", "[no Tech Lead assigned]"),
        Placeholder("comms_lead", "current Communications Lead",
                    "[no Communications Lead assigned]"),
    )
}


class TemplateError(InvalidInput):
    """A template the renderer cannot use; the message names the file and the place."""


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    text: str
    source: str  # the file it came from, for error messages and the preview's caption
    placeholders: tuple[str, ...]

    @property
    def info(self) -> TemplateInfo | None:
        return TEMPLATES.get(self.name)


def parse_template(name: str, text: str, source: str | None = None) -> MessageTemplate:
    """Check a template once, when it is loaded, so a broken file fails before an incident.

    Raises TemplateError naming the source, the line and column, and the unknown placeholder
    (with the closest known name).
    """
    where = source or f"template {name!r}"
    if not text.strip():
        raise TemplateError(f"{where}: the template is empty")
    used: list[str] = []
    for m in string.Template.pattern.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        if m.group("invalid") is not None:
            raise TemplateError(
                f"{where}: line {line}, column {col}: '$' must start a placeholder such as "
                "$impact or ${impact}; write $$ for a dollar sign"
            )
        ident = m.group("named") or m.group("braced")
        if ident is None:
            continue  # $$
        if ident not in PLACEHOLDERS:
            close = difflib.get_close_matches(ident, PLACEHOLDERS, n=1)
            hint = f" (did you mean ${close[0]}?)" if close else ""
            raise TemplateError(
                f"{where}: line {line}, column {col}: unknown placeholder ${ident}{hint}; "
                "docs/comms.md lists the placeholders"
            )
        if ident not in used:
            used.append(ident)
    return MessageTemplate(name=name, text=text, source=where, placeholders=tuple(used))


@dataclass(frozen=True)
class RenderedMessage:
    template: str
    subject: str  # what a status page or an e-mail uses as its title (see `subject_of`)
    text: str
    missing: tuple[str, ...]  # placeholders used that had no data (shown as markers)
    next_update_at: UtcTime | None  # the time this message promises the next update
    source: str


def subject_of(text: str) -> str:
    """The first non-blank line."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def promised_update_at(state: IncidentState, now: datetime) -> datetime | None:
    """The next update a message sent now promises: now plus the severity's cadence."""
    cadence = SEVERITIES[state.severity].update_every
    if not state.is_open or cadence is None:
        return None
    return ceil_minute(shift(now, cadence))


def message_values(state: IncidentState, events: Sequence[Event], now: datetime,
                   facts: IncidentFacts | None = None) -> dict[str, str | None]:
    """Every placeholder's text, None where the record has no data yet."""
    f = facts or gather_facts(state, events, now)
    level = SEVERITIES[state.severity]
    peak = min((c.to_severity for c in state.severity_history), key=lambda s: s.rank,
               default=state.severity)
    promised = promised_update_at(state, now)
    if not state.is_open:
        next_update = "none: the issue is resolved"
    elif promised is None:
        next_update = f"none scheduled for {state.severity.value}; we will update you if " \
                      "anything changes"
    else:
        next_update = f"by {minute_utc(promised)}"
    resolved_at = state.resolved_at if not state.is_open else None
    eta = f.eta if state.is_open else "resolved"  # an old ETA note no longer applies
    return {
        "incident_id": state.id,
        "title": state.title,
        "service": state.service,
        "summary": state.summary,
        "severity": state.severity.value,
        "severity_name": level.name,
        "peak_severity": peak.value,
        "status": state.status.value,
        "status_message": CUSTOMER_MESSAGES[state.status],
        "internal_action": INTERNAL_ACTIONS[state.status],
        "impact": f.impact,
        "root_cause": f.root_cause,
        "actions_taken": _numbered(f.actions_taken),
        "next_steps": _numbered(f.next_steps),
        "progress": _bulleted(f.progress),
        "eta": eta,
        "lessons": _bulleted(f.lessons),
        "improvements": _improvements(state),
        "timeline": _key_moments(f),
        "started": minute_utc(state.started_at),
        "detected": minute_utc(state.detected_at),
        "resolved": minute_utc(resolved_at) if resolved_at else None,
        "duration": in_words(f.duration) + ("" if f.ended_at else " so far"),
        "window": window(f.started_at, f.ended_at),
        "time_to_detect": in_words(state.detected_at - state.started_at),
        "time_to_acknowledge": (
            in_words(state.acknowledged_at - state.detected_at)
            if state.acknowledged_at else None
        ),
        "time_to_resolve": (
            in_words(state.first_resolved_at - state.detected_at)
            if state.first_resolved_at else None
        ),
        "next_update": next_update,
        "rca_due": minute_utc(resolved_at + RCA_WITHIN) if resolved_at else None,
        "postmortem": meeting_text(state.postmortem_at) if state.postmortem_at else None,
        "now": minute_utc(now),
        "incident_commander": state.holder(Role.INCIDENT_COMMANDER),
        "tech_lead": state.holder(Role.TECH_LEAD),
        "comms_lead": state.holder(Role.COMMUNICATIONS_LEAD),
    }


DRILL_PREFIX = "[DRILL] "


def render_message(template: MessageTemplate, state: IncidentState, events: Sequence[Event],
                   now: datetime, *, drill: bool = False) -> RenderedMessage:
    """The message a template says for this incident at `now`, markers where data is missing.
    `drill`: the room is a drill, and the message says so first, so that a drill's message
    pasted anywhere real can never be read as a real incident."""
    values = message_values(state, events, now)
    filled: dict[str, str] = {}
    missing: list[str] = []
    for name in template.placeholders:
        value = values.get(name)
        if value is None or not str(value).strip():
            marker = PLACEHOLDERS[name].missing or f"[{name.replace('_', ' ')} not recorded]"
            filled[name] = marker
            missing.append(name)
        else:
            filled[name] = str(value)
    # substitute, not safe_substitute: parse_template already refused unknown names, and the
    # values are inserted once, never scanned for placeholders themselves.
    text = string.Template(template.text).substitute(filled)
    if drill and not text.startswith(DRILL_PREFIX):
        text = DRILL_PREFIX + text
    return RenderedMessage(
        template=template.name,
        subject=subject_of(text),
        text=text,
        missing=tuple(missing),
        next_update_at=promised_update_at(state, now),
        source=template.source,
    )


def _numbered(values: Sequence[str]) -> str | None:
    if not values:
        return None
    return "\n".join(f"{i}. {v}" for i, v in enumerate(values, 1))


def _bulleted(values: Sequence[str]) -> str | None:
    if not values:
        return None
    return "\n".join(f"- {v}" for v in values)


def _improvements(state: IncidentState) -> str | None:
    lines = []
    for a in state.action_items:
        owner = a.owner or "no owner"
        done = f"done by {a.done_by}" if a.done_at else "open"
        lines.append(f"- {a.text} ({owner}; {done})")
    return "\n".join(lines) or None


_KEY_KINDS = frozenset({
    k.kind for k in (Declared, Acknowledged, StatusChanged, SeverityChanged, Decision, Escalated)
})


def _key_moments(f: IncidentFacts) -> str:
    return "\n".join(f"{minute_utc(i.at)}  {i.text}" for i in f.items if i.kind in _KEY_KINDS)


# -- the update clock and what is due --------------------------------------------------------

def next_update_due(state: IncidentState) -> datetime | None:
    """When customers must next hear from us: the response clocks' one rule."""
    return next_customer_update_due(state)


@dataclass(frozen=True)
class CommsDue:
    """One template's place in the incident's communication schedule."""

    template: str
    due_at: UtcTime | None  # None: not due (yet, or for this severity)
    sent_at: UtcTime | None
    overdue: bool


def comms_schedule(state: IncidentState, now: datetime) -> list[CommsDue]:
    """Initial, next update, resolution and RCA: when each is due and whether it went out."""

    def sent(template: str, after: datetime | None = None) -> datetime | None:
        times = [c.at for c in state.communications
                 if c.template == template and (after is None or c.at >= after)]
        return min(times) if times else None

    cadence = SEVERITIES[state.severity].update_every
    initial_sent = sent("initial")
    initial_due = None
    if cadence is not None:
        initial_due = shift(state.detected_at,
                            CHECKLIST_BY_KEY["first_update"].target or cadence)
    update_due = next_update_due(state) if state.communications else None
    resolved = state.resolved_at if not state.is_open else None
    # "When fixed": due within one update period of the resolution (none for SEV-4).
    resolution_due = shift(resolved, cadence) if resolved and cadence else None
    resolution_sent = sent("resolution", resolved) if resolved else None
    rca_due = shift(state.first_resolved_at, RCA_WITHIN) if state.first_resolved_at else None
    rca_sent = sent("rca")

    def row(template: str, due: datetime | None, done: datetime | None) -> CommsDue:
        return CommsDue(template, due, done, bool(due and not done and now > due))

    return [
        row("initial", initial_due, initial_sent),
        row("update", update_due, None),
        row("resolution", resolution_due, resolution_sent),
        row("rca", rca_due, rca_sent),
    ]


# -- marking a message sent -------------------------------------------------------------------

def mark_sent(state: IncidentState, template: str, audience: str, actor: str, *,
              text: str = "", channel: str | None = None,
              at: datetime | None = None) -> list[NewEvent]:
    """Record that a message went out: checks the names, then `record_communication`.

    The event keeps the exact text sent (after any edit), so the postmortem can quote it. A
    customer-facing audience completes the checklist's first update (see the fold).
    """
    name = check_template_name(template)
    who = parse_audience(audience)
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"the message is {len(text)} characters; the limit is {MAX_MESSAGE}")
    ch = channel.strip() if channel else None
    if ch is not None and len(ch) > 200:
        raise InvalidInput("the channel name is longer than 200 characters")
    return commands.record_communication(state, name, who, actor, at=at, text=text,
                                         channel=ch or None)
