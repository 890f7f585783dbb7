"""Making untrusted text safe to show, without changing what it says.

Titles, notes and alert fields are stored exactly as given. Before they reach a terminal, every
control character (escape sequences included) is shown as a visible escape, so a title can never
move the cursor, change colours or retitle the terminal. Markup is never interpreted: renderers
build rich.Text objects from this output, never markup strings.
"""

from __future__ import annotations

import re

# C0 controls except tab, DEL, C1 controls, and the Unicode line/paragraph separators and
# bidirectional overrides that can reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_NO_NL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str, *, single_line: bool = True) -> str:
    """Text with every control character shown as an escape (\\x1b, \\n...).

    Tabs become a space on a single line. With single_line False, newlines are kept.
    """
    if single_line:
        return _CONTROL_NO_NL.sub(_escape, text).replace("\t", " ")
    return _CONTROL.sub(_escape, text)


def truncate(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"
