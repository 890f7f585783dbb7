"""The engine on a real store, paging real receivers on loopback."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from warroom.domain.config.model import Config
from warroom.domain.incident import commands
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.fold import fold
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.severity import Severity
from warroom.domain.oncall.escalation import escalation_event_id, escalation_view_for
from warroom.domain.oncall.paging import page_alert
from warroom.escalation.engine import Engine, system_clock
from warroom.store.sqlite import SQLiteStore

from .conftest import run_cli
from .escalation_support import SAMPLE, T0, config_with

M = timedelta(minutes=1)


async def run_once(store, cfg: Config, *times: datetime) -> None:  # type: ignore[no-untyped-def]
    """One engine ticks at each time, then finishes its deliveries and closes."""
    engine = Engine(store, cfg)
    try:
        for t in times:
            await engine.tick(t)
        await engine.drain()
    finally:
        await engine.close()
FAST = {"backoff": "10ms", "backoff_max": "40ms", "attempts": 3, "timeout": "5s"}


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records every page, optionally failing."""

    def __init__(self) -> None:
        self.pages: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.fail_first = 0
        self.always_fail = False
        self.on_request: Any = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.pages.append((request.path, dict(request.headers), body))
        if self.on_request is not None:
            await self.on_request(body)
        if self.always_fail or len(self.pages) <= self.fail_first:
            return web.Response(status=503, text="pager gateway down")
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rcv = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", rcv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rcv.url = f"http://{host}:{port}"
    try:
        yield rcv
    finally:
        await runner.cleanup()


def paging_config(url: str, **notifier: Any) -> Config:
    return config_with(
        people={"alice": {"webhook": f"{url}/alice"}, "bob": {"webhook": f"{url}/bob"}},
        escalation_policies={"default": {
            "notify": {"webhook": f"{url}/policy", "headers": {"Authorization": "Bearer t"}},
            "levels": [{"after": "0s", "targets": ["primary"]},
                       {"after": "5m", "targets": ["secondary", "team_lead"]}]}},
        notifier={**FAST, **notifier},
    )


async def declare(store: SQLiteStore, at: datetime = T0, service: str = "checkout") -> str:
    result = await store.append(None, commands.declare(
        "Checkout 500s", Severity.SEV1, "alice", at=at, service=service))
    return result.incident_id


async def kinds(store: SQLiteStore, incident: str) -> list[str]:
    return [e.kind for e in await store.events(incident)]


async def test_levels_fire_once_and_each_page_reaches_its_receiver(store, receiver) -> None:  # type: ignore[no-untyped-def]
    inc = await declare(store)
    engine = Engine(store, paging_config(receiver.url), clock=lambda: T0)
    try:
        (fired,) = await engine.tick(T0)
        assert (fired.incident_id, fired.level, fired.targets) == (inc, 1, ["alice"])
        assert fired.event.event_id == escalation_event_id(inc, 0, 1)
        assert await engine.tick(T0 + M) == []  # nothing new is due
        await engine.drain()
        assert sorted(p for p, _, _ in receiver.pages) == ["/alice", "/policy"]
        (fired2,) = await engine.tick(T0 + 5 * M)
        assert fired2.targets == ["bob", "grace"]
        await engine.drain()
    finally:
        await engine.close()
    paths = sorted(p for p, _, _ in receiver.pages)
    assert paths == ["/alice", "/bob", "/policy", "/policy"]  # grace has no channel
    alice = next(b for p, _, b in receiver.pages if p == "/alice")
    assert alice["incident"]["id"] == inc and alice["level"] == 1 and alice["attempt"] == 1
    assert alice["to"] == {"handle": "alice", "name": "Alice Archer", "as": "primary (sre)"}
    assert alice["runbook"] == "runbooks/checkout.md" and alice["incident"]["critical"] is True
    policy_page = [(h, b) for p, h, b in receiver.pages if p == "/policy"][1]
    assert policy_page[0]["Authorization"] == "Bearer t"
    assert policy_page[1]["to"] is None and [x["handle"] for x in policy_page[1]["paged"]] == [
        "bob", "grace"]
    assert len({h["Idempotency-Key"] for _, h, _ in receiver.pages}) == 4
    state = await store.get(inc)
    assert [e.level for e in state.escalations] == [1, 2]
    delivered = [d for r in state.escalations for d in r.deliveries]
    assert sorted((d.recipient, d.outcome) for d in delivered) == [
        ("alice", "delivered"), ("bob", "delivered"), ("policy:default", "delivered"),
        ("policy:default", "delivered")]
    view = escalation_view_for(paging_config(receiver.url), state, T0 + 6 * M)
    assert view.levels[0].paged[0].delivery == "delivered via webhook"
    assert view.levels[1].paged[1].delivery == "in the room only (no channel configured)"


