"""Drills (issue 17, parts 1, 2, 3 and 6): drill rooms fed scenarios on the drill clock, pages
never delivered from a drill room, [DRILL] messages, replays of real incidents, the scorecard,
drill figures kept out of the record, `warroom demo --drill`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from warroom.domain.alerts.formats import parse_notification
from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.jsonable import to_json
from warroom.domain.drills.replay import replay_scenario
from warroom.domain.drills.scenario import (
    DrillClock,
    Scenario,
    format_offset,
    parse_offset,
    pinned_start,
)
from warroom.domain.drills.scorecard import incident_card, render_markdown
from warroom.domain.incident import commands
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.severity import Severity
from warroom.domain.oncall.escalation import escalation_view_for
from warroom.drills.files import find_scenario, list_scenarios, load_scenario
from warroom.drills.runner import DrillRunner, mark_drill_room
from warroom.escalation.engine import Engine
from warroom.ingest.receiver import AlertReceiver
from warroom.store.sqlite import SQLiteStore

from .conftest import REPO, cli_env, run_cli
from .escalation_support import config_with, demo_config

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # a Friday afternoon
M = timedelta(minutes=1)


def clock(start: datetime = START, speed: float = 600) -> DrillClock:
    return DrillClock(start=start, real_start=start, speed=speed)


async def play(path: Path, name: str, *, start: datetime = START, config: Any = None
               ) -> tuple[list[str], list[tuple[str, timedelta, str]]]:
    """Run a shipped scenario in a fresh drill room, the drill clock driven by the runner
    (no real waiting); what it played, and every event of its incidents as (kind, offset,
    description)."""
    scenario = load_scenario(find_scenario(name))
    store = await SQLiteStore.open(path, poll_interval=0.01)
    try:
        c = clock(start)
        await mark_drill_room(store, scenario, c)
        runner = DrillRunner(store, config or demo_config(), scenario, c, instant=True)
        result = await runner.run()
        events = [(e.kind, e.at - start, describe(e))
                  for i in result.incidents for e in await store.events(i)]
        return [p.line() for p in result.played], events
    finally:
        await store.close()


# ---- the scenario format --------------------------------------------------------------------


def test_offsets_read_and_write_both_ways() -> None:
    assert parse_offset("+3m30s") == timedelta(minutes=3, seconds=30)
    assert parse_offset("+0m") == timedelta(0)
    assert parse_offset("+1h") == timedelta(hours=1)
    assert parse_offset("45s") == timedelta(seconds=45)
    assert format_offset(timedelta(minutes=3, seconds=30)) == "+3m30s"
    assert format_offset(timedelta(0)) == "+0m"
    for bad in ("3 minutes", "+", "-5m", "+3s30m"):
        with pytest.raises(InvalidInput):
            parse_offset(bad)


def test_a_step_says_exactly_one_thing() -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        Scenario.from_mapping({"meta": {"name": "x"},
                               "steps": [{"at": "+1m", "fact": "a", "severity": "SEV-1"}]})
    with pytest.raises(InvalidInput, match=r"steps\.0"):
        Scenario.from_mapping({"meta": {"name": "x"}, "steps": [{"at": "+1m"}]})


def test_three_shipped_scenarios_modelled_on_the_seed() -> None:
    found = {f.name: f.scenario for f in list_scenarios()}
    assert {"payments-outage", "search-degraded-night", "alert-storm"} <= set(found)
    assert found["payments-outage"].meta.severity == "SEV-1"
    assert found["search-degraded-night"].meta.severity == "SEV-3"
    assert found["search-degraded-night"].meta.start == "23:10"
    assert all(s.meta.duration == 60 * M for s in found.values())
    # The list command shows them.
    r = run_cli(REPO / "unused.db", "drill", "list")
    assert r.code == 0, r.err
    assert "payments-outage" in r.out and "alert-storm" in r.out


def test_the_drill_clock_runs_n_times_real_time_and_a_pinned_start_is_last_night() -> None:
    c = DrillClock(start=START, real_start=START, speed=600)
    assert c.now(START + timedelta(seconds=6)) == START + 60 * M
    assert c.real_delay(START, START + 60 * M) == 6.0
    assert c.real_delay(START + 61 * M, START + 60 * M) == 0.0
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    at = pinned_start(START, "23:10", berlin)  # 15:00 in Berlin: yesterday 23:10
    assert at.astimezone(berlin).strftime("%d %H:%M") == "26 23:10"
    assert at <= START


# ---- drill rooms ------------------------------------------------------------------------------


async def test_a_drill_room_says_so_to_every_process_that_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "drill.db"
    writer = await SQLiteStore.open(path, poll_interval=0.01)
    try:
        assert not await writer.is_drill()
        await mark_drill_room(writer, load_scenario(find_scenario("payments-outage")), clock())
        spectator = await SQLiteStore.open(path, readonly=True, poll_interval=0.01)
        try:
            assert await spectator.is_drill()
            assert await spectator.room_mark("drill") == "payments-outage"
        finally:
            await spectator.close()
    finally:
        await writer.close()


async def test_a_real_room_never_becomes_a_drill(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "real.db", poll_interval=0.01)
    try:
        await store.append(None, commands.declare("Real outage", Severity.SEV2, "alice"))
        with pytest.raises(InvalidInput, match="not a drill room"):
            await mark_drill_room(store, load_scenario(find_scenario("payments-outage")),
                                  clock())
        assert not await store.is_drill()
    finally:
        await store.close()


class Pager:
    """A webhook receiver on loopback: in a drill it must receive nothing."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.pages.append(await request.json())
        return web.json_response({"ok": True})


