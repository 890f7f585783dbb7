"""Response clocks: each checklist item's deadline, and the customer-update cadence.

Pure functions of the incident's state and `now`. Every clock has a text form that says its
state in words ("OVERDUE 3m", "4m59s left", "done in 3m", "done 2m late") so a screen without
colour, or a colour-blind responder, reads the same thing.

Anchors (warroom/domain/incident/checklist.py): detection for acknowledge (<5m), triage (<10m),
assemble (<15m) and first customer update (<30m); the latest move to Monitoring for verification
(+15m); resolution for the documented timeline (+2h). A clock whose anchor has not happened yet is
"waiting". Once the incident is resolved, a detection-anchored item still not done is "missed"
(it no longer counts down).

Severity. A SEV-3 or SEV-4 is worked by the normal team at its own pace: its acknowledge, triage
and assembly targets are its response time (2 h, 24 h) when that is longer than the checklist's.
A severity whose stakeholder plan sends customers nothing (SEV-4) has no first customer update
to miss: that clock says "not required".

The customer-update clock: the first customer update is due by the checklist's target (30 min
after detection); after that, the severity's cadence (SEV-1 every 15m, SEV-2 30m, SEV-3 60m,
SEV-4 none) counts from the last customer-facing communication. Internal messages do not reset
it. It stops when the incident is resolved. `next_customer_update_due` is that one rule: the
dashboard's clock, the comms preview and `warroom comms` all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, computed_field

from warroom.domain.common.jsonable import Seconds, UtcTime
from warroom.domain.common.timefmt import format_duration, shift
from warroom.domain.comms.stakeholders import STAKEHOLDER_PLAN
from warroom.domain.incident.checklist import (
    CHECKLIST,
    CHECKLIST_BY_KEY,
    OWNER_ROLES,
    Anchor,
    ChecklistItem,
    owner_role,
)
from warroom.domain.incident.kinds.records import CUSTOMER_AUDIENCES
from warroom.domain.incident.severity import SEVERITIES, Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status


class ClockState(StrEnum):
    DONE = "done"  # done within its target
    DONE_LATE = "done_late"
    RUNNING = "running"  # not done, time left
    OVERDUE = "overdue"  # not done, past its target
    WAITING = "waiting"  # its anchor has not happened (no fix yet, not resolved yet)
    MISSED = "missed"  # never done, and the incident was resolved
    NO_TARGET = "no_target"  # tracked, never overdue (root cause, deploy fix; SEV-4 updates)
    STOPPED = "stopped"  # the update cadence of a resolved incident


@dataclass(frozen=True)
class Clock:
    key: str
    label: str
    target_text: Annotated[str, Field(serialization_alias="target")]
    owner: str
    state: ClockState
    anchor_at: UtcTime | None
    due_at: UtcTime | None
    done_at: UtcTime | None
    remaining: Annotated[Seconds | None,  # RUNNING
                         Field(serialization_alias="remaining_s")] = None
    overdue_by: Annotated[Seconds | None,  # OVERDUE, DONE_LATE (how late it was)
                          Field(serialization_alias="overdue_s")] = None
    took: Annotated[timedelta | None,  # DONE/DONE_LATE: from the anchor to done
                    Field(exclude=True)] = None
    holder: str | None = None  # who holds the owner's role now (None: vacant, or a team)

    def owner_text(self) -> str:
        """'IC (carol)', 'On-call (vacant)', or a team's name ('Dev Team')."""
        role = OWNER_ROLES.get(self.owner)
        if role is None:
            return self.owner
        return f"{self.owner} ({self.holder or 'vacant'})"

    @property
    def overdue(self) -> bool:
        return self.state == ClockState.OVERDUE

    def text(self) -> str:
        s = self.state
        if s == ClockState.OVERDUE and self.overdue_by is not None:
            return f"OVERDUE {format_duration(self.overdue_by)}"
        if s == ClockState.RUNNING and self.remaining is not None:
            return f"{format_duration(self.remaining, precise=True)} left"
        if s == ClockState.DONE:
            return f"done in {format_duration(self.took)}" if self.took is not None else "done"
        if s == ClockState.DONE_LATE and self.overdue_by is not None:
            return f"done {format_duration(self.overdue_by)} late"
        if s == ClockState.WAITING:
            return {"verify": "waits for the fix",
                    "timeline": "waits for resolution"}.get(self.key, "waiting")
        if s == ClockState.MISSED:
            return "missed"
        if s == ClockState.STOPPED:
            return "stopped (resolved)"
        if s == ClockState.NO_TARGET:
            return "done" if self.done_at else self.target_text
        return s.value

    @computed_field(alias="text")  # type: ignore[prop-decorator]
    @property
    def shown(self) -> str:
        """text(), in the JSON."""
        return self.text()