async def test_failing_receiver_is_retried_and_shows_on_the_timeline(store, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.fail_first = 2
    cfg = config_with(people={"alice": {"webhook": f"{receiver.url}/alice"}}, notifier=FAST)
    inc = await declare(store)
    await run_once(store, cfg, T0)
    assert [b["attempt"] for _, _, b in receiver.pages] == [1, 2, 3]
    events = await store.events(inc)
    pages = [e for e in events if e.kind.startswith("page_")]
    assert [(e.kind, e.data["attempt"]) for e in pages] == [
        ("page_failed", 1), ("page_failed", 2), ("page_delivered", 3)]
    assert pages[0].data["retry_at"] and "HTTP 503: pager gateway down" in pages[0].data["detail"]
    assert describe(pages[0]).startswith("page L1 to alice via webhook FAILED (attempt 1, "
                                         "retrying): HTTP 503")
    # the store's cached state is the fold of the events, delivery records included
    assert (await store.get(inc)).model_dump() == fold(events).model_dump()
    assert [d.outcome for d in fold(events).escalations[0].deliveries] == [
        "failed", "failed", "delivered"]


async def test_receiver_that_never_answers_gives_up_loudly(store, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.always_fail = True
    cfg = config_with(people={"alice": {"webhook": f"{receiver.url}/alice"}}, notifier=FAST)
    inc = await declare(store)
    await run_once(store, cfg, T0)
    events = await store.events(inc)
    failed = [e for e in events if e.kind == "page_failed"]
    assert [e.data["attempt"] for e in failed] == [1, 2, 3]
    assert "retry_at" not in failed[-1].data  # final
    alert = page_alert(failed[-1])
    assert alert is not None and alert.kind == "undeliverable"
    assert "GAVE UP" in describe(failed[-1])
    view = escalation_view_for(cfg, await store.get(inc), T0 + M)
    assert view.levels[0].paged[0].delivery == "webhook FAILED after 3 attempts"
    assert view.levels[0].paged[0].failed


async def test_unreachable_webhook_is_a_recorded_failure(store) -> None:  # type: ignore[no-untyped-def]
    cfg = config_with(people={"alice": {"webhook": "http://127.0.0.1:9/alice"}},
                      notifier={**FAST, "attempts": 1})
    inc = await declare(store)
    await run_once(store, cfg, T0)
    (failed,) = [e for e in await store.events(inc) if e.kind == "page_failed"]
    assert failed.data["detail"].startswith("cannot connect")


async def test_acknowledgement_stops_the_retries(store, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.always_fail = True
    cfg = config_with(people={"alice": {"webhook": f"{receiver.url}/alice"}},
                      notifier={**FAST, "attempts": 5})
    inc = await declare(store)

    async def ack_on_first(body: dict[str, Any]) -> None:
        if len(receiver.pages) == 1:
            state = await store.get(inc)
            await store.append(inc, commands.acknowledge(state, "alice"))

    receiver.on_request = ack_on_first
    await run_once(store, cfg, T0)
    assert len(receiver.pages) == 1
    pages = [e for e in await store.events(inc) if e.kind.startswith("page_")]
    assert [e.kind for e in pages] == ["page_failed", "page_cancelled"]
    assert pages[1].data["detail"] == "acknowledged by alice"


async def test_command_hook_receives_the_page_as_json(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import os, sys\n"
        "data = sys.stdin.read()\n"
        "open(sys.argv[1], 'a').write(os.environ['WARROOM_PAGE_TO'] + ' ' + data)\n"
    )
    out = tmp_path / "pages.txt"
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nsys.stdin.read()\nsys.stderr.write('boom')\nsys.exit(3)\n")
    cfg = config_with(people={"alice": {"command": [sys.executable, str(hook), str(out)]},
                              "grace": {"command": f"{sys.executable} {failing}"}},
                      notifier={**FAST, "attempts": 1})
    inc = await declare(store)
    await run_once(store, cfg, T0, T0 + 5 * M)
    to, _, payload = out.read_text().partition(" ")
    page = json.loads(payload)
    assert to == "alice" and page["type"] == "warroom.page" and page["level"] == 1
    assert page["incident"]["id"] == inc and page["acknowledge"] == f"warroom ack {inc}"
    events = await store.events(inc)
    (ok,) = [e for e in events if e.kind == "page_delivered"]
    assert (ok.data["to"], ok.data["channel"], ok.data["detail"]) == ("alice", "command", "exit 0")
    (bad,) = [e for e in events if e.kind == "page_failed"]
    assert bad.data["to"] == "grace" and bad.data["detail"].endswith("exit 3: boom")


async def test_command_hook_timeout_is_bounded(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(60)\n")
    cfg = config_with(people={"alice": {"command": [sys.executable, str(slow)]}},
                      notifier={**FAST, "attempts": 1, "timeout": "300ms"})
    inc = await declare(store)
    await run_once(store, cfg, T0)
    (bad,) = [e for e in await store.events(inc) if e.kind == "page_failed"]
    assert "timed out after 0.3s" in bad.data["detail"]


async def test_two_engines_race_and_one_wins(store, db_path, receiver) -> None:  # type: ignore[no-untyped-def]
    inc = await declare(store)
    other = await SQLiteStore.open(db_path, poll_interval=0.01)
    cfg = paging_config(receiver.url)
    a, b = Engine(store, cfg, actor="a"), Engine(other, cfg, actor="b")
    try:
        fired = await asyncio.gather(a.tick(T0), b.tick(T0))
        await asyncio.gather(a.drain(), b.drain())
    finally:
        await a.close()
        await b.close()
        await other.close()
    assert sum(len(f) for f in fired) == 1
    assert (await kinds(store, inc)).count("escalated") == 1
    assert sorted(p for p, _, _ in receiver.pages) == ["/alice", "/policy"]


async def test_stalled_page_is_taken_over_once(store, db_path, receiver) -> None:  # type: ignore[no-untyped-def]
    cfg = config_with(people={"alice": {"webhook": f"{receiver.url}/alice"}}, notifier=FAST)
    inc = await declare(store)
    # An engine recorded L1 and died before paging.
    await store.append(inc, [NewEvent.of(
        Escalated(level=1, targets=["alice"], policy="default"), "dead-engine", T0,
        escalation_event_id(inc, 0, 1))])
    other = await SQLiteStore.open(db_path, poll_interval=0.01)
    a, b = Engine(store, cfg, actor="a"), Engine(other, cfg, actor="b")
    try:
        await a.tick(T0 + M)
        assert receiver.pages == []  # not stalled yet (stall_after 2m)
        await asyncio.gather(a.tick(T0 + 2 * M + M), b.tick(T0 + 2 * M + M))
        await asyncio.gather(a.drain(), b.drain())
    finally:
        await a.close()
        await b.close()
        await other.close()
    assert len(receiver.pages) == 1
    ks = await kinds(store, inc)
    assert ks.count("page_claimed") == 1 and ks.count("page_delivered") == 1


async def test_escalate_now_from_a_screen_pages_the_next_level(store, receiver) -> None:  # type: ignore[no-untyped-def]
    inc = await declare(store)
    engine = Engine(store, paging_config(receiver.url))
    try:
        result = await engine.escalate_now(inc, "carol", T0 + M)
        await engine.drain()
    finally:
        await engine.close()
    (e,) = result.events
    assert (e.data["level"], e.data["reason"], e.actor) == (1, "manual", "carol")
    assert sorted(p for p, _, _ in receiver.pages) == ["/alice", "/policy"]


async def test_run_reacts_to_the_change_feed_and_to_due_levels(store, db_path) -> None:  # type: ignore[no-untyped-def]
    cfg = config_with(escalation_policies={"default": {"levels": [
        {"after": "0s", "targets": ["primary"]}, {"after": "1s", "targets": ["secondary"]}]}})
    engine_store = await SQLiteStore.open(db_path, poll_interval=0.01)
    engine = Engine(engine_store, cfg, clock=system_clock, max_sleep=5)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        now = datetime.now(UTC)
        inc = await declare(store, at=now)  # another connection: seen through the feed
        async with asyncio.timeout(60):
            async for batch in store.subscribe(0):
                if sum(1 for e in batch if e.kind == "escalated") and \
                        (await kinds(store, inc)).count("escalated") == 2:
                    break
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await engine_store.close()
    levels = [r.level for r in (await store.get(inc)).escalations]
    assert levels == [1, 2]


def test_engine_once_cli_records_at_the_given_time(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    base = ["--config", str(SAMPLE)]
    assert run_cli(db, "declare", "--title", "x", "--severity", "SEV-1", "--service", "auth",
                   "--at", "2026-03-04T14:32:15Z").code == 0
    r = run_cli(db, "engine", "--once", "--now", "2026-03-04T14:37:15Z", "--json", *base)
    assert r.code == 0, r.err
    (fired,) = r.json()["fired"]
    assert (fired["level"], fired["at"], fired["targets"]) == (1, "2026-03-04T14:37:15Z",
                                                                ["alice"])
    r = run_cli(db, "engine", "--once", "--now", "2026-03-04T14:42:15Z", *base)
    assert "INC-1 L2 fired (timeout): paged bob, grace" in r.out
    again = run_cli(db, "engine", "--once", "--now", "2026-03-04T14:42:15Z", *base)
    assert again.out.strip() == "nothing due"
    esc = run_cli(db, "escalate", "1", "--at", "2026-03-04T14:43:00Z", "--json", *base)
    assert esc.code == 0 and esc.json()["events"][0]["data"]["level"] == 3
    view = run_cli(db, "escalation", "1", "--now", "2026-03-04T14:44:00Z", "--json", *base)
    assert view.json()["next_level"] == 4 and view.json()["levels"][2]["reason"] == "manual"
    clocks = run_cli(db, "clocks", "1", "--now", "2026-03-04T14:44:00Z", *base)
    assert "OVERDUE 6m" in clocks.out  # acknowledge was due at 14:37:15
    assert run_cli(db, "engine", "--now", "2026-03-04T14:44:00Z", *base).code == 2
    for _ in range(2):
        run_cli(db, "escalate", "1", *base)
    top = run_cli(db, "escalate", "1", *base)
    assert top.code == 2 and "top of escalation policy" in top.err


async def test_escalate_now_refuses_a_stale_version(tmp_path: Path) -> None:
    from warroom.store import Conflict

    store = await SQLiteStore.open(tmp_path / "room.db")
    try:
        r = await store.append(None, commands.declare("t", Severity.SEV1, "alice"))
        seen = await store.get(r.incident_id)
        await store.append(r.incident_id, commands.add_note(seen, "moved on", "bob"))
        eng = Engine(store, config_with(), deliver=False)
        try:
            with pytest.raises(Conflict, match='note "moved on" by bob'):
                await eng.escalate_now(r.incident_id, "alice", expected_version=seen.version)
            result = await eng.escalate_now(r.incident_id, "alice",
                                            expected_version=seen.version + 1)
            assert result.events[0].data["level"] == 1
        finally:
            await eng.close()
    finally:
        await store.close()


async def test_no_deliver_holds_against_a_later_engine(store, db_path, receiver) -> None:  # type: ignore[no-untyped-def]
    """A level fired by `engine --no-deliver` (or `escalate --no-deliver`) is a drill: no other
    engine later "takes over" its pages and delivers them for real."""
    cfg = paging_config(receiver.url)
    inc = await declare(store)
    drill = Engine(store, cfg, actor="drill", deliver=False)
    try:
        (fired,) = await drill.tick(T0)
        assert fired.level == 1
        await drill.escalate_now(inc, "carol", T0 + M)  # escalate --no-deliver: L2
        await drill.drain()
    finally:
        await drill.close()
    assert "no page sent" in describe((await store.events(inc))[-1])
    other = await SQLiteStore.open(db_path, poll_interval=0.01)
    live = Engine(other, cfg, actor="live")
    try:
        await live.tick(T0 + 30 * M)
        await live.drain()
    finally:
        await live.close()
        await other.close()
    assert receiver.pages == []
    assert "page_claimed" not in await kinds(store, inc)


async def test_a_tick_brings_its_states_forward_by_the_new_events(store) -> None:  # type: ignore[no-untyped-def]
    """In a storm every tick finds incidents changed by a few events: the engine folds them
    onto the state it holds instead of reading each whole state again, and what it holds is
    what the store holds. An ack among them still stops the escalation."""
    inc = await declare(store)
    eng = Engine(store, config_with(), deliver=False)
    reads: list[str] = []
    real_get = store.get

    async def counting_get(incident_id: str):  # type: ignore[no-untyped-def]
        reads.append(incident_id)
        return await real_get(incident_id)

    try:
        await eng.tick(T0 + timedelta(seconds=1))  # level 0 fires
        store.get = counting_get
        for n in range(3):
            seen = await real_get(inc)
            await store.append(inc, commands.add_note(seen, f"note {n}", "bob"))
        seen = await real_get(inc)
        await store.append(inc, commands.acknowledge(seen, "bob"))
        await eng.tick(T0 + 6 * M)
        assert reads == []  # brought forward, not read whole
        held = eng._states[inc]
        assert held.model_dump() == (await real_get(inc)).model_dump()
        assert held.acknowledged_by == "bob"
        assert [e.kind for e in await store.events(inc)].count("escalated") == 1
    finally:
        del store.get
        await eng.close()
