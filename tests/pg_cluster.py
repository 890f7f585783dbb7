"""A throwaway PostgreSQL cluster for the tests: made in a temporary folder, gone afterwards.

Standard library only, so that `.ci/run` can call it with the system python3 before the
virtualenv exists:

    python3 tests/pg_cluster.py start      # prints WARROOM_TEST_PG_DIR=, WARROOM_TEST_PG_URL=
    python3 tests/pg_cluster.py stop DIR   # stops the server and removes DIR

The test session (tests/conftest.py) calls `start()` itself when no WARROOM_TEST_PG_URL is given,
so a developer with PostgreSQL installed gets the PostgreSQL tests without any setup.

The server refuses to run as root: as root, the cluster belongs to the `postgres` system user (or
`nobody`), and only the server runs as that user; clients connect over loopback TCP with a
password. The cluster trades durability for speed (fsync off): it lives for one test run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ADMIN = "warroom_admin"
TEST_DATABASE = "warroom_test"
START_TIMEOUT = 60


class Unavailable(Exception):
    """PostgreSQL cannot be started here; the message says why (a skip reason for tests)."""


@dataclass(frozen=True)
class Cluster:
    directory: Path
    url: str  # the admin's URL on the test database; it may create databases and roles


def find_bindir() -> Path:
    """$WARROOM_PG_BINDIR, else pg_config's, else the newest /usr/lib/postgresql/*/bin."""
    env = os.environ.get("WARROOM_PG_BINDIR")
    candidates: list[Path] = [Path(env)] if env else []
    if not env:
        pg_config = shutil.which("pg_config")
        if pg_config:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                     timeout=10).stdout.strip()
                if out:
                    candidates.append(Path(out))
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                          key=lambda p: [int(x) for x in Path(p).parent.name.split(".")
                                         if x.isdigit()], reverse=True)
        candidates += [Path(p) for p in versions]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise Unavailable("no PostgreSQL server binaries (initdb, pg_ctl) found; set "
                      "WARROOM_PG_BINDIR or WARROOM_TEST_PG_URL")


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None for the current user, else an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise Unavailable("running as root and there is no 'postgres' or 'nobody' user to run "
                      "the server as")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], user: pwd.struct_passwd | None, **kw: object) -> None:
    extra: dict[str, object] = {}
    if user is not None:
        extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    if user is not None:
        env["HOME"] = user.pw_dir
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/", **extra, **kw)  # type: ignore[call-overload]
    if p.returncode != 0:
        raise Unavailable(f"{Path(cmd[0]).name} failed: {(p.stderr or p.stdout).strip()[-500:]}")


def start() -> Cluster:
    """Create, configure and start a cluster; return its folder and the admin's URL."""
    bindir = find_bindir()
    user = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="warroom-pg-"))
    try:
        return _start_in(directory, bindir, user)
    except BaseException:
        stop(directory)
        raise


def _start_in(directory: Path, bindir: Path, user: pwd.struct_passwd | None) -> Cluster:
    password = secrets.token_hex(16)
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    directory.chmod(0o700)
    pwfile = directory / "pw"
    pwfile.write_text(password + "\n")
    if user is not None:
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    data = directory / "data"
    _run([str(bindir / "initdb"), "-D", str(data), "-U", ADMIN, f"--pwfile={pwfile}",
          "-E", "UTF8", "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256",
          "--no-sync"], user, timeout=120)
    pwfile.unlink()
    last_error: Unavailable | None = None
    for _attempt in range(3):  # the free port can be taken between choosing and binding it
        port = _free_port()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{directory}'",
            "max_connections": "300",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
        }
        (data / "postgresql.auto.conf").write_text(
            "".join(f"{k} = {v}\n" for k, v in settings.items()))
        try:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
                  "-w", "-t", str(START_TIMEOUT), "start"], user, timeout=START_TIMEOUT + 30)
        except Unavailable as e:
            last_error = e
            continue
        _run([str(bindir / "createdb"), "-h", str(directory), "-p", str(port), "-U", ADMIN,
              TEST_DATABASE], user, timeout=60)
        url = f"postgresql://{ADMIN}:{password}@127.0.0.1:{port}/{TEST_DATABASE}"
        (directory / "url").write_text(url + "\n")
        return Cluster(directory, url)
    log = directory / "server.log"
    tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
    raise Unavailable(f"the PostgreSQL server did not start: {last_error} {tail}".strip())


def stop(directory: Path | str) -> None:
    """Stop the server (immediately: the data is thrown away) and remove its folder."""
    directory = Path(directory)
    data = directory / "data"
    if (data / "postmaster.pid").exists():
        with contextlib.suppress(Unavailable, subprocess.SubprocessError, OSError):
            _run([str(find_bindir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                  "stop"], _server_user(), timeout=60)
        deadline = time.monotonic() + 30
        while (data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        try:
            cluster = start()
        except Unavailable as e:
            print(f"pg_cluster: {e}", file=sys.stderr)
            return 1
        print(f"WARROOM_TEST_PG_DIR={shlex.quote(str(cluster.directory))}")
        print(f"WARROOM_TEST_PG_URL={shlex.quote(cluster.url)}")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        stop(argv[1])
        return 0
    print("usage: pg_cluster.py start | stop DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
