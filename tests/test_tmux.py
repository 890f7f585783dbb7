"""Two real terminals (tmux panes) running the real `warroom` on one database: a key pressed
in one shows up in the other."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, cli_env, run_cli

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed: the two-terminal test needs it")


class Tmux:
    def __init__(self) -> None:
        self.socket = f"warroom-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30).stdout

    def start(self, name: str, width: int, height: int, command: list[str],
              env: dict[str, str]) -> None:
        exports = [f"{k}={v}" for k, v in env.items() if k.startswith(("WARROOM_", "NO_COLOR"))]
        self.run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                 "env", *exports, *command)

    def screen(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-t", name)

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", name, *keys)

    def wait_for(self, name: str, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(name)
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on {name}:\n{screen}")
            time.sleep(0.05)

    def kill(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    try:
        yield t
    finally:
        t.kill()


def test_two_terminals_one_room(tmux: Tmux, tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    assert run_cli(db, "declare", "--title", "Checkout [b]failing[/b]", "--severity", "1",
                   "--service", "payments").code == 0
    command = [sys.executable, "-m", "warroom"]
    tmux.start("alice", 160, 48, command, cli_env(db, "alice") | {"PYTHONPATH": str(REPO)})
    tmux.start("bob", 80, 24, command, cli_env(db, "bob") | {"PYTHONPATH": str(REPO)})
    tmux.wait_for("alice", "INC-1")
    bob = tmux.wait_for("bob", "INC-1")
    assert "Checkout [b]failing[/b]" in bob  # markup shown literally
    # The writing terminals' engine fires L1 just after the first paint. A note typed on a
    # screen that has not shown that yet is written at a stale version and refused (a person's
    # change is never re-decided), so type once the screen shows the incident as it is.
    tmux.wait_for("alice", "escalated to L1")
    tmux.keys("alice", "n")
    tmux.wait_for("alice", "Add a note")
    tmux.keys("alice", "typed in alice's terminal", "Enter")
    tmux.wait_for("bob", "typed in alice's terminal")
    tmux.keys("bob", "a")
    tmux.wait_for("alice", "acknowledged")
    tmux.wait_for("alice", "you: alice")
    # and the CLI agrees with both screens
    shown = run_cli(db, "show", "1", "--json").json()
    assert shown["acknowledged_by"] == "bob"  # type: ignore[index]
    notes = [e["text"] for e in shown["timeline"] if e["kind"] == "note"]  # type: ignore[index]
    assert notes == ["typed in alice's terminal"]
    tmux.keys("alice", "q")
    tmux.keys("bob", "q")


def test_spectator_terminal_watches_and_cannot_write(tmux: Tmux, tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    assert run_cli(db, "declare", "--title", "Disk full", "--severity", "2").code == 0
    env = cli_env(db, "watcher") | {"PYTHONPATH": str(REPO)}
    tmux.start("spectator", 100, 30, [sys.executable, "-m", "warroom", "watch"], env)
    screen = tmux.wait_for("spectator", "SPECTATOR")
    assert "Ack" not in screen.splitlines()[-1]  # no mutating keys in the footer
    tmux.keys("spectator", "a", "n")
    time.sleep(0.5)
    assert run_cli(db, "ack", "1", user="carol").code == 0
    tmux.wait_for("spectator", "acknowledged")
    shown = run_cli(db, "show", "1", "--json").json()
    actors = [e["actor"] for e in shown["timeline"] if e["kind"] != "escalated"]  # type: ignore[index]
    assert actors == ["alice", "carol"]  # nothing from the spectator


def test_demo_watch_is_a_spectator_on_the_demo_room(tmux: Tmux, tmp_path: Path) -> None:
    """`warroom demo` in one terminal, `warroom demo --watch` in another: the newcomer watches
    the same demo room, read-only."""
    demo = tmp_path / "demo" / "demo.db"
    env = cli_env(tmp_path / "mine.db") | {"PYTHONPATH": str(REPO)}
    assert run_cli(demo, "demo", "--path", str(demo), "--build-only", env=env).code == 0
    command = [sys.executable, "-m", "warroom", "demo", "--path", str(demo), "--watch"]
    tmux.start("newcomer", 160, 48, command, env)
    screen = tmux.wait_for("newcomer", "SPECTATOR")
    tmux.wait_for("newcomer", "Checkout failing")
    assert not (tmp_path / "mine.db").exists()
    del screen


def test_watch_without_a_room_names_the_demo(tmp_path: Path) -> None:
    db = tmp_path / "nothing-here.db"
    r = run_cli(db, "watch")
    assert r.code != 0
    assert "no database" in r.err and "warroom demo --watch" in r.err, r.err
    assert not db.exists()


def _masked(screen: str) -> str:
    """A screen with its digits masked: two terminals started seconds apart show different
    clocks, not different layouts."""
    import re

    return re.sub(r"\d", "0", screen)


def _stable(tmux: Tmux, name: str, text: str) -> str:
    """The screen once it shows `text` and stops changing (digits aside: the clocks tick)."""
    tmux.wait_for(name, text)
    deadline = time.monotonic() + 30
    last = ""
    while True:
        raw = tmux.screen(name)
        if _masked(raw) == _masked(last) and text in raw:
            return raw
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} never settled:\n{raw}")
        last = raw
        time.sleep(0.3)


def test_a_live_resize_gives_the_layout_of_a_fresh_start(tmux: Tmux, tmp_path: Path) -> None:
    """200x50 resized to 80x24 must not keep the wide layout (issue 12, item 9). It did when
    the environment held COLUMNS and LINES (Python's answer for the size, before the
    terminal's): the dashboard drew at the size it started with, whatever the window did."""
    db = tmp_path / "room.db"
    assert run_cli(db, "declare", "--title", "Checkout failing", "--severity", "1",
                   "--service", "payments").code == 0
    assert run_cli(db, "note", "1", "pool exhausted on db-3 " * 6).code == 0
    env = cli_env(db, "watcher") | {"PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "warroom", "watch"]
    # A shell may export the size the terminal had when it started: it must not pin it.
    tmux.start("resized", 200, 50, ["env", "COLUMNS=200", "LINES=50", *command], env)
    wide = _stable(tmux, "resized", "Timeline · 2 events")
    assert "╭─ Timeline" in wide, wide  # framed, beside the panes
    tmux.run("resize-window", "-t", "resized", "-x", "80", "-y", "24")
    tmux.start("fresh", 80, 24, command, env)
    fresh = _stable(tmux, "fresh", "Timeline · 2 events")
    deadline = time.monotonic() + 30
    while _masked(resized := _stable(tmux, "resized", "Timeline · 2 events")) != _masked(fresh):
        if time.monotonic() > deadline:
            raise AssertionError(f"resized:\n{resized}\nfresh:\n{fresh}")
        time.sleep(0.3)
    assert "─Timeline · 2 events" in resized and "╭─ Timeline" not in resized
    lines = resized.splitlines()
    row = next(line for line in lines if "pool exhausted" in line)
    assert len(row.rstrip()) > 70  # the timeline has the whole width, not 14 columns
    tmux.run("resize-window", "-t", "resized", "-x", "200", "-y", "50")
    assert _masked(_stable(tmux, "resized", "╭─ Timeline")) == _masked(wide)


def test_the_key_bar_fits_80x24(tmux: Tmux, tmp_path: Path) -> None:
    """At 80x24 the key bar was cut at "e Escalate …": `?` must always be on it."""
    db = tmp_path / "room.db"
    assert run_cli(db, "declare", "--title", "Disk full", "--severity", "2").code == 0
    env = cli_env(db, "alice") | {"PYTHONPATH": str(REPO)}
    tmux.start("narrow", 80, 24, [sys.executable, "-m", "warroom"], env)
    screen = _stable(tmux, "narrow", "? Help")
    bar = screen.splitlines()[-1]
    assert "…" not in bar and "? Help +" in bar, bar
    for key in (" a Ack", " s Status", " n Note", " c Comms"):
        assert key in bar, bar
    tmux.keys("narrow", "?")
    keys = tmux.wait_for("narrow", "Declare a new incident")
    assert "Keys" in keys
    tmux.keys("narrow", "Escape", "q")
