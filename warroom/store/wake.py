"""Wake an SQLite room's change feed when another process commits to the room.

Polling `PRAGMA data_version` every 50 ms put a floor of ~25 ms (p50) and 50 ms (p99) under
commit-to-feed and cost every idle reader 20 wake-ups a second. On Linux the kernel says when
a file changes: inotify on the room's FOLDER, filtered to the room's own names, reports

- a commit, ANNOUNCED by its writer: right after COMMIT returns, every warroom writer touches
  `room.db-wal`'s times (`announce`: IN_ATTRIB), on the writer's thread, before its caller
  even hears back;
- `-wal` appearing when the first writer opens an idle room (IN_CREATE), and disappearing
  when the last connection closes (IN_DELETE);
- a room file deleted or replaced under us (IN_DELETE, IN_MOVED_FROM/TO), which the feed
  must report at once (warroom/store/files.py).

Why an announcement, and not the writes themselves (IN_MODIFY, watched until issue 15's second
pass): SQLite writes a commit's frames to `-wal` (each write an IN_MODIFY), then fsyncs, and
only then publishes the commit in the shared index (`-shm`, mmap'd: no event). So every
IN_MODIFY came BEFORE the commit could be seen, and each reader looked again after 1, 2, 4 ...
256 ms to catch it: 1-3 wake-ups for the writes plus ~8 looks, ~2.2 ms of CPU per commit in
every reader, which 30 readers on 2 cores turned into a 36 ms p99 (bench/feed_latency.py). The
announcement is one event per commit per reader, and it comes after the commit is visible: one
look finds it. Checkpoints and truncations of `-wal` (IN_MODIFY too) change nothing a reader
reads, so nothing is lost by not watching them. A commit by anything that does not announce
(the sqlite3 shell, a warroom older than this) is seen by the feed's backstop poll, within 1 s.

The folder, not the files: `-wal` comes and goes, and a watch on a file follows the inode,
not the name, so a replaced file would silently stop waking us. One watch per store.

The binding is ctypes on libc (inotify_init1 + inotify_add_watch on a non-blocking
descriptor the event loop reads with add_reader): ~no code, no dependency, and no cost while
nothing happens. watchfiles (the kept library on the index) was measured and not taken: its
Rust side wakes every `step` ms to look for changes and yields only after `step` ms of quiet,
so its wake latency is about `step` and its idle cost about 1/`step`; low latency there means
a busy idle reader (bench/results/wake_watchfiles.json).

A wake only says "look": the feed then reads data_version and the subscribers read by
sequence as before, so a spurious or coalesced wake can neither lose nor repeat an event.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import os
import struct
import sys
from pathlib import Path

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000

# Not IN_MODIFY: a commit's writes come before it is visible, and a checkpoint's are no news
# (see above); the writer's announcement (IN_ATTRIB) says when to look.
WATCHED = (IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
           | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED  # the folder itself went: the watch ended
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)

class WakeUnavailable(Exception):
    """No file-change notification here (another OS, no inotify, out of watches): poll."""


def announce(wal: str) -> None:
    """Tell every process watching the room that a commit is visible: touch `wal`'s times.

    Called by the writer right after each commit (SQLiteStore._write): one IN_ATTRIB for every
    watcher, ~3 us here. Setting the times to now needs only write access to the file, which
    a writer has. On any failure the readers' backstop poll still finds the commit."""
    try:
        os.utime(wal)
    except OSError:
        pass


def _libc() -> ctypes.CDLL:
    if not sys.platform.startswith("linux"):
        raise WakeUnavailable(f"no inotify on {sys.platform}")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError) as e:
        raise WakeUnavailable(f"no inotify in this C library ({e})") from None
    return libc


class Wakeup:
    """One flag between whatever notices a change and the feed: `take()` then
    `wait(timeout)`. Every event that arrives while the feed reads sets the same flag, so a
    burst of writes costs one more read, never one read per event."""

    def __init__(self) -> None:
        self._pending = asyncio.Event()

    def take(self) -> bool:
        """Whether anything happened since the last take (and forget it)."""
        pending = self._pending.is_set()
        self._pending.clear()
        return pending

    async def wait(self, seconds: float) -> None:
        """Until the room's files change, or `seconds` pass."""
        if self._pending.is_set():
            return
        try:
            async with asyncio.timeout(seconds):
                await self._pending.wait()
        except TimeoutError:
            pass


class FolderWatch(Wakeup):
    """inotify on the folder of `db`, waking for the room's own files only."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        # SQLite puts -wal beside the file a symbolic link points to: watch that folder.
        self.db = db = Path(os.path.realpath(db))
        self.names = {os.fsencode(db.name + suffix) for suffix in ("", "-wal", "-shm")}
        self.gone: str | None = None  # why the watch stopped working (then poll)
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Open the watch and hand its descriptor to the running loop (WakeUnavailable if not)."""
        libc = _libc()
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise WakeUnavailable(f"inotify_init1: {os.strerror(err)}"
                                  + (" (too many inotify instances: fs.inotify.max_user_"
                                     "instances)" if err == errno.EMFILE else ""))
        try:
            wd = libc.inotify_add_watch(fd, os.fsencode(self.db.parent), WATCHED)
            if wd < 0:
                err = ctypes.get_errno()
                raise WakeUnavailable(
                    f"inotify_add_watch({self.db.parent}): {os.strerror(err)}"
                    + (" (out of inotify watches: fs.inotify.max_user_watches)"
                       if err == errno.ENOSPC else ""))
            loop = asyncio.get_running_loop()
            loop.add_reader(fd, self._readable)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._loop = fd, loop

    def _readable(self) -> None:
        """Drain every queued event; set the flag once if any concerns the room."""
        wake = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                self._stop(f"reading inotify: {e}")
                return
            if not data:
                break
            offset = 0
            while offset + _HEADER.size <= len(data):
                _wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                name = data[offset + _HEADER.size: offset + _HEADER.size + length].rstrip(b"\0")
                offset += _HEADER.size + length
                if mask & _GONE:
                    self._stop(f"the folder {self.db.parent} was moved or deleted")
                    return
                if mask & IN_Q_OVERFLOW or name in self.names:
                    wake = True
        if wake:
            self._pending.set()

    def _stop(self, why: str) -> None:
        self.gone = why
        self.close()
        self._pending.set()  # the feed looks once more, sees `gone` and polls from now on

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(fd)
            os.close(fd)
