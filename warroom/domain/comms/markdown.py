"""Writing untrusted text into Markdown so that it reads literally once rendered.

A title like "**[red]x[/]** | <b>" must show those characters, not bold text, a link, a broken
table or HTML. Control characters (escape sequences) become visible escapes first, through the
same `printable` the CLI uses; then every character Markdown would act on is backslash-escaped
(CommonMark allows a backslash before any ASCII punctuation).
"""

from __future__ import annotations

import re

from warroom.domain.common.text import printable

# Inline syntax anywhere in a line: emphasis, code, links, HTML and autolinks (both need "<"),
# tables, strike, entities, and GitHub's $math$. ">" only matters at the start of a line.
_INLINE = re.compile(r"([\\`*_\[\]<|~&$])")
# Block syntax at the start of a line: headings, quotes, lists, setext underlines, ordered lists.
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+(?=[.)]))")


def _inline(text: str) -> str:
    return _INLINE.sub(r"\\\1", text)


def _line(text: str) -> str:
    t = _inline(text)
    m = _LINE_START.match(t)
    if m is None:
        return t
    if m.group(2).isdigit():
        end = m.end()
        return t[:end] + "\\" + t[end:]
    return f"{m.group(1)}\\{t[m.end(1):]}"


def md_escape(text: str) -> str:
    """One line of literal text (newlines shown as \\n), for headings and list items."""
    return _line(printable(text))


def md_cell(text: str) -> str:
    """Literal text for a table cell: newlines become <br>. Block syntax (a leading '#' or
    '-') means nothing inside a cell, so only inline syntax is escaped."""
    lines = printable(text, single_line=False).replace("\t", " ").split("\n")
    return "<br>".join(_inline(x) for x in lines)


def md_paragraph(text: str) -> str:
    """Literal multi-line text: each line ends in a hard break so lines are not joined."""
    lines = [_line(x) for x in printable(text, single_line=False).replace("\t", " ").split("\n")]
    return "\\\n".join(x.rstrip() for x in lines)


def unescape(md: str) -> str:
    """What a Markdown renderer shows for text written by these functions (for tests)."""
    return re.sub(r"\\(.)", r"\1", md.replace("<br>", "\n").replace("\\\n", "\n"))


def fence_for(text: str) -> str:
    """A code fence longer than any backtick run in `text`, so the text cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)
