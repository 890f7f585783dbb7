"""The public status page (issue 16): what it shows, the files, live /status/, subscribers.

The browser tests are in tests/test_statuspage_browser.py; these run without one.
"""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from warroom.domain.comms.messages import mark_sent, parse_template
from warroom.domain.config.model import Config, parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.domain.statuspage.page import HISTORY_DAYS, build_page
from warroom.statuspage import render
from warroom.statuspage.live import LiveStatusPage
from warroom.statuspage.site import read_page
from warroom.store.execute import execute
from warroom.store.sqlite import SQLiteStore

from .conftest import run_cli

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
SCHEMA = Path(__file__).parent / "data" / "statuspage_summary.schema.json"
EVIL = "Checkout <script>document.title='pwned'</script> <img src=x onerror=alert(1)>"
# What must never reach the public page: planted in the room by every test that uses `room`.
SECRETS = ("NOTE-SECRET-pool-exhausted", "INTERNAL-MSG-do-not-share", "DECISION-SECRET",
           "ACTION-SECRET", "FACT-SECRET", "zed-responder", "PAYLOAD-SECRET")

CONFIG = {
    "teams": {"payments": {"name": "Payments"}},
    "services": {
        "checkout": {"team": "payments", "description": "Paying for an order"},
        "search": {"description": "Finding products"},
        "ledger": {"team": "payments"},
    },
    "statuspage": {"name": "Acme Status"},
}


def config(**statuspage: Any) -> Config:
    data = json.loads(json.dumps(CONFIG))
    data["statuspage"].update(statuspage)
    return parse_config(data)


async def write(store: SQLiteStore, incident: str | None, decide: Any) -> str:
    result = await execute(store, incident, decide)
    return result.incident_id


async def plant(store: SQLiteStore, at: datetime) -> str:
    """An open SEV-1 on checkout, with one customer message among everything that is not."""
    inc = await write(store, None, lambda _: commands.declare(
        EVIL, Severity.SEV1, "alertmanager", at=at, service="checkout"))
    for decide in (
        lambda s: commands.add_note(s, SECRETS[0], "carol", at=at + timedelta(minutes=1)),
        lambda s: commands.assign_role(s, Role.INCIDENT_COMMANDER, SECRETS[5], "carol",
                                       at=at + timedelta(minutes=1)),
        lambda s: mark_sent(s, "update", "internal", "carol", text=SECRETS[1],
                            at=at + timedelta(minutes=2)),
        lambda s: commands.add_note(s, f"Decision: {SECRETS[2]}", "carol",
                                    at=at + timedelta(minutes=2)),
        lambda s: commands.add_note(s, f"Action: {SECRETS[3]}", "carol",
                                    at=at + timedelta(minutes=2)),
        lambda s: commands.record_fact(s, "impact", SECRETS[4], "carol",
                                       at=at + timedelta(minutes=2)),
        lambda s: commands.attach_alert(s, "alertmanager", SECRETS[6], "alertmanager",
                                        at=at + timedelta(minutes=2)),
        lambda s: mark_sent(s, "initial", "customers", "carol",
                            text="We are investigating failed <b>payments</b>.",
                            channel="status page", at=at + timedelta(minutes=3)),
    ):
        await write(store, inc, decide)
    return inc


@pytest.fixture
async def room(store: SQLiteStore) -> SQLiteStore:
    await plant(store, NOW - timedelta(minutes=30))
    return store


# ---- 1. what it shows -----------------------------------------------------------------------


async def test_only_what_was_sent_to_customers_is_on_the_page(room: SQLiteStore) -> None:
    page = await read_page(room, config(), NOW)
    files = render.site(page)
    assert set(files) == {"index.html", "summary.json", "incidents.json", "history.atom",
                          "incidents/inc-1.html"}
    everything = b"".join(files.values()).decode()
    for secret in SECRETS:
        assert secret not in everything, secret
    for who in ("carol", "alertmanager"):
        assert who not in everything  # no responder's name, no actor
    assert "failed &lt;b&gt;payments&lt;/b&gt;." in files["index.html"].decode()
    [inc] = page.active
    assert [(u.status_word, u.body) for u in inc.updates] == [
        ("Investigating", "We are investigating failed <b>payments</b>.")]


