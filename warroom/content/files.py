"""Reading a file someone names, in bounded memory.

A path given on the command line or in the configuration may be anything: a 40 GB log, a FIFO,
`/dev/urandom`, `/dev/zero`. Its size on disk says nothing (a device reports 0), so nothing here
asks `stat` and trusts it: every read takes at most `limit + 1` bytes, and one byte too many
refuses the file (exit 2) without reading on. The limits are in README.md ("Limits").
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from warroom.domain.common.errors import InvalidInput

KIB = 1024
MIB = 1024 * KIB

MAX_TEXT_FILE = 1 * MIB  # `comms --send --text-file`: the text that was sent
MAX_CONFIG_FILE = 1 * MIB  # warroom.toml
MAX_TEMPLATE_FILE = 256 * KIB  # one message template
MAX_RUNBOOK_FILE = 1 * MIB  # one runbook
MAX_TEMPLATE_FILES = 500  # *.txt files in a team's template directory


class FileRefused(InvalidInput):
    """A named file cannot be used: too large, unreadable or not UTF-8 text. `problem` is the
    message without the path, for callers that report it their own way."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


def size_text(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"


def _read_at_most(f: BinaryIO, limit: int, name: str, what: str) -> bytes:
    data = f.read(limit + 1)
    if len(data) > limit:
        raise FileRefused(name, f"larger than {size_text(limit)}, the limit for {what}; "
                                "nothing was read past it")
    return data


def read_bytes(path: Path | str, limit: int, what: str) -> bytes:
    """The whole file if it has at most `limit` bytes ("-": standard input)."""
    name = str(path)
    if name == "-":
        return _read_at_most(sys.stdin.buffer, limit, "standard input", what)
    try:
        with open(Path(path).expanduser(), "rb") as f:
            return _read_at_most(f, limit, name, what)
    except FileNotFoundError:
        raise FileRefused(name, "cannot read: no such file") from None
    except IsADirectoryError:
        raise FileRefused(name, "is a directory, not a file") from None
    except OSError as e:
        raise FileRefused(name, f"cannot read: {e.strerror or e}") from None


def decode_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileRefused(name, f"not UTF-8 text (byte {e.start})") from None


def read_text(path: Path | str, limit: int, what: str) -> str:
    """read_bytes, as UTF-8 text."""
    name = "standard input" if str(path) == "-" else str(path)
    return decode_text(read_bytes(path, limit, what), name)
