"""Delivering one page: an HTTP webhook (POST JSON, aiohttp's client) or a command hook (the
page as JSON on standard input).

`Notifier.send` never raises for a delivery problem: it answers with a DeliveryResult saying
what happened, and the engine decides about retries. Each attempt is bounded by the configured
timeout; a command that outlives it is killed with its whole process group.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from warroom import __version__
from warroom.domain.config.model import NotifierSettings
from warroom.domain.incident.events import idempotent_id
from warroom.domain.oncall.paging import Page


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    detail: str  # "HTTP 200", "exit 0", "connection refused", "timed out after 10s"...


def _tail(data: bytes, limit: int = 200) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


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
        try:
            if page.channel == "webhook":
                return await self._webhook(page, payload)
            if page.channel == "command":
                return await self._command(page, payload)
            return DeliveryResult(False, f"unknown channel {page.channel!r}")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a notifier bug must not stop the engine
            return DeliveryResult(False, f"{type(e).__name__}: {e}")

    async def _webhook(self, page: Page, payload: dict[str, Any]) -> DeliveryResult:
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
            async with self._session.post(
                url, data=json.dumps(payload), headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                body = await resp.read()
                if 200 <= resp.status < 300:
                    return DeliveryResult(True, f"HTTP {resp.status}")
                text = _tail(body)
                return DeliveryResult(False, f"HTTP {resp.status}" + (f": {text}" if text else ""))
        except TimeoutError:
            return DeliveryResult(False, f"timed out after {self.timeout:g}s")
        except aiohttp.ClientConnectorError as e:
            return DeliveryResult(False, f"cannot connect: {e.os_error.strerror or e}"
                                  if e.os_error else f"cannot connect: {e}")
        except aiohttp.ClientError as e:
            return DeliveryResult(False, f"{type(e).__name__}: {e}")

    async def _command(self, page: Page, payload: dict[str, Any]) -> DeliveryResult:
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
            _, err = await asyncio.wait_for(proc.communicate(data), self.timeout)
        except TimeoutError:
            _kill(proc)
            await proc.wait()
            return DeliveryResult(False, f"{argv[0]} timed out after {self.timeout:g}s")
        except asyncio.CancelledError:
            _kill(proc)
            raise
        if proc.returncode == 0:
            return DeliveryResult(True, "exit 0")
        text = _tail(err)
        return DeliveryResult(False, f"{argv[0]} exit {proc.returncode}"
                              + (f": {text}" if text else ""))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _kill(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
