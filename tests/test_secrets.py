"""Secrets stay with those who hold them: redaction of payloads, webhook answers and the
configuration, and a room searched end to end for secrets planted everywhere."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from warroom.config_file import load_config
from warroom.domain.alerts.formats import parse_notification
from warroom.domain.common.redact import REDACTED, is_secret_name, redact_text, redact_value
from warroom.domain.config.secrets import redact_webhook, redacted_config

from .alert_support import Served, pd_event, sample
from .conftest import REPO, cli_env, run_cli

# ---- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "shown"), [
    ("Authorization: Basic aG9vZjpwYXNzd29yZA==", "Authorization: [redacted]"),
    ("curl -H 'Authorization: Bearer abc.def.123'", "curl -H 'Authorization: [redacted]'"),
    ('{"password": "hunter2", "user": "bob"}', '{"password": "[redacted]", "user": "bob"}'),
    ("https://bob:pw@example.com/x?api_key=k-123&page=2",
     "https://[redacted]@example.com/x?api_key=[redacted]&page=2"),
    ("Basic authentication failed; token expired", "Basic authentication failed; token expired"),
    ("HighErrorRate on payments (p99 2.3s)", "HighErrorRate on payments (p99 2.3s)"),
])
def test_redact_text(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_redact_value_by_name_shape_and_known_secret() -> None:
    value = {"routing_key": "R-1", "payload": {"summary": "uses the room token tok-xyz-1",
                                               "custom_details": {
                                                   "headers": {"X-Api-Key": "k", "Accept": "*/*"},
                                                   "auth": {"service": "login", "token": "t"},
                                                   "api_keys": ["a", "b"]}}}
    assert redact_value(value, ["tok-xyz-1"]) == {
        "routing_key": REDACTED, "payload": {
            "summary": f"uses the room token {REDACTED}",
            "custom_details": {"headers": {"X-Api-Key": REDACTED, "Accept": "*/*"},
                               "auth": {"service": "login", "token": REDACTED},
                               "api_keys": ["a", "b"]}}}
    plain = {"alerts": [{"labels": {"alertname": "HighErrorRate"}}]}
    assert redact_value(plain) is plain  # nothing to do: no copy
    assert is_secret_name("X-Api-Key") and is_secret_name("db_password")
    assert not is_secret_name("tokens_used") and not is_secret_name("payments")


def test_pagerduty_payload_is_redacted_before_anything_keeps_it() -> None:
    event = pd_event()
    event["payload"]["custom_details"] = {"Authorization": "Bearer s3cr3t-bearer-value"}
    n = parse_notification(event, secrets=("tok-extra-secret",))
    assert n.routing_key == event["routing_key"]  # still there to check, never stored
    blob = json.dumps([n.raw, [a.raw for a in n.alerts]])
    assert event["routing_key"] not in blob and "s3cr3t-bearer-value" not in blob
    v1 = sample("pagerduty_v1_from_alertmanager.json")
    v1["service_key"] = "v1-service-key-0123"
    assert "v1-service-key-0123" not in json.dumps(parse_notification(v1).raw)


def test_config_show_redacts_and_only_a_writer_sees_secrets(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    cfg = tmp_path / "warroom.toml"
    cfg.write_text(
        '[alerts]\ntoken = "room-token-0123456789"\n'
        '[people.alice]\nwebhook = "https://alice:pw-0123456789@pager.example/hooks/'
        'T0123/B4567/abcdefghij0123456789?key=q-0123456789&fmt=json"\n'
        'headers = { X-Api-Key = "hdr-0123456789", Accept = "application/json" }\n'
        'command = ["page", "--token=room-token-0123456789"]\n')
    shown = redacted_config(load_config(str(cfg)).config)
    alice = shown["people"]["alice"]
    assert shown["alerts"]["token"] == REDACTED
    assert alice["webhook"] == ("https://[redacted]@pager.example/hooks/T0123/B4567/[redacted]"
                                "?key=[redacted]&fmt=[redacted]")
    assert alice["headers"] == {"X-Api-Key": REDACTED, "Accept": REDACTED}
    assert alice["command"] == ["page", "--token=[redacted]"]
    assert redact_webhook("http://127.0.0.1:9099/page/alice") == "http://127.0.0.1:9099/page/alice"

    from warroom.cli.main import main

    monkeypatch.setenv("WARROOM_DB", str(tmp_path / "room.db"))
    assert main(["config", "show", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "0123456789" not in out and json.loads(out)["secrets"] == "redacted"
    assert main(["config", "show", "--show-secrets", "--config", str(cfg)]) == 0
    assert "room-token-0123456789" in capsys.readouterr().out
    import os

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a reader, not a writer
    assert main(["config", "show", "--show-secrets", "--config", str(cfg)]) == 5
    captured = capsys.readouterr()
    assert "0123456789" not in captured.out + captured.err
    assert "you cannot write" in captured.err and len(captured.err.splitlines()) == 1


# ---- planted everywhere, found nowhere ---------------------------------------------------------

ROOM_TOKEN = "plant-room-token-7f3a9c1e5b"
URL_PASSWORD = "plant-url-password-2d8e4b"
URL_QUERY = "plant-url-query-9c1f3a"
HEADER = "plant-header-key-5e7a2c"
ERROR_BODY = "plant-error-body-8b3d1f"
PAYLOAD_BEARER = "plant-payload-bearer-4a6c8e"
PAYLOAD_KEY = "plant-payload-key-1b3d5f"
PAYLOAD_PASSWORD = "plant-payload-password-6e8a0c"
BASIC = base64.b64encode(f"pager:{URL_PASSWORD}".encode()).decode()
PLANTED = [ROOM_TOKEN, URL_PASSWORD, URL_QUERY, HEADER, ERROR_BODY, PAYLOAD_BEARER, PAYLOAD_KEY,
           PAYLOAD_PASSWORD, BASIC]


class EchoingPager:
    """A paging gateway whose error page quotes the request's credentials back."""

    def __init__(self) -> None:
        self.pages = 0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.pages += 1
        await request.read()
        return web.Response(status=502, text=(
            f"bad gateway for {request.path_qs}; X-Api-Key {request.headers.get('X-Api-Key')}; "
            f"Authorization: {request.headers.get('Authorization')}; "
            f'upstream said {{"api_key": "{ERROR_BODY}"}}'))


