"""Runbooks: the seed's structure found in a Markdown file, with warnings for what is missing.

The structure (see sample_data/runbooks/): a "# <Service> Runbook" title; "## Service Overview"
with Purpose / Dependencies / Impact bullets; "## Key Metrics"; "## Common Issues" with one
"### <issue>" per issue giving **Symptoms**, **Diagnosis** and **Resolution**; and
"## Emergency Procedures" with one "### <procedure>" each.

The parser never refuses a file: a runbook that is half written is still worth reading at 3 am.
It reports what does not fit as warnings with line numbers, and the dashboard shows the raw
Markdown either way.

The Markdown itself is read by markdown-it-py (CommonMark), so headings, lists and code blocks
are what any renderer would show: "# rollback" inside a fenced block is a shell comment, not a
heading. Only top-level ATX headings (#) start sections. What is left to this module is the
seed's own convention: section names, "Name: value" overview items and **Field** labels, read
from the source lines the tokens point at, so values keep their Markdown as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

# CommonMark: no extensions whose syntax a runbook's headings, lists or code could trip over.
_MARKDOWN = MarkdownIt("commonmark")

_FIELD = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?\s*(?P<name>symptoms?|diagnosis|resolution)\s*"
    r"(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_OVERVIEW_ITEM = re.compile(
    r"^\s*[-*+]\s+(?:\*\*|__)?(?P<name>[A-Za-z][A-Za-z /]*?)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?"
    r"\s*(?P<rest>.*)$"
)

# The seed's sections, and the names people actually give them.
SECTION_NAMES: dict[str, tuple[str, ...]] = {
    "overview": ("service overview", "overview"),
    "metrics": ("key metrics", "metrics"),
    "issues": ("common issues", "known issues", "issues"),
    "emergency": ("emergency procedures", "emergency"),
}
SECTION_TITLES: dict[str, str] = {
    "overview": "Service Overview",
    "metrics": "Key Metrics",
    "issues": "Common Issues",
    "emergency": "Emergency Procedures",
}
OVERVIEW_FIELDS: tuple[str, ...] = ("purpose", "dependencies", "impact")
ISSUE_FIELDS: tuple[str, ...] = ("symptoms", "diagnosis", "resolution")


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    line: int  # 1-based line of the heading
    key: str | None  # "overview", "metrics", "issues", "emergency" or None
    body: str  # text up to the next heading of any level, code blocks included


@dataclass(frozen=True)
class Issue:
    title: str
    line: int
    symptoms: str | None
    diagnosis: str | None
    resolution: str | None


@dataclass(frozen=True)
class Procedure:
    title: str
    line: int
    body: str


@dataclass(frozen=True, kw_only=True)
class Runbook:
    source: str
    title: str | None
    sections: tuple[Section, ...]
    overview: dict[str, str] = field(default_factory=dict)  # purpose, dependencies, impact...
    metrics: tuple[str, ...] = ()
    issues: tuple[Issue, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    warnings: tuple[str, ...] = ()
    markdown: str  # the file as read (newlines normalised): what the dashboard shows

    @property
    def ok(self) -> bool:
        return not self.warnings

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


def _key(title: str) -> str | None:
    t = " ".join(re.sub(r"[^a-z ]", " ", title.lower()).split())
    for key, names in SECTION_NAMES.items():
        if t in names:
            return key
    return None


@dataclass
class _Item:
    line: int  # 0-based line of the bullet
    depth: int  # 0: a top-level list; 1: a list inside another list's item; ...
    parts: list[str] = field(default_factory=list)  # its own paragraphs, not nested lists'

    @property
    def text(self) -> str:
        return " ".join(self.parts)


@dataclass
class _Parsed:
    headings: list[tuple[int, int, str]] = field(default_factory=list)  # (line, level, title)
    items: list[_Item] = field(default_factory=list)  # every bullet item, in document order
    prose: set[int] = field(default_factory=set)  # lines of paragraphs, where labels count
    warnings: list[str] = field(default_factory=list)


def _closes(line: str, markup: str) -> bool:
    """Whether a fence's last line is its closing fence (and not just where the file ends)."""
    stripped = line.strip()
    return len(stripped) >= len(markup) and set(stripped) == {markup[0]}


def _parse(text: str, lines: list[str]) -> _Parsed:
    """One pass over markdown-it's tokens: the top-level ATX headings, every bullet item with
    its depth, the paragraph lines, and a fence left open to the end of the file."""
    out = _Parsed()
    tokens = _MARKDOWN.parse(text)
    line_count = len(lines) - 1 if lines[-1] == "" else len(lines)
    lists = 0  # lists open around the current token
    open_items: list[tuple[int, _Item | None]] = []  # (token level, bullet item or None)
    for n, tok in enumerate(tokens):
        start, end = tok.map or (0, 0)
        if tok.type == "heading_open" and tok.level == 0 and tok.markup.startswith("#"):
            out.headings.append((start, int(tok.tag[1:]), tokens[n + 1].content.strip()))
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif tok.type == "list_item_open":
            item = _Item(start, lists - 1) if tok.markup in "-*+" else None
            open_items.append((tok.level, item))
            if item is not None:
                out.items.append(item)
        elif tok.type == "list_item_close":
            open_items.pop()
        elif tok.type == "paragraph_open":
            out.prose.update(range(start, end))
            if open_items and open_items[-1][1] is not None \
                    and tok.level == open_items[-1][0] + 1:
                content = tokens[n + 1].content
                open_items[-1][1].parts.append(" ".join(x.strip() for x in content.split("\n")))
        elif tok.type == "fence" and end >= line_count \
                and not (end - 1 > start and _closes(lines[end - 1], tok.markup)):
            out.warnings.append(f"line {start + 1}: code block opened here is never closed; "
                                "the rest of the file is read as code")
    return out


