"""Whether the room's file names still name the files this process opened.

SQLite keeps its file descriptors. Delete or replace `room.db-wal` (or the database) under a
live writer and the writer goes on committing into the unlinked file: every commit is
acknowledged, the other processes find a fresh `-wal` that does not match the shared index
("disk I/O error"), and whatever was only in the unlinked file is gone once the writer exits.
Nothing inside SQLite notices (`integrity_check` still says ok afterwards). So the store
compares the device and inode of each path with what it opened: before each write transaction
(refuse: nothing is written) and after its commit (the commit may sit in a file nobody will
read again: never acknowledge it), and on every tick of the change feed's poll (tell every
screen).

When only `-wal` went (the usual `rm room.db-wal`), the writer still holds the unlinked file and
the shared index (`-shm`) still describes it, and no other process can commit meanwhile (it
finds frames the index promises missing from the new `-wal`: "disk I/O error"). So the writer
first saves what it committed: it checks that the unlinked file holds exactly the frames the
index describes (salts and the last frame's checksum), copies them into the database with a
FULL checkpoint, and closes its connection at once. The other processes then read the database
alone and go on. When the database or `-shm` itself was replaced, nothing can be merged safely:
the writer only refuses, and is closed too. Closing it at once matters: SQLite's last connection
to a database checkpoints on close and then deletes `-wal` and `-shm` BY NAME, which would now
be someone else's files; closed while this process's read-only connection still holds the
database (a shared lock), the writer is never the last, and a read-only connection never
checkpoints or deletes.

What legitimately happens to these files keeps their identity: a checkpoint, even
`wal_checkpoint(TRUNCATE)` or a `journal_size_limit` truncation, rewrites `-wal` in place; SQLite
deletes `-wal` and `-shm` only when the LAST connection to the database closes, and a process
holding the room open is a connection. A file that was absent when the room was opened (a
spectator's snapshot of an idle room has no `-wal`) is adopted when it appears.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from dataclasses import dataclass, field
from pathlib import Path

from warroom.store.errors import DatabaseCorrupt

SUFFIXES = ("", "-wal", "-shm")


class RoomFilesReplaced(DatabaseCorrupt):
    """The database, its -wal or its -shm is no longer the file this process opened."""


@dataclass(frozen=True, slots=True)
class FileId:
    dev: int
    ino: int


@dataclass(frozen=True, slots=True)
class Replaced:
    """Which of the room's files no longer is the one opened."""

    name: str
    suffix: str
    deleted: bool

    def __str__(self) -> str:
        return f"{self.name} was {'deleted' if self.deleted else 'replaced by another file'}"


def _identity(path: str) -> FileId | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return FileId(st.st_dev, st.st_ino)


@dataclass
class RoomFiles:
    """The identity of a room's files as opened, to compare the paths against."""

    path: Path
    opened: dict[str, FileId | None] = field(default_factory=dict)

    @classmethod
    def record(cls, path: Path) -> RoomFiles:
        """Call right after the connection opened the files (the writer: after WAL mode and
        the migration, so that -wal and -shm exist and are held)."""
        files = cls(path)
        files.opened = {s: _identity(f"{path}{s}") for s in SUFFIXES}
        return files

    def changed(self) -> Replaced | None:
        """The first file (database, -wal, -shm) no longer the one opened, or None."""
        for suffix, was in self.opened.items():
            now = _identity(f"{self.path}{suffix}")
            if was is None:
                if now is not None and suffix:
                    self.opened[suffix] = now  # it appeared: from now on it is the one
                continue
            if now != was:
                return Replaced(f"{self.path.name}{suffix}", suffix, now is None)
        return None

    def check(self, writer: sqlite3.Connection | None = None, *,
              committed: bool = False) -> None:
        """Raise RoomFilesReplaced if a path no longer names the file opened.

        writer: the writing connection (on its own thread), which first saves what it
        committed when that can be done safely, and is closed. committed: the check after a
        commit, whose data may sit in an unlinked file.
        """
        replaced = self.changed()
        if replaced is None:
            return
        saved = None
        if writer is not None:
            saved = rescue(writer, self, replaced)
            writer.close()
        raise RoomFilesReplaced(replaced_message(self.path, replaced, committed=committed,
                                                 saved=saved))

    def held_fd(self, suffix: str) -> int | None:
        """A descriptor of this process's on the file as opened (unlinked or not)."""
        want = self.opened.get(suffix)
        if want is None:
            return None
        for folder in ("/proc/self/fd", "/dev/fd"):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                try:
                    st = os.fstat(int(name))
                except (OSError, ValueError):
                    continue
                if FileId(st.st_dev, st.st_ino) == want:
                    return int(name)
            return None
        return None