@pytest.fixture
async def pager() -> AsyncIterator[Pager]:
    p = Pager()
    app = web.Application()
    app.router.add_post("/{name}", p.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    p.url = f"http://{host}:{port}"
    try:
        yield p
    finally:
        await runner.cleanup()


def paging_everyone(url: str) -> Any:
    return config_with(
        people={h: {"webhook": f"{url}/{h}"} for h in ("alice", "bob", "carol", "dave",
                                                       "grace", "heidi", "ivan")},
        escalation_policies={"default": {"notify": {"webhook": f"{url}/policy"}}},
        notifier={"backoff": "10ms", "backoff_max": "40ms", "attempts": 2, "timeout": "5s"})


async def _declare_and_tick(store: SQLiteStore, config: Any) -> str:
    result = await store.append(None, commands.declare(
        "Checkout 500s", Severity.SEV1, "alice", at=START, service="checkout"))
    engine = Engine(store, config, clock=lambda: START)  # as any dashboard's engine runs
    try:
        await engine.tick(START)
        await engine.drain()
    finally:
        await engine.close()
    return result.incident_id


async def test_a_drill_room_never_delivers_a_page_whatever_its_configuration(
        tmp_path: Path, pager: Pager) -> None:
    config = paging_everyone(pager.url)
    # The same configuration in a real room pages: the receiver is reachable.
    real = await SQLiteStore.open(tmp_path / "real.db", poll_interval=0.01)
    try:
        await _declare_and_tick(real, config)
    finally:
        await real.close()
    assert pager.pages, "the configuration does page in a real room"
    pager.pages.clear()

    drill = await SQLiteStore.open(tmp_path / "drill.db", poll_interval=0.01)
    try:
        await mark_drill_room(drill, load_scenario(find_scenario("payments-outage")), clock())
        incident = await _declare_and_tick(drill, config)
        lines = [describe(e) for e in await drill.events(incident)]
        view = escalation_view_for(config, await drill.get(incident), START)
    finally:
        await drill.close()
    assert pager.pages == []
    assert "webhook not sent (drill room)" in json.dumps(to_json(view))
    assert "drill: would page carol via webhook (L1)" in lines  # the on-call that week
    assert "drill: would page default policy channel via webhook (L1)" in lines


async def test_a_drill_scenario_pages_nobody_through_the_runner(tmp_path: Path,
                                                                pager: Pager) -> None:
    _, events = await play(tmp_path / "d.db", "payments-outage",
                                config=paging_everyone(pager.url))
    assert pager.pages == []
    withheld = [d for k, _, d in events if k == "page_withheld"]
    assert withheld and all(d.startswith("drill: would page") for d in withheld)


# ---- running a scenario ---------------------------------------------------------------------


async def test_sixty_minutes_of_payments_outage_in_seconds_twice_the_same(
        tmp_path: Path) -> None:
    first = await play(tmp_path / "one.db", "payments-outage")
    second = await play(tmp_path / "two.db", "payments-outage")
    assert first == second  # the same scenario events, in the same order, at the same times
    played, events = first
    assert played[0].split()[:3] == ["+0m", "INC-1", "alert:"]
    assert played[-1].endswith("drill clock reached the scenario's end")
    fired = [(off, d) for k, off, d in events if k == "escalated"]
    # The engine climbed on the drill clock: L1 at once, then every 5 minutes.
    assert [off for off, _ in fired] == [0 * M, 5 * M, 10 * M, 15 * M]
    facts = [(off, d) for k, off, d in events if k == "note"]
    assert (timedelta(minutes=3, seconds=30),
            "The payments DB connection pool is at 100% (200/200)") in facts
    # The second post of the same alert group attached to the same incident.
    assert sum(1 for k, _, _ in events if k == "alert_received") == 2
    # The generated message says [DRILL].
    sent = [d for k, _, d in events if k == "communication_sent"]
    assert sent


async def test_generated_messages_say_drill(tmp_path: Path) -> None:
    await play(tmp_path / "d.db", "payments-outage")
    store = await SQLiteStore.open(tmp_path / "d.db", poll_interval=0.01)
    try:
        texts = [e.data["text"] for e in await store.events("INC-1")
                 if e.kind == "communication_sent"]
    finally:
        await store.close()
    assert texts and all(t.startswith("[DRILL] ") for t in texts)
    preview = run_cli(tmp_path / "d.db", "comms", "INC-1", "--template", "update")
    assert preview.code == 0, preview.err
    assert preview.out.startswith("[DRILL] ")


async def test_search_at_night_is_queued_until_morning(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    start = pinned_start(START, "23:10", ZoneInfo("Europe/Berlin"))
    _, events = await play(tmp_path / "d.db", "search-degraded-night", start=start)
    held = [d for k, _, d in events if k == "escalation_held"]
    assert held and "business hours" in held[0], held
    assert not [k for k, _, _ in events if k == "escalated"]  # nobody woken in the hour


async def test_an_alert_storm_is_one_incident(tmp_path: Path) -> None:
    played, events = await play(tmp_path / "d.db", "alert-storm")
    incidents = {line.split()[1] for line in played if "alert:" in line}
    assert incidents == {"INC-1"}
    assert sum(1 for k, _, _ in events if k == "alert_received") == 40
    assert ("severity_changed", 12 * M) in [(k, off) for k, off, _ in events]


def test_drill_run_at_speed_3600_plays_an_hour_in_about_a_second(tmp_path: Path) -> None:
    db = tmp_path / "drill.db"
    r = run_cli(db, "drill", "run", "payments-outage", "--speed", "3600", "--db", str(db),
                "--config", str(REPO / "sample_data" / "warroom.toml"), "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert out["incidents"] == ["INC-1"]  # type: ignore[index]
    assert out["played"][-1]["what"] == "drill clock reached the scenario's end"  # type: ignore[index]


# ---- drills stay out of the record ------------------------------------------------------------


def test_metrics_on_a_drill_room_are_labelled_drill_figures(tmp_path: Path) -> None:
    db = tmp_path / "drill.db"
    cfg = str(REPO / "sample_data" / "warroom.toml")
    assert run_cli(db, "drill", "run", "alert-storm", "--instant", "--db", str(db),
                   "--config", cfg).code == 0
    text = run_cli(db, "metrics", "--db", str(db))
    assert text.code == 0, text.err
    assert text.out.startswith("DRILL FIGURES")
    js = run_cli(db, "metrics", "--db", str(db), "--json").json()
    assert js["drill"] is True and js["drill_scenario"] == "alert-storm"  # type: ignore[index]
    real = tmp_path / "real.db"
    assert run_cli(real, "declare", "--title", "Real", "--severity", "SEV-3").code == 0
    assert not run_cli(real, "metrics").out.startswith("DRILL")
    assert "drill" not in run_cli(real, "metrics", "--json").json()  # type: ignore[operator]


def test_a_drill_never_runs_in_the_team_room_by_default(tmp_path: Path) -> None:
    """Without --db a drill uses drill.db in the data directory, not $WARROOM_DB."""
    real = tmp_path / "real.db"
    env = cli_env(real) | {"XDG_DATA_HOME": str(tmp_path / "data")}
    r = run_cli(real, "drill", "run", "payments-outage", "--instant", env=env)
    assert r.code == 0, r.err
    assert not real.exists()
    assert (tmp_path / "data" / "warroom" / "drill.db").exists()


# ---- replay and scorecard ---------------------------------------------------------------------


async def _past_incident(path: Path) -> None:
    """A real room with one past incident: an alert, an ack, a severity change, a note, an
    update to customers, resolved."""
    store = await SQLiteStore.open(path, poll_interval=0.01)
    try:
        payload = json.loads((REPO / "sample_data" / "alerts" /
                              "alertmanager_firing.json").read_text())
        receiver = AlertReceiver(store, demo_config(), clock=lambda: START, remediate=False)
        r = await receiver.receive(parse_notification(payload), now=START)
        await receiver.drain()
        await receiver.close()
        inc = r.incident_id
        assert inc is not None

        async def do(f: Any) -> None:
            state = await store.get(inc)
            await store.append(inc, f(state), state.version)

        await do(lambda s: commands.acknowledge(s, "carol", START + 3 * M))
        await do(lambda s: commands.change_severity(s, Severity.SEV2, "carol", START + 4 * M,
                                                    reason="one region only"))
        await do(lambda s: commands.add_note(s, "rolled back the deploy", "carol",
                                             START + 9 * M))
        await do(lambda s: commands.record_communication(s, "update", "customers", "dave",
                                                         START + 12 * M, text="We are on it"))
    finally:
        await store.close()


async def test_a_replay_is_built_from_the_log_at_the_original_offsets(tmp_path: Path) -> None:
    await _past_incident(tmp_path / "real.db")
    store = await SQLiteStore.open(tmp_path / "real.db", readonly=True, poll_interval=0.01)
    try:
        state = await store.get("INC-1")
        events = await store.events("INC-1")
    finally:
        await store.close()
    one, two = replay_scenario(state, events), replay_scenario(state, events)
    assert one == two
    kinds = [(s.kind, s.at) for s in one.schedule()]
    assert kinds == [("alert", 0 * M), ("severity", 4 * M)]
    assert [o for o, _ in one.original] == [3 * M, 9 * M, 12 * M]
    assert "carol: acknowledged" in one.original[0][1]


def test_replay_twice_is_the_same_and_blind_hides_then_reveals(tmp_path: Path) -> None:
    import asyncio

    asyncio.run(_past_incident(tmp_path / "real.db"))
    cfg = str(REPO / "sample_data" / "warroom.toml")

    def replay(db: str, *extra: str) -> list[tuple[str, str]]:
        r = run_cli(tmp_path / db, "replay", "INC-1", "--from", str(tmp_path / "real.db"),
                    "--db", str(tmp_path / db), "--config", cfg, "--instant", "--json",
                    *extra)
        assert r.code == 0, r.err
        return [(p["offset"], p["what"]) for p in r.json()["played"]]  # type: ignore[index]

    seen = replay("a.db")
    assert seen == replay("b.db")  # deterministic
    assert any("(original) carol: acknowledged" in what for _, what in seen)
    blind = replay("c.db", "--blind")
    assert blind == replay("d.db", "--blind")
    assert not any("(original)" in what for _, what in blind)
    assert ("+4m", "severity -> SEV-2") in blind

    # A responder acknowledges in the drill; the scorecard puts the original's times beside.
    assert run_cli(tmp_path / "c.db", "ack", "INC-1", "--db", str(tmp_path / "c.db"),
                   user="erin").code == 0
    md = run_cli(tmp_path / "c.db", "drill", "score", "--db", str(tmp_path / "c.db"))
    assert md.code == 0, md.err
    assert "Replay of: INC-1" in md.out
    # Offsets are from detection (the clocks' anchor): the sample payload began long before,
    # so both rooms date detection max_detection_lag (15 minutes) before the alert.
    assert "(original: +18m)" in md.out
    assert "What the original responders did" in md.out
    assert "carol: acknowledged" in md.out
    js = run_cli(tmp_path / "c.db", "drill", "score", "--db", str(tmp_path / "c.db"),
                 "--format", "json").json()
    card = js["incidents"][0]  # type: ignore[index]
    assert js["replay_of"] == "INC-1"  # type: ignore[index]
    assert card["original_acknowledged"] == "+18m"
    ack = next(t for t in card["targets"] if t["key"] == "acknowledge")
    assert ack["original"] == "+18m" and ack["result"] in ("met", "late")


def test_drill_score_refuses_a_room_that_is_not_a_drill(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    assert run_cli(real, "declare", "--title", "Real", "--severity", "SEV-3").code == 0
    r = run_cli(real, "drill", "score", "--db", str(real))
    assert r.code == 2 and "not a drill room" in r.err


def test_the_scorecard_says_targets_cadence_roles_and_escalations() -> None:
    from .conftest import Recorder

    rec = Recorder(start=START)
    rec.commit(commands.declare("Checkout down", Severity.SEV1, "alice", at=START,
                                service="checkout"))
    rec.commit(commands.acknowledge(rec.state, "carol", START + 2 * M))
    rec.commit(commands.record_communication(rec.state, "update", "customers", "dave",
                                             START + 14 * M, text="x"))
    rec.commit(commands.record_escalation(rec.state, 1, ["carol"], "engine", START))
    card = incident_card(rec.state, START + 40 * M)
    ack = next(t for t in card.targets if t.key == "acknowledge")
    assert (ack.result, ack.done_at) == ("met", "+2m")
    assert card.cadence_kept is False and "26m" in card.cadence  # 14m .. 40m without one
    assert [(f.level, f.at) for f in card.escalations] == [(1, "+0m")]
    from warroom.domain.drills.scorecard import Scorecard

    md = render_markdown(Scorecard(True, "x", None, [card]))
    assert "| Acknowledge alert | < 5 min | met | +2m |" in md


# ---- the screens and the demo -----------------------------------------------------------------


async def test_every_screen_on_a_drill_room_shows_drill(tmp_path: Path) -> None:
    from .tui_support import make_app, settle

    real = tmp_path / "real.db"
    store = await SQLiteStore.open(real, poll_interval=0.01)
    try:
        await store.append(None, commands.declare("Real outage", Severity.SEV2, "alice"))
    finally:
        await store.close()
    drill = tmp_path / "drill.db"
    await play(drill, "payments-outage")
    for spectator in (False, True):  # a writing terminal and a spectator alike
        app = make_app(drill, spectator=spectator)
        async with app.run_test(size=(120, 40)) as pilot:
            header = app.screen.query_one("#header")
            await settle(pilot, lambda h=header: "DRILL" in str(h.render()))
            assert str(header.render()).startswith(" DRILL ")
        app = make_app(real, spectator=spectator)
        async with app.run_test(size=(120, 40)) as pilot:
            header = app.screen.query_one("#header")
            await settle(pilot, lambda h=header: "INC-1" in str(h.render()))
            await pilot.pause()
            assert "DRILL" not in str(header.render())


async def test_the_dashboards_message_preview_says_drill(tmp_path: Path) -> None:
    from warroom.tui.documents import MessageScreen
    from warroom.tui.screens import ChoiceScreen

    from .tui_support import make_app, settle

    drill = tmp_path / "drill.db"
    await play(drill, "payments-outage")
    app = make_app(drill)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        await pilot.press("c")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("1")
        await settle(pilot, lambda: isinstance(app.screen, MessageScreen))
        assert app.screen.text.startswith("[DRILL] ")


def test_demo_drill_builds_a_drill_room(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "drill.db"
    env = cli_env(tmp_path / "mine.db")
    r = run_cli(db, "demo", "--drill", "--path", str(db), "--build-only", "--json", env=env)
    assert r.code == 0, r.err
    assert r.json() == {"db": str(db), "drill": "payments-outage", "built": True}
    assert not (tmp_path / "demo" / "warroom.toml").exists()  # never a room's own config name
    m = run_cli(db, "metrics", "--db", str(db), env=env)
    assert m.out.startswith("DRILL FIGURES")
    assert not (tmp_path / "mine.db").exists()


async def test_the_drill_marker_on_every_backend(room: Any) -> None:
    """The marker lives in the room's own metadata: a PostgreSQL room's readers see it too,
    and a reader can never set it."""
    from warroom.store.errors import ReadOnly

    writer = await room.open()
    reader = await room.open(readonly=True)
    assert not await reader.is_drill()
    await writer.set_room_mark("drill", "payments-outage")
    assert await reader.is_drill()
    assert await reader.room_mark("drill") == "payments-outage"
    await writer.set_room_mark("drill", "alert-storm")  # a room reused by another drill
    assert await reader.room_mark("drill") == "alert-storm"
    with pytest.raises(ReadOnly):
        await reader.set_room_mark("drill", "x")


async def test_a_remote_spectator_knows_the_room_is_a_drill(tmp_path: Path) -> None:
    """Spectators through `warroom serve` see DRILL too: the snapshot carries the marker."""
    from warroom.store.remote import RemoteStore

    from .test_spectators import SUPPORT, running, spectators_toml

    async with running(tmp_path, spectators_toml({"support": SUPPORT})) as srv:
        remote = await RemoteStore.open(srv.url, SUPPORT)
        try:
            assert not await remote.is_drill()
        finally:
            await remote.close()
        await srv.store.set_room_mark("drill", "payments-outage")
        remote = await RemoteStore.open(srv.url, SUPPORT)
        try:
            assert await remote.is_drill()
            assert await remote.room_mark("drill") == "payments-outage"
        finally:
            await remote.close()


async def test_a_drill_rooms_status_page_tells_no_subscriber(store: SQLiteStore) -> None:
    """The status page's subscribers are deliveries too: a drill room's are withheld."""
    from aiohttp.test_utils import TestServer

    from warroom.statuspage.live import LiveStatusPage

    from .test_statuspage import NOW, config, plant

    got: list[object] = []

    async def hook(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=204)

    await plant(store, NOW - timedelta(minutes=30))
    await store.set_room_mark("drill", "payments-outage")
    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app)
    await server.start_server()
    cfg = config(subscribers={"acme-bot": {"webhook": str(server.make_url("/hook"))}})
    sp = LiveStatusPage(store, cfg, debounce=0.01, clock=lambda: NOW)
    try:
        await sp.start()
        await sp.drain()
        events = [e for e in await store.events("INC-1") if e.kind == "statuspage_notified"]
    finally:
        await sp.close()
        await server.close()
    assert got == []
    assert [e.data["outcome"] for e in events] == ["claimed", "withheld"]
    assert events[-1].data["detail"] == "drill: would notify acme-bot"


@pytest.mark.parametrize("drill", [False, True])
async def test_a_drill_room_runs_no_remediation(tmp_path: Path, drill: bool) -> None:
    """Auto-remediation acts on real systems: a drill's alert never runs it."""
    import sys

    ran = tmp_path / "ran"
    cfg = config_with(services={"payments": {"team": "payments", "critical": True, "alerts": {
        "remediation": {"command": [sys.executable, "-c", f"open({str(ran)!r}, 'w')"],
                        "window": "5m", "timeout": "30s"}}}})
    payload = json.loads((REPO / "sample_data" / "alerts" /
                          "alertmanager_firing.json").read_text())
    store = await SQLiteStore.open(tmp_path / "d.db", poll_interval=0.01)
    try:
        if drill:
            await store.set_room_mark("drill", "payments-outage")
        receiver = AlertReceiver(store, cfg, clock=lambda: START)
        await receiver.receive(parse_notification(payload), now=START)
        await receiver.drain()
        await receiver.close()
    finally:
        await store.close()
    assert ran.exists() is not drill


# ---- the team plays on the drill clock ------------------------------------------------------


async def test_the_team_acts_on_the_drill_clock(tmp_path: Path) -> None:
    """At --speed 60 the scenario and its escalation run on the drill clock; a responder's
    ack (no --at) and the dashboard's clocks must too, or the scorecard compares a drill
    minute with a real second."""
    from .tui_support import make_app, settle

    path = tmp_path / "drill.db"
    real_start = datetime.now(UTC)
    c = DrillClock(start=START, real_start=real_start, speed=60)
    store = await SQLiteStore.open(path, poll_interval=0.01)
    try:
        await mark_drill_room(store, load_scenario(find_scenario("payments-outage")), c)
        declared = await store.append(None, commands.declare(
            "card payments fail", Severity.SEV1, "scenario", at=START))
    finally:
        await store.close()
    env = cli_env(path, "bob")
    r = run_cli(path, "ack", declared.incident_id, env=env)
    assert r.code == 0, r.err
    app = make_app(path, clock=lambda: datetime.now(UTC))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        screen_now = app.session.now()
    check = await SQLiteStore.open(path, readonly=True)
    try:
        ack = (await check.events(declared.incident_id))[-1]
    finally:
        await check.close()
    assert ack.kind == "acknowledged"
    # Drill time: START plus a minute per real second, nowhere near today's clock.
    assert START <= ack.at < START + timedelta(hours=2), ack.at
    assert ack.recorded_at == ack.at
    assert START <= screen_now < START + timedelta(hours=2), screen_now
