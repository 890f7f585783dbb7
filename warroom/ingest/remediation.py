"""Running a service's auto-remediation command for one alert, bounded in time and output.

The command gets the alert as one line of JSON on stdin and WARROOM_ALERT_KEY,
WARROOM_INCIDENT, WARROOM_SERVICE in its environment. It is never run by a shell; it runs in
the configuration file's folder, in its own process group, killed with it at the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None
    timed_out: bool
    output: str
    truncated: bool
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None


async def run_remediation(command: list[str], alert: dict[str, Any], *, limit: float,
                          output_bytes: int, cwd: Path | None = None,
                          env: dict[str, str] | None = None) -> RunResult:
    start = time.monotonic()
    full_env = {**os.environ, **(env or {})}
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=str(cwd) if cwd else None, env=full_env,
            start_new_session=True,
        )
    except OSError as e:
        return RunResult(None, False, "", False, time.monotonic() - start,
                         f"{command[0]}: {e.strerror or e}")
    kept = bytearray()
    truncated = False

    async def talk() -> None:
        nonlocal truncated
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write((json.dumps(alert, ensure_ascii=False) + "\n").encode())
            await proc.stdin.drain()
            proc.stdin.close()
        while True:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                break
            room = output_bytes - len(kept)
            if room > 0:
                kept.extend(chunk[:room])
            if len(chunk) > max(room, 0):
                truncated = True
        await proc.wait()

    timed_out = False
    try:
        await asyncio.wait_for(talk(), limit)
    except TimeoutError:
        timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return RunResult(None if timed_out else proc.returncode, timed_out,
                     kept.decode("utf-8", "replace"), truncated, time.monotonic() - start)
