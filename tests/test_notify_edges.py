"""Delivering a page at the edges: redirects refused, answers and hook output read head-first
in constant memory, and no credential quoted back onto the timeline."""

from __future__ import annotations

import base64
import sys
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from warroom.domain.config.model import NotifierSettings, Notify
from warroom.domain.oncall.paging import Page
from warroom.escalation.notify import DETAIL_CHARS, Notifier

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
API_KEY = "xk-0123456789abcdef-API"
PASSWORD = "hunter2-url-password"
BASIC = base64.b64encode(b"pager:" + PASSWORD.encode()).decode()


class Hooks:
    """A paging gateway that misbehaves in the ways that leaked secrets or memory."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, dict[str, str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits.append((name, dict(request.headers)))
        await request.read()
        if name == "redirect":
            raise web.HTTPTemporaryRedirect(f"{self.url}/elsewhere?token=stolen-0123456789")
        if name == "echo":  # an error page that echoes the request's credentials back
            return web.Response(status=401, text=(
                f"denied: X-Api-Key {request.headers.get('X-Api-Key')} is not valid; "
                f"Authorization: {request.headers.get('Authorization')}; "
                'session={"api_key": "sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"}'))
        if name == "huge":
            resp = web.StreamResponse(status=500)
            resp.content_length = 50 * 1024 * 1024
            await resp.prepare(request)
            chunk = b"gateway exploded " * 4096
            try:
                for _ in range(50 * 1024 * 1024 // len(chunk)):
                    await resp.write(chunk)
            except (ConnectionError, RuntimeError):
                pass
            return resp
        return web.json_response({"ok": True})


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    h = Hooks()
    app = web.Application()
    app.router.add_post("/{name}", h.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    h.url = f"http://{host}:{port}"
    try:
        yield h
    finally:
        await runner.cleanup()


def page(**notify: Any) -> Page:
    channel = "webhook" if "webhook" in notify else "command"
    return Page("INC-1", 0, 1, "alice", channel, Notify(**notify), T0,
                {"type": "warroom.page", "incident": {"id": "INC-1"}})


async def send(p: Page, attempt_timeout: str = "10s") -> Any:
    notifier = Notifier(NotifierSettings(timeout=attempt_timeout, stall_after="5m"))
    try:
        return await notifier.send(p, 1)
    finally:
        await notifier.close()


async def test_a_redirect_is_refused_and_the_page_goes_nowhere_else(hooks: Hooks) -> None:
    result = await send(page(webhook=f"{hooks.url}/redirect",
                             headers={"X-Api-Key": API_KEY}))
    assert not result.ok
    assert result.detail.startswith(f"redirect refused: {hooks.url}/elsewhere?token=[redacted]")
    assert result.detail.endswith("(HTTP 307)")
    assert [name for name, _ in hooks.hits] == ["redirect"]  # before: followed, key and all


async def test_an_error_answer_is_shown_with_its_length_and_no_credential(hooks: Hooks) -> None:
    url = f"http://pager:{PASSWORD}@{hooks.url.removeprefix('http://')}/echo"
    result = await send(page(webhook=url, headers={"X-Api-Key": API_KEY}))
    assert not result.ok and result.detail.startswith("HTTP 401: denied:")
    for secret in (API_KEY, PASSWORD, BASIC, "sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"):
        assert secret not in result.detail
    assert "[redacted]" in result.detail
    assert "bytes; the first" in result.detail or len(result.detail) < DETAIL_CHARS + 20


async def test_a_huge_error_answer_is_read_head_first(hooks: Hooks) -> None:
    tracemalloc.start()
    try:
        result = await send(page(webhook=f"{hooks.url}/huge"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok and result.detail.startswith("HTTP 500: gateway exploded")
    assert f"an answer of {50 * 1024 * 1024} bytes" in result.detail
    assert len(result.detail) < 400
    assert peak < 8 * 1024 * 1024, peak  # the client's buffers, not the 50 MB answer


async def test_a_hook_printing_megabytes_costs_constant_memory(tmp_path: Path) -> None:
    """Before: communicate() kept everything (300 MB of output grew the engine by 1.2 GB)."""
    hook = tmp_path / "noisy.py"
    hook.write_text(
        "import sys\n"
        "sys.stdin.read()\n"
        "sys.stdout.write('o' * (20 * 1024 * 1024))\n"
        f"sys.stderr.write('Authorization: Bearer {API_KEY} refused; ' + 'e' * "
        "(60 * 1024 * 1024))\n"
        "sys.exit(4)\n")
    tracemalloc.start()
    try:
        result = await send(page(command=[sys.executable, str(hook)],
                                 headers={"X-Api-Key": API_KEY}), attempt_timeout="60s")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert result.detail.startswith(f"{sys.executable} exit 4: Authorization: [redacted] refused")
    assert API_KEY not in result.detail
    assert "stderr of 62914" in result.detail and "the first 200 characters kept" in result.detail
    assert peak < 8 * 1024 * 1024, peak


async def test_a_hook_that_never_reads_its_input_is_not_a_failure(tmp_path: Path) -> None:
    hook = tmp_path / "deaf.py"
    hook.write_text("print('paged')\n")
    result = await send(page(command=[sys.executable, str(hook)]))
    assert result.ok and result.detail == "exit 0"
