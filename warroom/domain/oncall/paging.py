"""Pages: what each fired escalation level sends where, and the timeline events of delivery.

A page is one message to one recipient over one channel: a person's webhook or command, or a
policy's own channel (which gets one page per level listing everyone paged). Delivering is the
engine's job (warroom/escalation/); this module decides, pure, what to send and folds what
happened, so every screen shows the same delivery status.

Every outcome is an event whose id is derived from the page and the attempt number, so several
engines never record the same attempt twice:
  page_delivered / page_failed / page_cancelled:
      "{incident}:page:{cycle}:{level}:{to}:{channel}:attempt:{n}"
  page_claimed (an engine takes over a stalled page):
      "{incident}:page:{cycle}:{level}:{to}:{channel}:claim:{n}"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.domain.common.timefmt import shift
from warroom.domain.config.model import Config, Notify
from warroom.domain.incident.events import Event, NewEvent, idempotent_id, iso
from warroom.domain.incident.kinds import parse_body
from warroom.domain.incident.kinds.paging import (
    Escalated,
    PageCancelled,
    PageClaimed,
    PageDelivered,
    PageFailed,
)
from warroom.domain.incident.state import EscalationRecord, IncidentState
from warroom.domain.incident.status import Status


def page_event_id(incident_id: str, cycle: int, level: int, to: str, channel: str,
                  attempt: int) -> str:
    return idempotent_id(f"{incident_id}:page:{cycle}:{level}:{to}:{channel}:attempt:{attempt}")


def claim_event_id(incident_id: str, cycle: int, level: int, to: str, channel: str,
                   claim: int) -> str:
    return idempotent_id(f"{incident_id}:page:{cycle}:{level}:{to}:{channel}:claim:{claim}")


# ---- what to send ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One message to send: who, over which channel, and the JSON document."""

    incident_id: str
    cycle: int
    level: int
    to: str  # handle or "policy:NAME"
    channel: str  # webhook | command
    notify: Notify
    fired_at: datetime
    payload: dict[str, Any] = field(hash=False, compare=False)

    @property
    def key(self) -> tuple[str, int, int, str, str]:
        return (self.incident_id, self.cycle, self.level, self.to, self.channel)

    def with_attempt(self, attempt: int) -> dict[str, Any]:
        return {**self.payload, "attempt": attempt}

    def outcome(self, kind: type[PageDelivered | PageFailed | PageCancelled], actor: str,
                at: datetime | None, attempt: int, detail: str = "",
                retry_at: datetime | None = None) -> NewEvent:
        common = dict(cycle=self.cycle, level=self.level, to=self.to, channel=self.channel,
                      attempt=attempt, detail=detail[:500])
        if kind is PageFailed:
            common["retry_at"] = retry_at
        body = kind(**common)
        eid = page_event_id(self.incident_id, self.cycle, self.level, self.to, self.channel,
                            attempt)
        return NewEvent.of(body, actor, at, eid)

    def claim(self, actor: str, at: datetime | None, claim: int, attempt: int,
              detail: str = "") -> NewEvent:
        body = PageClaimed(cycle=self.cycle, level=self.level, to=self.to, channel=self.channel,
                           attempt=attempt, claim=claim, detail=detail)
        eid = claim_event_id(self.incident_id, self.cycle, self.level, self.to, self.channel,
                             claim)
        return NewEvent.of(body, actor, at, eid)


def page_payload(config: Config, state: IncidentState, rec: EscalationRecord,
                 to: str | None) -> dict[str, Any]:
    """The JSON document a receiver gets (version 1). `to` None: a policy channel's page."""
    svc = config.service(state.service)
    person = config.people.get(to) if to else None
    return {
        "type": "warroom.page",
        "version": 1,
        "incident": {
            "id": state.id,
            "title": state.title,
            "severity": state.severity.value,
            "status": state.status.value,
            "service": state.service,
            "critical": bool(svc.critical) if svc else None,
            "detected_at": iso(state.detected_at),
            "acknowledged": state.acknowledged_at is not None,
        },
        "level": rec.level,
        "cycle": rec.cycle,
        "reason": rec.reason,
        "policy": rec.policy,
        "fired_at": iso(rec.at),
        "to": None if to is None else {
            "handle": to,
            "name": person.name if person else None,
            "as": rec.labels.get(to, ""),
        },
        "paged": [{"handle": h, "as": rec.labels.get(h, "")} for h in rec.targets],
        "unresolved": list(rec.unresolved),
        "runbook": svc.runbook if svc else None,
        "acknowledge": f"warroom ack {state.id}",
        "text": _page_text(state, rec),
    }


