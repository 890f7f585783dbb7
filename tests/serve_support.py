"""A real `warroom serve` in its own process, and Debian's chromium driven by Playwright:
what the browser tests (/watch, /status/) share."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO

CHROMIUM = shutil.which("chromium")


@contextmanager
def warroom_serve(env: dict[str, str], out: Path
                  ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`warroom serve` on a free loopback port (no engine): the process and its base URL,
    stopped with SIGTERM (then killed) whatever happens. Its output goes to `out`, a file
    rather than a pipe, since nobody drains a pipe after the first line."""
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "serve", "--listen", "127.0.0.1:0", "--json",
             "--no-engine"], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not out.read_bytes().endswith(b"\n"):
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "warroom serve did not start"
            time.sleep(0.05)
        port = json.loads(out.read_bytes().splitlines()[0])["port"]
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(what: str) -> Iterator[Any]:
    """A headless Debian chromium (Playwright's own download is not reachable here), or a
    skip that says why; `what` names the tests that need it."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run "
                    f"installs it): {what} need a real browser")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is not installed "
                                          "(pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        # As root (CI), chromium refuses to start with its sandbox.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield b
        finally:
            b.close()
