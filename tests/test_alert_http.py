"""The HTTP receiver through aiohttp's test client: tokens, limits, errors, fuzzing, storms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.ingest.receiver import AlertReceiver
from warroom.serve.http import build_app, parse_listen
from warroom.store.sqlite import SQLiteStore

from .alert_support import T0, TOKEN, am_alert, am_payload, pd_event, sample
from .escalation_support import demo_config

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 64 * 1024


async def _client(store: SQLiteStore) -> TestClient:
    rx = AlertReceiver(store, demo_config(), clock=lambda: T0)
    client = TestClient(TestServer(build_app(rx, TOKEN, max_body=LIMIT)))
    await client.start_server()
    return client


@pytest.fixture
async def client(store: SQLiteStore) -> AsyncIterator[TestClient]:
    c = await _client(store)
    try:
        yield c
    finally:
        await c.close()


async def test_alertmanager_post_opens_and_repeats(client: TestClient,
                                                   store: SQLiteStore) -> None:
    body = sample("alertmanager_firing.json")
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert r.status == 200
    data = await r.json()
    assert data["status"] == "ok" and data["incident"] == "INC-1" and data["opened"] is True
    r = await client.post("/alertmanager", json=body, headers=AUTH)
    assert (await r.json())["opened"] is False
    r = await client.post("/alertmanager", json=sample("alertmanager_resolved.json"),
                          headers=AUTH)
    assert "every alert resolved" in (await r.json())["message"]
    assert (await store.get("INC-1")).alert_route.alerts_cleared_at is not None  # type: ignore[union-attr]


async def test_pagerduty_with_routing_key_as_token(client: TestClient,
                                                   store: SQLiteStore) -> None:
    r = await client.post("/v2/enqueue", json=pd_event())
    assert r.status == 202
    data = await r.json()
    assert data["status"] == "success" and data["dedup_key"] == "db-latency"
    r = await client.post("/v2/enqueue", json=pd_event("acknowledge"))
    assert r.status == 202
    r = await client.post("/v2/enqueue", json=pd_event("resolve"))
    assert r.status == 202
    state = await store.get("INC-1")
    assert state.acknowledged_by == "alerts" and not state.firing_alerts
    v1 = sample("pagerduty_v1_from_alertmanager.json")
    v1["service_key"] = TOKEN
    r = await client.post("/v2/enqueue", json=v1)
    assert r.status == 202 and (await r.json())["incident"] == "INC-2"
    # a bearer token works for PagerDuty events too, whatever the routing key says
    r = await client.post("/v2/enqueue", json=pd_event(dedup="other", routing_key="their-key"),
                          headers=AUTH)
    assert r.status == 202


@pytest.mark.parametrize(("path", "headers", "body"), [
    ("/alertmanager", {}, am_payload([am_alert()])),
    ("/alertmanager", {"Authorization": "Bearer nope"}, am_payload([am_alert()])),
    ("/alertmanager", {"Authorization": f"Basic {TOKEN}"}, am_payload([am_alert()])),
    ("/v2/enqueue", {}, pd_event(routing_key="wrong")),
    ("/v2/enqueue", {"Authorization": "Bearer nope"}, pd_event(routing_key="wrong")),
    ("/v2/enqueue", {}, {"service_key": "wrong", "event_type": "trigger",
                         "description": "x"}),
])
async def test_wrong_token_is_refused_and_writes_nothing(
        client: TestClient, store: SQLiteStore, path: str, headers: dict[str, str],
        body: Any) -> None:
    r = await client.post(path, json=body, headers=headers)
    assert r.status == 401
    data = await r.json()
    assert data["error"] == "unauthorized" and "token" in data["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert await store.last_seq() == 0


async def test_oversized_body_is_refused(client: TestClient, store: SQLiteStore) -> None:
    big = am_payload([am_alert(note="x" * (LIMIT + 10))])
    r = await client.post("/alertmanager", json=big, headers=AUTH)
    assert r.status == 413
    assert f"the limit is {LIMIT} bytes" in (await r.json())["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        blob = json.dumps(big).encode()
        for i in range(0, len(blob), 8192):
            yield blob[i:i + 8192]

    r = await client.post("/alertmanager", data=chunks(), headers=AUTH)
    assert r.status == 413 and "exceeds the limit" in (await r.json())["message"]
    assert await store.last_seq() == 0


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "malformed JSON at line 1 column 2"),
    (b"[]", "body: expected an object, got a list"),
    (json.dumps({"version": "4", "status": "firing", "alerts": []}).encode(),
     "groupKey: missing (required)"),
    (json.dumps(am_payload([{"status": "firing"}])).encode(),
     "alerts[0].labels: missing (required)"),
])
async def test_bad_alertmanager_bodies_are_400_with_the_reason(
        client: TestClient, store: SQLiteStore, body: bytes, message: str) -> None:
    r = await client.post("/alertmanager", data=body, headers=AUTH)
    assert r.status == 400
    data = await r.json()
    assert data["error"] == "invalid_payload" and data["message"].startswith(message)
    assert await store.last_seq() == 0


async def test_bad_pagerduty_event_is_400(client: TestClient, store: SQLiteStore) -> None:
    event = pd_event()
    event["payload"]["severity"] = "urgent"
    r = await client.post("/v2/enqueue", json=event)
    assert r.status == 400
    assert "payload.severity" in (await r.json())["message"]
    assert await store.last_seq() == 0


async def test_healthz_and_unknown_paths(client: TestClient) -> None:
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json())["status"] == "ok"
    assert (await client.get("/alertmanager")).status == 405
    assert (await client.post("/nope", headers=AUTH)).status == 404


async def test_storm_of_posts_for_one_group_is_one_incident(client: TestClient,
                                                            store: SQLiteStore) -> None:
    posts = [am_payload([am_alert(fp=f"a{i}")], group="one-group") for i in range(40)]
    replies = await asyncio.gather(*(client.post("/alertmanager", json=p, headers=AUTH)
                                     for p in posts))
    assert [r.status for r in replies] == [200] * 40
    assert [s.id for s in await store.summaries()] == ["INC-1"]
    assert len((await store.get("INC-1")).alerts) == 40


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9095") == ("127.0.0.1", 9095)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen(":8080") == ("127.0.0.1", 8080)
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listen("localhost")


# ---- fuzzing the endpoint: every answer is a 2xx or a 4xx; a 4xx wrote nothing ---------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=15,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["raw", "json", "am", "pd"]))
    if kind == "raw":
        return draw(st.binary(max_size=120))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    base: dict[str, Any] = (am_payload([am_alert(fp=draw(st.sampled_from("abc")))])
                            if kind == "am" else
                            pd_event(draw(st.sampled_from(["trigger", "acknowledge",
                                                           "resolve"]))))
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(sorted(base)))
        if draw(st.booleans()):
            base.pop(key)
        else:
            base[key] = draw(json_values)
    return json.dumps(base).encode()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=bodies(), path=st.sampled_from(["/alertmanager", "/v2/enqueue"]),
       authed=st.booleans())
async def test_fuzz_endpoint(tmp_path_factory: Any, body: bytes, path: str,
                             authed: bool) -> None:
    db = tmp_path_factory.mktemp("fuzz") / "room.db"
    store = await SQLiteStore.open(db, poll_interval=0.01)
    client = await _client(store)
    try:
        r = await client.post(path, data=body, headers=AUTH if authed else {})
        data = await r.json()
        assert r.status in (200, 202, 400, 401), data
        if r.status >= 400:
            assert data["message"] and await store.last_seq() == 0
        elif data.get("incident"):
            state = await store.get(data["incident"])
            events = await store.events(data["incident"])
            assert state.version == len(events)  # whole incidents only
    finally:
        await client.close()
        await store.close()