def parse_runbook(text: str, source: str = "runbook") -> Runbook:
    """Find the seed's sections in a runbook; never raises on content, warns instead."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    parsed = _parse(text, lines)
    heads, warnings = parsed.headings, parsed.warnings
    sections: list[Section] = []
    end_of: dict[int, int] = {}  # a section's heading line (1-based) -> its end (0-based, excl.)
    for n, (i, level, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        body = "\n".join(lines[i + 1:end]).strip("\n")
        key = _key(title) if level == 2 else None
        sections.append(Section(title, level, i + 1, key, body))
        end_of[i + 1] = end

    def items(s: Section) -> list[_Item]:
        return [it for it in parsed.items if s.line <= it.line < end_of[s.line]]

    h1 = [s for s in sections if s.level == 1]
    title = h1[0].title if h1 else None
    if not text.strip():
        warnings.append("the runbook is empty")
    elif title is None:
        warnings.append("no title: the runbook should start with '# <Service> Runbook'")
    elif len(h1) > 1:
        warnings.append(f"line {h1[1].line}: a second title ('# {h1[1].title}'); "
                        "use '##' for sections")

    seen: dict[str, Section] = {}
    for s in sections:
        if s.key is None:
            continue
        if s.key in seen:
            warnings.append(f"line {s.line}: section '{s.title}' appears twice (first at line "
                            f"{seen[s.key].line}); only the first is used")
        else:
            seen[s.key] = s
    for key, name in SECTION_TITLES.items():
        if key not in seen:
            warnings.append(f"no '## {name}' section")

    overview: dict[str, str] = {}
    if "overview" in seen:
        overview = _overview(seen["overview"], items(seen["overview"]), warnings)
    metrics: tuple[str, ...] = ()
    if "metrics" in seen:
        metrics = tuple("  " * it.depth + it.text for it in items(seen["metrics"]))
        if not metrics:
            warnings.append(f"line {seen['metrics'].line}: 'Key Metrics' lists no metrics")
    issues = _issues(sections, seen.get("issues"), warnings,
                     lambda s: [(lines[i], i in parsed.prose)
                                for i in range(s.line, end_of[s.line])])
    procedures = _children(sections, seen.get("emergency"))
    if "emergency" in seen and not procedures and not seen["emergency"].body.strip():
        warnings.append(f"line {seen['emergency'].line}: 'Emergency Procedures' is empty")
    return Runbook(
        source=source,
        markdown=text,
        title=title,
        sections=tuple(sections),
        overview=overview,
        metrics=metrics,
        issues=tuple(issues),
        procedures=tuple(Procedure(s.title, s.line, s.body) for s in procedures),
        warnings=tuple(warnings),
    )


def _overview(section: Section, items: list[_Item], warnings: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        m = _OVERVIEW_ITEM.match("- " + item.text) if item.depth == 0 else None
        if m is not None:
            name = m.group("name").strip().lower()
            out.setdefault(name, m.group("rest").strip())
    for name in OVERVIEW_FIELDS:
        if not out.get(name):
            warnings.append(f"line {section.line}: 'Service Overview' has no "
                            f"'{name.capitalize()}:' item")
    return out


def _children(sections: list[Section], parent: Section | None) -> list[Section]:
    """The ### sections under a ## section."""
    if parent is None:
        return []
    start = sections.index(parent)
    out = []
    for s in sections[start + 1:]:
        if s.level <= parent.level:
            break
        if s.level == parent.level + 1:
            out.append(s)
    return out


def _issues(sections: list[Section], parent: Section | None, warnings: list[str],
            body: Callable[[Section], list[tuple[str, bool]]]) -> list[Issue]:
    """Each ### issue's **Symptoms**, **Diagnosis** and **Resolution**: a label counts on a
    line of a paragraph (never inside code); its value runs, as written, to the next label."""
    if parent is None:
        return []
    children = _children(sections, parent)
    if not children:
        warnings.append(f"line {parent.line}: 'Common Issues' has no '### <issue>' entries")
    out = []
    for s in children:
        fields: dict[str, list[str]] = {}
        current: str | None = None
        for raw, in_paragraph in body(s):
            m = _FIELD.match(raw) if in_paragraph else None
            if m is not None:
                name = m.group("name").lower()
                current = "symptoms" if name.startswith("symptom") else name
                fields.setdefault(current, [])
                if m.group("rest").strip():
                    fields[current].append(m.group("rest").rstrip())
            elif current is not None:
                fields[current].append(raw.rstrip())
        values = {k: "\n".join(v).strip() or None for k, v in fields.items()}
        absent = [name for name in ISSUE_FIELDS if not values.get(name)]
        if absent:
            warnings.append(f"line {s.line}: issue '{s.title}' has no "
                            + ", ".join(f"**{a.capitalize()}**" for a in absent))
        out.append(Issue(s.title, s.line, values.get("symptoms"), values.get("diagnosis"),
                         values.get("resolution")))
    return out
