"""A room shared by a Unix group: members write, nobody else can open the files; everyone
else watches through the room server.

These run the real CLI as the unprivileged `nobody` user (with and without the room's group),
through setpriv, so they need root; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, run_cli

GROUP = "users"
SYSTEM_PYTHON = "/usr/bin/python3"


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to run commands as another user"
    if not shutil.which("setpriv"):
        return "setpriv (util-linux) is not installed"
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        return f"no '{GROUP}' group on this machine"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} is missing"
    probe = _as_nobody(["-c", "import warroom.store.sqlite"], groups=False)
    if probe.returncode != 0:
        return "nobody cannot import warroom from this checkout: " + probe.stderr.strip()[-200:]
    return None


def _pythonpath() -> str:
    return os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"],
                            sysconfig.get_paths()["platlib"]])


def _as_nobody(args: list[str], *, groups: bool, db: Path | None = None,
               user: str = "nobody-user") -> subprocess.CompletedProcess[str]:
    gid = grp.getgrnam(GROUP).gr_gid
    cmd = ["setpriv", "--reuid=65534", "--regid=65534"]
    cmd += [f"--groups={gid}"] if groups else ["--clear-groups"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": _pythonpath(), "HOME": "/nonexistent",
           "WARROOM_USER": user, "NO_COLOR": "1"}
    if db is not None:
        env["WARROOM_DB"] = str(db)
    return subprocess.run([*cmd, SYSTEM_PYTHON, *args], capture_output=True, text=True,
                          env=env, timeout=60, cwd="/")


@pytest.fixture(scope="module")
def reason() -> str | None:
    return _why_not()


@pytest.fixture
def shared_dir(reason: str | None) -> Iterator[Path]:
    if reason:
        pytest.skip(reason)
    top = Path(tempfile.mkdtemp(prefix="warroom-perm-"))
    top.chmod(0o755)  # pytest's tmp_path is 0700: others could not even look inside
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _cli(args: list[str], db: Path, *, member: bool, user: str) -> subprocess.CompletedProcess[str]:
    return _as_nobody(["-m", "warroom", *args], groups=member, db=db, user=user)


SPECTATOR = "spectator-token-0123456789"
LOCK_SHM = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "fcntl.lockf(fd, fcntl.LOCK_SH, 1, 120)\n"
            "print('locked')\n")
WATCH = ("import asyncio, sys\n"
         "from warroom.store.remote import RemoteStore\n"
         "async def main():\n"
         "    s = await RemoteStore.open(sys.argv[1], sys.argv[2])\n"
         "    try:\n"
         "        await asyncio.wait_for(s.wait_live(), 30)\n"
         "        events = await s.events('INC-1')\n"
         "        print('|'.join(str(e.data.get('text') or e.data.get('title')) for e in events))\n"
         "    finally:\n"
         "        await s.close()\n"
         "asyncio.run(main())\n")


def _serve_as_member(db: Path) -> tuple[subprocess.Popen[str], str]:
    """`warroom serve` run by a member of the room's group: it holds the room's files."""
    gid = grp.getgrnam(GROUP).gr_gid
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": _pythonpath(), "HOME": "/nonexistent",
           "WARROOM_USER": "server", "NO_COLOR": "1", "WARROOM_DB": str(db),
           "WARROOM_TOKEN": "alert-token-0123456789", "WARROOM_SPECTATOR_TOKEN": SPECTATOR}
    proc = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", f"--groups={gid}", SYSTEM_PYTHON, "-m",
         "warroom", "serve", "--listen", "127.0.0.1:0", "--json", "--no-engine"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd="/")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise AssertionError("warroom serve did not start: " + (proc.stderr.read()
                                                                if proc.stderr else ""))
    return proc, f"http://127.0.0.1:{json.loads(line)['port']}"


def test_group_room_members_write_others_watch_through_the_server(shared_dir: Path) -> None:
    """Issue 14: outsiders cannot open the files (so cannot lock them); they watch through
    the room server."""
    db = shared_dir / "room" / "war.db"
    r = run_cli(db, "init", "--group", GROUP)
    assert r.code == 0, r.err
    folder = db.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o2770
    assert stat.S_IMODE(db.stat().st_mode) == 0o660
    assert db.stat().st_gid == folder.stat().st_gid == grp.getgrnam(GROUP).gr_gid

    member = _cli(["declare", "--title", "disk full", "--severity", "SEV-2"], db,
                  member=True, user="member")
    assert member.returncode == 0, member.stderr

    server, url = _serve_as_member(db)
    try:
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists()  # the server holds the room open
        for f in (db, wal, shm):
            assert stat.S_IMODE(f.stat().st_mode) == 0o660, f
            assert f.stat().st_gid == grp.getgrnam(GROUP).gr_gid, f

        # The lock from the issue: an outsider cannot even open -shm.
        lock = _as_nobody(["-c", LOCK_SHM, str(shm)], groups=False)
        assert lock.returncode != 0 and "PermissionError" in lock.stderr, lock.stdout
        for f in (db, wal, shm):
            probe = _as_nobody(["-c", "import os, sys; os.open(sys.argv[1], os.O_RDONLY)",
                                str(f)], groups=False)
            assert "PermissionError" in probe.stderr, f
        refused = _cli(["list", "--all"], db, member=False, user="watcher")
        assert refused.returncode == 5 and "permission denied" in refused.stderr, refused.stderr

        # Members keep writing, while the server holds the room.
        note = _cli(["note", "INC-1", "still writing"], db, member=True, user="member2")
        assert note.returncode == 0, note.stderr

        # The outsider watches through the server, never opening a file of the room.
        watched = _as_nobody(["-c", WATCH, url, SPECTATOR], groups=False)
        assert watched.returncode == 0, watched.stderr
        assert watched.stdout.strip() == "disk full|still writing"
        wrong = _as_nobody(["-c", WATCH, url, "not-the-token-0123456789"], groups=False)
        assert wrong.returncode != 0 and "refused this spectator token" in wrong.stderr
        if shutil.which("tmux"):  # and the real dashboard, in a real terminal, as nobody
            _watch_in_a_terminal(url)
    finally:
        server.terminate()
        server.wait(30)


def _watch_in_a_terminal(url: str) -> None:
    from .test_tmux import Tmux

    t = Tmux()
    try:
        t.start("outsider", 140, 40, [
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env",
            f"PYTHONPATH={_pythonpath()}", "HOME=/nonexistent", SYSTEM_PYTHON, "-m", "warroom",
            "watch", "--server", url], {"WARROOM_SPECTATOR_TOKEN": SPECTATOR,
                                        "WARROOM_USER": "outsider", "NO_COLOR": "1"})
        screen = t.wait_for("outsider", "still writing", 60)
        assert "SPECTATOR" in screen and "disk full" in screen
    finally:
        t.kill()


def test_database_others_cannot_read(shared_dir: Path) -> None:
    db = shared_dir / "private.db"
    assert run_cli(db, "declare", "--title", "secret", "--severity", "3").code == 0
    db.chmod(0o600)
    r = _cli(["list"], db, member=False, user="x")
    assert r.returncode == 5, r.stderr
    assert "permission denied" in r.stderr and "Traceback" not in r.stderr


def test_read_only_file_for_a_writer(shared_dir: Path) -> None:
    db = shared_dir / "ro.db"
    assert run_cli(db, "declare", "--title", "t", "--severity", "3").code == 0
    db.chmod(0o644)
    r = _cli(["ack", "1"], db, member=True, user="x")
    assert r.returncode == 5 and "read-only" in r.stderr, r.stderr


def test_folder_nobody_can_create_in(shared_dir: Path) -> None:
    locked = shared_dir / "locked"
    locked.mkdir(mode=0o755)
    r = _cli(["declare", "--title", "t", "--severity", "3"], locked / "new.db",
             member=True, user="x")
    assert r.returncode == 5 and "permission denied" in r.stderr, r.stderr
    assert not (locked / "new.db").exists()