_WAL_MAGIC = (0x377F0682, 0x377F0683)
_SHM_HEADER = struct.Struct("=IIIBBHIIIIIIII")  # SQLite's WalIndexHdr, in native byte order


def index_matches_wal(shm: bytes, wal_header: bytes, last_frame_header: bytes | None) -> bool:
    """Whether the shared index (first 96 bytes of -shm) describes exactly this WAL file.

    The index names the WAL's salts and the checksum of its last valid frame; stale frames of
    an earlier cycle, or frames another process appended to a different file, have other
    salts or another checksum. The two copies of the header must agree (no write under way).
    """
    if len(shm) < 96 or shm[:48] != shm[48:96] or len(wal_header) < 32:
        return False
    (version, _, _, is_init, _, _, mx_frame, _, ck1, ck2, *_rest) = _SHM_HEADER.unpack(shm[:48])
    magic = struct.unpack(">I", wal_header[:4])[0]
    if version != 3007000 or not is_init or magic not in _WAL_MAGIC:
        return False
    if shm[32:40] != wal_header[16:24]:
        return False
    if mx_frame == 0:
        return True
    if last_frame_header is None or len(last_frame_header) < 24:
        return False
    return (last_frame_header[8:16] == wal_header[16:24]
            and struct.unpack(">II", last_frame_header[16:24]) == (ck1, ck2))


def rescue(writer: sqlite3.Connection, files: RoomFiles, replaced: Replaced) -> str | None:
    """Copy what this writer committed into the database, when only -wal went (see the
    module's docstring). Returns what was done, in words, or None when it was not safe."""
    if replaced.suffix != "-wal":
        return None
    for suffix in ("", "-shm"):
        if _identity(f"{files.path}{suffix}") != files.opened.get(suffix):
            return None
    fd = files.held_fd("-wal")
    if fd is None:
        return None
    try:
        with open(f"{files.path}-shm", "rb") as f:
            shm = f.read(96)
        wal_header = os.pread(fd, 32, 0)
        page_size = struct.unpack(">I", wal_header[8:12])[0] if len(wal_header) >= 32 else 0
        mx_frame = _SHM_HEADER.unpack(shm[:48])[6] if len(shm) >= 48 else 0
        last = (os.pread(fd, 24, 32 + (mx_frame - 1) * (24 + page_size))
                if mx_frame and page_size else None)
        if not index_matches_wal(shm, wal_header, last):
            return None
        busy, log, done = writer.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
    except (OSError, sqlite3.Error, struct.error):
        return None
    if busy or log != done:
        return None
    return f"everything this process had committed was first copied into {files.path.name}"


def replaced_message(path: Path, replaced: Replaced, *, committed: bool = False,
                     saved: str | None = None) -> str:
    if saved and committed:
        done = f"{saved}, this write included, but it is not acknowledged"
    elif saved:
        done = f"nothing was written; {saved}"
    elif committed:
        done = ("this write went to a file that is no longer the room's and may be lost: it "
                "is not acknowledged")
    else:
        done = ("nothing was written; whatever this process committed that was only in the "
                "old file is lost")
    return (f"the room's files were replaced under this process ({replaced}, in "
            f"{path.parent}): {done}. Writes are refused until warroom is opened on the room "
            "again")
