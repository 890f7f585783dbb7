"""The receiver on a real store: each format's trigger, repeat, acknowledge and resolve paths,
dedup, the decision tree's events, payload keeping, auto-remediation and races."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.domain.alerts.automation import alert_payloads, suggest_monitoring
from warroom.domain.alerts.formats import parse_notification
from warroom.domain.config.model import Config
from warroom.domain.incident.fold import fold
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.domain.oncall import escalation as esc
from warroom.escalation.engine import Engine
from warroom.ingest.receiver import AlertReceiver
from warroom.store.sqlite import SQLiteStore

from .alert_support import NIGHT, T0, am_alert, am_payload, pd_event, sample
from .escalation_support import config_with, demo_config


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def receiver(store: SQLiteStore, config: Config | None = None, clock: Callable[[], datetime]
             | None = None, **kw: Any) -> AlertReceiver:
    return AlertReceiver(store, config or demo_config(), clock=clock or Clock(T0), **kw)


async def kinds(store: SQLiteStore, incident: str) -> list[str]:
    return [e.kind for e in await store.events(incident)]


async def test_alertmanager_trigger_opens_a_routed_incident(store: SQLiteStore) -> None:
    rx = receiver(store)
    r = await rx.receive(parse_notification(sample("alertmanager_firing.json")), size=2000)
    assert r.opened and r.incident_id == "INC-1"
    state = await store.get("INC-1")
    assert state.source == "alertmanager" and state.service == "payments"
    assert state.severity == Severity.SEV1 and state.title == "Payments API error rate above 5%"
    assert state.detected_at < T0 and state.declared_at == T0
    assert state.holder(Role.ONCALL_PRIMARY) == "alice"  # week 60 of the demo rotation
    assert len(state.alerts) == 2 and all(a.firing for a in state.alerts.values())
    assert state.alert_route is not None and state.alert_route.route == "page"
    assert [c.template for c in state.communications] == ["initial"]
    assert state.communications[0].audience == "internal"
    events = await store.events("INC-1")
    comm = next(e for e in events if e.kind == "communication_sent")
    assert "Reference: INC-1" in comm.data["text"] and "Investigating" in comm.data["text"]
    ks = [e.kind for e in events]
    assert ks[:4] == ["declared", "alert_received", "alert_attached", "alert_attached"]
    assert "role_assigned" in ks and ks.count("alert_decision") >= 3
    assert all(e.at == T0 for e in events)
    # the engine pages L1 at once: alert-to-page is measurable from the timeline
    engine = Engine(store, demo_config(), deliver=False)
    fired = await engine.tick(T0 + timedelta(seconds=1))
    assert [(f.incident_id, f.level, f.targets) for f in fired] == [("INC-1", 1, ["alice"])]


async def test_alertmanager_repeat_and_resolve(store: SQLiteStore) -> None:
    clock = Clock(T0)
    rx = receiver(store, clock=clock)
    firing = parse_notification(sample("alertmanager_firing.json"))
    await rx.receive(firing)
    clock.advance(minutes=5)
    r = await rx.receive(firing)
    assert not r.opened and r.incident_id == "INC-1"
    # the same payload again is kept once: one event that refers to it, no alert events
    events = await store.events("INC-1")
    received = [e for e in events if e.kind == "alert_received"]
    assert len(received) == 2 and events[-1] == received[-1]
    assert received[-1].data["same_as"] == received[0].event_id
    assert alert_payloads(events)[0].repeats == 2
    # the same alerts in a payload that differs repeat them
    changed = sample("alertmanager_firing.json")
    changed["commonAnnotations"] = {"summary": "still failing"}
    clock.advance(minutes=5)
    await rx.receive(parse_notification(changed))
    state = await store.get("INC-1")
    assert {a.count for a in state.alerts.values()} == {2}
    events = await store.events("INC-1")
    assert [e.data.get("repeat") for e in events if e.kind == "alert_attached"][-2:] == [1, 1]
    assert not suggest_monitoring(state)
    # one alert resolves: the incident still has one firing
    one = sample("alertmanager_firing.json")
    one["alerts"][0]["status"] = "resolved"
    clock.advance(minutes=1)
    await rx.receive(parse_notification(one))
    state = await store.get("INC-1")
    assert len(state.firing_alerts) == 1 and not suggest_monitoring(state)
    clock.advance(minutes=1)
    r = await rx.receive(parse_notification(sample("alertmanager_resolved.json")))
    assert "every alert resolved" in r.message
    state = await store.get("INC-1")
    assert not state.firing_alerts and state.status == Status.INVESTIGATING
    assert suggest_monitoring(state)  # not closed by a machine: a person decides
    assert (await kinds(store, "INC-1")).count("alerts_cleared") == 1
    # the same resolved notification again changes nothing about the alerts
    await rx.receive(parse_notification(sample("alertmanager_resolved.json")))
    assert (await kinds(store, "INC-1")).count("alerts_cleared") == 1
    # firing again clears the suggestion
    clock.advance(minutes=1)
    await rx.receive(firing)
    assert not suggest_monitoring(await store.get("INC-1"))


async def test_resolved_incident_then_new_firing_opens_a_new_incident(
        store: SQLiteStore) -> None:
    from warroom.domain.incident import commands
    from warroom.store.execute import execute

    rx = receiver(store)
    firing = parse_notification(sample("alertmanager_firing.json"))
    await rx.receive(firing)
    await execute(store, "INC-1", lambda s: commands.change_status(s, Status.RESOLVED, "bob"))
    r = await rx.receive(parse_notification(sample("alertmanager_resolved.json")))
    assert r.incident_id is None and r.recorded == 0 and "no open incident" in r.message
    r = await rx.receive(firing)
    assert r.opened and r.incident_id == "INC-2"
    # a fresh receiver (another process) finds the same incidents from the log
    r2 = await receiver(store).receive(firing)
    assert r2.incident_id == "INC-2" and not r2.opened


async def test_pagerduty_trigger_repeat_acknowledge_resolve(store: SQLiteStore) -> None:
    clock = Clock(T0)
    rx = receiver(store, clock=clock)
    r = await rx.receive(parse_notification(sample("pagerduty_v2_trigger.json")))
    assert r.opened and r.dedup_key == "checkout-latency-p99-eu-west-1"
    state = await store.get(r.incident_id or "")
    assert state.source == "pagerduty" and state.service == "checkout"
    assert state.severity == Severity.SEV1
    clock.advance(minutes=1)
    again = sample("pagerduty_v2_trigger.json")
    again["payload"]["custom_details"] = {"p99 ms": 2600}
    await rx.receive(parse_notification(again))
    state = await store.get("INC-1")
    assert state.alerts["pd:checkout-latency-p99-eu-west-1"].count == 2
    clock.advance(minutes=1)
    r = await rx.receive(parse_notification(sample("pagerduty_v2_acknowledge.json")))
    state = await store.get("INC-1")
    assert state.acknowledged_at == clock.now and state.acknowledged_by == "alerts"
    assert "acknowledged" in r.message
    # a second acknowledge records the payload but no second acknowledgement
    await rx.receive(parse_notification(sample("pagerduty_v2_acknowledge.json")))
    assert (await kinds(store, "INC-1")).count("acknowledged") == 1
    await rx.receive(parse_notification(sample("pagerduty_v2_resolve.json")))
    state = await store.get("INC-1")
    assert not state.firing_alerts and suggest_monitoring(state)
    views = alert_payloads(await store.events("INC-1"))
    assert [(v.action, v.repeats) for v in views] == [
        ("trigger", 1), ("trigger", 1), ("acknowledge", 2), ("resolve", 1)]


async def test_pagerduty_v1_and_keyless_triggers(store: SQLiteStore) -> None:
    rx = receiver(store, config_with(alerts={"default_service": "auth"}))
    r = await rx.receive(parse_notification(sample("pagerduty_v1_from_alertmanager.json")))
    state = await store.get(r.incident_id or "")
    assert state.service == "auth" and state.source == "pagerduty"
    a = await rx.receive(parse_notification(pd_event(dedup=None)))
    b = await rx.receive(parse_notification(pd_event(dedup=None)))
    assert a.opened and b.opened and a.incident_id != b.incident_id
    assert a.dedup_key != b.dedup_key and len(a.dedup_key) == 32


async def test_acknowledge_or_resolve_without_incident_writes_nothing(
        store: SQLiteStore) -> None:
    rx = receiver(store)
    for action in ("acknowledge", "resolve"):
        r = await rx.receive(parse_notification(pd_event(action, dedup="nothing-here")))
        assert r.incident_id is None and r.recorded == 0
    assert await store.last_seq() == 0


async def test_auto_resolve_closes_when_configured(store: SQLiteStore) -> None:
    rx = receiver(store)  # pipeline has auto_resolve = true in the demo
    alert = am_alert(service="pipeline", severity="warning", fp="p1")
    await rx.receive(parse_notification(am_payload([alert], group="pipe")))
    alert["status"] = "resolved"
    await rx.receive(parse_notification(am_payload([alert], group="pipe")))
    state = await store.get("INC-1")
    assert state.status == Status.RESOLVED and not suggest_monitoring(state)
    last = (await store.events("INC-1"))[-1]
    assert last.kind == "status_changed"
    assert last.data["reason"] == "every alert resolved and auto_resolve is on for pipeline"


async def test_decision_tree_events_notify_and_queue(store: SQLiteStore) -> None:
    clock = Clock(T0)
    rx = receiver(store, clock=clock)
    await rx.receive(parse_notification(am_payload(
        [am_alert(service="pipeline", severity="warning", fp="n1")], group="g-notify")))
    state = await store.get("INC-1")
    assert state.alert_route and state.alert_route.route == "notify"
    assert state.escalation_hold and state.escalation_hold.cause == "notify"
    cfg = demo_config()
    assert esc.due_escalations(cfg, state, T0 + timedelta(minutes=30)) == []
    assert esc.next_due_at(cfg, state) == T0 + timedelta(hours=2)
    clock.now = NIGHT
    await rx.receive(parse_notification(am_payload(
        [am_alert(service="search", severity="warning", fp="q1")], group="g-queue")))
    state = await store.get("INC-2")
    assert state.alert_route and state.alert_route.route == "queue"
    assert esc.next_due_at(cfg, state) == datetime(2026, 3, 5, 8, 0, tzinfo=NIGHT.tzinfo)
    texts = [e.data.get("text", "") for e in await store.events("INC-2")
             if e.kind == "alert_decision"]
    assert any("queued until the next business morning" in t for t in texts)


async def test_payloads_are_kept_bounded(store: SQLiteStore) -> None:
    cfg = config_with(alerts={"payload_bytes": 1024, "payloads_per_alert": 2})
    clock = Clock(T0)
    rx = receiver(store, cfg, clock=clock)
    for i in range(4):  # four different payloads for one alert (the same one is kept once)
        big = am_payload([am_alert(fp="big", note=f"{i}" + "x" * 3000)], group="g")
        await rx.receive(parse_notification(big), size=4000)
        clock.advance(seconds=30)
    views = alert_payloads(await store.events("INC-1"))
    assert [v.kept.split(" ")[0] for v in views] == ["truncated", "truncated", "dropped:",
                                                     "dropped:"]
    assert views[0].text.endswith("… (truncated)") and len(views[0].text) < 1100
    assert "repeat 2 of this alert" in views[2].kept
    assert views[0].mapping["service"] == "payments"
    assert any(line.startswith("severity: SEV-1") for line in views[0].mapping_lines())
    small = am_payload([am_alert(fp="small")], group="g2")
    await rx.receive(parse_notification(small))
    view = alert_payloads(await store.events("INC-2"))[0]
    assert view.kept == "full" and '"groupKey": "g2"' in view.text


async def test_storm_for_one_group_opens_one_incident_and_counts_everything(
        room: Any) -> None:
    """Three receivers (three connections, as three processes would have) race 60 posts for
    one group: one incident, every alert of every post recorded."""
    stores = [await room.open() for _ in range(3)]
    receivers = [receiver(s) for s in stores]
    posts = [am_payload([am_alert(fp=f"fp{i % 7}"), am_alert(fp=f"extra{i}")], group="storm")
             for i in range(60)]
    results = await asyncio.gather(*(receivers[i % 3].receive(parse_notification(p))
                                     for i, p in enumerate(posts)))
    assert sum(r.opened for r in results) == 1
    assert {r.incident_id for r in results} == {"INC-1"}
    summaries = await stores[0].summaries()
    assert [s.id for s in summaries] == ["INC-1"]
    events = await stores[0].events("INC-1")
    assert sum(e.kind == "alert_received" for e in events) == 60
    assert sum(e.kind == "alert_attached" for e in events) == 120
    state = await stores[0].get("INC-1")
    assert sum(a.count for a in state.alerts.values()) == 120
    assert len(state.alerts) == 67
    assert sum(e.kind == "communication_sent" for e in events) == 1
    assert fold(events).model_dump() == state.model_dump()  # the cached state is the fold


def _script(tmp_path: Path, name: str, body: str) -> list[str]:
    path = tmp_path / name
    path.write_text("import json, sys\nalert = json.loads(sys.stdin.readline())\n" + body)
    return [sys.executable, str(path)]


async def test_auto_remediation_fixed_in_the_window_closes_without_paging(
        store: SQLiteStore, tmp_path: Path) -> None:
    cmd = _script(tmp_path, "fix.py", "print('restarted', alert['labels']['instance'])\n")
    cfg = config_with(services={"payments": {"alerts": {"remediation": {
        "command": cmd, "window": "5m", "timeout": "20s"}}}})
    clock = Clock(T0)
    rx = receiver(store, cfg, clock=clock)
    alert = am_alert(fp="r1", instance="payments-api-1")
    await rx.receive(parse_notification(am_payload([alert], group="rem")))
    await rx.drain()
    events = await store.events("INC-1")
    done = next(e for e in events if e.kind == "remediation_finished")
    assert done.data["exit_code"] == 0 and "restarted payments-api-1" in done.data["output"]
    state = await store.get("INC-1")
    assert esc.due_escalations(cfg, state, T0 + timedelta(minutes=4)) == []
    clock.advance(minutes=3)
    alert["status"] = "resolved"
    await rx.receive(parse_notification(am_payload([alert], group="rem")))
    state = await store.get("INC-1")
    assert state.status == Status.RESOLVED and not state.escalations
    assert "auto-remediated" in (await store.events("INC-1"))[-1].data["reason"]
    # a second delivery of the same alert never runs the command twice
    assert sum(e.kind == "remediation_started" for e in await store.events("INC-1")) == 1


async def test_failed_remediation_pages_at_once(store: SQLiteStore, tmp_path: Path) -> None:
    cmd = _script(tmp_path, "fail.py", "print('no luck'); sys.exit(3)\n")
    cfg = config_with(services={"payments": {"alerts": {"remediation": {
        "command": cmd, "window": "10m"}}}})
    clock = Clock(T0)
    rx = receiver(store, cfg, clock=clock)
    await rx.receive(parse_notification(am_payload([am_alert(fp="f1")], group="fail")))
    await rx.drain()
    state = await store.get("INC-1")
    assert state.escalation_hold is None
    texts = [e.data.get("text", "") for e in await store.events("INC-1")
             if e.kind == "alert_decision"]
    assert any("did not fix it (exit 3): paging the on-call now" in t for t in texts)
    engine = Engine(store, cfg, deliver=False)
    assert [f.level for f in await engine.tick(T0 + timedelta(seconds=1))] == [1]


async def test_remediation_that_hangs_is_killed(store: SQLiteStore, tmp_path: Path) -> None:
    cmd = _script(tmp_path, "hang.py", "import time\nprint('working', flush=True)\n"
                                       "time.sleep(60)\n")
    cfg = config_with(services={"payments": {"alerts": {"remediation": {
        "command": cmd, "window": "10m", "timeout": "4s"}}}})
    rx = receiver(store, cfg)
    await rx.receive(parse_notification(am_payload([am_alert(fp="h1")], group="hang")))
    await rx.drain()
    done = next(e for e in await store.events("INC-1") if e.kind == "remediation_finished")
    assert done.data["timed_out"] is True and "working" in done.data["output"]
    assert (await store.get("INC-1")).escalation_hold is None
