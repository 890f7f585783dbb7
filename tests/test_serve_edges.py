"""`warroom serve` at its edges: slow and hostile clients, bounded work for strangers, JSON
errors without internals, HTTPS with a real PagerDuty client, no plain HTTP beyond loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from warroom.domain.common.errors import InvalidInput
from warroom.serve import http as serve_http
from warroom.serve.listen import ConnectionGate, check_plain_http, connection_cap, is_loopback
from warroom.serve.logs import RateLimit
from warroom.serve.run import serve
from warroom.store.sqlite import SQLiteStore

from .alert_support import TOKEN, am_alert, am_payload, pd_event
from .conftest import REPO, cli_env, run_cli
from .escalation_support import config_with

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Running:
    url: str
    host: str
    port: int
    gate: ConnectionGate
    store: SQLiteStore


@pytest.fixture
def edges() -> dict[str, Any]:
    """[alerts] settings for a server whose deadlines a test can wait out."""
    return {"header_timeout": "600ms", "body_timeout": "600ms", "max_connections": 64}


async def _start(store: SQLiteStore, alerts: dict[str, Any], *, tls: ssl.SSLContext | None = None,
                 host: str = "127.0.0.1") -> tuple[Running, asyncio.Event, asyncio.Task[None]]:
    config = config_with(alerts=alerts)
    stop = asyncio.Event()
    ready: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
    gates: list[ConnectionGate] = []
    task = asyncio.create_task(serve(
        store, config, TOKEN, host, 0, engine=False, tls=tls, stop=stop,
        on_ready=lambda h, p: ready.set_result((h, p)), on_gate=gates.append))
    done, _ = await asyncio.wait([ready, task], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    h, p = await ready
    scheme = "https" if tls else "http"
    return Running(f"{scheme}://127.0.0.1:{p}", h, p, gates[0], store), stop, task


@pytest.fixture
async def server(store: SQLiteStore, edges: dict[str, Any]) -> AsyncIterator[Running]:
    running, stop, task = await _start(store, edges)
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _healthz(url: str) -> int:
    async with aiohttp.ClientSession() as s, s.get(url + "/healthz",
                                                   timeout=aiohttp.ClientTimeout(total=5)) as r:
        return r.status


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing; fails if it stays open longer than `seconds`."""
    data = await asyncio.wait_for(reader.read(), seconds)
    return data


# ---- slow clients ----------------------------------------------------------------------------


async def test_trickled_headers_are_cut_off_and_healthz_still_answers(server: Running) -> None:
    """A client sending its headers a byte at a time loses its connection at header_timeout
    (before: never closed at all)."""
    loop = asyncio.get_running_loop()
    conns = [await asyncio.open_connection(server.host, server.port) for _ in range(10)]
    start = loop.time()

    async def trickle(writer: asyncio.StreamWriter) -> None:
        for ch in b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                writer.write(bytes([ch]))
                await writer.drain()
            except ConnectionError:
                return
            await asyncio.sleep(0.05)

    trickles = [asyncio.create_task(trickle(w)) for _, w in conns]
    assert await _healthz(server.url) == 200  # others are served meanwhile
    for reader, _ in conns:
        assert await _closed_within(reader, 5) == b""
    elapsed = loop.time() - start
    assert 0.5 <= elapsed < 4.5, elapsed
    for t in trickles:
        t.cancel()
    for _, w in conns:
        w.close()
    assert server.gate.stats.timed_out == 10
    assert server.gate.open <= 1


async def test_idle_connection_after_an_answer_is_closed(server: Running) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /heal")  # next one never ends
    await writer.drain()
    data = await _closed_within(reader, 5)
    assert data.startswith(b"HTTP/1.1 200") and data.count(b"HTTP/1.1") == 1
    writer.close()