async def test_components_follow_the_published_incidents_by_severity_and_status(
        room: SQLiteStore) -> None:
    page = await read_page(room, config(), NOW)
    states = {c.id: c.status for c in page.components}
    assert states == {"checkout": "major_outage", "search": "operational",
                      "ledger": "operational"}
    assert [(g.id, g.name, g.components, g.status) for g in page.groups] == [
        ("team-payments", "Payments", ("checkout", "ledger"), "major_outage")]
    assert (page.indicator, page.description) == ("critical", "Major System Outage")
    # Monitoring caps it at the "Monitoring" state; SEV-2 maps to partial outage.
    await write(room, "INC-1", lambda s: commands.change_status(s, Status.MONITORING, "carol",
                                                                at=NOW - timedelta(minutes=5)))
    page = await read_page(room, config(), NOW)
    assert page.components[0].status == "degraded_performance"
    # The mapping is configurable.
    page = await read_page(room, config(states={"Monitoring": "partial_outage"}), NOW)
    assert page.components[0].status == "partial_outage"
    page = await read_page(room, config(group_by_team=False), NOW)
    assert page.groups == () and page.components[0].group_id is None


async def test_nothing_about_an_incident_shows_before_customers_are_told(
        store: SQLiteStore) -> None:
    await write(store, None, lambda _: commands.declare(
        "Search slow", Severity.SEV2, "bob", at=NOW - timedelta(minutes=5), service="search"))
    await write(store, "INC-1", lambda s: mark_sent(s, "initial", "internal", "bob",
                                                    text="internal only"))
    page = await read_page(store, config(), NOW)
    assert page.active == () and page.indicator == "none"
    assert {c.status for c in page.components} == {"operational"}
    assert "Search slow" not in render.index_html(page)


async def test_resolving_without_a_message_shows_resolved_and_when(room: SQLiteStore) -> None:
    at = NOW - timedelta(minutes=2)
    await write(room, "INC-1", lambda s: commands.change_status(s, Status.RESOLVED, "carol",
                                                                at=at))
    page = await read_page(room, config(), NOW)
    assert page.active == ()
    [inc] = page.history
    assert (inc.status, inc.resolved_at) == ("resolved", at)
    assert (inc.updates[0].status_word, inc.updates[0].at) == ("Resolved", at)
    assert "This incident has been resolved." in render.index_html(page)
    assert page.components[0].status == "operational"


async def test_messages_in_order_with_their_status_word_and_corrections(
        room: SQLiteStore) -> None:
    await write(room, "INC-1", lambda s: commands.change_status(
        s, Status.IDENTIFIED, "carol", at=NOW - timedelta(minutes=20)))
    await write(room, "INC-1", lambda s: mark_sent(s, "update", "customers", "carol",
                                                   text="Found it: a bad deploy.",
                                                   at=NOW - timedelta(minutes=19)))
    events = await room.events("INC-1")
    typo = events[-1].event_id
    await write(room, "INC-1", lambda s: commands.amend(s, typo, "carol",
                                                       text="Found it: a bad configuration."))
    page = await read_page(room, config(), NOW)
    [inc] = page.active
    assert [(u.status_word, u.body[:20]) for u in inc.updates] == [
        ("Identified", "Found it: a bad conf"), ("Investigating", "We are investigating")]
    assert "a bad deploy" not in render.index_html(page)


async def test_ninety_days_of_history_and_daily_bars(store: SQLiteStore) -> None:
    for days_ago, sev in ((10, Severity.SEV2), (100, Severity.SEV1)):
        start = NOW - timedelta(days=days_ago)
        inc = await write(store, None, lambda _, s=sev, t=start: commands.declare(
            "Ledger late", s, "bob", at=t, service="ledger"))
        await write(store, inc, lambda s, t=start: mark_sent(
            s, "initial", "customers", "bob", text="Ledger is late.", at=t))
        await write(store, inc, lambda s, t=start: commands.change_status(
            s, Status.RESOLVED, "bob", at=t + timedelta(hours=1)))
    page = await read_page(store, config(), NOW)
    assert [i.id for i in page.history] == ["inc-1"]  # the one 100 days ago is gone
    bars = page.bars["ledger"]
    assert len(bars) == HISTORY_DAYS and bars[-1].day == NOW.date()
    bad = [b for b in bars if b.status != "operational"]
    assert [(b.day, b.status, b.incidents) for b in bad] == [
        ((NOW - timedelta(days=10)).date(), "partial_outage", ("inc-1",))]
    assert all(b.status == "operational" for b in page.bars["search"])


