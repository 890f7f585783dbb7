"""Runbooks: the shipped ones follow the seed's structure; broken ones get clear warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.content.paths import default_runbooks_dir
from warroom.content.runbooks import (
    RunbookNotFound,
    available_runbooks,
    load_runbook,
    read_runbook,
    runbook_for,
)
from warroom.domain.common.errors import InvalidInput
from warroom.domain.comms.runbook import parse_runbook

SERVICES = ("payments", "checkout", "auth", "search", "notifications", "pipeline")


def test_every_demo_service_has_a_complete_runbook() -> None:
    assert set(available_runbooks()) == set(SERVICES)
    seen_issues: set[str] = set()
    purposes: set[str] = set()
    for service in SERVICES:
        book = load_runbook(service)
        assert book.warnings == (), (service, book.warnings)
        assert book.title == f"{service.capitalize()} Runbook"
        assert [s.key for s in book.sections if s.level == 2] == [
            "overview", "metrics", "issues", "emergency"]
        assert set(book.overview) >= {"purpose", "dependencies", "impact"}
        assert any(m.startswith("Dashboard: https://") for m in book.metrics)
        assert len(book.issues) >= 3 and len(book.procedures) >= 3
        for issue in book.issues:
            assert issue.symptoms and issue.diagnosis and issue.resolution
            assert issue.resolution.startswith("1. ")
        # Specific to the service, not one runbook copied six times.
        assert book.overview["purpose"] not in purposes
        purposes.add(book.overview["purpose"])
        titles = {i.title for i in book.issues}
        assert not titles & seen_issues, titles & seen_issues
        seen_issues |= titles


def test_overview_items_join_their_continuation_lines() -> None:
    book = load_runbook("payments")
    assert book.overview["purpose"].startswith("Authorises, captures and refunds")
    assert book.overview["purpose"].endswith("then calls the card processor.")
    assert "  Authorisation success rate (normal above 97%; page below 93% for 5 min)" \
        in book.metrics


GOOD = """# Cache Runbook

## Service Overview
- **Purpose**: caches things
- Dependencies: redis
- Impact: slow pages

## Key Metrics
- Hit rate

## Common Issues

### Cold cache
**Symptoms:** misses
**Diagnosis**: hit rate panel
**Resolution**:
1. warm it

## Emergency Procedures

### Flush
```bash
# this is a comment, not a heading
redis-cli FLUSHALL
```
"""


def test_parser_finds_sections_and_ignores_hashes_in_code() -> None:
    book = parse_runbook(GOOD, "cache.md")
    assert book.ok and book.title == "Cache Runbook"
    assert book.overview == {"purpose": "caches things", "dependencies": "redis",
                             "impact": "slow pages"}
    assert book.issues[0].symptoms == "misses" and book.issues[0].resolution == "1. warm it"
    assert [p.title for p in book.procedures] == ["Flush"]
    assert "# this is a comment" in book.procedures[0].body
    assert all("comment" not in s.title for s in book.sections)
    assert book.section("metrics") is not None and book.section("metrics").line == 8  # type: ignore[union-attr]


def test_malformed_runbook_gets_warnings_with_line_numbers() -> None:
    text = """Some notes without a title

## Overview
- Purpose: x

## Common Issues

### Disk full
**Symptoms**: alerts
**Resolution**: delete logs

### Nothing here

## Emergency Procedures
```bash
kubectl rollout undo deployment/x
"""
    book = parse_runbook(text, "broken.md")
    assert not book.ok
    assert book.warnings == (
        "line 15: code block opened here is never closed; the rest of the file is read as code",
        "no title: the runbook should start with '# <Service> Runbook'",
        "no '## Key Metrics' section",
        "line 3: 'Service Overview' has no 'Dependencies:' item",
        "line 3: 'Service Overview' has no 'Impact:' item",
        "line 8: issue 'Disk full' has no **Diagnosis**",
        "line 12: issue 'Nothing here' has no **Symptoms**, **Diagnosis**, **Resolution**",
    )
    # Still readable: the sections found are there, and the raw text is kept for display.
    assert book.issues[0].resolution == "delete logs" and book.markdown == text


def test_markdown_is_read_as_commonmark_reads_it() -> None:
    """What a renderer would show: a label inside a code block is code, a '~~~' line does not
    close a '```' block, a list item's lazy continuation line belongs to it, and a list
    indented four spaces is a code block."""
    text = """# Cache Runbook

## Service Overview
- Purpose: caches
things
```text
~~~
- Impact: not an item, still in the code block
```

## Key Metrics
    - not a metric: an indented code block
- Hit rate

## Common Issues

### Cold cache
**Symptoms**: misses
```
Resolution: this is a log line, not a label
```
"""
    book = parse_runbook(text, "c.md")
    assert book.overview == {"purpose": "caches things"}
    assert book.metrics == ("Hit rate",)
    assert book.issues[0].symptoms == (
        "misses\n```\nResolution: this is a log line, not a label\n```")
    assert book.issues[0].resolution is None


def test_empty_and_duplicate_sections() -> None:
    assert "the runbook is empty" in parse_runbook("", "e.md").warnings
    book = parse_runbook(GOOD + "\n## Key Metrics\n- again\n", "dup.md")
    assert any("appears twice (first at line 8)" in w for w in book.warnings)
    assert book.metrics == ("Hit rate",)


def test_runbook_lookup_default_mapping_and_refusals(tmp_path: Path) -> None:
    assert runbook_for("auth") == default_runbooks_dir() / "auth.md"
    (tmp_path / "billing.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old-pay.md").write_text(GOOD, encoding="utf-8")
    assert runbook_for("billing", tmp_path) == tmp_path / "billing.md"
    mapped = runbook_for("payments", tmp_path, {"payments": "legacy/old-pay.md"})
    assert mapped == tmp_path / "legacy" / "old-pay.md"
    assert runbook_for("x", tmp_path, {"x": tmp_path / "billing.md"}) == tmp_path / "billing.md"
    with pytest.raises(RunbookNotFound, match=r"no runbook for 'auth': .*auth.md does not exist; "
                                              r"runbooks there: billing"):
        runbook_for("auth", tmp_path)
    with pytest.raises(RunbookNotFound, match="mapped to 'y' does not exist"):
        runbook_for("y", tmp_path, {"y": "nope.md"})
    for evil in ("../billing", "a/b", "..", "/etc/passwd", ".hidden", ""):
        with pytest.raises(RunbookNotFound, match="not a service name"):
            runbook_for(evil, tmp_path / "legacy")


def test_unreadable_runbook_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bin.md"
    bad.write_bytes(b"# T\n\xff\xfe")
    with pytest.raises(InvalidInput, match=r"bin.md: not UTF-8 text"):
        read_runbook(bad)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_runbook(tmp_path / "missing.md")


def test_runbook_text_is_kept_literally() -> None:
    text = "# [bold]X[/bold] \x1b[31mRunbook\n\n## Key Metrics\n- *a* <b> \x1b]0;t\x07\n"
    book = parse_runbook(text, "x.md")
    assert book.title == "[bold]X[/bold] \x1b[31mRunbook"
    assert book.metrics == ("*a* <b> \x1b]0;t\x07",)
    assert book.markdown == text
