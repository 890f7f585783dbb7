"""Alerts on the incident's timeline: the events the receiver records, and what it decides.

Pure. The receiver (warroom/ingest/receiver.py) reads the state, calls `open_events` (a new
incident) or `receipt_events` (a notification for an incident already open) and appends the
result at the version it read. Every notification is kept as an `alert_received` event with its
payload (bounded) and how it was mapped, so the dashboard can show exactly what arrived
(`alert_payloads`). A payload is kept once per distinct content: the same payload again (a
sender's repeat notification) is recorded as a reference to the first, with no alert events for
alerts already firing, and the payload view counts the repeats. When every alert of an
incident has resolved, an `alerts_cleared` event says so and `suggest_monitoring(state)` turns
true; the incident is closed by a machine only when the service's `auto_resolve` is on, or when
an auto-remediation fixed it within its window.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from warroom.domain.alerts.formats import ACKNOWLEDGE, AlertItem, Notification
from warroom.domain.alerts.routing import Mapping, Route
from warroom.domain.common.jsonable import to_json
from warroom.domain.common.redact import redact_text, redact_value
from warroom.domain.comms.messages import MessageTemplate, render_message
from warroom.domain.config.model import Config
from warroom.domain.incident import commands
from warroom.domain.incident.checklist import CHECKLIST, Anchor
from warroom.domain.incident.events import Event, NewEvent, idempotent_id, iso
from warroom.domain.incident.kinds.alerts import (
    MAX_KEYS_LISTED,
    AlertAttached,
    AlertDecision,
    AlertReceived,
    AlertResolved,
    AlertsCleared,
)
from warroom.domain.incident.kinds.lifecycle import Acknowledged, StatusChanged
from warroom.domain.incident.kinds.people import RoleAssigned
from warroom.domain.incident.kinds.records import CommunicationSent
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status
from warroom.domain.oncall.escalation import hold_ladder
from warroom.domain.oncall.rotation import who_is_on_call

# ---- for the dashboard -----------------------------------------------------------------------


def suggest_monitoring(state: IncidentState) -> bool:
    """Every alert of this incident has resolved and nobody has moved it to Monitoring yet:
    the dashboard suggests Monitoring (a person decides; see docs/alerts.md)."""
    route = state.alert_route
    return (route is not None and route.alerts_cleared_at is not None
            and state.status in (Status.INVESTIGATING, Status.IDENTIFIED))


@dataclass(frozen=True)
class PayloadView:
    """One notification as the dashboard's payload view shows it."""

    event_id: str
    at: datetime
    format: str
    version: str
    action: str
    dedup_key: str
    firing: int
    resolved: int
    alerts: list[dict[str, str]]
    mapping: dict[str, Any]
    text: str  # the payload as indented JSON, or the kept part of it, or why it was not kept
    kept: str
    size: int
    repeats: int = 1  # times this exact payload arrived, the first included
    last_at: datetime | None = None  # when it last arrived, if more than once

    def received(self) -> str:
        """"received 3 times, last at 14:40:12Z", or "" for a payload that came once."""
        if self.repeats <= 1 or self.last_at is None:
            return ""
        return f"received {self.repeats} times, last at {self.last_at:%Y-%m-%d %H:%M:%S}Z"

    def mapping_lines(self) -> list[str]:
        """How it was mapped, in words: "service: payments (label service='payments')"."""
        m = self.mapping
        lines = []
        if "service" in m:
            lines.append(f"service: {m.get('service') or '-'} ({m.get('service_reason', '')})")
        if "severity" in m:
            lines.append(f"severity: {m['severity']} ({m.get('severity_reason', '')})")
        if "title" in m:
            lines.append(f"title: {m['title']}")
        if "detected_at" in m:
            lines.append(f"detected: {m['detected_at']} ({m.get('detected_reason', '')})")
        if m.get("truncated_alerts"):
            lines.append(f"the sender left out {m['truncated_alerts']} alerts (truncatedAlerts)")
        return lines


