"""The room as the room server sends it to remote spectators (docs/spectators.md): events,
states, summaries and presence as JSON, one function each way, shared by the server
(`warroom/serve/feed.py`) and the remote store (`warroom/store/remote.py`) so the two cannot
drift apart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warroom.domain.common.jsonable import utc_iso
from warroom.domain.common.redact import redact_value
from warroom.domain.incident.events import Event
from warroom.domain.incident.state import IncidentState
from warroom.store.base import IncidentSummary, Presence

WIRE_VERSION = 1
WITHHELD = "withheld from remote spectators"


def _t(value: datetime | None) -> str | None:
    return None if value is None else utc_iso(value)


def _ut(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def spectator_data(kind: str, data: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """An event's body as a spectator may see it: an alert's payload is withheld (it is the
    sender's document, and may hold what the redaction's heuristics miss), and every other
    credential is redacted, by name, shape and value."""
    if kind == "alert_received" and (data.get("payload") is not None
                                     or data.get("payload_text") is not None
                                     or data.get("same_as")):
        data = {**data, "payload": None, "payload_text": None, "same_as": None,
                "kept": WITHHELD}
    return redact_value(data, secrets)


def event_out(e: Event, secrets: list[str]) -> dict[str, Any]:
    return {"seq": e.seq, "event_id": e.event_id, "incident_id": e.incident_id,
            "version": e.version, "kind": e.kind, "actor": e.actor, "at": utc_iso(e.at),
            "recorded_at": utc_iso(e.recorded_at),
            "data": spectator_data(e.kind, e.data, secrets)}


def event_in(d: dict[str, Any]) -> Event:
    return Event(seq=int(d["seq"]), event_id=str(d["event_id"]),
                 incident_id=str(d["incident_id"]), version=int(d["version"]),
                 kind=str(d["kind"]), actor=str(d["actor"]),
                 at=datetime.fromisoformat(d["at"]),
                 recorded_at=datetime.fromisoformat(d["recorded_at"]),
                 data=dict(d["data"]))


def state_out(state: IncidentState, secrets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = redact_value(state.model_dump(mode="json"), secrets)
    return out


def state_in(d: dict[str, Any]) -> IncidentState:
    return IncidentState.model_validate(d)


_SUMMARY_TIMES = ("declared_at", "started_at", "detected_at", "acknowledged_at",
                  "first_resolved_at", "resolved_at", "last_event_at")


def summary_out(s: IncidentSummary) -> dict[str, Any]:
    return {"id": s.id, "number": s.number, "title": s.title, "severity": s.severity,
            "status": s.status, "phase": s.phase, "service": s.service, "version": s.version,
            **{k: _t(getattr(s, k)) for k in _SUMMARY_TIMES}}


def summary_in(d: dict[str, Any]) -> IncidentSummary:
    times = {k: _ut(d.get(k)) for k in _SUMMARY_TIMES}
    return IncidentSummary(id=str(d["id"]), number=int(d["number"]), title=str(d["title"]),
                           severity=str(d["severity"]), status=str(d["status"]),
                           phase=str(d["phase"]), service=d.get("service"),
                           version=int(d["version"]), **times)  # type: ignore[arg-type]


def presence_out(p: Presence) -> dict[str, Any]:
    """What the roster needs: who, and where they look. Hosts and process ids stay on the
    server (a spectator has no use for the room's machine names)."""
    return {"session": p.session, "person": p.person, "started_at": utc_iso(p.started_at),
            "seen_at": utc_iso(p.seen_at), "incident_id": p.incident_id}


def presence_in(d: dict[str, Any]) -> Presence:
    return Presence(session=str(d["session"]), person=str(d["person"]), host="", pid=0,
                    started_at=datetime.fromisoformat(d["started_at"]),
                    seen_at=datetime.fromisoformat(d["seen_at"]),
                    incident_id=d.get("incident_id"))