def _anchor(state: IncidentState, item: ChecklistItem) -> datetime | None:
    if item.anchor == Anchor.DETECTED:
        return state.detected_at
    if item.anchor == Anchor.FIX_DEPLOYED:
        return state.fix_deployed_at
    return state.resolved_at


def item_target(severity: Severity, item: ChecklistItem) -> tuple[timedelta | None, str]:
    """The item's target for this severity and its text (see "Severity" above); None: the
    item has no deadline (root cause, deploy fix, a SEV-4's first customer update)."""
    level = SEVERITIES[severity]
    if item.key == "first_update" and not customers_hear(severity):
        return None, "not required"
    if (level.own_pace and item.target is not None and item.key in PACED_ITEMS
            and level.response_time > item.target):
        return level.response_time, level.response_time_text
    return item.target, item.target_text


# The checklist's items that a SEV-3/SEV-4 does at its own pace (the response time).
PACED_ITEMS = ("acknowledge", "triage", "assemble")


def customers_hear(severity: Severity) -> bool:
    """False when the seed's stakeholder plan sends customers nothing for this severity."""
    cell = next(r for r in STAKEHOLDER_PLAN if r.audience == "customers").cells[severity]
    return cell.how != "-"


@dataclass(frozen=True)
class SeverityProfile:
    """What a severity asks of the room, as `warroom show` and the header say it: the seed's
    response time, the acknowledge target the clock uses, the war room and response mode."""

    severity: Severity
    name: str
    response_time_text: Annotated[str, Field(serialization_alias="response_time")]
    response_time: Annotated[Seconds, Field(serialization_alias="response_time_s")]
    acknowledge_text: Annotated[str, Field(serialization_alias="acknowledge_within")]
    acknowledge: Annotated[Seconds, Field(serialization_alias="acknowledge_within_s")]
    war_room: str  # mandatory | as needed | not needed
    response_mode: str  # all hands war room | core team virtual bridge | normal team channel
    update_every: Annotated[Seconds | None, Field(serialization_alias="update_every_s")]
    leadership: str
    customer_comms: str

    def text(self) -> str:
        """'< 15 min (acknowledge < 5 min)', or one time when both are the same."""
        if self.acknowledge_text == self.response_time_text:
            return self.response_time_text
        return f"{self.response_time_text} (acknowledge {self.acknowledge_text})"

    def war_room_text(self) -> str:
        return f"{self.war_room} ({self.response_mode})"


def severity_profile(severity: Severity) -> SeverityProfile:
    level = SEVERITIES[severity]
    ack, ack_text = item_target(severity, CHECKLIST_BY_KEY["acknowledge"])
    assert ack is not None
    return SeverityProfile(
        severity=severity, name=level.name, response_time_text=level.response_time_text,
        response_time=level.response_time, acknowledge_text=ack_text, acknowledge=ack,
        war_room=level.war_room_needed, response_mode=level.response_mode,
        update_every=level.update_every, leadership=level.leadership,
        customer_comms=level.customer_comms,
    )