def alert_payloads(events: Sequence[Event]) -> list[PayloadView]:
    """Every distinct payload kept on an incident's timeline, oldest first, with its mapping
    and how many times it arrived (repeats are counted on the first, not listed again).

    Text is untrusted (it came from the sender): show it through `printable`, never as markup.
    """
    out: list[PayloadView] = []
    where: dict[str, int] = {}  # event id -> its view's index
    for e in events:
        if e.kind != AlertReceived.kind:
            continue
        d = e.data
        first = where.get(str(d.get("same_as") or ""))
        if first is not None:
            out[first] = replace(out[first], repeats=out[first].repeats + 1, last_at=e.at)
            where[e.event_id] = first
            continue
        where[e.event_id] = len(out)
        # Redacted again on display: a room written before payloads were redacted on the way
        # in still holds routing keys, and this view is every spectator's.
        if d.get("payload") is not None:
            text = json.dumps(redact_value(d["payload"]), indent=2, ensure_ascii=False,
                              sort_keys=True)
        elif d.get("payload_text") is not None:
            text = redact_text(str(d["payload_text"])) + "\n… (truncated)"
        elif d.get("same_as"):
            text = f"(the same payload as event {d['same_as']}, kept there)"
        else:
            text = f"(payload not kept: {d.get('kept', 'unknown')})"
        out.append(PayloadView(
            event_id=e.event_id, at=e.at, format=str(d.get("format", "?")),
            version=str(d.get("version", "")), action=str(d.get("action", "")),
            dedup_key=str(d.get("dedup_key", "")), firing=int(d.get("firing", 0)),
            resolved=int(d.get("resolved", 0)), alerts=list(d.get("alerts") or []),
            mapping=dict(d.get("mapping") or {}), text=text, kept=str(d.get("kept", "full")),
            size=int(d.get("payload_size", 0)),
        ))
    return out


# ---- deciding ------------------------------------------------------------------------------


def payload_hash(raw: Any) -> str:
    """The identity of a payload's content: the same JSON, whatever its key order or spacing."""
    blob = json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def payload_record(n: Notification, mapping: Mapping, config: Config, *, size: int,
                   repeat: int) -> AlertReceived:
    """The notification as kept: its payload in full when it fits, else cut, and not at all
    beyond the per-alert number of repeats worth keeping (their count is still recorded).
    An incident that already keeps this exact payload refers to it instead (`kept_once`)."""
    settings = config.alerts
    payload: Any = None
    text: str | None = None
    if repeat >= settings.payloads_per_alert:
        kept = (f"dropped: repeat {repeat} of this alert (alerts.payloads_per_alert = "
                f"{settings.payloads_per_alert})")
    else:
        blob = json.dumps(n.raw, ensure_ascii=False, separators=(",", ":"))
        if len(blob.encode("utf-8")) <= settings.payload_bytes:
            payload, kept = n.raw, "full"
        else:
            text = blob.encode("utf-8")[: settings.payload_bytes].decode("utf-8", "ignore")
            kept = f"truncated to {settings.payload_bytes} bytes (alerts.payload_bytes)"
    firing = sum(1 for a in n.alerts if a.firing)
    resolved = sum(1 for a in n.alerts if a.status == "resolved")
    m = to_json(mapping)
    if n.truncated_alerts:
        m["truncated_alerts"] = n.truncated_alerts
    return AlertReceived(
        format=n.format, version=n.version, dedup_key=n.dedup_key or "", action=n.action,
        firing=firing, resolved=resolved,
        alerts=[{"key": a.key, "status": a.status} for a in n.alerts[:MAX_KEYS_LISTED]],
        mapping=m, payload=payload, payload_text=text, payload_size=size, kept=kept,
        client=n.client, content_hash=payload_hash(n.raw),
    )


def kept_once(state: IncidentState, record: AlertReceived) -> AlertReceived:
    """The record of a payload this incident already keeps: a reference to the event that
    keeps it, without the payload or its list of alerts again."""
    first = state.payloads.get(record.content_hash or "")
    if first is None:
        return record
    return record.model_copy(update={
        "payload": None, "payload_text": None, "alerts": [], "same_as": first,
        "kept": f"repeat: the same payload as event {first}, kept once",
    })


def _attach(a: AlertItem, source: str, repeat: int | None) -> AlertAttached:
    labels = dict(list(a.labels.items())[:50])
    return AlertAttached(source=source, key=a.key, summary=a.summary[:1024], labels=labels,
                         repeat=repeat or None)