def _page_text(state: IncidentState, rec: EscalationRecord) -> str:
    svc = f" [{state.service}]" if state.service else ""
    how = "manual escalation" if rec.reason == "manual" else "not acknowledged"
    return (f"{state.severity.value}{svc} {state.id}: {state.title} - L{rec.level} page "
            f"({how}). Acknowledge: warroom ack {state.id}")


def _routes(config: Config, rec: EscalationRecord) -> list[tuple[str, str, Notify]]:
    """(recipient, channel, where) for every page a fired level sends: each target's own
    channels, then the policy's."""
    routes: list[tuple[str, str, Notify]] = []
    for handle in rec.targets:
        person = config.people.get(handle)
        if person is not None:
            routes.extend((handle, channel, person) for channel in person.channels)
    policy = config.escalation_policies.get(rec.policy or "")
    if policy is not None:
        routes.extend((f"policy:{rec.policy}", channel, policy.notify)
                      for channel in policy.notify.channels)
    return routes


def _page(config: Config, state: IncidentState, rec: EscalationRecord, to: str, channel: str,
          notify: Notify) -> Page:
    payload = page_payload(config, state, rec, None if to.startswith("policy:") else to)
    return Page(state.id, rec.cycle, rec.level, to, channel, notify, rec.at, payload)


def pages_for(config: Config, state: IncidentState, rec: EscalationRecord) -> list[Page]:
    """Every page a fired level sends."""
    return [_page(config, state, rec, to, channel, notify)
            for to, channel, notify in _routes(config, rec)]


def delivery_stopped(state: IncidentState, fired_at: datetime) -> str | None:
    """Why a page's retries should stop: the incident was resolved, or acknowledged after the
    level fired (someone responded). A level fired after the acknowledgement (a manual
    escalation) is still delivered: a human asked for more people."""
    if state.status == Status.RESOLVED:
        return "the incident was resolved"
    if state.acknowledged_at is not None and state.acknowledged_at >= fired_at:
        return f"acknowledged by {state.acknowledged_by}"
    return None


# ---- stalled pages (their engine died) ---------------------------------------------------------


@dataclass(frozen=True)
class StalledPage:
    page: Page
    next_attempt: int  # the attempt to make now
    claim: int  # the claim number to record
    exhausted: bool  # no attempts left: record the final failure only


def stalled_pages(config: Config, state: IncidentState, now: datetime) -> list[StalledPage]:
    """Pages that nobody is delivering any more: no outcome long after the level fired, or a
    failure whose retry is long overdue. Not once delivery has stopped (see delivery_stopped)."""
    if state.status == Status.RESOLVED:
        return []
    n = config.notifier
    out: list[StalledPage] = []
    for rec in state.escalations:
        if rec.drill or delivery_stopped(state, rec.at):
            continue
        for to, channel, notify in _routes(config, rec):
            mine = [d for d in rec.deliveries if d.recipient == to and d.channel == channel]
            claims = sum(1 for d in mine if d.outcome == "claimed")
            outcomes = [d for d in mine if d.outcome != "claimed"]
            if any(d.outcome in ("delivered", "cancelled") for d in outcomes):
                continue
            last_outcome = outcomes[-1] if outcomes else None
            if last_outcome is not None and last_outcome.retry_at is None:
                continue  # gave up: final
            last = mine[-1] if mine else None
            if last is None:
                since = rec.at
            elif last.outcome == "claimed":
                since = last.at
            else:
                since = last.retry_at or last.at
            if now < shift(since, n.stall_after):
                continue
            attempt = (last_outcome.attempt + 1) if last_outcome else 1
            out.append(StalledPage(_page(config, state, rec, to, channel, notify), attempt,
                                   claims + 1, attempt > n.attempts))
    return out


# ---- the room's bell and flash ----------------------------------------------------------------


@dataclass(frozen=True)
class PageAlert:
    """Something every terminal in the room should ring the bell and flash for."""

    incident_id: str
    kind: str  # escalated | undeliverable
    text: str
    level: int
    targets: tuple[str, ...] = ()


def page_alert(event: Event) -> PageAlert | None:
    """For the dashboard: an escalation fired, or a page could not be delivered at all."""
    if event.kind not in (Escalated.kind, PageFailed.kind):
        return None
    body = parse_body(event.kind, event.data)
    if isinstance(body, Escalated):
        return PageAlert(event.incident_id, "escalated",
                         f"{event.incident_id} {body.how} to L{body.level}: paged {body.paged}",
                         body.level, tuple(body.targets))
    if isinstance(body, PageFailed) and not body.retry_at:
        return PageAlert(event.incident_id, "undeliverable",
                         f"{event.incident_id}: page to {body.recipient} via {body.channel} "
                         f"could not be delivered", body.level, (body.to,))
    return None