async def test_trickled_body_is_a_408(server: Running) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                 + TOKEN.encode() + b"\r\nContent-Length: 500\r\n\r\n{\"a\": ")
    await writer.drain()
    data = await _closed_within(reader, 5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    answer = json.loads(body)
    assert answer["error"] == "timeout" and "alerts.body_timeout" in answer["message"]
    writer.close()
    assert await server.store.last_seq() == 0


async def test_at_the_cap_idle_connections_make_room_and_busy_ones_refuse(
        store: SQLiteStore) -> None:
    running, stop, task = await _start(store, {"max_connections": 6, "header_timeout": "30s",
                                               "body_timeout": "30s"})
    try:
        idle = [await asyncio.open_connection(running.host, running.port) for _ in range(6)]
        await asyncio.sleep(0.05)
        assert running.gate.open == 6
        # a real client still gets through: the oldest idle connection makes room
        assert await _healthz(running.url) == 200
        assert running.gate.stats.evicted >= 1
        assert await _closed_within(idle[0][0], 5) == b""
        for _, w in idle:
            w.close()
        await asyncio.sleep(0.05)
        # six requests in progress (bodies still coming): nobody is evicted, a newcomer is told
        busy = []
        for _ in range(6):
            r, w = await asyncio.open_connection(running.host, running.port)
            w.write(b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + TOKEN.encode() + b"\r\nContent-Length: 100\r\n\r\n{")
            await w.drain()
            busy.append((r, w))
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection(running.host, running.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await _closed_within(reader, 5)
        assert data.startswith(b"HTTP/1.1 503") and b'"error": "busy"' in data
        assert running.gate.stats.refused == 1
        for _, w in [*busy, (reader, writer)]:
            w.close()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def test_the_cap_stays_below_the_descriptor_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert connection_cap(512) == 512
    assert connection_cap(5000) == 1024 - 128
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 4096))
    assert connection_cap(512) == 256 - 64


