"""Shared by the alert tests: payload builders shaped like the real senders' output."""

from __future__ import annotations

import asyncio
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


class Served:
    """A real `warroom serve` process on a free loopback port."""

    def __init__(self, proc: Any, port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> int:
        import signal

        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


async def spawn_serve(db: Path, config: Path, token: str = TOKEN, *args: str) -> Served:
    import sys

    from .conftest import cli_env

    env = cli_env(db, "serve")
    env["WARROOM_CONFIG"] = str(config)
    env["WARROOM_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json", *args,
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
    except TimeoutError:
        proc.kill()
        raise
    if not line:
        err = await proc.stderr.read() if proc.stderr else b""
        raise AssertionError(f"warroom serve did not start: {err.decode()}")
    return Served(proc, int(json.loads(line)["port"]))