@pytest.fixture
async def pager() -> AsyncIterator[EchoingPager]:
    p = EchoingPager()
    app = web.Application()
    app.router.add_post("/{tail:.*}", p.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    p.port = runner.addresses[0][1]
    try:
        yield p
    finally:
        await runner.cleanup()


def _room_config(folder: Path, pager_port: int) -> Path:
    cfg = folder / "warroom.toml"
    cfg.write_text(f"""
[alerts]
token = "{ROOM_TOKEN}"

[notifier]
attempts = 1
timeout = "5s"

[escalation_policies.default.notify]
webhook = "http://pager:{URL_PASSWORD}@127.0.0.1:{pager_port}/page?api_key={URL_QUERY}"
headers = {{ X-Api-Key = "{HEADER}" }}

[[escalation_policies.default.levels]]
after = "0s"
targets = ["primary"]
""")
    return cfg


async def _spawn_serve(db: Path, cfg: Path) -> Served:
    env = {**cli_env(db, "serve"), "WARROOM_CONFIG": str(cfg)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json",
        "--no-engine", cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line, "warroom serve did not start"
    return Served(proc, int(json.loads(line)["port"]))


@pytest.mark.slow
async def test_planted_secrets_appear_in_no_output_and_not_in_the_database(
        tmp_path: Path, pager: EchoingPager) -> None:
    db = tmp_path / "room.db"
    cfg = _room_config(tmp_path, pager.port)
    served = await _spawn_serve(db, cfg)
    v2 = pd_event(dedup="planted-v2", routing_key=ROOM_TOKEN)
    v2["payload"]["custom_details"] = {
        "Authorization": f"Bearer {PAYLOAD_BEARER}", "headers": {"X-Api-Key": PAYLOAD_KEY},
        "note": f"retry with password={PAYLOAD_PASSWORD}"}
    v1 = sample("pagerduty_v1_from_alertmanager.json")
    v1["service_key"] = ROOM_TOKEN
    am = sample("alertmanager_firing.json")
    am["commonAnnotations"] = {"description": f"db password={PAYLOAD_PASSWORD}"}
    async with aiohttp.ClientSession() as s:
        for path, body, headers in (
                ("/v2/enqueue", v2, {}), ("/v2/enqueue", v1, {}),
                ("/alertmanager", am, {"Authorization": f"Bearer {ROOM_TOKEN}"})):
            async with s.post(served.url + path, json=body, headers=headers) as r:
                assert r.status in (200, 202), await r.text()
    assert await served.stop() == 0
    assert served.proc.stderr is not None
    outputs: dict[str, str] = {"serve stderr": (await served.proc.stderr.read()).decode()}

    env = {**cli_env(db), "WARROOM_CONFIG": str(cfg)}
    engine = await asyncio.to_thread(run_cli, db, "engine", "--once", env=env)
    assert engine.code == 0, engine.err
    outputs["engine"] = engine.out + engine.err
    assert pager.pages >= 3  # every incident paged the policy's webhook, which failed
    commands = [["list", "--json"], ["tail"], ["tail", "--json"], ["config", "show"],
                ["config", "check"]]
    for inc in ("INC-1", "INC-2", "INC-3"):
        commands += [["show", inc], ["show", inc, "--json"], ["payloads", inc],
                     ["payloads", inc, "--json"], ["export", inc, "--format", "json"],
                     ["export", inc, "--format", "markdown"], ["escalation", inc]]
    # one process runs them all through the CLI's entry point (a process each would spend
    # most of this test starting Python)
    batch = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", BATCH,
                                                     json.dumps(commands)],
                                    capture_output=True, text=True, env=env, cwd=REPO,
                                    timeout=120)
    assert batch.returncode == 0, batch.stderr
    for name, (code, text) in json.loads(batch.stdout).items():
        assert code == 0, (name, text)
        outputs[name] = text
    assert len(json.loads(outputs["list --json"])) == 3
    outputs["spectator screen"] = await _spectator_screens(db)
    assert "page_failed" in outputs["tail --json"] and "HTTP 502" in outputs["tail --json"]
    assert "[redacted]" in outputs["payloads INC-1"] + outputs["payloads INC-2"]
    for name, text in outputs.items():
        for secret in PLANTED:
            assert secret not in text, f"{secret} in the output of {name}"
    for f in tmp_path.glob("room.db*"):
        data = f.read_bytes()
        for secret in PLANTED:
            assert secret.encode() not in data, f"{secret} in {f.name}"


