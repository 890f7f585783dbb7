"""Issue 13, item 1, on the screen: a room holding incidents dated year 1 and year 9999 (an old
database, a write that went around the CLI's checks) opens and shows them; and a dashboard that
crashes all the same exits 1 with one line saying where its traceback was written, instead of a
300-line traceback and exit status 0."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.store.sqlite import SQLiteStore
from warroom.tui.app import WarroomApp
from warroom.tui.run import run_app

from .conftest import REPO, cli_env
from .tui_support import CET, NOW, seeded_db, settle

FAR = {
    "far-9999": datetime(9999, 12, 31, 23, 50, tzinfo=UTC),
    "far-1": datetime(1, 1, 1, 0, 5, tzinfo=UTC),
    "far-max": datetime.max.replace(tzinfo=UTC),
}


def planted_db(path: Path) -> Path:
    """One incident per extreme time, its declaration, impact start and detection all there;
    the first one acknowledged at that time too (the others unacknowledged: an engine wants
    to page for them)."""

    async def build() -> None:
        s = await SQLiteStore.open(path)
        try:
            for i, (title, at) in enumerate(FAR.items()):
                r = await s.append(None, commands.declare(
                    title, Severity.SEV1, "alice", at=at, started_at=at, detected_at=at,
                    service="payments"))
                if i == 0:
                    state = await s.get(r.incident_id)
                    await s.append(state.id, commands.acknowledge(state, "bob", at=at))
        finally:
            await s.close()

    asyncio.run(build())
    return path


def _app(path: Path, *, spectator: bool, follow: str | None) -> WarroomApp:
    async def opener() -> SQLiteStore:
        return await SQLiteStore.open(path, readonly=spectator, poll_interval=0.01)

    return WarroomApp(actor="alice", clock=lambda: NOW, local_tz=CET, tick=None,
                      presence=False, open_store=opener, spectator=spectator,
                      engine=not spectator, follow=follow)


@pytest.mark.parametrize("spectator", [True, False], ids=["spectator", "writer-with-engine"])
@pytest.mark.parametrize("follow", [None, "INC-1", "INC-2", "INC-3"])
async def test_the_dashboard_shows_incidents_dated_year_1_and_9999(
        tmp_path: Path, spectator: bool, follow: str | None) -> None:
    db = await asyncio.to_thread(planted_db, tmp_path / "room.db")
    app = _app(db, spectator=spectator, follow=follow)
    async with app.run_test(size=(160, 50)) as pilot:
        expected = next(t for t, n in zip(FAR, ("INC-1", "INC-2", "INC-3"), strict=True)
                        if n == follow) if follow else None
        await settle(pilot, lambda: app.dashboard.state is not None and (
            expected is None or app.dashboard.state.title == expected))
        for key in ("j", "j", "enter", "escape", "l", "escape", "k"):
            await pilot.press(key)
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert app.dashboard.state is not None and app.dashboard.state.title in FAR
        assert app.return_code is None  # still running: nothing crashed
    assert not app.return_code  # run_test also re-raises whatever crashed the app


class _Crashing(WarroomApp):
    """The dashboard with a planted bug: a timer that raises once the screen is up."""

    def on_mount(self) -> None:
        self.set_timer(0.2, self._planted_bug)

    def _planted_bug(self) -> None:
        raise RuntimeError("planted bug")


async def test_a_crash_is_one_line_and_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    db = await asyncio.to_thread(seeded_db, tmp_path / "room.db")

    async def opener() -> SQLiteStore:
        return await SQLiteStore.open(db, readonly=True, poll_interval=0.01)

    app = _Crashing(actor="alice", clock=lambda: NOW, local_tz=CET, tick=None, presence=False,
                    open_store=opener, spectator=True, engine=False)
    code = await asyncio.wait_for(run_app(app, headless=True, size=(120, 40)), 30)
    err = capsys.readouterr().err
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("warroom: the dashboard crashed (RuntimeError: planted bug); "
                               "the traceback is in ")
    report = Path(lines[0].rsplit(" ", 1)[1])
    assert report.parent == tmp_path / "state" / "warroom"
    assert report.stat().st_mode & 0o777 == 0o600
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "_planted_bug" in text


# ---- the real terminal -------------------------------------------------------------------------

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class _Pane:
    def __init__(self) -> None:
        self.socket = f"warroom-edges-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30).stdout

    def start(self, script: str, env: dict[str, str]) -> None:
        exports = [f"{k}={v}" for k, v in env.items()
                   if k.startswith(("WARROOM_", "NO_COLOR", "XDG_", "PYTHONPATH"))]
        self.tmux("new-session", "-d", "-s", "t", "-x", "400", "-y", "48", "env", *exports,
                  "sh", "-c", f'{script}; echo "exit=$?"; sleep 60')

    def wait_for(self, text: str, timeout: float = 40) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.tmux("capture-pane", "-p", "-t", "t")
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared:\n{screen}")
            time.sleep(0.05)


@needs_tmux
@pytest.mark.slow
def test_watch_in_a_real_terminal_shows_year_9999_and_quits_cleanly(tmp_path: Path) -> None:
    db = planted_db(tmp_path / "room.db")
    pane = _Pane()
    try:
        pane.start(f"{sys.executable} -m warroom watch 1",
                   cli_env(db) | {"PYTHONPATH": str(REPO)})
        pane.wait_for("far-9999")
        pane.tmux("send-keys", "-t", "t", "q")
        screen = pane.wait_for("exit=")
        assert "exit=0" in screen and "Traceback" not in screen
    finally:
        pane.tmux("kill-server")


@needs_tmux
@pytest.mark.slow
def test_a_crash_in_a_real_terminal_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = seeded_db(tmp_path / "room.db")
    script = tmp_path / "crashing.py"
    script.write_text(
        "import warroom.tui.app as a\n"
        "class Crashing(a.WarroomApp):\n"
        "    def on_mount(self):\n"
        "        self.set_timer(0.5, self.boom)\n"
        "    def boom(self):\n"
        "        raise RuntimeError('planted bug')\n"
        "a.WarroomApp = Crashing\n"
        "from warroom.cli.main import main\n"
        "raise SystemExit(main(['watch']))\n")
    pane = _Pane()
    try:
        pane.start(f"{sys.executable} {script}", cli_env(db) | {
            "PYTHONPATH": str(REPO), "XDG_STATE_HOME": str(tmp_path / "state")})
        screen = pane.wait_for("exit=")
        lines = [ln for ln in screen.splitlines() if ln.strip()]
        assert lines[-1] == "exit=1", screen
        assert len(lines) == 2 and lines[0].startswith(
            "warroom: the dashboard crashed (RuntimeError: planted bug)"), screen
        assert list((tmp_path / "state" / "warroom").glob("crash-*.txt"))
    finally:
        pane.tmux("kill-server")