def item_clock(state: IncidentState, item: ChecklistItem, now: datetime) -> Clock:
    anchor = _anchor(state, item)
    done = state.checklist.get(item.key)
    target, target_text = item_target(state.severity, item)
    role = owner_role(item)
    base = dict(key=item.key, label=item.task, target_text=target_text, owner=item.owner,
                anchor_at=anchor, done_at=done,
                holder=state.holder(role) if role is not None else None)
    if target is None:
        return Clock(**base, state=ClockState.NO_TARGET, due_at=None)
    if anchor is None:
        if done is not None:  # done before its anchor (e.g. verified without Monitoring)
            return Clock(**base, state=ClockState.DONE, due_at=None)
        return Clock(**base, state=ClockState.WAITING, due_at=None)
    due = shift(anchor, target)
    if done is not None:
        if done <= due:
            return Clock(**base, state=ClockState.DONE, due_at=due, took=max(done - anchor,
                                                                             timedelta(0)))
        return Clock(**base, state=ClockState.DONE_LATE, due_at=due, overdue_by=done - due,
                     took=done - anchor)
    if state.status == Status.RESOLVED and item.anchor != Anchor.RESOLVED:
        return Clock(**base, state=ClockState.MISSED, due_at=due)
    if now > due:
        return Clock(**base, state=ClockState.OVERDUE, due_at=due, overdue_by=now - due)
    return Clock(**base, state=ClockState.RUNNING, due_at=due, remaining=due - now)


def response_clocks(state: IncidentState, now: datetime) -> list[Clock]:
    """Every checklist item's clock, in the seed's order."""
    return [item_clock(state, item, now) for item in CHECKLIST]


def last_customer_update(state: IncidentState) -> datetime | None:
    times = [c.at for c in state.communications if c.audience in CUSTOMER_AUDIENCES]
    return max(times) if times else None


def next_customer_update_due(state: IncidentState) -> datetime | None:
    """When customers must next hear from us; None when resolved or the severity has no cadence."""
    every = SEVERITIES[state.severity].update_every
    if every is None or state.status == Status.RESOLVED:
        return None
    last = last_customer_update(state)
    if last is None:
        first = CHECKLIST_BY_KEY["first_update"].target or every
        return shift(state.detected_at, first)
    return shift(last, every)


def update_clock(state: IncidentState, now: datetime) -> Clock:
    """The next customer update as a clock (see next_customer_update_due for the rule)."""
    level = SEVERITIES[state.severity]
    every = level.update_every
    last = last_customer_update(state)
    anchor = last or state.detected_at
    label = "Customer update"
    base = dict(key="customer_update", label=label, owner="Comms", done_at=last,
                anchor_at=anchor)
    if every is None:
        return Clock(**base, target_text=f"none for {state.severity.value}",
                     state=ClockState.NO_TARGET, due_at=None)
    target = f"every {format_duration(every)}"
    if state.status == Status.RESOLVED:
        return Clock(**base, target_text=target, state=ClockState.STOPPED, due_at=None)
    due = next_customer_update_due(state)
    assert due is not None
    if now > due:
        return Clock(**base, target_text=target, state=ClockState.OVERDUE, due_at=due,
                     overdue_by=now - due)
    return Clock(**base, target_text=target, state=ClockState.RUNNING, due_at=due,
                 remaining=due - now)


def all_clocks(state: IncidentState, now: datetime) -> list[Clock]:
    return [*response_clocks(state, now), update_clock(state, now)]


def overdue_clocks(state: IncidentState, now: datetime) -> list[Clock]:
    """What a list row or a bell wants: only the clocks that are overdue now."""
    return [c for c in all_clocks(state, now) if c.overdue]


def next_deadline(state: IncidentState, now: datetime) -> datetime | None:
    """The soonest deadline still ahead, for a screen that re-renders when it passes."""
    dues = [c.due_at for c in all_clocks(state, now)
            if c.state == ClockState.RUNNING and c.due_at is not None]
    return min(dues) if dues else None
