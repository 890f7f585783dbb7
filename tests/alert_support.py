"""Shared by the alert tests: payload builders shaped like the real senders' output."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .conftest import REPO

SAMPLES = REPO / "sample_data" / "alerts"
TOKEN = "test-token-0123456789"
# Wednesday 2026-03-04 14:32:15Z: business hours in London, Berlin and New York (09:32).
T0 = datetime(2026, 3, 4, 14, 32, 15, tzinfo=UTC)
# Wednesday 23:12Z: night for every demo team (00:12 Berlin, 18:12 New York is after 18:00).
NIGHT = datetime(2026, 3, 4, 23, 12, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def am_alert(name: str = "HighErrorRate", service: str = "payments",
             severity: str = "critical", status: str = "firing", fp: str | None = None,
             starts: str = "2026-03-04T14:31:45.120934512Z", **labels: str) -> dict[str, Any]:
    all_labels = {"alertname": name, "service": service, "severity": severity, **labels}
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": f"{name} on {service}",
                        "description": f"{name} fired for {service}"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-03-04T14:50:00Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
        "fingerprint": fp or hashlib.sha256(
            json.dumps([name, service, sorted(labels.items())]).encode()).hexdigest()[:16],
    }


def am_payload(alerts: list[dict[str, Any]], group: str = "{}:{alertname=\"HighErrorRate\"}",
               **extra: Any) -> dict[str, Any]:
    firing = any(a.get("status") == "firing" for a in alerts)
    common = dict(alerts[0].get("labels", {}))
    for a in alerts[1:]:
        common = {k: v for k, v in common.items() if a.get("labels", {}).get(k) == v}
    return {
        "receiver": "warroom", "status": "firing" if firing else "resolved", "alerts": alerts,
        "groupLabels": {}, "commonLabels": common, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093", "version": "4", "groupKey": group,
        "truncatedAlerts": 0, **extra,
    }


def pd_event(action: str = "trigger", dedup: str | None = "db-latency", *,
             routing_key: str = TOKEN, severity: str = "critical",
             component: str = "checkout", summary: str = "DB latency high") -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action}
    if dedup is not None:
        event["dedup_key"] = dedup
    if action == "trigger":
        event["payload"] = {"summary": summary, "source": "db-1.example", "severity": severity,
                            "timestamp": "2026-03-04T14:31:58.315+0000",
                            "component": component, "group": "prod", "class": "latency",
                            "custom_details": {"p99 ms": 2300, "load avg": 0.75}}
        event["client"] = "Monitoring"
        event["links"] = [{"href": "https://example.com/d", "text": "dashboard"}]
    return event


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path
