"""A payload is kept once per distinct content (issue 13, item 8).

Posting the same 10,000-alert payload again used to write another 10,001 events and 4 MB: the
payload record and an `alert_attached` for every alert already firing. Now the repeat is one
small event that refers to the first, and the payload views count it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from warroom.domain.alerts.automation import alert_payloads
from warroom.domain.alerts.formats import parse_notification
from warroom.domain.incident.fold import fold
from warroom.ingest.receiver import AlertReceiver
from warroom.store.sqlite import SQLiteStore

from .alert_support import T0, am_alert, am_payload
from .conftest import cli_env, run_cli
from .escalation_support import demo_config
from .test_alert_receiver import Clock


def _storm(count: int) -> dict:  # type: ignore[type-arg]
    """Alertmanager's shape with the fewest bytes per alert, so 10,000 fit in the body limit."""
    alerts = [{"status": "firing", "labels": {"alertname": "Disk", "service": "payments",
                                              "i": str(i)}} for i in range(count)]
    return {"receiver": "warroom", "status": "firing", "alerts": alerts, "groupLabels": {},
            "commonLabels": {"alertname": "Disk"}, "commonAnnotations": {},
            "externalURL": "http://am", "version": "4", "groupKey": '{}:{alertname="Disk"}',
            "truncatedAlerts": 0}


def _size(db: Path) -> tuple[int, int]:
    """(events, bytes of the database file once the WAL is folded in)."""
    raw = sqlite3.connect(db, isolation_level=None)
    try:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (events,) = raw.execute("SELECT count(*) FROM events").fetchone()
        (pages,) = raw.execute("PRAGMA page_count").fetchone()
        (page,) = raw.execute("PRAGMA page_size").fetchone()
        return events, pages * page
    finally:
        raw.close()


async def test_the_same_10000_alert_payload_again_is_one_small_event(db_path: Path) -> None:
    body = json.dumps(_storm(10_000))
    assert len(body) < 1024 * 1024  # within alerts.max_body_bytes
    store = await SQLiteStore.open(db_path)
    clock = Clock(T0)
    rx = AlertReceiver(store, demo_config(), clock=clock)
    try:
        first = await rx.receive(parse_notification(json.loads(body)), size=len(body))
        assert first.opened
        events_1, bytes_1 = _size(db_path)
        assert events_1 > 10_000
        clock.advance(minutes=4)
        again = await rx.receive(parse_notification(json.loads(body)), size=len(body))
        assert again.incident_id == first.incident_id and again.recorded == 1
        events_2, bytes_2 = _size(db_path)
        assert events_2 == events_1 + 1
        assert bytes_2 - bytes_1 < 64 * 1024, f"{bytes_2 - bytes_1} bytes for a repeat"
        events = await store.events("INC-1")
        repeat = events[-1]
        assert repeat.kind == "alert_received" and repeat.data["same_as"]
        assert len(json.dumps(repeat.data)) < 2048
        assert repeat.data.get("payload") is None and not repeat.data.get("alerts")
        views = alert_payloads(events)
        assert len(views) == 1 and views[0].repeats == 2 and views[0].last_at == clock.now
        assert views[0].firing == 10_000
        assert "received 2 times" in views[0].received()
        state = await store.get("INC-1")
        assert len(state.firing_alerts) == 10_000
        assert fold(events).model_dump() == state.model_dump()  # the cached state is the fold
    finally:
        await rx.close()
        await store.close()


async def test_distinct_payloads_are_kept_and_an_older_one_is_recognised(
        store: SQLiteStore) -> None:
    from warroom.domain.alerts.automation import payload_hash

    clock = Clock(T0)
    rx = AlertReceiver(store, demo_config(), clock=clock)
    a = am_payload([am_alert(fp="a")], group="g")
    b = am_payload([am_alert(fp="a"), am_alert(fp="b")], group="g")
    for payload in (a, b, a, a):
        await rx.receive(parse_notification(payload))
        clock.advance(minutes=1)
    views = alert_payloads(await store.events("INC-1"))
    assert [(v.firing, v.repeats) for v in views] == [(1, 3), (2, 1)]
    # the key order or spacing of the JSON does not make it another payload
    assert payload_hash(json.loads(json.dumps(a, sort_keys=True))) == payload_hash(a)
    assert payload_hash(b) != payload_hash(a)


async def test_a_repeat_after_the_alerts_resolved_fires_them_again(store: SQLiteStore) -> None:
    clock = Clock(T0)
    rx = AlertReceiver(store, demo_config(), clock=clock)
    firing = am_payload([am_alert(fp="a")], group="g")
    resolved = am_payload([am_alert(fp="a", status="resolved")], group="g")
    for payload in (firing, resolved, firing):
        await rx.receive(parse_notification(payload))
        clock.advance(minutes=1)
    state = await store.get("INC-1")
    assert [a.firing for a in state.alerts.values()] == [True]
    events = await store.events("INC-1")
    assert [e.kind for e in events].count("alert_attached") == 2
    assert events[-2].kind == "alert_received" and events[-2].data["same_as"]


def test_payloads_command_shows_the_count(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    body = json.dumps(am_payload([am_alert()], group="g"))
    for _ in range(3):
        assert run_cli(db, "ingest", "-", input=body, env=cli_env(db)).code == 0
    r = run_cli(db, "payloads", "INC-1", "--json")
    assert r.code == 0, r.err
    (view,) = r.json()  # type: ignore[misc]
    assert view["repeats"] == 3 and view["last_at"]
    r = run_cli(db, "payloads", "INC-1")
    assert "received 3 times, last at" in r.out


async def test_the_dashboard_payload_view_shows_the_count(tmp_path: Path) -> None:
    from .tui_support import make_app, settle

    db = tmp_path / "room.db"
    store = await SQLiteStore.open(db)
    rx = AlertReceiver(store, demo_config(), clock=Clock(T0))
    for _ in range(2):
        await rx.receive(parse_notification(am_payload([am_alert()], group="g")))
    await rx.close()
    await store.close()
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("l")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "TextScreen")
        assert "received 2 times" in app.screen.body.plain  # type: ignore[attr-defined]
