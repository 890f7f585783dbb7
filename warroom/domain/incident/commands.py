"""Domain commands: check a wish against the state the actor saw, and say what happened.

Each command takes the incident's state (as the actor saw it) and returns the events to append,
or raises a DomainError with a message for the actor. Commands never read a clock: `at` is the
time the actor gives (a backdated time) or None for "now, by the store's clock".
"""

from __future__ import annotations

import re
from datetime import datetime

from warroom.domain.common.errors import InvalidInput, TransitionRefused
from warroom.domain.incident.checklist import CHECKLIST_BY_KEY
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.kinds.alerts import AlertAttached
from warroom.domain.incident.kinds.lifecycle import (
    Acknowledged,
    ChecklistDone,
    Declared,
    PhaseChanged,
    Retitled,
    ServiceChanged,
    SeverityChanged,
    StatusChanged,
)
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.kinds.people import RoleAssigned, RoleReleased
from warroom.domain.incident.kinds.records import (
    FACT_TITLES,
    ActionDone,
    ActionItem,
    Amended,
    CommunicationSent,
    Decision,
    FactRecorded,
    Note,
    PostmortemScheduled,
)
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Assessment, Severity, suggest_severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Phase, Status, check_move

MAX_TITLE = 200
MAX_TEXT = 20_000
NOTE_KINDS = ("note", "decision", "action")


def _text(value: str, what: str, limit: int) -> str:
    if not value or not value.strip():
        raise InvalidInput(f"{what} cannot be empty")
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters; the limit is {limit}")
    return value


def _actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise InvalidInput("who is acting? give a name with --as or $WARROOM_USER")
    return actor


def declare(
    title: str,
    severity: Severity,
    actor: str,
    at: datetime | None = None,
    service: str | None = None,
    summary: str | None = None,
    started_at: datetime | None = None,
    detected_at: datetime | None = None,
    source: str = "manual",
    event_id: str | None = None,
) -> list[NewEvent]:
    body = Declared(
        title=_text(title, "title", MAX_TITLE),
        severity=severity,
        service=service or None,
        summary=_text(summary, "summary", MAX_TEXT) if summary else None,
        started_at=started_at,
        detected_at=detected_at,
        source=source,
    )
    if started_at and detected_at and started_at > detected_at:
        raise InvalidInput("impact cannot start after it was detected")
    return [NewEvent.of(body, _actor(actor), at, event_id)]


def acknowledge(state: IncidentState, actor: str, at: datetime | None = None,
                note: str | None = None) -> list[NewEvent]:
    if state.status == Status.RESOLVED:
        raise TransitionRefused(f"{state.id} is resolved; reopen it before acknowledging")
    if state.acknowledged_at is not None:
        raise TransitionRefused(
            f"{state.id} was already acknowledged by {state.acknowledged_by}"
        )
    return [NewEvent.of(Acknowledged(note=note or None), _actor(actor), at)]


def change_status(state: IncidentState, to: Status, actor: str, at: datetime | None = None,
                  reason: str | None = None) -> list[NewEvent]:
    check_move(state.status, to)
    body = StatusChanged(from_status=state.status, to_status=to, reason=reason or None)
    return [NewEvent.of(body, _actor(actor), at)]


def change_severity(state: IncidentState, to: Severity, actor: str, at: datetime | None = None,
                    reason: str | None = None,
                    assessment: Assessment | None = None) -> list[NewEvent]:
    """Change the severity, or confirm it (same level) which completes the triage item."""
    detail = None
    if assessment is not None:
        s = suggest_severity(assessment)
        detail = {
            "suggested": s.severity.value,
            "decided_by": s.decided_by.criterion,
            "reason": s.decided_by.reason,
        }
    if to == state.severity:
        if "triage" in state.checklist:
            raise TransitionRefused(f"{state.id} is already {to.value}")
        return [NewEvent.of(ChecklistDone(item="triage"), _actor(actor), at)]
    body = SeverityChanged(
        from_severity=state.severity, to_severity=to, reason=reason or None, assessment=detail
    )
    return [NewEvent.of(body, _actor(actor), at)]


