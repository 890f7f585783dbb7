"""Runbooks: the seed's structure found in a Markdown file, with warnings for what is missing.

The structure (see sample_data/runbooks/): a "# <Service> Runbook" title; "## Service Overview"
with Purpose / Dependencies / Impact bullets; "## Key Metrics"; "## Common Issues" with one
"### <issue>" per issue giving **Symptoms**, **Diagnosis** and **Resolution**; and
"## Emergency Procedures" with one "### <procedure>" each.

The parser never refuses a file: a runbook that is half written is still worth reading at 3 am.
It reports what does not fit as warnings with line numbers, and the dashboard shows the raw
Markdown either way. Only ATX headings (#) count, and never inside a fenced code block, where
"# rollback" is a shell comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_FIELD = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?\s*(?P<name>symptoms?|diagnosis|resolution)\s*"
    r"(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_OVERVIEW_ITEM = re.compile(
    r"^\s*[-*+]\s+(?:\*\*|__)?(?P<name>[A-Za-z][A-Za-z /]*?)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?"
    r"\s*(?P<rest>.*)$"
)
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")

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
    body: str  # text up to the next heading of any level, code blocks included
    key: str | None  # "overview", "metrics", "issues", "emergency" or None


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


@dataclass(frozen=True)
class Runbook:
    source: str
    markdown: str
    title: str | None
    sections: tuple[Section, ...]
    overview: dict[str, str] = field(default_factory=dict)  # purpose, dependencies, impact...
    metrics: tuple[str, ...] = ()
    issues: tuple[Issue, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.warnings

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "title": self.title,
            "sections": [
                {"title": s.title, "level": s.level, "line": s.line, "key": s.key,
                 "body": s.body}
                for s in self.sections
            ],
            "overview": dict(self.overview),
            "metrics": list(self.metrics),
            "issues": [
                {"title": i.title, "line": i.line, "symptoms": i.symptoms,
                 "diagnosis": i.diagnosis, "resolution": i.resolution}
                for i in self.issues
            ],
            "procedures": [{"title": p.title, "line": p.line, "body": p.body}
                           for p in self.procedures],
            "warnings": list(self.warnings),
            "markdown": self.markdown,
        }


def _key(title: str) -> str | None:
    t = " ".join(re.sub(r"[^a-z ]", " ", title.lower()).split())
    for key, names in SECTION_NAMES.items():
        if t in names:
            return key
    return None


def _headings(lines: list[str]) -> tuple[list[tuple[int, int, str]], list[str]]:
    """(line index, level, title) of every heading outside code blocks, and fence warnings."""
    out: list[tuple[int, int, str]] = []
    warnings: list[str] = []
    fence: str | None = None
    fence_line = 0
    for i, raw in enumerate(lines):
        m = _FENCE.match(raw)
        if fence is None:
            if m is not None and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence, fence_line = m.group(1), i
                continue
            h = _HEADING.match(raw)
            if h is not None:
                out.append((i, len(h.group(1)), (h.group(2) or "").strip()))
        elif m is not None and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                and not m.group(2).strip():
            fence = None
    if fence is not None:
        warnings.append(
            f"line {fence_line + 1}: code block opened here is never closed; the rest of the "
            "file is read as code"
        )
    return out, warnings


def parse_runbook(text: str, source: str = "runbook") -> Runbook:
    """Find the seed's sections in a runbook; never raises on content, warns instead."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    heads, warnings = _headings(lines)
    sections: list[Section] = []
    for n, (i, level, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        body = "\n".join(lines[i + 1:end]).strip("\n")
        key = _key(title) if level == 2 else None
        sections.append(Section(title, level, i + 1, body, key))

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
        overview = _overview(seen["overview"], warnings)
    metrics: tuple[str, ...] = ()
    if "metrics" in seen:
        metrics = _bullets(seen["metrics"].body)
        if not metrics:
            warnings.append(f"line {seen['metrics'].line}: 'Key Metrics' lists no metrics")
    issues = _issues(sections, seen.get("issues"), warnings)
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


def _items(body: str) -> list[tuple[int, str]]:
    """Bullet items as (depth, text), continuation lines joined, code blocks skipped."""
    out: list[tuple[int, str]] = []
    in_code = False
    for raw in body.split("\n"):
        if _FENCE.match(raw):
            in_code = not in_code
            continue
        if in_code or not raw.strip():
            continue
        m = _BULLET.match(raw)
        if m is not None:
            depth = len(m.group(1).replace("\t", "    ")) // 2
            out.append((depth, m.group(2).strip()))
        elif out and raw[:1] in (" ", "\t"):
            depth, text = out[-1]
            out[-1] = (depth, f"{text} {raw.strip()}")
    return out


def _overview(section: Section, warnings: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for depth, text in _items(section.body):
        m = _OVERVIEW_ITEM.match("- " + text) if depth == 0 else None
        if m is not None:
            name = m.group("name").strip().lower()
            out.setdefault(name, m.group("rest").strip())
    for name in OVERVIEW_FIELDS:
        if not out.get(name):
            warnings.append(f"line {section.line}: 'Service Overview' has no "
                            f"'{name.capitalize()}:' item")
    return out


def _bullets(body: str) -> tuple[str, ...]:
    """Bullet items, nested ones indented by two spaces per level."""
    return tuple("  " * depth + text for depth, text in _items(body))


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


def _issues(sections: list[Section], parent: Section | None,
            warnings: list[str]) -> list[Issue]:
    if parent is None:
        return []
    children = _children(sections, parent)
    if not children:
        warnings.append(f"line {parent.line}: 'Common Issues' has no '### <issue>' entries")
    out = []
    for s in children:
        fields: dict[str, list[str]] = {}
        current: str | None = None
        for raw in s.body.split("\n"):
            m = _FIELD.match(raw)
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
