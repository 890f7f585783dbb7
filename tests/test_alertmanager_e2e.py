"""End to end with Debian's real prometheus-alertmanager on loopback posting to `warroom serve`:
its webhook (with a bearer token) and its PagerDuty notifier (Events v2, routing_key) pointed at
warroom's /v2/enqueue. (Its v1 form, service_key, always posts to PagerDuty's own host whatever
`url` says in this version, so it is not exercised here: nothing may leave the machine.)"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from warroom.store.sqlite import SQLiteStore

from .alert_support import TOKEN, spawn_serve
from .escalation_support import SAMPLE

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed "
                       "(apt-get install prometheus-alertmanager; .ci/run does it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _am_config(warroom: str) -> str:
    return f"""
route:
  receiver: webhook
  group_by: ['alertname', 'service']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: pd-v2
      matchers: ['via="pd-v2"']
receivers:
  - name: webhook
    webhook_configs:
      - url: {warroom}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
  - name: pd-v2
    pagerduty_configs:
      - routing_key: {TOKEN}
        url: {warroom}/v2/enqueue
        send_resolved: true
        severity: critical
        component: '{{{{ .CommonLabels.service }}}}'
"""


async def _until(what: str, check: Callable[[], Awaitable[Any]], limit: float = 20.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_real_alertmanager_posts_to_warroom_serve(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    store = await SQLiteStore.open(db)
    served = await spawn_serve(db, SAMPLE, TOKEN)
    am_port = _free_port()
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(_am_config(served.url))
    assert ALERTMANAGER is not None
    am = await asyncio.create_subprocess_exec(
        ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    am_url = f"http://127.0.0.1:{am_port}"
    try:
        async with aiohttp.ClientSession() as session:
            async def ready() -> bool:
                if am.returncode is not None:
                    err = await am.stderr.read() if am.stderr else b""
                    raise AssertionError(f"alertmanager exited: {err.decode()[-2000:]}")
                try:
                    async with session.get(f"{am_url}/-/ready") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await _until("alertmanager to be ready", ready)

            async def push(alerts: list[dict[str, Any]]) -> None:
                async with session.post(f"{am_url}/api/v2/alerts", json=alerts) as r:
                    assert r.status == 200, await r.text()

            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            firing = [
                {"labels": {"alertname": "PaymentsDown", "service": "payments",
                            "severity": "critical", "instance": f"api-{i}"},
                 "annotations": {"summary": "Payments API down"}, "startsAt": now}
                for i in range(2)
            ]
            pd_v2 = {"labels": {"alertname": "AuthErrors", "service": "auth",
                                "severity": "critical", "via": "pd-v2"},
                     "annotations": {"summary": "Auth errors"}, "startsAt": now}
            await push([*firing, pd_v2])

            async def opened() -> list[Any]:
                summaries = await store.summaries()
                return summaries if len(summaries) == 2 else []

            summaries = await _until("two incidents", opened)
            by_source: dict[str, list[str]] = {}
            for s in summaries:
                state = await store.get(s.id)
                by_source.setdefault(state.source, []).append(s.id)
            assert sorted(by_source) == ["alertmanager", "pagerduty"]
            pd_state = await store.get(by_source["pagerduty"][0])
            assert pd_state.service == "auth" and pd_state.severity.value == "SEV-1"
            assert pd_state.title.startswith("[FIRING:1] AuthErrors")
            am_id = by_source["alertmanager"][0]
            state = await store.get(am_id)
            assert state.service == "payments" and state.severity.value == "SEV-1"
            assert len(state.alerts) == 2

            async def paged() -> bool:
                return bool((await store.get(am_id)).escalations)

            await _until("the engine in warroom serve to page L1", paged)

            # resolve the webhook's alerts: Alertmanager sends the resolved notification
            ended = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            await push([{**a, "endsAt": ended} for a in [*firing, pd_v2]])

            async def cleared() -> bool:
                s = await store.get(am_id)
                return s.alert_route is not None and s.alert_route.alerts_cleared_at is not None

            await _until("the resolved notification", cleared)
            await _until("the PagerDuty resolve", lambda: _no_firing(store, pd_state.id))
            events = await store.events(am_id)
            received = [e for e in events if e.kind == "alert_received"]
            assert received[0].data["payload"]["version"] == "4"
            assert received[0].data["payload"]["receiver"] == "webhook"
    finally:
        if am.returncode is None:
            am.terminate()
            try:
                await asyncio.wait_for(am.wait(), 15)
            except TimeoutError:
                am.kill()
                await am.wait()
        assert await served.stop() == 0
        await store.close()


async def _no_firing(store: SQLiteStore, incident: str) -> bool:
    return not (await store.get(incident)).firing_alerts
