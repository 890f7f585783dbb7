"""Delivering one page: an HTTP webhook (POST JSON, aiohttp's client) or a command hook (the
page as JSON on standard input).

What comes back goes onto the timeline, where every spectator reads it, so it is bounded and
redacted: a redirect is refused (following it would hand the page and its credentials to an
address nobody configured), and of an error answer or a hook's stderr only the head is read
(constant memory, whatever the size) and shown with its length, credentials redacted.

`Notifier.send` never raises for a delivery problem: it answers with a DeliveryResult saying
what happened, and the engine decides about retries. Each attempt is bounded by the configured
timeout; a command that outlives it is killed with its whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from warroom import __version__
from warroom.domain.common.redact import redact_text, redact_url
from warroom.domain.config.model import NotifierSettings
from warroom.domain.incident.events import idempotent_id
from warroom.domain.oncall.paging import Page


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    detail: str  # "HTTP 200", "exit 0", "connection refused", "timed out after 10s"...


# What is read of a webhook's answer and of a hook's output: the head, in constant memory
# (a hook printing 300 MB must not grow the engine by 300 MB), and how much there was.
OUTPUT_HEAD_BYTES = 4096
DETAIL_CHARS = 200  # of that head, what goes onto the timeline (credentials redacted)
_CHUNK = 64 * 1024


def _shown(head: bytes, total: int | None, secrets: list[str], what: str, *,
           sized: bool = False) -> str:
    """The start of an answer or an output, fit for the timeline: redacted, cut at
    DETAIL_CHARS, and saying how much there was when that is not all of it (`sized`:
    always)."""
    text = " ".join(head.decode("utf-8", "replace").split())
    text = redact_text(text, secrets, opaque=True)
    cut = len(text) > DETAIL_CHARS or total is None or total > len(head)
    if len(text) > DETAIL_CHARS:
        text = text[:DETAIL_CHARS].rstrip() + "…"
    if not text:
        return ""
    if not cut:
        return f"{text} ({total} bytes)" if sized else text
    size = f"{total} bytes" if total is not None else f"more than {len(head)} bytes"
    return f"{text} ({what} of {size}; the first {DETAIL_CHARS} characters kept)"


async def read_head(stream: asyncio.StreamReader | aiohttp.StreamReader,
                    limit: int = OUTPUT_HEAD_BYTES, *, drain: bool = True
                    ) -> tuple[bytes, int | None]:
    """The first `limit` bytes of a stream and its length, in constant memory. With
    `drain` the rest is read and counted (a hook blocked on a full pipe would never exit);
    without, reading stops there and the length is None when there was more."""
    head = bytearray()
    total = 0
    while True:
        chunk = await stream.read(_CHUNK if drain else max(1, limit + 1 - len(head)))
        if not chunk:
            return bytes(head), total
        total += len(chunk)
        if len(head) < limit:
            head += chunk[: limit - len(head)]
        if not drain and total > limit:
            return bytes(head), None


class Notifier:
    def __init__(self, settings: NotifierSettings, *, base_dir: Path | None = None) -> None:
        self.settings = settings
        self.base_dir = base_dir  # commands run there (the config file's folder)
        self._session: aiohttp.ClientSession | None = None

    @property
    def timeout(self) -> float:
        return self.settings.timeout.total_seconds()

    async def send(self, page: Page, attempt: int) -> DeliveryResult:
        payload = page.with_attempt(attempt)
        secrets = _secrets_of(page)
        try:
            if page.channel == "webhook":
                result = await self._webhook(page, payload, secrets)
            elif page.channel == "command":
                result = await self._command(page, payload, secrets)
            else:
                result = DeliveryResult(False, f"unknown channel {page.channel!r}")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a notifier bug must not stop the engine
            result = DeliveryResult(False, f"{type(e).__name__}: {e}")
        # Whatever the detail quotes (an error message naming the URL...) goes on the
        # timeline: no credential of the page's own may be in it.
        return DeliveryResult(result.ok, redact_text(result.detail, secrets))

    async def _webhook(self, page: Page, payload: dict[str, Any],
                       secrets: list[str]) -> DeliveryResult:
        url = page.notify.webhook
        assert url is not None
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": f"warroom/{__version__}"}
            )
        headers = {
            "Content-Type": "application/json",
            # The same for every attempt of a page, so a receiver can drop repeats.
            "Idempotency-Key": idempotent_id(":".join(map(str, page.key))),
            **page.notify.headers,
        }
        try:
            # Never follow a redirect: it would carry the page and the configured headers
            # (credentials) to an address nobody configured.
            async with self._session.post(
                url, data=json.dumps(payload), headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                if 200 <= resp.status < 300:
                    return DeliveryResult(True, f"HTTP {resp.status}")
                if 300 <= resp.status < 400:
                    where = resp.headers.get("Location", "(no Location)")
                    return DeliveryResult(False, f"redirect refused: "
                                                 f"{redact_url(where[:500], secrets)} "
                                                 f"(HTTP {resp.status})")
                head, total = await read_head(resp.content, drain=False)
                if total is None and resp.content_length is not None:
                    total = resp.content_length
                text = _shown(head, total, secrets, "an answer", sized=True)
                return DeliveryResult(False, f"HTTP {resp.status}" + (f": {text}" if text
                                                                      else ""))
        except TimeoutError:
            return DeliveryResult(False, f"timed out after {self.timeout:g}s")
        except aiohttp.ClientConnectorError as e:
            return DeliveryResult(False, f"cannot connect: {e.os_error.strerror or e}"
                                  if e.os_error else f"cannot connect: {e}")
        except aiohttp.ClientError as e:
            return DeliveryResult(False, f"{type(e).__name__}: {e}")

    async def _command(self, page: Page, payload: dict[str, Any],
                       secrets: list[str]) -> DeliveryResult:
        argv = page.notify.command
        assert argv
        env = {
            **os.environ,
            "WARROOM_PAGE_INCIDENT": page.incident_id,
            "WARROOM_PAGE_LEVEL": str(page.level),
            "WARROOM_PAGE_TO": page.to,
        }
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
                cwd=str(self.base_dir) if self.base_dir else None,
            )
        except FileNotFoundError:
            return DeliveryResult(False, f"no such program: {argv[0]}")
        except PermissionError:
            return DeliveryResult(False, f"not allowed to run {argv[0]}")
        data = (json.dumps(payload) + "\n").encode()
        try:
            async with asyncio.timeout(self.timeout):  # one deadline for the whole attempt
                _, _, (err, err_total) = await asyncio.gather(
                    _feed(proc, data), _drain(proc.stdout), _drain(proc.stderr))
                await proc.wait()
        except TimeoutError:
            _kill(proc)
            await proc.wait()
            return DeliveryResult(False, f"{argv[0]} timed out after {self.timeout:g}s")
        except asyncio.CancelledError:
            _kill(proc)
            raise
        if proc.returncode == 0:
            return DeliveryResult(True, "exit 0")
        text = _shown(err, err_total, secrets, "stderr")
        return DeliveryResult(False, f"{argv[0]} exit {proc.returncode}"
                              + (f": {text}" if text else ""))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _secrets_of(page: Page) -> list[str]:
    """What this page's own configuration holds that must never be quoted back: its header
    values and the password (and user) in its webhook's URL."""
    out = [v for v in page.notify.headers.values() if v]
    if page.notify.webhook:
        parts = urllib.parse.urlsplit(page.notify.webhook)
        out += [p for p in (parts.password, parts.username) if p]
    return out


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    """The page on the hook's standard input; a hook that does not read it is its business."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()


async def _drain(stream: asyncio.StreamReader | None) -> tuple[bytes, int | None]:
    if stream is None:
        return b"", 0
    return await read_head(stream)


def _kill(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
