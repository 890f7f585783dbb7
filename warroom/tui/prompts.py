"""What the dashboard's dialogs offer and how their answers are read: the choices of each key,
the fields of the declaration and severity forms, the communications menu, the open incidents
in order. Functions of the record, so each action in dashboard.py is only its flow."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from rich.text import Text

from warroom.domain.alerts.automation import PayloadView
from warroom.domain.common.errors import DomainError, InvalidInput
from warroom.domain.common.text import printable
from warroom.domain.common.timefmt import TimeWindow, format_duration, parse_time
from warroom.domain.config.model import Config
from warroom.domain.incident.checklist import CHECKLIST, ChecklistItem, owner_role
from warroom.domain.incident.commands import NOTE_KINDS
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.kinds.records import FACT_TITLES
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import (
    SEVERITIES,
    Assessment,
    DataRisk,
    Reputation,
    SecurityImpact,
    Severity,
    Suggestion,
    suggest_severity,
)
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Phase, Status, allowed_moves
from warroom.domain.oncall.escalation import escalation_view_for
from warroom.store.base import WATCHING, IncidentSummary
from warroom.tui.render import safe
from warroom.tui.screens import Choice

if TYPE_CHECKING:  # annotations only: not imported before the first paint
    from warroom.domain.incident.facts import IncidentFacts
    from warroom.domain.statuspage.page import Update

INCIDENT_KEYS = "123456789abcdefghjklmnopqrstuvwxyz"
STATUS_KEYS = {Status.INVESTIGATING: "i", Status.IDENTIFIED: "d", Status.MONITORING: "m",
               Status.RESOLVED: "r"}

DECLARE_FIELDS = [
    ("title", "Title", "what is broken, for whom"),
    ("severity", "Severity (1-4 · m: assess with the matrix)", "1-4, SEV-n or a level name"),
    ("service", "Service (optional)", "payments"),
]
MATRIX = "m"  # typed as the declaration's severity: assess with the matrix first

ASSESSMENT_FIELDS = [
    ("revenue", "Revenue impact, $ per minute", "e.g. 2500"),
    ("users", "Users affected, %", "e.g. 15"),
    ("data", "Data risk: loss, at_risk, delays, none", ""),
    ("security", "Security: active_breach, vulnerability_exposed, potential, none", ""),
    ("reputation", "Reputation: media, social, complaints, internal", ""),
    ("recovery", "Expected recovery, hours", "e.g. 2"),
]


def status_choices(state: IncidentState) -> list[Choice[Status]]:
    return [Choice(STATUS_KEYS[m], m.value, m) for m in allowed_moves(state.status)]


def severity_choices(current: Severity) -> list[Choice[Any]]:
    """Each level by its number (the current one to confirm it), and the matrix."""
    choices: list[Choice[Any]] = [
        Choice(str(s.rank), f"{s.value} {SEVERITIES[s].name}: {SEVERITIES[s].definition}"
               + ("  (current: confirm)" if s == current else ""), s)
        for s in Severity
    ]
    choices.append(Choice("m", "Assess with the severity matrix…", "matrix"))
    return choices


def role_choices(state: IncidentState) -> list[Choice[Role]]:
    return [Choice(str(i + 1), f"{role.title}: {safe(state.holder(role) or 'VACANT')}", role)
            for i, role in enumerate(Role)]


RELEASE = "__release__"  # the role choice's "release" (no person is named this: it has spaces)
TYPE_NAME = "__type__"
PEOPLE_KEYS = "123456789"


def people_choices(state: IncidentState, role: Role, *, actor: str, present: Sequence[str],
                   oncall: Sequence[tuple[str, str]]) -> list[Choice[str]]:
    """Who may take `role`, one key each: this terminal's person, those in the room, those on
    call now, those who held a role on this incident, in that order and each once; then
    typing another name and, if the role is held, releasing it. The holder is not offered
    (a handoff to oneself is refused anyway)."""
    holder = state.holder(role)
    why: dict[str, list[str]] = {}

    def add(person: str | None, reason: str) -> None:
        if person and person != holder:
            why.setdefault(person, [])
            if reason not in why[person]:
                why[person].append(reason)

    add(actor, "you")
    for person in present:
        if not person.startswith(WATCHING):  # the room server's spectators hold no role
            add(person, "in the room")
    for person, slot in oncall:
        add(person, f"on call: {slot}")
    for stint in reversed(state.role_history):
        add(stint.person, f"was {stint.role.title}" if stint.end else f"{stint.role.title} now")
    choices: list[Choice[str]] = [
        Choice(PEOPLE_KEYS[i], f"{safe(person)}  ({', '.join(reasons)})", person)
        for i, (person, reasons) in enumerate(list(why.items())[:len(PEOPLE_KEYS)])
    ]
    choices.append(Choice("t", "type a name…", TYPE_NAME))
    if holder:
        choices.append(Choice("-", f"release (vacate; {safe(holder)} holds it)", RELEASE))
    return choices


def fact_choices(facts: IncidentFacts) -> list[Choice[str]]:
    """The facts a postmortem and the messages state, each with what the record says now."""
    current = {"impact": facts.impact, "root_cause": facts.root_cause, "eta": facts.eta,
               "lessons": "; ".join(facts.lessons) or None}
    keys = {"impact": "i", "root_cause": "c", "eta": "e", "lessons": "l"}
    return [Choice(keys.get(name, str(i + 1)),
                   f"{title}: {safe(current.get(name) or 'not recorded', 50)}", name)
            for i, (name, title) in enumerate(FACT_TITLES.items())]


def fact_now(facts: IncidentFacts, name: str) -> str:
    """The value a fact's prompt starts from: what the record says (lessons add up, so a new
    lesson starts empty)."""
    if name == "impact" and facts.impact_source in ("fact", "note", "summary"):
        return facts.impact or ""
    if name == "root_cause":
        return facts.root_cause or ""
    if name == "eta":
        return facts.eta or ""
    return ""


def change_question(state: IncidentState, events: Sequence[NewEvent],
                    suggestion: Suggestion | None = None) -> Text:
    """The confirmation of a severity change: old -> new and why, in the words the CLI prints
    (the event's own description, then the matrix's rule), before anything is written."""
    q = Text(f"{state.id}: ", style="bold")
    q.append(safe("; ".join(describe(e) for e in events)), style="bold")
    q.append("\n")
    if suggestion is None:  # a person's call: what the two levels mean
        for label, sev in (("from", state.severity),
                           ("to", next((Severity(e.data["to_severity"]) for e in events
                                        if "to_severity" in e.data), state.severity))):
            q.append(f"  {label:<5}{sev.value} {SEVERITIES[sev].name}: "
                     f"{SEVERITIES[sev].definition}\n", style="dim")
    if suggestion is not None and len(suggestion.all) > 1:  # the rule that decided is above
        q.append("every answer, as `warroom assess` lists them:\n")
        for r in suggestion.all:
            q.append(f"  {r.criterion:<15} {r.severity.value}  {r.reason}\n", style="dim")
    q.append("Apply it?")
    return q


def declare_preview(values: dict[str, str], note: str = "") -> Text:
    """The four levels, the one typed in bold: the choice is on the screen while typing;
    `note`: what the matrix suggested, when it filled the severity in."""
    typed: Severity | None = None
    try:
        typed = Severity.parse(values.get("severity", "")) if values.get("severity") else None
    except DomainError:
        typed = None
    t = Text()
    for sev in Severity:
        t.append(f"{sev.rank} {SEVERITIES[sev].name}", style="bold reverse" if sev == typed
                 else "")
        t.append("  ")
    if values.get("severity", "").strip().lower() == MATRIX:
        t.append("· Enter on the last line opens the matrix", style="bold")
    if note:
        t.append(f"\n{note}", style="bold")
    return t


def declare_validator(config: Config) -> Callable[[dict[str, str]], dict[str, str]]:
    """The declaration's checks, field by field. An unknown service is a warning, not a
    refusal: the first Enter shows the nearest configured names, a second Enter on the same
    name keeps it (an outage's service may not be configured yet)."""
    warned: set[str] = set()

    def validate(values: dict[str, str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not values.get("title", "").strip():
            errors["title"] = "a title is needed: what is broken, for whom"
        sev = values.get("severity", "").strip()
        if sev.lower() != MATRIX:
            try:
                Severity.parse(sev)
            except DomainError:
                errors["severity"] = (f"{sev!r} is not a severity: 1-4, SEV-1..SEV-4, "
                                      "or m for the matrix" if sev else
                                      "pick 1-4 (or m for the matrix)")
        service = values.get("service", "").strip()
        warning = service_warning(config, service)
        if warning and service not in warned:
            warned.add(service)
            errors["service"] = warning.split(";")[0] + " · Enter again keeps it"
        return errors

    return validate


def service_warning(config: Config, service: str | None,
                    incident_id: str = "ID") -> str | None:
    """The CLI's warning for a service the room does not configure (None if known); a broken
    configuration only loses the warning."""
    from warroom.domain.config.fields import ConfigError

    try:
        return config.unknown_service(service or None, incident_id)
    except ConfigError:
        return None


def checklist_choices(state: IncidentState) -> list[Choice[str]]:
    """Every item in the procedure's order, so its number never moves; the ones done say so
    and cannot be picked (marking twice would only add noise to the timeline). Each names its
    owner (the seed's Owner column) and who holds that role now."""
    return [Choice(str(i + 1), f"{item.task} · {owner_text(state, item)} ("
                   + ("done)" if item.key in state.checklist else f"{item.target_text})"),
                   item.key, enabled=item.key not in state.checklist)
            for i, item in enumerate(CHECKLIST)]


def incident_choices(rows: list[IncidentSummary], now: datetime) -> list[Choice[str]]:
    return [
        Choice(INCIDENT_KEYS[i] if i < len(INCIDENT_KEYS) else "",
               f"{r.id} {r.severity} {r.status:<13} {safe(r.title, 36)}  "
               f"({age(now - r.declared_at)})", r.id)
        for i, r in enumerate(rows)
    ]


def audience_choices() -> list[Choice[str]]:
    from warroom.domain.comms.messages import AUDIENCES

    return [Choice(str(i + 1), a, a) for i, a in enumerate(AUDIENCES)]


def escalate_question(config: Config, state: IncidentState, now: datetime) -> str:
    """The confirmation names the level that would fire and whom it would page."""
    view = escalation_view_for(config, state, now)
    nxt = next((lv for lv in view.levels if lv.state in ("next", "frozen", "pending")
                and lv.applies), None)
    who = f" (pages {', '.join(nxt.would_page or nxt.target_labels)})" if nxt else ""
    level = f"L{nxt.level}" if nxt else "the next level"
    return f"Escalate {state.id} to {level} now{who}?"


def assessment_preview(values: dict[str, str]) -> Text:
    """What the matrix suggests for the answers so far, shown as the form is filled in."""
    try:
        s = suggest_severity(assessment(values))
    except (DomainError, ValueError) as e:
        return Text(f"suggestion: {e}", style="dim")
    return Text(f"suggestion: {s.explain()}", style="bold")


def payloads_text(views: list[PayloadView]) -> Text:
    """Each alert payload kept, how it was mapped, and its text (never read as markup)."""
    body = Text()
    if not views:
        body.append("No alert payloads on this incident (declared by hand).", style="dim")
    for v in views:
        body.append(f"{v.at:%Y-%m-%d %H:%M:%S}Z  {v.format} {v.version} {v.action}  "
                    f"{v.firing} firing, {v.resolved} resolved  ({v.size} bytes)"
                    f"{'  · ' + v.received() if v.repeats > 1 else ''}\n", style="bold")
        for line in v.mapping_lines():
            body.append(f"  {safe(line)}\n", style="cyan")
        body.append(printable(v.text, single_line=False) + "\n\n")
    return body


def sort_open(rows: list[IncidentSummary]) -> list[IncidentSummary]:
    """Most severe first, then the oldest: the one burning longest is on top."""
    return sorted(rows, key=lambda r: (Severity(r.severity).rank, r.declared_at))


def age(delta: timedelta) -> str:
    return format_duration(delta) + " old"


def assessment_errors(values: dict[str, str]) -> dict[str, str]:
    """The matrix form's answers that cannot be read, each under its own field."""
    errors: dict[str, str] = {}
    for name, _, _ in ASSESSMENT_FIELDS:
        if not values.get(name, "").strip():
            continue
        try:
            suggest_severity(assessment({name: values.get(name, "")}))
        except (DomainError, ValueError) as e:
            errors[name] = str(e)
    if not errors and not any(v.strip() for v in values.values()):
        errors[ASSESSMENT_FIELDS[0][0]] = "answer at least one line (any subset will do)"
    return errors


def assessment(values: dict[str, str]) -> Assessment:
    """The severity form's answers; any subset may be empty."""

    def num(key: str) -> float | None:
        v = values.get(key, "").strip().replace("$", "").replace("%", "").replace(",", "")
        if not v:
            return None
        try:
            return float(v)
        except ValueError:
            raise InvalidInput(f"{key}: {v!r} is not a number") from None

    def choice(key: str, enum: Any) -> Any:
        v = values.get(key, "").strip().lower()
        if not v:
            return None
        try:
            return enum(v)
        except ValueError:
            raise InvalidInput(
                f"{key}: use one of {', '.join(e.value for e in enum)}") from None

    return Assessment(
        revenue_per_minute=num("revenue"), users_affected_pct=num("users"),
        data_risk=choice("data", DataRisk), security=choice("security", SecurityImpact),
        reputation=choice("reputation", Reputation), recovery_hours=num("recovery"),
    )


COMMS_HINT_WIDTH = 70


def comms_choices(state: IncidentState, now: datetime, on_page: Update | None = None,
                  ) -> tuple[list[Choice[str]], Text]:
    """The messages, each with when it was sent or is due, who must be told, and what the
    public status page says now (`on_page`: the latest customer message) and whether a new
    update is due."""
    from warroom.domain.comms.messages import TEMPLATE_NAMES, comms_schedule, next_update_due
    from warroom.domain.comms.stakeholders import stakeholders_for

    schedule = {row.template: row for row in comms_schedule(state, now)}
    choices = []
    for i, name in enumerate(TEMPLATE_NAMES):
        row = schedule.get(name)
        note = ""
        if row is not None:
            if row.sent_at is not None:
                note = f"sent {row.sent_at:%H:%M}Z"
            elif row.due_at is not None:
                left = row.due_at - now
                note = (f"OVERDUE {format_duration(-left)}" if left.total_seconds() < 0
                        else f"due in {format_duration(left)}")
        choices.append(Choice(str(i + 1), f"{name:<11} {note}", name))
    plan = Text(f"Who must be told for {state.severity.value}:\n", style="bold")
    for action in stakeholders_for(state.severity):
        plan.append(f"  {action.label:<13} ", style="bold")
        # Wrapped here, under its own column (a dialog is 70 columns inside): the terminal
        # would wrap it to the left edge, under the names.
        detail = " · ".join(p for p in (action.what, action.how, action.when) if p != "-")
        lines = textwrap.wrap(detail, COMMS_HINT_WIDTH - 16) or [""]
        plan.append("\n".join([lines[0], *(" " * 16 + line for line in lines[1:])]) + "\n")
    plan.append("Status page now: ", style="bold")
    if on_page is None:
        plan.append("nothing published about this incident\n", style="dim")
    else:
        first = next((ln.strip() for ln in on_page.body.splitlines() if ln.strip()), "")
        plan.append(f"{on_page.status_word} · {on_page.at:%H:%M}Z · ")
        plan.append(safe(first, 60) + "\n")  # untrusted text: appended, never markup
    due = next_update_due(state) if state.is_open else None
    plan.append("Next public update: ", style="bold")
    if due is None:
        plan.append("none due\n")
    elif due <= now:
        plan.append(f"OVERDUE {format_duration(now - due)}\n", style="bold red")
    else:
        plan.append(f"due in {format_duration(due - now)}\n")
    return choices, plan


# ---- parity with the CLI and the seed's procedure (issue 12: S, p, x, T, N, M) ---------------

# Choice keys for lists that may be long (services, action items): the letters of the dialog's
# own fixed choices are left out, so a number never collides with "type a name" or "none".
SERVICE_KEYS = "123456789abcdefghijklmopqrsuvwxyz"  # no n (none), no t (type a name)
ITEM_KEYS = "123456789abcdefghijklmnopqrstuvwxyz"
MEETING_AHEAD = timedelta(days=366)  # as far ahead as the CLI's look-ups: a meeting records


def owner_text(state: IncidentState, item: ChecklistItem) -> str:
    """'On-call: carol', 'IC: VACANT', or a team's name ('Dev Team'): the seed's Owner column
    and who answers for it in this incident now."""
    role = owner_role(item)
    if role is None:
        return item.owner
    return f"{item.owner}: {safe(state.holder(role) or 'VACANT', 16)}"


def service_choices(state: IncidentState, config: Config) -> list[Choice[tuple[str, str]]]:
    """The configured services, numbered, each with its team (the current one marked and not
    pickable: choosing it would change nothing), then a typed name, then no service."""
    choices: list[Choice[tuple[str, str]]] = []
    for i, name in enumerate(sorted(config.services)):
        team, _ = config.team_for(name)
        current = name == state.service
        choices.append(Choice(SERVICE_KEYS[i] if i < len(SERVICE_KEYS) else "",
                              f"{safe(name, 30):<30} team {safe(team or '-', 20)}"
                              + ("  (current)" if current else ""),
                              ("service", name), enabled=not current))
    choices.append(Choice("t", "type a name…", ("type", "")))
    choices.append(Choice("n", "none (no service)" + ("  (current)" if not state.service
                                                       else ""),
                          ("none", ""), enabled=state.service is not None))
    return choices


def near_service_choices(name: str, config: Config) -> list[Choice[str]]:
    """For a name the room does not configure: the nearest configured ones (the CLI's
    warning names the same), then the typed name as it is."""
    near = config.nearest_services(name)
    choices = [Choice(str(i + 1), f"{safe(n)}  (team {safe(config.team_for(n)[0] or '-')})", n)
               for i, n in enumerate(near)]
    choices.append(Choice("u", f"use {safe(name, 40)!r} anyway", name))
    return choices


def phase_choices(state: IncidentState) -> list[Choice[Phase]]:
    """The six lifecycle phases in order, the current one marked (and not pickable)."""
    return [Choice(str(i + 1), f"{p.value}" + ("  (current)" if p == state.phase else ""), p,
                   enabled=p != state.phase)
            for i, p in enumerate(Phase)]


def action_item_choices(state: IncidentState) -> list[Choice[str]]:
    """Every action item in the order it was raised, each with its owner; the done ones say
    who did them and when, and cannot be picked."""
    choices: list[Choice[str]] = []
    for i, item in enumerate(state.action_items):
        owner = f"@{safe(item.owner, 16)}" if item.owner else "no owner"
        if item.done_at is not None:
            label = (f"{safe(item.text, 44)} · {owner} · done by {safe(item.done_by or '?', 16)}"
                     f" {item.done_at:%H:%M}Z")
        else:
            label = f"{safe(item.text, 50)} · {owner}"
        choices.append(Choice(ITEM_KEYS[i] if i < len(ITEM_KEYS) else "", label, item.id,
                              enabled=item.done_at is None))
    return choices


BACKDATE_FIELDS = [
    ("when", "When it happened (your local time)", "22:45, -15m, 2026-03-04T22:45"),
    ("text", "What happened", "text (an action item: text @owner)"),
    ("kind", "Kind: note, decision or action (empty: note)", "note"),
]

MEETING_FIELDS = [
    ("when", "When the postmortem meets (your local time)", "tue 14:00, 14:00, +2d, "
     "2026-03-10T14:00"),
]


def when_text(at: datetime, now: datetime, tz: tzinfo) -> str:
    """'Wed 21:45 CET (20:45 UTC), 1h01m ago': what a typed time was read as, in the zone it
    was typed in and the room's UTC, and how far from now."""
    local = at.astimezone(tz)
    delta = at - now
    rel = (f"in {format_duration(delta)}" if delta.total_seconds() > 0
           else f"{format_duration(-delta)} ago")
    zone = local.tzname() or "local"
    return f"{local:%a %Y-%m-%d %H:%M} {zone} ({at.astimezone(UTC):%H:%M} UTC), {rel}"


def note_kind(text: str) -> str:
    """The form's kind: empty is a note; n/d/a and any prefix of a kind's name are that kind."""
    t = text.strip().lower()
    if not t:
        return "note"
    for kind in NOTE_KINDS:
        if kind.startswith(t):
            return kind
    raise InvalidInput(f"kind {text.strip()!r}: use note, decision or action")


def read_backdate(values: dict[str, str], now: datetime, tz: tzinfo,
                  window: TimeWindow) -> tuple[datetime, str, str]:
    """The backdated entry's time (the CLI's --at reading: parse_time in the terminal's zone,
    inside the room's [times] window), its text and its kind."""
    if not values.get("when", "").strip():
        raise InvalidInput("when: give a time (22:45, -15m or an ISO time)")
    at = window.check(parse_time(values["when"], now, tz), now, "when")
    text = values.get("text", "").strip()
    if not text:
        raise InvalidInput("what happened: give the text")
    return at, text, note_kind(values.get("kind", ""))


def backdate_preview(now: Callable[[], datetime], tz: tzinfo,
                     window: TimeWindow) -> Callable[[dict[str, str]], Text]:
    def preview(values: dict[str, str]) -> Text:
        if not values.get("when", "").strip():
            return Text("when: 22:45 (today, or yesterday if still ahead), -15m, 15m ago, "
                        "or 2026-03-04T22:45", style="dim")
        t = now()
        try:
            at = window.check(parse_time(values["when"], t, tz), t, "when")
            kind = note_kind(values.get("kind", ""))
        except InvalidInput as e:
            return Text(str(e), style="bold red")
        return Text(f"a {kind} at {when_text(at, t, tz)}", style="bold")

    return preview


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MEETING_RE = re.compile(r"^(?:(?P<day>[A-Za-z]+)\.?,?\s+)?(?P<clock>\d{1,2}:\d{2})$")


def meeting_time(text: str, now: datetime, tz: tzinfo, window: TimeWindow) -> datetime:
    """When the postmortem meets. A meeting is ahead, so a bare time of day is its next
    occurrence and "tue 14:00" the next Tuesday (not, as for a backdated note, the last one;
    "today 9:00" and "tomorrow 14:00" say the day);
    anything else reads as the CLI's `schedule-postmortem` reads it (parse_time in the
    terminal's zone), up to a year ahead."""
    t = text.strip()
    m = _MEETING_RE.match(t)
    if m is None:
        at = parse_time(t, now, tz)
    else:
        hh, mm = m.group("clock").split(":")
        try:
            clock = time(int(hh), int(mm))
        except ValueError:
            raise InvalidInput(f"cannot read time of day {m.group('clock')!r}") from None
        local_now = now.astimezone(tz)
        day = m.group("day")
        ahead, wrap = 0, timedelta(days=7 if day else 1)
        if day and day.lower() in ("today", "tomorrow"):
            ahead, wrap = (0, timedelta(0)) if day.lower() == "today" else (1, timedelta(0))
        elif day:
            wanted = [i for i, name in enumerate(_WEEKDAYS)
                      if len(day) >= 2 and name.startswith(day.lower())]
            if len(wanted) != 1:
                raise InvalidInput(f"cannot read day {day!r}: use today, tomorrow, mon, tue, "
                                   "wed, thu, fri, sat or sun")
            ahead = (wanted[0] - local_now.weekday()) % 7
        candidate = datetime.combine(local_now.date() + timedelta(days=ahead), clock, tzinfo=tz)
        if candidate <= local_now:
            candidate += wrap
        at = candidate.astimezone(UTC)
    return window.widened(MEETING_AHEAD).check(at, now, "postmortem time")


def meeting_preview(now: Callable[[], datetime], tz: tzinfo,
                    window: TimeWindow) -> Callable[[dict[str, str]], Text]:
    def preview(values: dict[str, str]) -> Text:
        if not values.get("when", "").strip():
            return Text("e.g. tue 14:00 (the next Tuesday), 14:00 (the next one), +2d, "
                        "2026-03-10T14:00", style="dim")
        t = now()
        try:
            at = meeting_time(values["when"], t, tz, window)
        except InvalidInput as e:
            return Text(str(e), style="bold red")
        return Text(f"meets {when_text(at, t, tz)}", style="bold")

    return preview