BATCH = """
import contextlib, io, json, sys
from warroom.cli.main import main
out = {}
for argv in json.loads(sys.argv[1]):
    o = io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(o):
        code = main(argv)
    out[" ".join(argv)] = [code, o.getvalue()]
print(json.dumps(out))
"""


async def _spectator_screens(db: Path) -> str:
    """What a spectator's dashboard shows: the incident, and its payloads (`l`)."""
    from .tui_support import make_app, settle

    app = make_app(db, actor="viewer", spectator=True)
    shots: list[str] = []
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot, lambda: app.dashboard.state is not None)
        shots.append(app.export_screenshot())
        await pilot.press("l")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "TextScreen")
        body: Any = app.screen.body  # type: ignore[attr-defined]
        shots.append(body.plain)
        shots.append(app.export_screenshot())
    return "\n".join(shots)


def test_payload_view_redacts_what_an_older_room_stored() -> None:
    """A room written before redaction holds routing keys: `l` / `warroom payloads` hide them."""
    from warroom.domain.alerts.automation import alert_payloads
    from warroom.domain.incident.events import Event

    stored = {"format": "pagerduty", "payload": {"routing_key": "old-room-token-123",
                                                 "payload": {"summary": "disk full"}}}
    cut = {"format": "pagerduty", "payload_text": '{"routing_key": "old-room-token-456", "pa'}
    events = [Event(seq=i + 1, event_id=f"e{i}", incident_id="INC-1", version=i + 1,
                    kind="alert_received", actor="alerts", at=datetime(2026, 1, 1, tzinfo=UTC),
                    recorded_at=datetime(2026, 1, 1, tzinfo=UTC), data=d)
              for i, d in enumerate([stored, cut])]
    texts = [v.text for v in alert_payloads(events)]
    assert "old-room-token" not in "".join(texts) and "disk full" in texts[0]
