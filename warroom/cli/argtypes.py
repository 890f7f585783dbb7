"""Numbers and names as the CLI accepts them: a mistake is a usage error (exit 2, one line),
never a crash deep in the store ("Python int too large to convert to SQLite INTEGER") nor a
value silently read otherwise (`show --last -1` dropping the first entry)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.domain.common.errors import InvalidInput

# SQLite's INTEGER and PostgreSQL's bigint: no sequence number or version is ever larger.
MAX_INT = 2**63 - 1
# A person's name (--as, $WARROOM_USER): what a screen column and a page can hold.
MAX_NAME = 200


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None


def count(text: str) -> int:
    """How many (--last, --limit): at least 1."""
    n = _int(text)
    if not 1 <= n <= MAX_INT:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text[:40]}")
    return n


def sequence(text: str) -> int:
    """A version or sequence number (--expect-version, tail --since, edit SEQ): 0 or more,
    and never beyond what the database can hold."""
    n = _int(text)
    if not 0 <= n <= MAX_INT:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to {MAX_INT}, got "
                                         f"{text[:40]}")
    return n


def utf8_problem(argv: list[str]) -> str | None:
    """What is wrong with an argument that is not UTF-8 (None: nothing). Python hands such
    bytes over as lone surrogates, which the store, JSON and the terminal all refuse later
    with a traceback. A message, not an exception: the CLI checks this before parsing, where
    it imports no domain module (`warroom --version` stays light)."""
    for i, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as e:
            raw = arg.encode("utf-8", "surrogateescape" if _escaped(arg) else "backslashreplace")
            shown = raw[max(0, e.start - 10): e.start + 10]
            name = _option_of(argv, i)
            where = f"the value of {name}" if name else f"argument {i + 1}"
            return f"{where} is not valid UTF-8 (near {shown!r})"
    return None


def _invalid(message: str) -> InvalidInput:
    from warroom.domain.common.errors import InvalidInput

    return InvalidInput(message)


def _escaped(arg: str) -> bool:
    try:
        arg.encode("utf-8", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False


def _option_of(argv: list[str], i: int) -> str | None:
    arg = argv[i]
    if arg.startswith("--") and "=" in arg:
        return arg.split("=", 1)[0]
    if i > 0 and argv[i - 1].startswith("-") and "=" not in argv[i - 1]:
        return argv[i - 1]
    return None


def check_name(name: str, what: str) -> str:
    """A person's name as given (--as, $WARROOM_USER)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(f"{what} is not valid UTF-8") from None
    if len(name) > MAX_NAME:
        raise _invalid(f"{what} is {len(name)} characters long; a name may have at most "
                           f"{MAX_NAME}")
    return name
