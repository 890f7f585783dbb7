"""What the dashboard's dialogs offer and how their answers are read: the fields of the
declaration and severity forms, the communications menu, the open incidents in order.
Pure functions of the record, so each action in dashboard.py is only its flow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.text import Text

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.timefmt import format_duration
from warroom.domain.incident.severity import (
    Assessment,
    DataRisk,
    Reputation,
    SecurityImpact,
    Severity,
)
from warroom.domain.incident.state import IncidentState
from warroom.store.base import IncidentSummary
from warroom.tui.screens import Choice

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
        plan.append(f"{action.what} · {action.how} · {action.when}\n")
    return choices, plan