@pytest.mark.slow
def test_a_thousand_slow_clients_cannot_take_serve_offline(tmp_path: Path) -> None:
    """The reported outage, scaled to a 256-descriptor process: 600 connections trickling
    their headers. /healthz and alert posts keep answering, every trickler is closed, and
    stderr stays a few lines (before: descriptors ran out and accept() errors filled it)."""
    db = tmp_path / "room.db"
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    r = subprocess.run([sys.executable, str(script), str(db), str(REPO)], capture_output=True,
                       text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["healthz_ok"] == result["healthz_tries"], result
    assert result["posts_ok"] == result["posts_tries"], result
    assert result["still_open"] == 0, result
    assert result["stderr_bytes"] < 4000, result
    assert result["serve_exit"] == 0, result


FLOOD = r'''
import asyncio, json, os, resource, signal, sys, time
db, repo = sys.argv[1], sys.argv[2]
TOKEN = "test-token-0123456789"

async def main():
    env = {**os.environ, "WARROOM_DB": db, "WARROOM_USER": "serve", "WARROOM_TOKEN": TOKEN}
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    cfg = os.path.join(os.path.dirname(db), "warroom.toml")
    open(cfg, "w").write('[alerts]\nheader_timeout = "2s"\n')
    env["WARROOM_CONFIG"] = cfg
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json",
        "--no-engine", env=env, cwd=repo, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=limit)
    port = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))["port"]
    err_bytes = 0
    async def count_err():
        nonlocal err_bytes
        while chunk := await proc.stderr.read(65536):
            err_bytes += len(chunk)
    err_task = asyncio.create_task(count_err())
    conns = []
    async def trickler():
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        conns.append((r, w))
        try:
            for ch in b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                w.write(bytes([ch]))
                await w.drain()
                await asyncio.sleep(0.5)
        except (ConnectionError, OSError):
            pass
    tasks = [asyncio.create_task(trickler()) for _ in range(600)]
    await asyncio.sleep(1.0)
    healthz_tries = healthz_ok = posts_tries = posts_ok = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + 6
    i = 0
    while loop.time() < end:
        i += 1
        for path, body in (("/healthz", None), ("/v2/enqueue", json.dumps({
                "routing_key": TOKEN, "event_action": "trigger", "dedup_key": f"k{i}",
                "payload": {"summary": "s", "source": "x", "severity": "warning"}}))):
            is_post = body is not None
            if is_post:
                posts_tries += 1
            else:
                healthz_tries += 1
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
                if is_post:
                    req = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
                else:
                    req = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                w.write(req.encode())
                data = await asyncio.wait_for(r.read(), 10)
                w.close()
                ok = data.startswith(b"HTTP/1.1 202" if is_post else b"HTTP/1.1 200")
            except (OSError, asyncio.TimeoutError):
                ok = False
            if ok and is_post:
                posts_ok += 1
            elif ok:
                healthz_ok += 1
        await asyncio.sleep(0.2)
    await asyncio.sleep(3)  # past header_timeout: every trickler is gone
    still_open = 0
    for r, w in conns:
        if not r.at_eof() and not w.is_closing():
            try:
                data = await asyncio.wait_for(r.read(1), 0.05)
                still_open += bool(data)
            except asyncio.TimeoutError:
                still_open += 1
            except OSError:
                pass
    for t in tasks:
        t.cancel()
    for _, w in conns:
        w.close()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), 30)
    await err_task
    print(json.dumps({"healthz_tries": healthz_tries, "healthz_ok": healthz_ok,
                      "posts_tries": posts_tries, "posts_ok": posts_ok,
                      "still_open": still_open, "connections": len(conns),
                      "stderr_bytes": err_bytes, "serve_exit": code}))

asyncio.run(main())
'''


# ---- unauthenticated work, bad payloads, failures --------------------------------------------


async def test_a_stranger_s_megabyte_is_never_parsed(server: Running,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    real = serve_http.decode_json

    def counting(body: bytes) -> Any:
        parsed.append(len(body))
        return real(body)

    monkeypatch.setattr(serve_http, "decode_json", counting)
    big = json.dumps({"event_action": "trigger", "routing_key": "guess",
                      "payload": {"summary": "x" * (900 * 1024), "source": "s",
                                  "severity": "critical"}})
    async with aiohttp.ClientSession() as s:
        async with s.post(server.url + "/v2/enqueue", data=big) as r:
            assert r.status == 401
        async with s.post(server.url + "/v2/enqueue", data=b"[" * 500_000) as r:
            assert r.status == 401
        assert parsed == []  # refused from the raw bytes
        async with s.post(server.url + "/v2/enqueue", json=pd_event()) as r:
            assert r.status == 202
        # the token somewhere else than the top-level key is still refused after the parse
        event = pd_event(dedup="nested", routing_key="wrong")
        event["payload"]["custom_details"] = {"routing_key": TOKEN}
        async with s.post(server.url + "/v2/enqueue", json=event) as r:
            assert r.status == 401
    assert len(parsed) == 2


SURROGATE = ('{"routing_key": "TOKEN", "event_action": "trigger", "payload": '
             '{"summary": "db \\ud800 down", "source": "x", "severity": "critical"}}')
DEEP = {**pd_event(), "payload": {"summary": "s", "source": "x", "severity": "critical",
                                  "custom_details": json.loads('{"a":' * 300 + "1" + "}" * 300)}}
BAD_BODIES = {
    "lone surrogate": (SURROGATE.replace("TOKEN", TOKEN), "payload.summary: a lone UTF-16 "
                                                          "surrogate"),
    "deep details": (json.dumps(DEEP), "nested more than 64 levels deep"),
    "deeper than json": ('{"x": ' + "[" * 100_000, "malformed JSON"),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_bad_payloads_are_json_4xx(server: Running, name: str) -> None:
    body, fragment = BAD_BODIES[name]
    for headers in ({}, AUTH):
        async with aiohttp.ClientSession() as s, s.post(server.url + "/v2/enqueue",
                                                        data=body.encode(),
                                                        headers=headers) as r:
            assert r.content_type == "application/json"
            answer = await r.json()
            if not headers and TOKEN not in body:
                assert r.status == 401  # a stranger learns nothing about the payload
                continue
            assert r.status == 400, name
            assert answer["error"] == "invalid_payload" and fragment in answer["message"]
    assert await server.store.last_seq() == 0


async def test_an_unexpected_failure_is_a_json_500_with_an_error_id(
        server: Running, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from warroom.ingest.receiver import AlertReceiver

    async def broken(self: Any, *args: Any, **kw: Any) -> Any:
        raise RuntimeError("internal detail /etc/secret-path")

    monkeypatch.setattr(AlertReceiver, "receive", broken)
    with caplog.at_level(logging.ERROR, logger="warroom.serve"):
        async with aiohttp.ClientSession() as s, s.post(
                server.url + "/alertmanager", json=am_payload([am_alert()]),
                headers=AUTH) as r:
            assert r.status == 500 and r.content_type == "application/json"
            text = await r.text()
    answer = json.loads(text)
    assert answer["error"] == "internal" and len(answer["error_id"]) == 12
    assert "RuntimeError" not in text and "secret-path" not in text
    assert answer["error_id"] in caplog.text and "secret-path" in caplog.text


async def test_unknown_paths_and_methods_answer_json(server: Running) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/nope") as r:
            assert r.status == 404 and (await r.json())["error"] == "not_found"
        async with s.get(server.url + "/alertmanager") as r:
            assert r.status == 405 and (await r.json())["error"] == "method_not_allowed"
            assert r.headers["Allow"] == "POST"


def test_repeated_log_lines_are_rate_limited() -> None:
    now = [0.0]
    f = RateLimit(10, clock=lambda: now[0])

    def rec(msg: str, *args: Any) -> logging.LogRecord:
        return logging.LogRecord("warroom.serve", logging.WARNING, __file__, 1, msg, args, None)

    shown = [f.filter(rec("accept failed: %s", i)) for i in range(1000)]
    assert shown.count(True) == 1
    assert f.filter(rec("another kind"))
    now[0] = 11.0
    r = rec("accept failed: %s", "x")
    assert f.filter(r) and "999 more like this" in r.getMessage()


# ---- HTTPS and plain HTTP ----------------------------------------------------------------------


def _self_signed(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=warroom test", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


async def test_the_pagerduty_client_triggers_acks_and_resolves_over_https(
        store: SQLiteStore, tmp_path: Path, edges: dict[str, Any]) -> None:
    """The official client (`pagerduty` on PyPI) insists on https://: it talks to `serve`
    given a certificate, trusting that certificate and nothing else, on loopback only."""
    pagerduty = pytest.importorskip("pagerduty")
    from warroom.serve.listen import tls_context

    cert, key = _self_signed(tmp_path)
    running, stop, task = await _start(store, edges, tls=tls_context(cert, key))
    trust = ssl.create_default_context(cafile=str(cert))

    def sender() -> list[str]:
        with pagerduty.EventsApiV2Client(TOKEN, base_url=running.url, verify=trust,
                                         trust_env=False) as client:
            key = client.trigger("Checkout p99 above 2s", "checkout-api", dedup_key="pd-tls",
                                 severity="critical",
                                 custom_details={"Authorization": "Bearer leaked-0123456789"})
            return [key, client.acknowledge(key), client.resolve(key)]

    try:
        keys = await asyncio.to_thread(sender)
        assert keys == ["pd-tls"] * 3
        # plain HTTP to the TLS port gets nothing
        with pytest.raises(aiohttp.ClientError):
            async with aiohttp.ClientSession() as s, s.get(
                    f"http://127.0.0.1:{running.port}/healthz",
                    timeout=aiohttp.ClientTimeout(total=5)) as r:
                await r.read()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    state = await store.get("INC-1")
    assert state.acknowledged_by == "alerts" and not state.firing_alerts
    events = await store.events("INC-1")
    raw = json.dumps([e.data for e in events])
    assert TOKEN not in raw and "leaked-0123456789" not in raw
    assert '"routing_key": "[redacted]"' in raw


def test_plain_http_beyond_loopback_is_refused(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example")
    check_plain_http("127.0.0.1", False, False)
    check_plain_http("0.0.0.0", True, False)
    check_plain_http("0.0.0.0", False, True)
    with pytest.raises(InvalidInput, match="over plain HTTP"):
        check_plain_http("10.1.2.3", False, False)
    env = {**cli_env(tmp_path / "room.db", "serve"), "WARROOM_TOKEN": TOKEN}
    r = run_cli(tmp_path / "room.db", "serve", "--listen", "0.0.0.0:0", env=env)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    assert "refusing to listen on 0.0.0.0 over plain HTTP" in r.err
    r = run_cli(tmp_path / "room.db", "serve", "--tls-cert", str(tmp_path / "missing.pem"),
                "--tls-key", str(tmp_path / "missing.key"), env=env)
    assert r.code == 2 and "TLS: cannot read" in r.err and len(r.err.strip().splitlines()) == 1


def test_serve_with_tls_from_the_configuration(tmp_path: Path) -> None:
    """[alerts] tls_cert / tls_key, relative to the configuration file: `serve` says https."""
    cert, key = _self_signed(tmp_path)
    config = tmp_path / "warroom.toml"
    config.write_text(f'[alerts]\ntoken = "{TOKEN}"\ntls_cert = "{cert.name}"\n'
                      f'tls_key = "{key.name}"\n')
    env = {**cli_env(tmp_path / "room.db", "serve"), "WARROOM_CONFIG": str(config)}
    env.pop("WARROOM_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "warroom", "serve", "--listen",
                             "127.0.0.1:0", "--json", "--no-engine"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["tls"] is True and ready["listening"].startswith("https://127.0.0.1:")
        import urllib.request

        ctx = ssl.create_default_context(cafile=str(cert))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),  # loopback only
                                             urllib.request.HTTPSHandler(context=ctx))
        with opener.open(ready["listening"] + "/healthz", timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(30)
    assert os.path.exists(tmp_path / "room.db")
