"""Whether SQLite can be trusted where the database lives.

WAL needs shared memory that every process on the host sees; network filesystems do not give
that, so a database on one is refused before it is opened.
"""

from __future__ import annotations

from pathlib import Path

NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
    "lustre", "gpfs", "davfs", "ncpfs", "coda", "sshfs", "virtiofs", "beegfs", "ocfs2", "gfs2",
})


def is_network_fs_type(fstype: str) -> bool:
    return fstype in NETWORK_FILESYSTEMS or fstype == "fuse" or fstype.startswith("fuse.")


def _unescape(field: str) -> str:
    # /proc/mounts escapes space, tab, newline and backslash as octal.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_of(path: str, mounts_text: str) -> tuple[str, str] | None:
    """(mount point, filesystem type) of the longest mount that contains `path`."""
    best: tuple[str, str] | None = None
    for line in mounts_text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount, fstype = _unescape(parts[1]), parts[2]
        prefix = mount.rstrip("/") + "/"
        if (path == mount or path.startswith(prefix) or mount == "/") and (
            best is None or len(mount) >= len(best[0])
        ):
            best = (mount, fstype)
    return best


def network_filesystem(path: Path, mounts_file: str = "/proc/mounts") -> str | None:
    """The network filesystem type the database's folder is on, or None if it is local."""
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    folder = path.parent if not path.is_dir() else path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    found = filesystem_of(str(folder.resolve()), text)
    if found and is_network_fs_type(found[1]):
        return found[1]
    return None