# ---- 2. the files -----------------------------------------------------------------------------


def check_schema(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The part of JSON Schema the shape file uses: type, enum, required, properties, items,
    format date-time."""
    problems: list[str] = []
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool,
             "null": type(None)}
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    if "type" in schema:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(isinstance(value, types[t]) and not (t == "integer" and isinstance(
                value, bool)) for t in wanted):
            return [f"{where}: expected {wanted}, got {type(value).__name__}"]
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{where}: not a date-time: {value!r}")
    if isinstance(value, dict):
        problems += [f"{where}: missing {k}" for k in schema.get("required", [])
                     if k not in value]
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                problems += check_schema(value[k], sub, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += check_schema(item, schema["items"], f"{where}[{i}]")
    return problems


async def test_summary_json_validates_against_the_documented_shape(room: SQLiteStore) -> None:
    schema = json.loads(SCHEMA.read_text())
    page = await read_page(room, config(url="https://status.example.com"), NOW)
    data = json.loads(render.site(page)["summary.json"])
    assert check_schema(data, schema) == []
    assert check_schema({"page": {}, "status": {"indicator": "bad"}}, schema)  # it checks
    assert data["status"] == {"indicator": "critical", "description": "Major System Outage"}
    [inc] = data["incidents"]
    assert inc["name"] == EVIL  # JSON is data: a client escapes it where it shows it
    assert inc["shortlink"] == "https://status.example.com/incidents/inc-1.html"
    assert [u["status"] for u in inc["incident_updates"]] == ["investigating"]
    assert {c["id"]: c["status"] for c in data["components"]}["checkout"] == "major_outage"
    incidents = json.loads(render.site(page)["incidents.json"])
    assert [i["id"] for i in incidents["incidents"]] == ["inc-1"]
    # The docs show the same keys.
    docs = (Path(__file__).parent.parent / "docs" / "statuspage.md").read_text()
    for key in ("indicator", "incident_updates", "shortlink", "scheduled_maintenances",
                "degraded_performance"):
        assert key in docs


async def test_the_atom_feed_is_well_formed_and_escaped(room: SQLiteStore) -> None:
    await write(room, "INC-1", lambda s: mark_sent(s, "update", "customers", "carol",
                                                   text="ctrl \x01 chars & <tags>"))
    page = await read_page(room, config(), NOW)
    feed = render.site(page)["history.atom"].decode()
    root = ET.fromstring(feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 2
    assert entries[0].findtext("a:content", namespaces=ns) == "ctrl  chars & <tags>"
    assert entries[0].findtext("a:title", namespaces=ns) == f"{EVIL}: Investigating"
    assert "<script>" not in feed  # escaped in the XML text


async def test_html_escapes_every_text_and_carries_no_script(room: SQLiteStore) -> None:
    page = await read_page(room, config(name="<i>Acme</i> & co"), NOW)
    for path, data in render.site(page).items():
        if not path.endswith(".html"):
            continue
        html = data.decode()
        assert "<script" not in html and "onerror=alert" not in html.replace(
            "&lt;img src=x onerror=alert(1)&gt;", "")
        assert "&lt;i&gt;Acme&lt;/i&gt; &amp; co" in html
        assert 'name="viewport"' in html and "prefers-color-scheme" in html
        assert "<main>" in html and "<img" not in html  # logo-free by default


def test_statuspage_build_writes_the_static_site(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    (tmp_path / "warroom.toml").write_text(
        '[services.checkout]\ndescription = "Paying"\n[statuspage]\nname = "Acme"\n')
    assert run_cli(db, "declare", "--title", EVIL, "--severity", "SEV-2", "--service",
                   "checkout").code == 0
    assert run_cli(db, "note", "INC-1", SECRETS[0]).code == 0
    sent = run_cli(db, "comms", "INC-1", "--template", "update", "--send", "--audience",
                   "status page", "--text-file", "-", input="Payments are slow.\n")
    assert sent.code == 0, sent.err
    out = tmp_path / "site"
    r = run_cli(db, "statuspage", "build", "--out", str(out), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["active"] == 1
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == ["history.atom", "incidents.json", "incidents/inc-1.html", "index.html",
                     "summary.json"]
    index = (out / "index.html").read_text()
    assert "Payments are slow." in index and "Partial outage" in index
    assert SECRETS[0] not in "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert run_cli(db, "statuspage", "build").code == 2  # --out is required


# ---- 3. when it changes: auto_publish ---------------------------------------------------------


def test_auto_publish_sends_the_initial_message_to_customers_for_sev1_and_sev2() -> None:
    from tests.conftest import Recorder
    from warroom.domain.alerts.automation import initial_status_events

    template = parse_template("initial", "Investigating $title")
    for sev, on, published in ((Severity.SEV1, True, True), (Severity.SEV2, True, True),
                               (Severity.SEV3, True, False), (Severity.SEV1, False, False)):
        rec = Recorder()
        state = rec.commit(commands.declare("Checkout down", sev, "alerts",
                                            service="checkout"))
        cfg = config(auto_publish=on)
        state = rec.commit(initial_status_events(cfg, state, rec.events, template, rec.now))
        audiences = [c.audience for c in state.communications]
        assert audiences == (["internal", "customers"] if published else ["internal"]), sev
        page = build_page([(state, rec.events)], cfg, rec.now)
        assert len(page.active) == (1 if published else 0)
        if published:
            assert page.active[0].updates[0].body == "Investigating Checkout down"
        # Once: a second call adds nothing.
        assert initial_status_events(cfg, state, rec.events, template, rec.now) == []


def test_a_subscribers_credentials_are_secrets() -> None:
    from warroom.domain.config.secrets import config_secrets

    cfg = config(subscribers={"bot": {"webhook": "https://h.example.com/x?key=url-secret-1",
                                      "headers": {"Authorization": "Bearer hdr-secret-2"}}})
    assert {"url-secret-1", "Bearer hdr-secret-2"} <= set(config_secrets(cfg))


def test_auto_publish_is_off_by_default() -> None:
    assert Config().statuspage.auto_publish is False
    assert Config().statuspage.subscribers == {}


# ---- 2/3. live at /status/ ---------------------------------------------------------------------


@pytest.fixture
async def live(room: SQLiteStore) -> AsyncIterator[tuple[TestClient, LiveStatusPage]]:
    sp = LiveStatusPage(room, config(), debounce=0.01)
    app = web.Application()
    sp.mount(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    await sp.start()
    try:
        yield client, sp
    finally:
        await sp.close()
        await client.close()


async def until(condition: Any, limit: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "never happened"
        await asyncio.sleep(0.01)


async def test_status_is_public_with_etag_last_modified_and_304(
        live: tuple[TestClient, LiveStatusPage]) -> None:
    client, _ = live
    r = await client.get("/status", allow_redirects=False)
    assert r.status == 308 and r.headers["Location"] == "/status/"
    r = await client.get("/status/")
    assert r.status == 200 and r.content_type == "text/html"
    assert "We are investigating" in await r.text()
    tag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none'
    r = await client.get("/status/", headers={"If-None-Match": tag})
    assert r.status == 304
    r = await client.get("/status/", headers={"If-Modified-Since": modified})
    assert r.status == 304
    for path, kind in (("summary.json", "application/json"),
                       ("incidents.json", "application/json"),
                       ("history.atom", "application/atom+xml"),
                       ("incidents/inc-1.html", "text/html")):
        r = await client.get(f"/status/{path}")
        assert (r.status, r.content_type) == (200, kind), path
    for bad in ("/status/nope.html", "/status/../x", "/status/incidents/inc-9.html"):
        assert (await client.get(bad)).status == 404, bad


async def test_a_customer_message_changes_the_page_at_once(
        live: tuple[TestClient, LiveStatusPage], room: SQLiteStore) -> None:
    client, sp = live
    r = await client.get("/status/")
    tag = r.headers["ETag"]
    builds = sp.builds
    # A note is no news to customers: no rebuild.
    await write(room, "INC-1", lambda s: commands.add_note(s, "more internal", "carol"))
    await write(room, "INC-1", lambda s: mark_sent(s, "update", "customers", "carol",
                                                   text="A fix is rolling out."))
    await until(lambda: b"A fix is rolling out." in sp.files["index.html"])
    assert sp.builds == builds + 1
    r = await client.get("/status/", headers={"If-None-Match": tag})
    assert r.status == 200 and r.headers["ETag"] != tag
    assert "more internal" not in await r.text()


async def test_the_alert_token_is_not_needed_and_the_alert_endpoints_are_untouched(
        tmp_path: Path) -> None:
    from warroom.ingest.receiver import AlertReceiver
    from warroom.serve.http import build_app

    store = await SQLiteStore.open(tmp_path / "r.db")
    try:
        receiver = AlertReceiver(store, config())
        app = build_app(receiver, "alert-token-0123456789", max_body=4096)
        sp = LiveStatusPage(store, config())
        sp.mount(app)
        client = TestClient(TestServer(app))
        await client.start_server()
        await sp.start()
        try:
            assert (await client.get("/status/")).status == 200
            assert (await client.post("/alertmanager", json={})).status == 401
        finally:
            await sp.close()
            await client.close()
            await receiver.close()
    finally:
        await store.close()


# ---- 4. subscribers -----------------------------------------------------------------------------


async def test_subscribers_get_each_update_once_retried_and_recorded(
        room: SQLiteStore) -> None:
    got: list[dict[str, Any]] = []
    fails = {"n": 1}

    async def hook(request: web.Request) -> web.Response:
        if fails["n"] > 0:
            fails["n"] -= 1
            return web.Response(status=503)
        got.append({"body": await request.json(), "auth": request.headers.get("X-Token")})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app)
    await server.start_server()
    cfg = config(subscribers={"acme-bot": {"webhook": str(server.make_url("/hook")),
                                           "headers": {"X-Token": "sub-secret"}}})
    cfg.notifier.backoff = timedelta(milliseconds=10)
    clock = [NOW]
    pages = [LiveStatusPage(room, cfg, debounce=0.01, clock=lambda: clock[0])
             for _ in range(2)]  # two servers on one room: one delivery
    try:
        for sp in pages:
            await sp.start()
        for sp in pages:
            await sp.drain()
        assert len(got) == 1
        body = got[0]["body"]
        assert body["incident_update"]["body"] == "We are investigating failed <b>payments</b>."
        assert body["incident"]["id"] == "inc-1" and got[0]["auth"] == "sub-secret"
        events = [e for e in await room.events("INC-1") if e.kind == "statuspage_notified"]
        assert [(e.data["outcome"], e.data.get("attempt", 1)) for e in events] == [
            ("claimed", 1), ("failed", 1), ("delivered", 2)]
        assert "sub-secret" not in json.dumps([e.data for e in events])
        # The next customer message goes out too; a note does not.
        await write(room, "INC-1", lambda s: mark_sent(s, "update", "customers", "carol",
                                                       text="Fixed soon."))
        await until(lambda: len(got) == 2)
        assert got[1]["body"]["incident_update"]["body"] == "Fixed soon."
    finally:
        for sp in pages:
            await sp.close()
        await server.close()


async def test_a_dead_subscriber_blocks_nothing(room: SQLiteStore) -> None:
    cfg = config(subscribers={"gone": {"webhook": "http://127.0.0.1:9/hook"}})
    cfg.notifier.backoff = timedelta(milliseconds=10)
    cfg.notifier.attempts = 2
    sp = LiveStatusPage(room, cfg, debounce=0.01, clock=lambda: NOW)
    try:
        await sp.start()  # returns at once: deliveries run in the background
        assert b"We are investigating" in sp.files["index.html"]
        await sp.drain()
        events = [e for e in await room.events("INC-1") if e.kind == "statuspage_notified"]
        assert [e.data["outcome"] for e in events] == ["claimed", "failed", "failed"]
        assert events[-1].data.get("retry_at") is None  # given up, and said so
        assert re.search(r"cannot connect|ClientConnector|refused", events[-1].data["detail"])
    finally:
        await sp.close()


# ---- 3. the dashboard's comms dialog: what the page says now, and whether an update is due -----


@pytest.fixture
def tui_room(tmp_path: Path) -> Path:
    from .tui_support import seeded_db

    return seeded_db(tmp_path / "tui.db")


async def test_the_comms_dialog_shows_what_the_page_says_and_when_an_update_is_due(
        tui_room: Path) -> None:
    from warroom.tui.screens import ChoiceScreen

    from .tui_support import NOW as TUI_NOW
    from .tui_support import make_app, settle

    app = make_app(tui_room)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("c")
        assert isinstance(app.screen, ChoiceScreen)
        hint = app.screen.hint.plain
        assert "Status page now: nothing published about this incident" in hint
        assert "Next public update: due in 16m" in hint  # a SEV-1 14 minutes in, nothing sent
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        await app.store.append("INC-1", mark_sent(
            app.dashboard.state, "initial", "customers", "carol",
            text="[red]We are[/] looking into failed payments.\nMore soon.",
            at=TUI_NOW - timedelta(minutes=1)))
        await settle(pilot, lambda: len(app.dashboard.state.communications) == 1)
        await pilot.press("c")
        assert isinstance(app.screen, ChoiceScreen)
        hint = app.screen.hint.plain
        assert ("Status page now: Investigating · 14:45Z · [red]We are[/] looking into "
                "failed payments.") in hint  # literal: never read as markup
        assert "Next public update: due in" in hint


def test_the_comms_dialog_says_when_the_public_update_is_overdue(rec: Any) -> None:
    from warroom.domain.statuspage.page import latest_update
    from warroom.tui.prompts import comms_choices

    state = rec.commit(mark_sent(rec.state, "initial", "customers", "carol", text="On it."))
    later = rec.now + timedelta(hours=2)
    _, plan = comms_choices(state, later, latest_update(state, rec.events))
    assert "Status page now: Investigating · 14:32Z · On it." in plan.plain
    assert "Next public update: OVERDUE" in plan.plain
    resolved = rec.commit(commands.change_status(state, Status.RESOLVED, "carol"))
    _, plan = comms_choices(resolved, later, latest_update(resolved, rec.events))
    assert "Status page now: Resolved · 14:32Z · This incident has been resolved." in plan.plain
    assert "Next public update: none due" in plan.plain


async def test_the_page_is_the_same_bytes_while_nothing_changes(store: SQLiteStore) -> None:
    first = render.site(await read_page(store, config(), NOW))
    again = render.site(await read_page(store, config(), NOW + timedelta(minutes=7)))
    assert first == again  # an empty room: no clock in the page, the ETag holds
    await plant(store, NOW - timedelta(minutes=30))
    first = render.site(await read_page(store, config(), NOW))
    again = render.site(await read_page(store, config(), NOW + timedelta(minutes=7)))
    assert first == again


async def test_an_alert_opening_a_sev1_publishes_its_initial_message_when_configured(
        store: SQLiteStore) -> None:
    from warroom.domain.alerts.formats import parse_notification
    from warroom.ingest.receiver import AlertReceiver

    from .alert_support import T0, sample
    from .escalation_support import demo_config

    cfg = demo_config().model_copy(deep=True)
    cfg.statuspage.auto_publish = True
    rx = AlertReceiver(store, cfg, clock=lambda: T0)
    try:
        r = await rx.receive(parse_notification(sample("alertmanager_firing.json")), size=2000)
    finally:
        await rx.close()
    state = await store.get(r.incident_id or "")
    assert state.severity == Severity.SEV1
    assert [(c.audience, c.channel) for c in state.communications] == [
        ("internal", "warroom"), ("customers", "status page")]
    assert "first_update" in state.checklist  # the customers' first update, ticked
    page = await read_page(store, cfg, T0)
    [inc] = page.active
    assert "Reference: INC-1" in inc.updates[0].body
