"""Spectators watch through the room server, never on the room's files (issue 14).

The server's feed and its limits run in-process (a real HTTP server on a loopback port, real
HTTP clients); the remote dashboard runs against a real `warroom serve` process that is killed
and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.serve.feed import FeedHub
from warroom.serve.listen import ConnectionGate
from warroom.serve.run import serve
from warroom.store.errors import PermissionDenied
from warroom.store.execute import Retry, execute
from warroom.store.remote import RemoteStore
from warroom.store.sqlite import SQLiteStore

from .alert_support import TOKEN, am_alert, am_payload
from .conftest import REPO, cli_env, run_cli

SUPPORT = "support-token-0123456789"
LEADS = "leadership-token-0123456789"


def spectators_toml(tokens: dict[str, str], *, max_: int = 50, extra: str = "") -> str:
    lines = ["[spectators]", f"max = {max_}", "[spectators.tokens]"]
    lines += [f'{name} = "{token}"' for name, token in tokens.items()]
    return extra + "\n".join(lines) + "\n"


@dataclass
class Server:
    url: str
    store: SQLiteStore
    config_path: Path
    hub: FeedHub
    gate: ConnectionGate
    stop: asyncio.Event
    task: asyncio.Task[None]
    clients: list[Any] = field(default_factory=list)

    async def note(self, text: str, incident: str = "INC-1") -> None:
        await execute(self.store, incident,
                      lambda s: commands.add_note(s, text, "alice"), expected_version=None,
                      retry=Retry.until(10))


@contextlib.asynccontextmanager
async def running(tmp_path: Path, toml: str, *, keepalive: float = 0.3,
                  env_token: str | None = None, queue_frames: int | None = None
                  ) -> AsyncIterator[Server]:
    """`warroom serve` in this process, on a free loopback port, on a room with INC-1."""
    cfg = tmp_path / "warroom.toml"
    cfg.write_text(toml)
    from warroom.config_file import read_config

    config = read_config(cfg)
    store = await SQLiteStore.open(tmp_path / "room.db", poll_interval=0.01)
    await store.append(None, commands.declare("Checkout down", Severity.SEV2, "alice"))
    stop = asyncio.Event()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    got: dict[str, Any] = {}

    def on_hub(hub: FeedHub) -> None:
        if queue_frames is not None:
            hub.queue_frames = queue_frames
        got["hub"] = hub

    task = asyncio.create_task(serve(
        store, config, TOKEN, "127.0.0.1", 0, engine=False, stop=stop,
        on_ready=lambda h, p: ready.set_result(p), on_gate=lambda g: got.setdefault("gate", g),
        config_path=cfg, spectator_token=env_token, keepalive=keepalive, on_hub=on_hub))
    port = await asyncio.wait_for(ready, 30)
    server = Server(f"http://127.0.0.1:{port}", store, cfg, got["hub"], got["gate"], stop, task)
    try:
        yield server
    finally:
        for c in server.clients:
            await c.close()
        stop.set()
        await asyncio.wait_for(task, 30)
        await store.close()


async def read_frames(resp: aiohttp.ClientResponse, want: Any, limit: float = 10
                      ) -> list[tuple[str, Any]]:
    """Server-sent events until `want(frames)` says enough."""
    frames: list[tuple[str, Any]] = []
    name, data, buffer = "message", b"", b""
    async with asyncio.timeout(limit):
        while not want(frames):
            chunk = await resp.content.readany()
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line:
                    if data:
                        frames.append((name, json.loads(data)))
                    name, data = "message", b""
                elif line.startswith(b"event:"):
                    name = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data += line[5:].strip()
    return frames


async def until(condition: Callable[[], bool], limit: float = 10) -> None:
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


def notes_in(frames: list[tuple[str, Any]]) -> list[str]:
    return [e["data"]["text"] for n, d in frames if n == "events" for e in d["events"]
            if e["kind"] == "note"]


# ---- part 1: the feed -----------------------------------------------------------------------


async def test_a_spectator_gets_the_snapshot_then_every_commit_in_order(tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT})) as srv, \
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {SUPPORT}"}) as http:
        async with http.get(srv.url + "/spectate/snapshot") as r:
            snap = await r.json()
        assert snap["seq"] == 1 and [s["id"] for s in snap["summaries"]] == ["INC-1"]
        async with http.get(srv.url + "/spectate/feed", params={"after": snap["seq"]}) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/event-stream")
            for i in range(5):
                await srv.note(f"n{i}")
            frames = await read_frames(r, lambda f: len(notes_in(f)) >= 5)
        assert frames[0][0] == "hello" and frames[0][1]["name"] == "support"
        assert notes_in(frames) == [f"n{i}" for i in range(5)]
        seqs = [e["seq"] for n, d in frames if n == "events" for e in d["events"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] == 2


async def test_a_cursor_catches_up_what_was_committed_before_it_connected(
        tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT})) as srv, \
            aiohttp.ClientSession() as http:
        for i in range(3):
            await srv.note(f"early {i}")
        await asyncio.sleep(0.2)  # the hub has seen them (it broadcasts to nobody)
        async with http.get(srv.url + "/spectate/feed",
                            params={"after": "2", "token": SUPPORT}) as r:
            frames = await read_frames(r, lambda f: len(notes_in(f)) >= 2)
        assert notes_in(frames) == ["early 1", "early 2"]  # seq 2 was "early 0"


async def test_alert_payloads_and_secrets_stay_out_of_the_feed(tmp_path: Path) -> None:
    toml = spectators_toml({"support": SUPPORT}, extra=f'[alerts]\ntoken = "{TOKEN}"\n')
    async with running(tmp_path, toml) as srv, aiohttp.ClientSession() as http:
        async with http.get(srv.url + "/spectate/feed",
                            params={"after": "0", "token": SUPPORT}) as feed:
            body = am_payload([am_alert(fp="f1", note="see " + TOKEN)])
            async with http.post(srv.url + "/alertmanager", data=json.dumps(body),
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200, await r.text()
            frames = await read_frames(feed, lambda f: any(
                e["kind"] == "alert_received" for n, d in f if n == "events"
                for e in d["events"]))
        received = [e for n, d in frames if n == "events" for e in d["events"]
                    if e["kind"] == "alert_received"]
        assert received[0]["data"]["payload"] is None
        assert received[0]["data"]["kept"] == "withheld from remote spectators"
        wire = json.dumps(frames)
        assert TOKEN not in wire and SUPPORT not in wire
        # the state read over HTTP holds no token either
        async with http.get(srv.url + f"/spectate/incidents/{received[0]['incident_id']}",
                            params={"token": SUPPORT}) as r:
            assert TOKEN not in await r.text()


# ---- part 5: tokens, limits, faults ------------------------------------------------------------


async def test_a_wrong_token_or_the_alert_token_gets_401_and_nothing_streamed(
        tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT})) as srv, \
            aiohttp.ClientSession() as http:
        for token in (None, "wrong-token-0123456789", TOKEN):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for path in ("/spectate/feed", "/spectate/snapshot", "/spectate/incidents/INC-1"):
                async with http.get(srv.url + path, headers=headers) as r:
                    assert r.status == 401
                    assert r.headers["Content-Type"].startswith("application/json")
                    body = await r.json()
                    assert "spectator token" in body["message"]
        # and a spectator token never posts an alert
        async with http.post(srv.url + "/alertmanager", data=json.dumps(am_payload([am_alert()])),
                             headers={"Authorization": f"Bearer {SUPPORT}"}) as r:
            assert r.status == 401
        assert srv.hub.clients == set()


async def test_a_token_deleted_from_the_file_is_revoked_without_a_restart(
        tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT, "leads": LEADS})) as srv, \
            aiohttp.ClientSession() as http:
        async with http.get(srv.url + "/spectate/feed", params={"token": SUPPORT}) as support, \
                http.get(srv.url + "/spectate/feed", params={"token": LEADS}) as leads:
            await read_frames(support, lambda f: bool(f))
            await read_frames(leads, lambda f: bool(f))
            assert srv.hub.gate.watching() == {"leads": 1, "support": 1}
            srv.config_path.write_text(spectators_toml({"leads": LEADS}))
            frames = await read_frames(support, lambda f: any(n == "bye" for n, _ in f))
            assert ("bye", {"reason": "revoked",
                            "message": "this spectator token no longer opens the room"}) in frames
            await srv.note("after the revocation")
            kept = await read_frames(leads, lambda f: "after the revocation" in notes_in(f))
            assert "after the revocation" in notes_in(kept)
        async with http.get(srv.url + "/spectate/feed", params={"token": SUPPORT}) as r:
            assert r.status == 401


async def test_past_the_maximum_a_spectator_is_refused_with_a_clear_message(
        tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT}, max_=2)) as srv, \
            aiohttp.ClientSession() as http:
        params = {"token": SUPPORT}
        async with http.get(srv.url + "/spectate/feed", params=params) as a, \
                http.get(srv.url + "/spectate/feed", params=params) as b:
            assert a.status == b.status == 200
            async with http.get(srv.url + "/spectate/feed", params=params) as c:
                assert c.status == 503
                body = await c.json()
                assert "too many spectators" in body["message"]
                assert "spectators.max" in body["message"]
        # the two left (the server notices within a second): a third gets in
        await until(lambda: srv.hub.gate.open_count == 0)
        async with http.get(srv.url + "/spectate/feed", params=params) as d:
            assert d.status == 200


async def test_a_slow_spectator_is_dropped_and_nobody_else_waits(tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT}),
                       queue_frames=16) as srv, aiohttp.ClientSession() as http:
        port = int(srv.url.rsplit(":", 1)[1])
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", port))
        slow.sendall(f"GET /spectate/feed?token={SUPPORT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        async with http.get(srv.url + "/spectate/feed", params={"token": SUPPORT}) as fast:
            await read_frames(fast, lambda f: bool(f))
            reading = asyncio.create_task(
                read_frames(fast, lambda f: len(notes_in(f)) >= 300, limit=60))
            big = "x" * 19_000
            for i in range(300):
                await srv.note(f"{i} {big}")
                await asyncio.sleep(0)
            frames = await reading
        assert [t.split(" ")[0] for t in notes_in(frames)] == [str(i) for i in range(300)]
        assert srv.hub.dropped_slow == 1  # the stuck one, never the one reading
        slow.close()


async def test_a_spectator_that_sends_garbage_is_disconnected(tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT})) as srv:
        host, port = "127.0.0.1", int(srv.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /spectate/feed?token={SUPPORT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"event: hello"), 10)
        assert b"200 OK" in head
        writer.write(b"\x00\xffGARBAGE GARBAGE\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            while await reader.read(65536):
                pass  # the server closes the connection: read returns b""
        assert srv.gate.stats.garbage == 1
        writer.close()
        # a request with a garbage cursor is a 400, nothing streamed
        async with aiohttp.ClientSession() as http, \
                http.get(srv.url + "/spectate/feed",
                         params={"token": SUPPORT, "after": "-1; DROP"}) as r:
            assert r.status == 400


async def test_streams_outlive_the_header_deadline_and_never_starve_alert_posts(
        tmp_path: Path) -> None:
    """20 connections at most: 16 are kept for the alert senders, so 4 spectators; a stream
    is never the idle connection evicted to make room, nor closed by the header deadline."""
    toml = spectators_toml({"support": SUPPORT}, extra=(
        f'[alerts]\ntoken = "{TOKEN}"\nheader_timeout = "300ms"\nmax_connections = 20\n'))
    async with running(tmp_path, toml) as srv, aiohttp.ClientSession() as http:
        assert srv.hub.gate.effective_max == 4
        streams = [await http.get(srv.url + "/spectate/feed", params={"token": SUPPORT})
                   for _ in range(5)]
        assert [s.status for s in streams] == [200, 200, 200, 200, 503]
        await asyncio.sleep(0.8)  # past the header deadline
        port = int(srv.url.rsplit(":", 1)[1])
        idle = [await asyncio.open_connection("127.0.0.1", port)
                for _ in range(20)]  # idle connections: the gate evicts these, not streams
        await asyncio.sleep(0.1)
        assert srv.gate.stats.evicted >= 4
        try:
            async with http.post(srv.url + "/alertmanager",
                                 data=json.dumps(am_payload([am_alert(fp="x")])),
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
            await srv.note("still streaming")
            for s in streams[:4]:
                frames = await read_frames(s, lambda f: "still streaming" in notes_in(f))
                assert "still streaming" in notes_in(frames)
        finally:
            for _, w in idle:
                w.close()
            for s in streams:
                s.close()


# ---- part 1: the roster -----------------------------------------------------------------------


async def test_the_roster_shows_who_watches_remotely(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from warroom.tui.render import roster

    async with running(tmp_path, spectators_toml({"support": SUPPORT}),
                       env_token="env-spectator-0123456789") as srv:
        remote = [await RemoteStore.open(srv.url, SUPPORT) for _ in range(3)]
        srv.clients += remote
        remote.append(await RemoteStore.open(srv.url, "env-spectator-0123456789"))
        srv.clients.append(remote[-1])

        async def people() -> list[str]:
            rows = await srv.store.present(datetime.now(UTC) - timedelta(seconds=16))
            return sorted(p.person for p in rows)

        want = ["watching: spectator (1)", "watching: support (3)"]
        for _ in range(200):
            if await people() == want:
                break
            await asyncio.sleep(0.05)
        assert await people() == want
        state = await srv.store.get("INC-1")
        text = roster(state, now=datetime.now(UTC), present=["alice", *await people()]).plain
        assert "In the room: alice (1) · watching: spectator (1) · watching: support (3)" in text
        # a remote spectator never writes to the room
        with pytest.raises(Exception, match="cannot write"):
            await remote[0].append("INC-1", commands.add_note(state, "x", "eve"))


# ---- part 2: the remote dashboard against a real server process ---------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def spawn(db: Path, cfg: Path, port: int) -> asyncio.subprocess.Process:
    env = cli_env(db, "serve")
    env.update(WARROOM_CONFIG=str(cfg), WARROOM_TOKEN=TOKEN)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "serve", "--listen", f"127.0.0.1:{port}", "--json",
        "--no-engine", cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line, (await proc.stderr.read()).decode() if proc.stderr else "no output"
    return proc


async def test_the_remote_dashboard_follows_the_room_and_catches_up_after_a_restart(
        tmp_path: Path) -> None:
    from warroom.tui.app import WarroomApp

    from .tui_support import settle

    db = tmp_path / "room.db"
    cfg = tmp_path / "warroom.toml"
    cfg.write_text(spectators_toml({"support": SUPPORT}))
    assert run_cli(db, "declare", "--title", "Checkout down", "--severity", "SEV-2").code == 0
    port = free_port()
    proc = await spawn(db, cfg, port)
    url = f"http://127.0.0.1:{port}"

    async def opener() -> RemoteStore:
        return await RemoteStore.open(url, SUPPORT)

    app = WarroomApp(actor="support", open_store=opener, presence=False, engine=False, tick=None)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            timeline = app.query_one("#timeline")
            await settle(pilot, lambda: app.dashboard.state is not None)
            assert app.store.readonly and app.dashboard.spectator
            assert run_cli(db, "note", "INC-1", "seen from afar").code == 0
            await settle(pilot, lambda: timeline.row_count == 2)

            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            await settle(pilot, lambda: "RECONNECTING" in (app.dashboard.clock_note or ""))
            header = app.query_one("#header")
            await settle(pilot, lambda: any("RECONNECTING" in header.render_line(y).text
                                            for y in range(header.size.height)))
            for i in range(3):
                assert run_cli(db, "note", "INC-1", f"while away {i}").code == 0
            assert timeline.row_count == 2  # nothing new is shown as live meanwhile

            proc = await spawn(db, cfg, port)
            await settle(pilot, lambda: timeline.row_count == 5, limit=30)
            await settle(pilot, lambda: app.dashboard.clock_note is None)
            assert run_cli(db, "note", "INC-1", "after the restart").code == 0
            await settle(pilot, lambda: timeline.row_count == 6)
            texts = [r.event.data.get("text") for r in timeline.rows()]
            assert texts[1:] == ["seen from afar", "while away 0", "while away 1",
                                 "while away 2", "after the restart"]
            versions = [r.event.version for r in timeline.rows()]
            assert versions == [1, 2, 3, 4, 5, 6]  # nothing missed, nothing twice
            assert app.dashboard.state is not None and app.dashboard.state.version == 6
            # the server shows this spectator on the roster ("watching: support (1)")
            roster = app.query_one("#roster-pane")
            await settle(pilot, lambda: "watching: support (1)" in roster.build().plain,
                         limit=30)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


def test_watch_server_with_a_wrong_token_says_so(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "room.db")
    env["WARROOM_SPECTATOR_TOKEN"] = "wrong-token-0123456789"
    r = run_cli(tmp_path / "room.db", "watch", "--server", "http://127.0.0.1:9", env=env)
    assert r.code != 0 and "Traceback" not in r.err
    assert r.code == 6 and "room server" in r.err
    env.pop("WARROOM_SPECTATOR_TOKEN")
    r = run_cli(tmp_path / "room.db", "watch", "--server", "http://127.0.0.1:9", env=env)
    assert r.code == 5 and "no spectator token" in r.err


async def test_a_revoked_remote_dashboard_stops_and_says_so(tmp_path: Path) -> None:
    async with running(tmp_path, spectators_toml({"support": SUPPORT})) as srv:
        remote = await RemoteStore.open(srv.url, SUPPORT)
        srv.clients.append(remote)
        await asyncio.wait_for(remote.wait_live(), 10)
        srv.config_path.write_text(spectators_toml({}))

        async def consume() -> None:
            async for _ in remote.subscribe(await remote.last_seq()):
                pass

        with pytest.raises(PermissionDenied, match="no longer opens the room"):
            await asyncio.wait_for(consume(), 10)


# ---- the configuration and the gate ------------------------------------------------------------


def test_spectator_tokens_are_checked_and_never_shown(tmp_path: Path) -> None:
    from warroom.domain.config.model import ConfigError, parse_config
    from warroom.domain.config.secrets import redacted_config

    config = parse_config({"spectators": {"max": 3, "tokens": {"support": SUPPORT}}})
    assert config.spectators.max == 3 and config.spectators.tokens == {"support": SUPPORT}
    assert SUPPORT not in json.dumps(redacted_config(config))
    for bad, why in (({"tokens": {"support": "short"}}, "at least 16 characters"),
                     ({"tokens": {"a b": SUPPORT}}, "letters, digits"),
                     ({"tokens": {"a": SUPPORT, "b": SUPPORT}}, "the same token as 'a'"),
                     ({"max": 0}, "spectators.max")):
        with pytest.raises(ConfigError, match=why):
            parse_config({"spectators": bad})


def test_the_gate_fails_closed_on_a_broken_file_and_ignores_the_alert_token(
        tmp_path: Path) -> None:
    from warroom.serve.spectators import Refusal, SpectatorGate

    cfg = tmp_path / "warroom.toml"
    cfg.write_text(spectators_toml({"support": SUPPORT, "oops": TOKEN}))
    from warroom.config_file import read_config

    gate = SpectatorGate(read_config(cfg).spectators, path=cfg, env_token=LEADS,
                         alert_token=TOKEN, clock=lambda: 0.0)
    assert gate.name_for(SUPPORT) == "support" and gate.name_for(LEADS) == "spectator"
    assert gate.name_for(TOKEN) is None and gate.name_for(None) is None
    cfg.write_text("[spectators\nbroken")
    assert gate.refresh(force=True)
    assert gate.name_for(SUPPORT) is None and gate.name_for(LEADS) == "spectator"
    cfg.write_text(spectators_toml({"support": SUPPORT}, max_=1))
    assert gate.refresh(force=True) and gate.name_for(SUPPORT) == "support"
    first = gate.admit("support")
    refused = gate.admit("support")
    assert isinstance(refused, Refusal) and refused.status == 503
    assert gate.watching() == {"support": 1}
    assert not isinstance(first, Refusal)
    first.release()
    assert gate.watching() == {}


@pytest.mark.slow
def test_the_remote_spectators_benchmark_misses_nothing(tmp_path: Path) -> None:
    from .test_bench_smoke import run_script

    doc = run_script("remote_spectators", tmp_path, "--spectators", "3", "--per-process", "2",
                     "--events", "5", "--interval", "0.02")
    (run,) = doc["runs"]
    assert run["spectators"] == 3 and run["client_processes"] == 2
    assert run["samples"] == 15 and run["missed"] == 0
    assert run["duplicates"] == 0 and run["out_of_order"] == 0