def change_phase(state: IncidentState, to: Phase, actor: str,
                 at: datetime | None = None) -> list[NewEvent]:
    if to == state.phase:
        raise TransitionRefused(f"{state.id} is already in {to.value}")
    return [NewEvent.of(PhaseChanged(from_phase=state.phase, to_phase=to), _actor(actor), at)]


def assign_role(state: IncidentState, role: Role, person: str, actor: str,
                at: datetime | None = None) -> list[NewEvent]:
    """Assign a vacant role, or hand it off from its holder. One holder per role."""
    person = _text(person, "person", 200).strip()
    current = state.holder(role)
    if current == person:
        raise TransitionRefused(f"{person} already holds {role.title} on {state.id}")
    body = RoleAssigned(role=role, person=person, previous=current)
    return [NewEvent.of(body, _actor(actor), at)]


def release_role(state: IncidentState, role: Role, actor: str,
                 at: datetime | None = None) -> list[NewEvent]:
    current = state.holder(role)
    if current is None:
        raise TransitionRefused(f"{role.title} on {state.id} is already vacant")
    return [NewEvent.of(RoleReleased(role=role, person=current), _actor(actor), at)]


# An action item's owner written at its end: "restart the pool @bob".
_OWNER_RE = re.compile(r"^(?P<text>.*\S)\s+@(?P<owner>[A-Za-z0-9][A-Za-z0-9._-]*)\s*$", re.DOTALL)


def split_owner(text: str) -> tuple[str, str | None]:
    """("restart the pool", "bob") for "restart the pool @bob"; only a trailing @name counts
    (an address or an @mention mid-sentence is text). The dashboard and the CLI both read an
    action item's owner this way."""
    m = _OWNER_RE.match(text)
    if m is None:
        return text, None
    return m.group("text"), m.group("owner")


def add_note(state: IncidentState, text: str, actor: str, at: datetime | None = None,
             kind: str = "note", owner: str | None = None) -> list[NewEvent]:
    """A note, decision or action item; an action item with no `owner` takes a trailing
    @name of its text as its owner (split_owner)."""
    text = _text(text, kind, MAX_TEXT)
    if kind == "action" and not owner:
        text, owner = split_owner(text)
    if kind == "note":
        body: Note | Decision | ActionItem = Note(text=text)
    elif kind == "decision":
        body = Decision(text=text)
    elif kind == "action":
        body = ActionItem(text=text, owner=owner or None)
    else:
        raise InvalidInput(f"unknown note kind {kind!r}: use one of {', '.join(NOTE_KINDS)}")
    return [NewEvent.of(body, _actor(actor), at)]


def complete_action(state: IncidentState, item_id: str, actor: str,
                    at: datetime | None = None) -> list[NewEvent]:
    matches = [a for a in state.action_items if a.id == item_id or a.id.startswith(item_id)]
    if not matches:
        raise InvalidInput(f"no action item {item_id!r} on {state.id}")
    if len(matches) > 1:
        raise InvalidInput(f"{item_id!r} matches {len(matches)} action items; give more of the id")
    item = matches[0]
    if item.done_at is not None:
        raise TransitionRefused(f"action item already done by {item.done_by}")
    # The item's text travels with the event, so every timeline (the dashboard's, `show`'s,
    # a spectator's) says "action done: roll back 4.2" without looking the item up.
    return [NewEvent.of(ActionDone(item=item.id, text=item.text), _actor(actor), at)]


def record_communication(state: IncidentState, template: str, audience: str, actor: str,
                         at: datetime | None = None, text: str = "",
                         channel: str | None = None) -> list[NewEvent]:
    if not template.strip() or not audience.strip():
        raise InvalidInput("a communication needs a template and an audience")
    body = CommunicationSent(template=template, audience=audience, channel=channel, text=text)
    return [NewEvent.of(body, _actor(actor), at)]


def complete_checklist(state: IncidentState, item: str, actor: str,
                       at: datetime | None = None) -> list[NewEvent]:
    if item not in CHECKLIST_BY_KEY:
        raise InvalidInput(f"unknown checklist item {item!r}")
    if item in state.checklist:
        raise TransitionRefused(f"checklist item {item} is already done on {state.id}")
    return [NewEvent.of(ChecklistDone(item=item), _actor(actor), at)]


