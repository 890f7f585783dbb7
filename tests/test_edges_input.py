"""Issue 13, items 1 to 3, through the real CLI (a process each, as a script would run it):
every user mistake the issue lists, every time outside the room's window and every read past
its limit is refused with its documented exit code and exactly ONE line on stderr, never
"internal error" nor a traceback; and a file that never ends (/dev/urandom) is refused in
constant memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO, cli_env, run_cli

ROOM_TITLE = "edges"


@dataclass
class Ran:
    code: int
    out: str
    err: str
    max_rss_kb: int
    seconds: float


def run(db: Path, *args: str | bytes, env: dict[str, str] | None = None,
        stdin: bytes | None = None, extra_env: dict[bytes, bytes] | None = None,
        timeout: float = 60) -> Ran:
    """The real `warroom`; arguments and environment may be bytes (not UTF-8)."""
    base = env or cli_env(db)
    environ = {k.encode(): v.encode() for k, v in base.items()}
    environ.update(extra_env or {})
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "warroom", *args], input=stdin,
                       capture_output=True, env=environ, cwd=REPO, timeout=timeout)
    return Ran(p.returncode, p.stdout.decode("utf-8", "replace"),
               p.stderr.decode("utf-8", "replace"), 0, time.monotonic() - start)


def run_measured(db: Path, *args: str, stdin_path: str | None = None,
                 timeout: float = 60) -> Ran:
    """Like `run`, with the child's own peak memory from wait4 (not the maximum over every
    child this test process ever had)."""
    start = time.monotonic()
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        p = subprocess.Popen([sys.executable, "-m", "warroom", *args], stdin=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(db),
                             cwd=REPO)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                raise AssertionError(f"{args} still running after {timeout}s")
            time.sleep(0.01)
        assert p.stdout is not None and p.stderr is not None
        out, err = p.stdout.read(), p.stderr.read()
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdin_path:
            stdin.close()  # type: ignore[union-attr]
    return Ran(p.returncode, out.decode(), err.decode(), usage.ru_maxrss,
               time.monotonic() - start)


def one_line(r: Ran, code: int, says: str) -> None:
    assert r.code == code, (r.code, r.err)
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err[:2000]
    assert lines[0].startswith("warroom"), lines[0]
    assert says in lines[0], lines[0]
    assert "internal error" not in r.err and "Traceback" not in r.err


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("edges")
    db = folder / "room.db"
    r = run_cli(db, "declare", "--title", ROOM_TITLE, "--severity", "SEV-2", "--service", "x")
    assert r.code == 0, r.err
    (folder / "a-file").write_text("not a folder")
    (folder / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (folder / "timeout.toml").write_text('[notifier]\ntimeout = "99999999999d"\n')
    (folder / "lone-am.json").write_text(json.dumps({
        "version": "4", "status": "firing", "groupKey": "g", "receiver": "r",
        "alerts": [{"status": "firing", "labels": {"alertname": "A\ud800"},
                    "startsAt": "2026-03-04T14:00:00Z"}]}))
    (folder / "lone-pd.json").write_text(
        '{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "\\udc00",'
        ' "source": "s", "severity": "critical"}}')
    yield db


def _f(db: Path, name: str) -> str:
    return str(db.parent / name)


BAD_UTF8 = b"caf\xe9 \xff"

# (id, argv (a {dir} in a string is the room's folder), exit code, what the one line says)
MISTAKES: list[tuple[str, list[str | bytes], int, str]] = [
    # item 2, as the issue lists them
    ("title-not-utf8", [b"declare", b"--title", BAD_UTF8, b"--severity", b"SEV-1"], 2,
     "the value of --title is not valid UTF-8"),
    ("as-not-utf8", [b"--as", BAD_UTF8, b"note", b"1", b"hi"], 2,
     "the value of --as is not valid UTF-8"),
    ("service-not-utf8", [b"declare", b"--title", b"t", b"--severity", b"SEV-1",
                          b"--service", BAD_UTF8], 2, "the value of --service is not valid"),
    ("lone-surrogate-alertmanager", ["ingest", "{dir}/lone-am.json"], 2,
     "alerts[0].labels.alertname: a lone UTF-16 surrogate (\\ud800) is not text"),
    ("lone-surrogate-pagerduty", ["ingest", "{dir}/lone-pd.json"], 2,
     "payload.summary: a lone UTF-16 surrogate (\\udc00) is not text"),
    ("at-year-1-plus-14h", ["note", "1", "x", "--at", "0001-01-01T00:00:00+14:00"], 2,
     "is outside the calendar"),
    ("at-minus-huge", ["note", "1", "x", "--at", "-9999999999d"], 2,
     "is longer than 100 years"),
    ("at-plus-huge", ["note", "1", "x", "--at", "+99999999d"], 2, "is longer than 100 years"),
    ("at-epoch-1e20", ["note", "1", "x", "--at", "@1e20"], 2, "is outside the calendar"),
    ("at-epoch-inf", ["note", "1", "x", "--at", "@inf"], 2, "is outside the calendar"),
    ("at-epoch-nan", ["note", "1", "x", "--at", "@nan"], 2, "is outside the calendar"),
    ("at-1e400m-ago", ["note", "1", "x", "--at", "1e400m ago"], 2, "cannot read duration"),
    ("expect-version-huge", ["note", "1", "x", "--expect-version",
                             "99999999999999999999999"], 2,
     "argument --expect-version: expected a number from 0 to"),
    ("tail-since-huge", ["tail", "--since", "99999999999999999999999"], 2,
     "argument --since: expected a number from 0 to"),
    ("toml-nested-100000", ["--config", "{dir}/deep.toml", "config"], 2,
     "deep.toml: invalid TOML: nested too deeply"),
    ("toml-timeout-huge", ["--config", "{dir}/timeout.toml", "config"], 2,
     "notifier.timeout: duration '99999999999d' is longer than 100 years"),
    ("db-under-a-file-write", ["--db", "{dir}/a-file/x.db", "note", "1", "x"], 2,
     "a-file is a file, not a folder"),
    ("db-under-a-file-read", ["--db", "{dir}/a-file/x.db", "list"], 2,
     "a-file is a file, not a folder"),
    ("db-under-a-file-init", ["--db", "{dir}/a-file/x.db", "init"], 2,
     "a-file is a file, not a folder"),
    ("show-last-minus-1", ["show", "1", "--last", "-1"], 2,
     "argument --last: expected a number of at least 1"),
    ("show-last-0", ["show", "1", "--last", "0"], 2, "expected a number of at least 1"),
    ("assess-recovery-inf", ["assess", "--recovery-hours", "inf"], 2,
     "must be a number of hours, not inf"),
    ("assess-recovery-nan", ["assess", "--recovery-hours", "nan"], 2,
     "must be a number of hours, not nan"),
    ("assess-revenue-inf", ["assess", "--revenue-per-min", "inf"], 2,
     "must be a number of dollars"),
    ("as-100kb", ["--as", "a" * 100_000, "note", "1", "hi"], 2,
     "--as is 100000 characters long; a name may have at most 200"),
    # item 1: the room's time window (2000-01-01 .. 24 h ahead)
    ("declare-at-9999", ["declare", "--title", "far", "--severity", "SEV-1", "--at",
                         "9999-12-31T23:50:00Z"], 2,
     "--at 9999-12-31T23:50:00Z is after"),
    ("note-at-1999", ["note", "1", "x", "--at", "1999-12-31T23:59:59Z"], 2,
     "--at 1999-12-31T23:59:59Z is before 2000-01-01T00:00:00Z"),
    ("started-at-1970", ["declare", "--title", "t", "--severity", "SEV-1", "--started-at",
                         "@0"], 2, "--started-at 1970-01-01T00:00:00Z is before"),
    ("detected-at-ahead", ["declare", "--title", "t", "--severity", "SEV-1",
                           "--detected-at", "+25h"], 2, "--detected-at"),
    ("edit-time-ahead", ["edit", "1", "1", "--time", "+2d"], 2, "--time"),
    ("clocks-now-9999", ["clocks", "1", "--now", "9999-12-31T23:50:00Z"], 2, "--now"),
    ("escalation-now-far", ["escalation", "1", "--now", "+3d"], 2, "--now"),
    ("engine-now-far", ["engine", "--once", "--now", "2100-01-01T00:00Z"], 2, "--now"),
    ("metrics-since-year-1", ["metrics", "--since", "0001-01-02"], 2,
     "--since 0001-01-02T00:00:00Z is before 2000-01-01"),
    ("metrics-until-far", ["metrics", "--until", "+400d"], 2, "--until"),
    ("oncall-at-far", ["oncall", "--at", "+400d"], 2, "--at"),
    ("comms-at-far", ["comms", "1", "--template", "update", "--send", "--audience",
                      "internal", "--at", "+3d"], 2, "--at"),
    ("ingest-at-1999", ["ingest", "{dir}/lone-am.json", "--at", "1999-01-01"], 2, "--at"),
    # item 3: reads past their limit
    ("text-file-urandom", ["comms", "1", "--template", "update", "--send", "--audience",
                           "internal", "--text-file", "/dev/urandom"], 2,
     "/dev/urandom: larger than 1 MiB, the limit for --text-file"),
    ("text-file-zero", ["comms", "1", "--template", "update", "--send", "--audience",
                        "internal", "--text-file", "/dev/zero"], 2, "larger than 1 MiB"),
    ("config-urandom", ["--config", "/dev/urandom", "config"], 2,
     "/dev/urandom: larger than 1 MiB, the limit for a configuration file"),
    ("ingest-urandom", ["ingest", "/dev/urandom"], 2,
     "larger than 1 MiB, the limit for a payload (alerts.max_body_bytes = 1 MiB)"),
]


def _argv(db: Path, argv: list[str | bytes]) -> list[str | bytes]:
    d = str(db.parent)
    return [a.replace("{dir}", d) if isinstance(a, str) else a for a in argv]


@pytest.mark.parametrize("argv,code,says", [m[1:] for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_its_exit_code_and_one_line(room: Path, argv: list[str | bytes],
                                                    code: int, says: str) -> None:
    one_line(run(room, *_argv(room, argv)), code, says)


def test_the_room_is_untouched_by_the_mistakes(room: Path) -> None:
    """Every refusal above came before anything was written."""
    r = run_cli(room, "show", "1", "--json")
    assert r.code == 0
    timeline = r.json()["timeline"]  # type: ignore[index]
    assert [e["kind"] for e in timeline] == ["declared"]
    assert run_cli(room, "list", "--all", "--json").json() and \
        len(run_cli(room, "list", "--all", "--json").json()) == 1  # type: ignore[arg-type]


def test_a_name_from_the_environment_is_checked_too(room: Path) -> None:
    one_line(run(room, "note", "1", "hi", extra_env={b"WARROOM_USER": BAD_UTF8}), 2,
             "$WARROOM_USER is not valid UTF-8")
    one_line(run(room, "note", "1", "hi", extra_env={b"WARROOM_USER": b"b" * 300}), 2,
             "$WARROOM_USER is 300 characters long")


def test_times_inside_the_window_are_accepted(room: Path, tmp_path: Path) -> None:
    """The window is not a new rule for normal use: backdating, a lookup a few months ahead,
    and a room that widens it in its configuration."""
    db = tmp_path / "room.db"
    assert run_cli(db, "declare", "--title", "t", "--severity", "SEV-2", "--at", "-3h",
                   "--started-at", "2000-01-01T00:00:00Z").code == 0
    assert run_cli(db, "note", "1", "later", "--at", "+23h").code == 0
    assert run_cli(db, "oncall", "--at", "+180d").code == 0
    assert run_cli(db, "metrics", "--since", "2001-01-01", "--until", "+30d").code == 0
    config = tmp_path / "warroom.toml"
    config.write_text('[times]\nearliest = 1990-01-01\nahead = "7d"\n')
    assert run_cli(db, "note", "1", "old", "--at", "1995-05-05T05:05:05Z").code == 0
    assert run_cli(db, "note", "1", "soon", "--at", "+6d").code == 0
    r = run_cli(db, "note", "1", "too soon", "--at", "+8d")
    assert r.code == 2 and "from 1990-01-01 to 7d after now" in r.err
    config.write_text('[times]\nearliest = "soon"\n')
    r = run_cli(db, "note", "1", "x", "--at", "-1h")
    assert r.code == 2 and "times.earliest" in r.err


def test_an_argparse_mistake_is_one_line(room: Path) -> None:
    one_line(run(room, "frobnicate"), 2, "invalid choice")
    one_line(run(room, "declare", "--title", "t"), 2, "the following arguments are required")


# ---- reads in constant memory ----------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["comms", "1", "--template", "update", "--send", "--audience", "internal", "--text-file",
     "/dev/urandom"],
    ["--config", "/dev/zero", "config"],
    ["ingest", "/dev/urandom"],
], ids=["text-file", "config", "ingest"])
def test_an_endless_file_is_refused_in_constant_memory(room: Path, args: list[str]) -> None:
    baseline = run_measured(room, "assess", "--users-pct", "5")
    r = run_measured(room, *args)
    assert r.code == 2 and "larger than" in r.err, r.err
    assert r.seconds < 20
    # The limit is 1 MiB: the process may hold it (twice, decoded) and nothing more.
    assert r.max_rss_kb - baseline.max_rss_kb < 16 * 1024, (r.max_rss_kb, baseline.max_rss_kb)


def test_an_endless_stdin_is_refused_in_constant_memory(room: Path) -> None:
    r = run_measured(room, "comms", "1", "--template", "update", "--send", "--audience",
                     "internal", "--text-file", "-", stdin_path="/dev/urandom")
    assert r.code == 2 and "standard input: larger than 1 MiB" in r.err, r.err
    r = run_measured(room, "ingest", "-", stdin_path="/dev/zero")
    assert r.code == 2 and "standard input: larger than 1 MiB" in r.err, r.err


def test_large_team_files_are_refused_without_reading_them(room: Path, tmp_path: Path) -> None:
    """Templates, runbooks and the configuration: a sparse 8 GiB file would be 8 GiB of
    memory if read whole."""
    templates = tmp_path / "templates"
    templates.mkdir()
    with open(templates / "update.txt", "wb") as f:
        f.truncate(8 * 1024**3)
    r = run_measured(room, "comms", "1", "--template", "update", "--templates", str(templates))
    one_line(r, 2, "update.txt: larger than 256 KiB, the limit for a template")
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    with open(runbooks / "x.md", "wb") as f:
        f.truncate(8 * 1024**3)
    one_line(run_measured(room, "runbook", "x", "--runbooks", str(runbooks)), 2,
             "x.md: larger than 1 MiB, the limit for a runbook")
    config = tmp_path / "big.toml"
    with open(config, "wb") as f:
        f.truncate(8 * 1024**3)
    one_line(run_measured(room, "--config", str(config), "config"), 2,
             "big.toml: larger than 1 MiB, the limit for a configuration file")


# ---- a full disk -----------------------------------------------------------------------------


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True)
    return r.returncode == 0


@pytest.mark.slow
def test_a_full_disk_is_exit_11_and_nothing_written(tmp_path: Path) -> None:
    """A real full disk: a 1 MiB tmpfs (needs root; skipped otherwise, and the test below
    covers the store's side with SQLite's max_page_count)."""
    mnt = tmp_path / "mnt"
    if not _mount_tmpfs(mnt, "1m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        db = mnt / "room.db"
        assert run_cli(db, "declare", "--title", "t", "--severity", "SEV-2").code == 0
        filler = mnt / "filler"
        with open(filler, "wb") as f:  # leave ~170 KiB: room to open, not to write much
            f.write(b"\0" * (800 * 1024))
        big = "x" * 19_000
        acknowledged = 0
        refusals: list[Ran] = []
        for _ in range(40):
            r = run(db, "note", "1", big)
            if r.code == 0:
                acknowledged += 1
            else:
                refusals.append(r)
            if len(refusals) >= 3:
                break
        assert refusals, "the disk never filled up"
        for r in refusals:
            one_line(r, 11, "is full: nothing was written")
        # Opening the room on a disk with no room at all for -wal/-shm is the same answer.
        fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:  # ENOSPC: not one block left
            pass
        finally:
            os.close(fd)
        one_line(run(db, "note", "1", "x"), 11, "is full: nothing was written")
        filler.unlink()
        shown = run_cli(db, "show", "1", "--json")
        assert shown.code == 0
        notes = [e for e in shown.json()["timeline"] if e["kind"] == "note"]  # type: ignore[index]
        assert len(notes) == acknowledged
        import sqlite3

        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


async def test_a_full_database_is_disk_full_and_nothing_written(tmp_path: Path) -> None:
    """The same through the store API on any machine: SQLite's max_page_count caps the file
    (the writer connection's setting), and the append fails with "database or disk is full"."""
    from warroom.domain.incident import commands
    from warroom.domain.incident.severity import Severity
    from warroom.store.errors import DiskFull, ExitCode
    from warroom.store.execute import execute
    from warroom.store.sqlite import SQLiteStore, _in_thread

    store = await SQLiteStore.open(tmp_path / "room.db")
    try:
        r = await store.append(None, commands.declare("t", Severity.SEV2, "alice"))
        pages = await _in_thread(store._writer, lambda c: c.execute(  # type: ignore[arg-type]
            "PRAGMA page_count").fetchone()[0])
        await _in_thread(store._writer, lambda c: c.execute(  # type: ignore[arg-type]
            f"PRAGMA max_page_count = {pages + 20}").fetchone())
        written = 0
        with pytest.raises(DiskFull) as caught:
            for _ in range(200):
                await execute(store, r.incident_id,
                              lambda s: commands.add_note(s, "y" * 19_000, "alice"))
                written += 1
        assert caught.value.exit_code == ExitCode.DISK_FULL == 11
        assert "nothing was written" in str(caught.value)
        events = await store.events(r.incident_id)
        assert len(events) == 1 + written
        assert (await store.get(r.incident_id)).version == 1 + written
    finally:
        await store.close()


# ---- a room that already holds absurd times ----------------------------------------------------


@pytest.mark.slow
def test_every_command_reads_a_room_holding_year_1_and_9999(tmp_path: Path) -> None:
    """What the CLI now refuses may already be in a room (an older warroom, another tool):
    every command still answers, and the incidents can still be worked on."""
    from .test_edges_dashboard import planted_db

    db = planted_db(tmp_path / "room.db")
    reads = [["list"], ["list", "--all", "--json"], ["metrics"], ["metrics", "--csv"],
             ["metrics", "--oncall"], ["tail"], ["oncall"], ["engine", "--once", "--no-deliver"]]
    for n in ("1", "2", "3"):
        reads += [["show", n], ["show", n, "--json"], ["clocks", n], ["escalation", n],
                  ["comms", n], ["comms", n, "--template", "update"], ["export", n],
                  ["export", n, "--format", "markdown"], ["payloads", n]]
    writes = [["escalate", "2", "--no-deliver"], ["ack", "3"], ["note", "3", "still here"],
              ["status", "2", "Resolved"], ["comms", "3", "--template", "update", "--send",
                                            "--audience", "customers"]]
    for args in reads + writes + [["clocks", "2"], ["export", "3", "--format", "markdown"]]:
        r = run_cli(db, *args)
        assert r.code == 0 and "Traceback" not in r.err and "error" not in r.err, (
            args, r.code, r.err)
