"""What the dashboard's dialogs offer and how their answers are read: the choices of each key,
the fields of the declaration and severity forms, the communications menu, the open incidents
in order. Functions of the record, so each action in dashboard.py is only its flow."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text

from warroom.domain.alerts.automation import PayloadView
from warroom.domain.common.errors import DomainError, InvalidInput
from warroom.domain.common.text import printable
from warroom.domain.common.timefmt import format_duration
from warroom.domain.config.model import Config
from warroom.domain.incident.checklist import CHECKLIST
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import (
    SEVERITIES,
    Assessment,
    DataRisk,
    Reputation,
    SecurityImpact,
    Severity,
    suggest_severity,
)
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status, allowed_moves
from warroom.domain.oncall.escalation import escalation_view_for
from warroom.store.base import IncidentSummary
from warroom.tui.render import safe
from warroom.tui.screens import Choice

INCIDENT_KEYS = "123456789abcdefghjklmnopqrstuvwxyz"
STATUS_KEYS = {Status.INVESTIGATING: "i", Status.IDENTIFIED: "d", Status.MONITORING: "m",
               Status.RESOLVED: "r"}

DECLARE_FIELDS = [
    ("title", "Title", "what is broken, for whom"),
    ("severity", "Severity 1-4", "1 = critical"),
    ("service", "Service (optional)", "payments"),
]

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


def checklist_choices(state: IncidentState) -> list[Choice[str]]:
    """Every item in the procedure's order, so its number never moves; the ones done say so
    and cannot be picked (marking twice would only add noise to the timeline)."""
    return [Choice(str(i + 1), f"{item.task} (done)" if item.key in state.checklist
                   else f"{item.task} ({item.target_text})", item.key,
                   enabled=item.key not in state.checklist)
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


def comms_choices(state: IncidentState, now: datetime) -> tuple[list[Choice[str]], Text]:
    """The messages, each with when it was sent or is due, and who must be told."""
    from warroom.domain.comms.messages import TEMPLATE_NAMES, comms_schedule
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
    return choices, plan
