"""A private tmux server driven through one control-mode client: real terminals for the
dashboard benchmarks, read back with `capture-pane`.

Why control mode: the benchmarks poll the screen every couple of milliseconds. A `tmux
capture-pane` process per poll would fork and exec a client each time and compete for the two
cores with the program being timed; one control-mode client (`tmux -C attach`) takes commands
on a pipe, and a capture costs a few tens of microseconds of the server's time.

Each command sent gets one `%begin ... %end` (or `%error`) block back, in order; blocks whose
flags field is not 1 (the client's own attach) and notifications (`%session-changed`...) are
skipped. Nothing here is timed: callers take their own clocks around `capture` and `keys`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path


class TmuxError(RuntimeError):
    pass


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class TmuxServer:
    """One private server (`tmux -L <socket>`), killed on close with everything it runs."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        if not tmux_available():
            raise TmuxError("tmux is not installed: the real-terminal benchmarks need it")
        self.socket = f"warroom-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._env = dict(env or os.environ)
        # The server (and so every session's environment) starts from this environment; the
        # session that keeps the server alive runs nothing but a sleep.
        self._run("-f", "/dev/null", "new-session", "-d", "-s", "ctl", "-x", "20", "-y", "5",
                  "sleep 100000000")
        self._socket_path = self._run("display", "-p", "#{socket_path}").strip()
        self._client = subprocess.Popen(
            ["tmux", "-L", self.socket, "-C", "attach", "-t", "ctl"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            env=self._env,
        )
        self.command("display -p ready")

    def _run(self, *args: str) -> str:
        p = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                           timeout=30, env=self._env)
        if p.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args[:3])}...: {p.stderr.strip()}")
        return p.stdout

    # ---- the control client ---------------------------------------------------------------

    def command(self, line: str) -> list[str]:
        """Send one tmux command line; its output lines (raise TmuxError on %error)."""
        client = self._client
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(line + "\n")
        client.stdin.flush()
        out: list[str] = []
        in_block = False
        while True:
            raw = client.stdout.readline()
            if not raw:
                raise TmuxError("the tmux control client went away")
            text = raw.rstrip("\n")
            if not in_block:
                in_block = text.startswith("%begin ")
                continue
            if text.startswith(("%end ", "%error ")):
                fields = text.split()
                if len(fields) < 4 or fields[3] != "1":  # not an answer to us: skip it
                    in_block, out = False, []
                    continue
                if text.startswith("%error"):
                    raise TmuxError(f"tmux {line.split()[0]}: {' '.join(out)}")
                return out
            out.append(text)

    # ---- sessions ---------------------------------------------------------------------------

    def start(self, name: str, width: int, height: int, argv: Sequence[str],
              env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        """A session of a fixed size running argv (through `env`, so the pane's process is
        argv's own: env execs it). Returns once tmux has forked it."""
        words = ["new-session", "-d", "-s", name, "-x", str(width), "-y", str(height)]
        if cwd is not None:
            words += ["-c", str(cwd)]
        words += ["env", *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
        self.command(" ".join(_quote(w) for w in words))

    def capture(self, name: str) -> str:
        return "\n".join(self.command(f"capture-pane -p -t {_quote(name)}"))

    def keys(self, name: str, *keys: str, literal: bool = False) -> None:
        flags = " -l" if literal else ""
        self.command(f"send-keys{flags} -t {_quote(name)} " + " ".join(_quote(k) for k in keys))

    def pane_pid(self, name: str) -> int:
        return int(self.command(f"display -p -t {_quote(name)} '#{{pane_pid}}'")[0])

    def size(self, name: str) -> tuple[int, int]:
        w, h = self.command(f"display -p -t {_quote(name)} "
                            "'#{window_width} #{window_height}'")[0].split()
        return int(w), int(h)

    def has_session(self, name: str) -> bool:
        try:
            self.command(f"has-session -t {_quote(name)}")
        except TmuxError:
            return False
        return True

    def wait_for(self, name: str, ready: Callable[[str], bool], timeout: float,
                 every: float = 0.002) -> tuple[float, str]:
        """Poll the pane until ready(screen); (time.monotonic() of that capture, screen).

        The time is taken right after the capture that first satisfied `ready` returned: the
        resolution is one capture round trip plus `every`.
        """
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture(name)
            now = time.monotonic()
            if ready(screen):
                return now, screen
            if now > deadline:
                raise TimeoutError(f"the screen of {name} never got ready:\n{screen}")
            time.sleep(every)

    def stop(self, name: str, pid: int | None, quit_keys: Sequence[str] = ("q",),
             timeout: float = 10.0) -> None:
        """Quit the program politely, then by signal (its pid only), then drop the session."""
        if pid is not None:
            with contextlib.suppress(TmuxError):
                self.keys(name, *quit_keys)
            if not _wait_gone(pid, timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                if not _wait_gone(pid, 5.0):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    _wait_gone(pid, 5.0)
        with contextlib.suppress(TmuxError):
            if self.has_session(name):
                self.command(f"kill-session -t {_quote(name)}")

    def close(self) -> None:
        """Kill the server (and so every session still open) and the control client."""
        with contextlib.suppress(Exception):
            self._run("kill-server")
        if self._socket_path:
            Path(self._socket_path).unlink(missing_ok=True)
        client = self._client
        if client.stdin is not None:
            with contextlib.suppress(OSError):
                client.stdin.close()
        try:
            client.wait(5)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(5)
        if client.stdout is not None:
            client.stdout.close()


@contextlib.contextmanager
def tmux_server(env: Mapping[str, str] | None = None) -> Iterator[TmuxServer]:
    """A server closed on the way out, also when the benchmark is killed with SIGTERM (turned
    into SystemExit meanwhile, so the programs in its terminals do not outlive it)."""

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    server = TmuxServer(env)
    try:
        yield server
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)


def _quote(word: str) -> str:
    """tmux's command parser follows shell quoting closely enough for these words."""
    return shlex.quote(word)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        status = _proc_state(pid)
        if status == "Z":  # a zombie of the tmux server's: gone for our purposes
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and friends from /proc/<pid>/status, in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") and value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
