"""A room shared by a Unix group: members write, everyone else on the host can only watch.

These run the real CLI as the unprivileged `nobody` user (with and without the room's group),
through setpriv, so they need root; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import grp
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


def test_group_room_members_write_others_watch(shared_dir: Path) -> None:
    db = shared_dir / "room" / "war.db"
    r = run_cli(db, "init", "--group", GROUP)
    assert r.code == 0, r.err
    folder = db.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o2775
    assert stat.S_IMODE(db.stat().st_mode) == 0o664
    assert db.stat().st_gid == folder.stat().st_gid == grp.getgrnam(GROUP).gr_gid

    # The room is idle now (no -wal/-shm): a watcher can still read it.
    watcher = _cli(["list", "--all", "--json"], db, member=False, user="watcher")
    assert watcher.returncode == 0, watcher.stderr
    assert watcher.stdout.strip() == "[]"

    member = _cli(["declare", "--title", "disk full", "--severity", "SEV-2"], db,
                  member=True, user="member")
    assert member.returncode == 0, member.stderr

    refused = _cli(["declare", "--title", "sneaky", "--severity", "SEV-1"], db,
                   member=False, user="watcher")
    assert refused.returncode == 5, refused.stderr
    assert "read-only" in refused.stderr and "Traceback" not in refused.stderr

    shown = _cli(["show", "INC-1", "--json"], db, member=False, user="watcher")
    assert shown.returncode == 0, shown.stderr
    assert '"title": "disk full"' in shown.stdout

    ack = _cli(["ack", "INC-1"], db, member=True, user="member2")
    assert ack.returncode == 0, ack.stderr


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