def amend(state: IncidentState, target_event_id: str, actor: str, text: str | None = None,
          new_at: datetime | None = None, reason: str | None = None,
          at: datetime | None = None) -> list[NewEvent]:
    if text is None and new_at is None:
        raise InvalidInput("an edit must change the text or the time")
    if text is not None:
        _text(text, "text", MAX_TEXT)
    body = Amended(target=target_event_id, text=text, at=new_at, reason=reason)
    return [NewEvent.of(body, _actor(actor), at)]


def retitle(state: IncidentState, title: str, actor: str,
            at: datetime | None = None) -> list[NewEvent]:
    title = _text(title, "title", MAX_TITLE)
    if title == state.title:
        raise TransitionRefused("the title is unchanged")
    return [NewEvent.of(Retitled(title=title), _actor(actor), at)]


def attach_alert(state: IncidentState, source: str, key: str, actor: str,
                 at: datetime | None = None, summary: str = "") -> list[NewEvent]:
    """Attach an alert by hand: a responder (or a script) linking a monitor's alert to the
    incident. Notifications the receiver takes are decided in warroom/domain/alerts."""
    body = AlertAttached(source=_text(source, "alert source", 200),
                         key=_text(key, "alert key", 500), summary=summary)
    return [NewEvent.of(body, _actor(actor), at)]


def record_escalation(state: IncidentState, level: int, targets: list[str], actor: str,
                      at: datetime | None = None, reason: str = "manual") -> list[NewEvent]:
    """Record a level that was paged outside the engine (another paging tool, a phone call), so
    the escalation pane and the metrics count it. The engine's own levels come from
    warroom/domain/oncall/escalation."""
    if state.status == Status.RESOLVED:
        raise TransitionRefused(f"{state.id} is resolved: there is nobody left to escalate to")
    if level < 1:
        raise InvalidInput(f"escalation level {level}: levels start at 1")
    body = Escalated(level=level, targets=[_text(t, "target", 200) for t in targets],
                     reason=_text(reason, "reason", 200))
    return [NewEvent.of(body, _actor(actor), at)]


_FACT_NAMES = {"impact": "impact", "root_cause": "root_cause", "rootcause": "root_cause",
               "cause": "root_cause", "eta": "eta", "lessons": "lessons", "lesson": "lessons",
               "lessons_learned": "lessons"}


def parse_fact(text: str) -> str:
    """'root-cause', 'Root cause', 'cause' -> 'root_cause'; the names the CLI and keys accept."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in _FACT_NAMES:
        return _FACT_NAMES[key]
    raise InvalidInput(f"unknown fact {text!r}: use impact, root-cause, eta or lessons")


def record_fact(state: IncidentState, fact: str, text: str, actor: str,
                at: datetime | None = None) -> list[NewEvent]:
    """State a fact for the record (see FactRecorded); `fact` as parse_fact accepts it."""
    name = parse_fact(fact)
    assert name in FACT_TITLES
    body = FactRecorded(fact=name, text=_text(text, FACT_TITLES[name].lower(), MAX_TEXT).strip())
    return [NewEvent.of(body, _actor(actor), at)]


def change_service(state: IncidentState, service: str | None, actor: str,
                   at: datetime | None = None) -> list[NewEvent]:
    """Correct the incident's service ("" or None: no service). Unknown names are the
    caller's to warn about (the configuration is not the domain command's to read)."""
    name = _text(service, "service", MAX_TITLE).strip() if service else None
    if name == state.service:
        raise TransitionRefused(f"{state.id} is already on service {name or '(none)'}")
    body = ServiceChanged(service=name, previous=state.service)
    return [NewEvent.of(body, _actor(actor), at)]


def schedule_postmortem(state: IncidentState, meets_at: datetime, actor: str,
                        at: datetime | None = None) -> list[NewEvent]:
    """Record when the postmortem meets (a later call moves it)."""
    if state.postmortem_at == meets_at:
        raise TransitionRefused(f"{state.id}'s postmortem is already at that time")
    return [NewEvent.of(PostmortemScheduled(meets_at=meets_at), _actor(actor), at)]