class _Ids:
    """Event ids for one request: stable across its retries, so a commit that was not
    acknowledged is never written twice."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return idempotent_id(f"alerts:{self.request_id}:{self.n}")


def open_event_id(index_key: str, previous: str | None) -> str:
    """The declaration's id for the incident a dedup key opens after `previous` (its last
    incident, now resolved, or None): every process derives the same one, so two posts racing
    to open an incident for one group open one."""
    return idempotent_id(f"alerts:open:{index_key}:after:{previous or '-'}")


def open_events(config: Config, n: Notification, mapping: Mapping, route: Route,
                record: AlertReceived, now: datetime, *, request_id: str,
                declaration_id: str) -> list[NewEvent]:
    """A new incident for a notification: declared, the payload, its alerts, the on-call
    primary, each decision with its reason, the hold if any, the clocks. (The initial status
    message follows once the store has given the incident its id: `initial_status_events`.)"""
    actor = config.alerts.actor
    ids = _Ids(request_id)
    out = commands.declare(
        mapping.title, mapping.severity, actor, at=now, service=mapping.service,
        summary=mapping.summary, started_at=mapping.started_at, detected_at=mapping.detected_at,
        source=n.format, event_id=declaration_id,
    )
    out.append(NewEvent.of(record, actor, now, ids()))
    for a in n.alerts:
        out.append(NewEvent.of(_attach(a, n.format, None), actor, now, ids()))
        if not a.firing:
            out.append(NewEvent.of(AlertResolved(source=n.format, key=a.key), actor, now, ids()))
    svc = config.service(mapping.service)
    out.append(NewEvent.of(AlertDecision(
        step="mapped",
        text=(f"mapped to service {mapping.service or '(none)'} ({mapping.service_reason}), "
              f"{mapping.severity.value} ({mapping.severity_reason}); detected "
              f"{iso(mapping.detected_at)} ({mapping.detected_reason})"),
    ), actor, now, ids()))
    out.extend(_time_notes(mapping.time_notes, actor, now, ids))
    out.extend(_oncall_events(config, mapping.service, now, actor, ids))
    auto_resolve = (svc.alerts.auto_resolve if svc and svc.alerts.auto_resolve is not None
                    else config.alerts.auto_resolve)
    for i, text in enumerate(route.steps):
        extra: dict[str, Any] = {}
        if i == 0:
            extra = dict(route=route.route, dedup_key=n.index_key,
                         remediation_until=route.remediation_until,
                         remediation_command=(" ".join(route.remediation.command)
                                              if route.remediation else None),
                         auto_resolve=auto_resolve, fallback_until=route.fallback_hold,
                         fallback_reason=route.fallback_reason,
                         fallback_cause=route.fallback_cause)
        out.append(NewEvent.of(AlertDecision(step="route", text=text, **extra), actor, now,
                               ids()))
    if route.hold_until is not None and route.hold_until > now:
        out.extend(hold_ladder(route.hold_until, route.hold_reason or route.route, actor, now,
                               cause=route.hold_cause or "manual", event_id=ids()))
    out.append(NewEvent.of(AlertDecision(step="clocks", text=clocks_text(mapping, route)),
                           actor, now, ids()))
    return out


def _time_notes(notes: tuple[str, ...], actor: str, now: datetime, ids: _Ids
                ) -> list[NewEvent]:
    """A sender's time outside the room's window was replaced: the timeline says which."""
    if not notes:
        return []
    return [NewEvent.of(AlertDecision(step="times", text="; ".join(notes)), actor, now, ids())]


def clocks_text(mapping: Mapping, route: Route) -> str:
    d = mapping.detected_at
    parts = [f"{item.task.lower()} by {(d + item.target):%H:%M:%SZ}" for item in CHECKLIST
             if item.target is not None and item.anchor == Anchor.DETECTED]
    pages = (f"L1 page at {route.hold_until:%H:%MZ} unless acknowledged"
             if route.hold_until else "L1 page now")
    return (f"response clocks started at detection {iso(d)}: {', '.join(parts)}; "
            f"{pages}")


def _oncall_events(config: Config, service: str | None, now: datetime, actor: str,
                   ids: _Ids) -> list[NewEvent]:
    _, policy = config.policy_for(service)
    rotation = config.rotation_for(service, policy)
    if rotation is None:
        return [NewEvent.of(AlertDecision(
            step="oncall", text=f"no on-call rotation for service {service or '(none)'}: "
                                "nobody assigned as on-call primary"), actor, now, ids())]
    oncall = who_is_on_call(rotation, now)
    if oncall.primary is None:
        return [NewEvent.of(AlertDecision(
            step="oncall", text=f"nobody is on call on rotation {rotation.name} now: nobody "
                                "assigned as on-call primary"), actor, now, ids())]
    return [
        NewEvent.of(RoleAssigned(role=Role.ONCALL_PRIMARY, person=oncall.primary), actor, now,
                    ids()),
        NewEvent.of(AlertDecision(
            step="oncall", text=f"on-call primary {oncall.primary} from rotation "
                                f"{rotation.name}"), actor, now, ids()),
    ]


def receipt_events(config: Config, state: IncidentState, n: Notification,
                   record: AlertReceived, now: datetime, *, request_id: str) -> list[NewEvent]:
    """A notification for an incident already open: the payload, repeats, resolutions, an
    acknowledgement; when the last firing alert resolves, `alerts_cleared`, and the close that
    auto-remediation or auto_resolve allow."""
    actor = config.alerts.actor
    ids = _Ids(request_id)
    record = kept_once(state, record)
    out = [NewEvent.of(record, actor, now, ids())]
    out.extend(_time_notes(tuple(record.mapping.get("time_notes", ())), actor, now, ids))
    firing = {k for k, a in state.alerts.items() if a.firing}
    had_firing = bool(firing)
    for a in n.alerts:
        known = state.alerts.get(a.key)
        if a.status == "acknowledged":
            continue
        if a.firing and record.same_as is not None and a.key in firing:
            continue  # the same payload again: counted once, on its record
        if a.firing:
            out.append(NewEvent.of(_attach(a, n.format, known.count if known else None),
                                   actor, now, ids()))
            firing.add(a.key)
        elif known is None:
            out.append(NewEvent.of(_attach(a, n.format, None), actor, now, ids()))
            out.append(NewEvent.of(AlertResolved(source=n.format, key=a.key), actor, now, ids()))
        elif a.key in firing:
            out.append(NewEvent.of(AlertResolved(source=n.format, key=a.key), actor, now, ids()))
            firing.discard(a.key)
    if n.action == ACKNOWLEDGE and state.acknowledged_at is None and state.is_open:
        via = f" via {n.client}" if n.client else ""
        out.append(NewEvent.of(Acknowledged(note=f"acknowledged by the alert sender{via} "
                                                 f"(dedup key {n.dedup_key})"), actor, now,
                               ids()))
    if had_firing and not firing and state.alerts:
        out.append(NewEvent.of(AlertsCleared(count=len(state.alerts)), actor, now, ids()))
        out.extend(_auto_close(config, state, now, actor, ids))
    return out


def _auto_close(config: Config, state: IncidentState, now: datetime, actor: str,
                ids: _Ids) -> list[NewEvent]:
    route = state.alert_route
    if route is None or not state.is_open:
        return []
    reason: str | None = None
    if (route.remediation_until is not None and now <= route.remediation_until
            and not state.escalations):
        reason = (f"auto-remediated: every alert resolved within the remediation window "
                  f"({route.remediation_command}); nobody paged")
    elif route.auto_resolve:
        reason = f"every alert resolved and auto_resolve is on for {state.service or 'alerts'}"
    if reason is None:
        return []
    return [
        NewEvent.of(AlertDecision(step="closed", text=reason), actor, now, ids()),
        NewEvent.of(StatusChanged(from_status=state.status, to_status=Status.RESOLVED,
                                  reason=reason), actor, now, ids()),
    ]


# The severities whose alert-opened incidents publish their initial message when
# [statuspage].auto_publish is on (the stakeholder plan's "immediate status page").
AUTO_PUBLISH_SEVERITIES = frozenset({Severity.SEV1, Severity.SEV2})


def initial_status_event_id(incident_id: str) -> str:
    return idempotent_id(f"{incident_id}:alerts:initial-status")


def initial_status_events(config: Config, state: IncidentState, events: Sequence[Event],
                          template: MessageTemplate, now: datetime, *,
                          drill: bool = False) -> list[NewEvent]:
    """The initial "Investigating" status from the comms template, to the internal audience
    (customer updates stay a person's decision), once per incident; with
    [statuspage].auto_publish, a SEV-1/SEV-2 incident's also goes to customers (the status
    page) in the same write."""
    if any(c.template == template.name and c.actor == config.alerts.actor
           for c in state.communications):
        return []
    msg = render_message(template, state, events, now, drill=drill)
    body = CommunicationSent(template=template.name, audience="internal", channel="warroom",
                             text=msg.text)
    out = [NewEvent.of(body, config.alerts.actor, now, initial_status_event_id(state.id))]
    if config.statuspage.auto_publish and state.severity in AUTO_PUBLISH_SEVERITIES:
        # [statuspage].auto_publish: the same text goes to customers, on the status page.
        public = CommunicationSent(template=template.name, audience="customers",
                                   channel="status page", text=msg.text)
        out.append(NewEvent.of(public, config.alerts.actor, now,
                               idempotent_id(f"{state.id}:alerts:initial-customers")))
    return out


def remediation_started_id(incident_id: str, alert_key: str) -> str:
    return idempotent_id(f"{incident_id}:remediation:{alert_key}")


def remediation_fallback(state: IncidentState, now: datetime, actor: str,
                         why: str) -> list[NewEvent]:
    """The remediation failed: the rest of the decision tree applies now (page, or keep the
    hold it asked for, e.g. the next business morning)."""
    hold = state.escalation_hold
    route = state.alert_route
    if (hold is None or route is None or hold.cause != "remediation" or not state.is_open
            or state.escalations):
        return []
    fallback_until, fallback_reason = route.fallback_until, route.fallback_reason
    fallback_cause = route.fallback_cause
    text = f"auto-remediation did not fix it ({why}): "
    if fallback_until is not None and fallback_until > now:
        text += f"holding pages until {fallback_until:%Y-%m-%d %H:%MZ} ({fallback_reason})"
        held = hold_ladder(fallback_until, fallback_reason or "held", actor, now,
                           cause=fallback_cause or "manual")
    else:
        text += "paging the on-call now"
        held = hold_ladder(now, "auto-remediation failed", actor, now, cause="remediation")
    return [NewEvent.of(AlertDecision(step="remediation", text=text), actor, now), *held]

