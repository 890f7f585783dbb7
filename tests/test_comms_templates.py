"""Messages rendered from the record: every template, status and severity; overrides; markers."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.content.paths import default_templates_dir
from warroom.content.templates import get_template, load_templates, preview_message
from warroom.domain.common.errors import InvalidInput
from warroom.domain.comms.messages import (
    AUDIENCES,
    PLACEHOLDERS,
    TEMPLATE_NAMES,
    TEMPLATES,
    TemplateError,
    comms_schedule,
    mark_sent,
    message_values,
    next_update_due,
    parse_audience,
    parse_template,
    render_message,
)
from warroom.domain.incident import commands
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import SEVERITIES, Severity
from warroom.domain.incident.status import CUSTOMER_MESSAGES, Status

from .conftest import T0, Recorder

NOW = T0 + timedelta(minutes=40)
PATH_TO = {
    Status.INVESTIGATING: [],
    Status.IDENTIFIED: [Status.IDENTIFIED],
    Status.MONITORING: [Status.IDENTIFIED, Status.MONITORING],
    Status.RESOLVED: [Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED],
}


def bare(severity: Severity, status: Status, title: str = "Checkout failing") -> Recorder:
    """An incident with nothing recorded but the moves to reach `status`."""
    r = Recorder()
    r.commit(commands.declare(title, severity, "alice"))
    for to in PATH_TO[status]:
        r.tick(minutes=5)
        assert r.state is not None
        r.commit(commands.change_status(r.state, to, "bob"))
    return r


def rich(severity: Severity, status: Status) -> Recorder:
    """An incident whose record holds every fact the templates ask for."""
    r = Recorder()
    s = r.commit(commands.declare(
        "Card payments failing", severity, "alice", service="payments",
        summary="Card payments return HTTP 502", started_at=T0 - timedelta(minutes=2),
    ))
    r.tick(minutes=1)
    s = r.commit(commands.acknowledge(s, "alice"))
    s = r.commit(commands.assign_role(s, Role.INCIDENT_COMMANDER, "bob", "alice"))
    s = r.commit(commands.assign_role(s, Role.TECH_LEAD, "carol", "bob"))
    s = r.commit(commands.assign_role(s, Role.COMMUNICATIONS_LEAD, "erin", "bob"))
    r.tick(minutes=2)
    s = r.commit(commands.add_note(s, "Impact: 15,000 failed transactions", "dave"))
    s = r.commit(commands.add_note(s, "ETA: 15:30 UTC", "carol"))
    s = r.commit(commands.add_note(s, "Next: postmortem Tuesday 14:00", "bob"))
    s = r.commit(commands.add_note(s, "Lesson: canary skipped payments", "dave"))
    s = r.commit(commands.add_note(s, "Roll back to v2.4.9", "bob", kind="decision"))
    s = r.commit(commands.add_note(s, "Add pool alarm", "dave", kind="action", owner="carol"))
    for to in PATH_TO[status]:
        r.tick(minutes=5)
        reason = {Status.IDENTIFIED: "Memory leak in v2.5.0",
                  Status.MONITORING: "Rolled back to v2.4.9"}.get(to)
        s = r.commit(commands.change_status(s, to, "carol", reason=reason))
    return r


@pytest.fixture(scope="module")
def templates() -> dict[str, object]:
    return load_templates()


def test_the_four_seed_templates_ship_with_their_guidance(templates) -> None:  # type: ignore[no-untyped-def]
    assert list(templates) == list(TEMPLATE_NAMES) == ["initial", "update", "resolution", "rca"]
    assert {p.stem for p in default_templates_dir().glob("*.txt")} == set(TEMPLATE_NAMES)
    assert TEMPLATES["initial"].tone == "Acknowledge concern"
    assert TEMPLATES["update"].when == "Every 30-60 min"
    assert TEMPLATES["resolution"].key_elements == ("Duration", "cause", "prevention")
    assert TEMPLATES["rca"].audiences == ("internal",)


@pytest.mark.parametrize("severity", list(Severity))
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("build", [bare, rich])
def test_every_template_renders_for_every_status_and_severity(
    templates, build, status: Status, severity: Severity  # type: ignore[no-untyped-def]
) -> None:
    r = build(severity, status)
    assert r.state is not None and r.state.status == status and r.state.severity == severity
    for name in TEMPLATE_NAMES:
        msg = render_message(templates[name], r.state, r.events, NOW)
        assert "None" not in msg.text and "$" not in msg.text, (name, msg.text)
        assert "INC-1" in msg.text and msg.subject
        for placeholder in msg.missing:
            assert PLACEHOLDERS[placeholder].missing in msg.text
        if name != "rca":
            assert CUSTOMER_MESSAGES[status] in msg.text
        if build is rich:
            assert "15,000 failed transactions" in msg.text
            unknown_yet = {"resolved", "rca_due", "time_to_resolve"} if r.state.is_open else set()
            unknown_yet.add("postmortem")  # the rich record schedules no postmortem
            if status == Status.INVESTIGATING:
                unknown_yet.add("root_cause")
            assert set(msg.missing) == unknown_yet & set(templates[name].placeholders)
        else:
            assert "impact" in msg.missing or "impact" not in templates[name].placeholders
    resolved = status == Status.RESOLVED
    cadence = SEVERITIES[severity].update_every
    initial = render_message(templates["initial"], r.state, r.events, NOW)
    if resolved:
        assert "Next update: none: the issue is resolved." in initial.text
        assert initial.next_update_at is None
    elif cadence is None:
        assert "none scheduled for SEV-4" in initial.text and initial.next_update_at is None
    else:
        # NOW is 15 s past the minute: the promise is rounded up, never earlier than the cadence.
        promised = (NOW + cadence).replace(second=0) + timedelta(minutes=1)
        assert initial.next_update_at == promised
        assert f"Next update: by {promised:%Y-%m-%d %H:%M} UTC." in initial.text


def test_missing_facts_render_as_visible_markers(templates) -> None:  # type: ignore[no-untyped-def]
    r = bare(Severity.SEV2, Status.INVESTIGATING)
    assert r.state is not None
    text = render_message(templates["resolution"], r.state, r.events, NOW).text
    assert "Root cause: [root cause not yet recorded]" in text
    assert "Impact: [impact not yet recorded]" in text
    assert "[no actions recorded yet]" in text and "[next steps not yet recorded]" in text
    assert "by [not resolved yet]" in text
    rca = render_message(templates["rca"], r.state, r.events, NOW)
    assert "[no Incident Commander assigned]" in rca.text
    assert "Time to acknowledge: [not acknowledged yet]" in rca.text
    assert {"root_cause", "impact", "summary", "service"} <= set(rca.missing)


def test_resolution_message_has_the_seeds_components(templates) -> None:  # type: ignore[no-untyped-def]
    r = rich(Severity.SEV1, Status.RESOLVED)
    assert r.state is not None
    text = render_message(templates["resolution"], r.state, r.events, NOW).text
    start, end = r.state.started_at, r.state.resolved_at
    assert end is not None
    assert text.splitlines()[0] == "[SEV-1] Resolved: Card payments failing"
    assert "Status: Resolved. The issue has been resolved." in text
    assert f"Duration: 20 minutes ({start:%Y-%m-%d %H:%M} - {end:%H:%M} UTC)" in text
    assert "Impact: 15,000 failed transactions" in text
    assert "Root cause: Memory leak in v2.5.0" in text
    assert "Actions taken:\n1. Roll back to v2.4.9\n2. Rolled back to v2.4.9\n" in text
    assert "Next steps:\n1. postmortem Tuesday 14:00\n2. Add pool alarm (owner: carol)\n" in text
    assert f"by {(end + timedelta(hours=48)):%Y-%m-%d %H:%M} UTC" in text


def test_fact_sources_and_precedence() -> None:
    r = Recorder()
    s = r.commit(commands.declare("t", Severity.SEV2, "alice", summary="users see errors"))
    v = message_values(s, r.events, NOW)
    assert v["impact"] == "users see errors" and v["root_cause"] is None
    r.tick(minutes=1)
    s = r.commit(commands.add_note(s, "impact: EU users cannot pay", "bob"))
    s = r.commit(commands.change_status(s, Status.IDENTIFIED, "bob", reason="bad deploy"))
    assert message_values(s, r.events, NOW)["impact"] == "EU users cannot pay"
    assert message_values(s, r.events, NOW)["root_cause"] == "bad deploy"
    r.tick(minutes=1)
    s = r.commit(commands.add_note(s, "Root cause: pool exhausted by a leak", "carol"))
    assert message_values(s, r.events, NOW)["root_cause"] == "pool exhausted by a leak"
    # The scribe's correction wins over the original note.
    note = r.events[-1].event_id
    s = r.commit(commands.amend(s, note, "dave", text="Root cause: connection leak in v2.5.0"))
    assert message_values(s, r.events, NOW)["root_cause"] == "connection leak in v2.5.0"
    # Notes without a known prefix feed nothing; an empty value is ignored.
    s = r.commit(commands.add_note(s, "the impact is big", "bob"))
    s = r.commit(commands.add_note(s, "Impact:   ", "bob"))
    assert message_values(s, r.events, NOW)["impact"] == "EU users cannot pay"


def test_progress_is_what_happened_since_the_last_message(templates) -> None:  # type: ignore[no-untyped-def]
    r = Recorder()
    s = r.commit(commands.declare("t", Severity.SEV2, "alice"))
    r.tick(minutes=1)
    s = r.commit(commands.add_note(s, "Progress: found the bad deploy", "bob"))
    s = r.commit(mark_sent(s, "initial", "customers", "erin", text="hello"))
    r.tick(minutes=1)
    assert message_values(s, r.events, r.now)["progress"] is None
    s = r.commit(commands.change_status(s, Status.IDENTIFIED, "bob", reason="v2.5.0"))
    s = r.commit(commands.add_note(s, "Update: rollback under way", "bob"))
    s = r.commit(commands.add_note(s, "roll back", "bob", kind="decision"))
    text = render_message(templates["update"], s, r.events, r.now).text
    assert ("Progress since our last update:\n- Status: Identified (v2.5.0)\n"
            "- rollback under way\n- Decided: roll back\n") in text
    assert "found the bad deploy" not in text


def test_untrusted_text_is_inserted_literally_and_never_expanded(templates) -> None:  # type: ignore[no-untyped-def]
    title = "[bold red]x[/] $root_cause ${impact} $$ \x1b[2J\x1b]0;pwned\x07 *y* <b>"
    r = Recorder()
    s = r.commit(commands.declare(title, Severity.SEV1, "alice"))
    s = r.commit(commands.add_note(s, "Impact: \x1b[31mred\x1b[0m [link](http://x) $title", "b"))
    for name in TEMPLATE_NAMES:
        text = render_message(templates[name], s, r.events, NOW).text
        assert title in text
        assert "\x1b[31mred\x1b[0m [link](http://x) $title" in text


def test_placeholders_in_values_are_not_substituted_again(templates) -> None:  # type: ignore[no-untyped-def]
    r = Recorder()
    s = r.commit(commands.declare("about $impact", Severity.SEV2, "alice"))
    text = render_message(templates["initial"], s, r.events, NOW).text
    assert "about $impact" in text and "[impact not yet recorded]" in text


def test_parse_template_reports_the_place_and_the_closest_name() -> None:
    with pytest.raises(TemplateError) as e:
        parse_template("initial", "ok $impact\nand $rootcause here", "team/initial.txt")
    msg = str(e.value)
    assert msg.startswith("team/initial.txt: line 2, column 5: unknown placeholder $rootcause")
    assert "did you mean $root_cause?" in msg
    with pytest.raises(TemplateError, match=r"x.txt: line 1, column 8: '\$' must start"):
        parse_template("x", "credit $5 to each customer", "x.txt")
    with pytest.raises(TemplateError, match="empty"):
        parse_template("x", "  \n", "x.txt")
    t = parse_template("x", "cost $$5 ${impact}$impact $title")
    assert t.placeholders == ("impact", "title")


def test_every_placeholder_is_known_to_the_renderer() -> None:
    r = rich(Severity.SEV2, Status.MONITORING)
    assert r.state is not None
    values = message_values(r.state, r.events, NOW)
    assert set(values) == set(PLACEHOLDERS)
    everything = " ".join(f"${n}" for n in PLACEHOLDERS)
    text = render_message(parse_template("all", everything), r.state, r.events, NOW).text
    assert "None" not in text and "$" not in text


def write(dir_: Path, name: str, text: str) -> Path:
    p = dir_ / name
    p.write_text(text, encoding="utf-8")
    return p


def test_team_override_replaces_one_template_and_keeps_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "initial.txt", "ACME: $title is $status. Next: $next_update\n")
    write(tmp_path, "exec-brief.txt", "For leadership: $severity $title ($impact)\n")
    write(tmp_path, "notes.md", "not a template")
    loaded = load_templates(tmp_path)
    assert list(loaded) == ["initial", "update", "resolution", "rca", "exec-brief"]
    assert loaded["initial"].source == str(tmp_path / "initial.txt")
    assert loaded["update"].source == str(default_templates_dir() / "update.txt")
    r = bare(Severity.SEV3, Status.IDENTIFIED)
    assert r.state is not None
    msg = preview_message("initial", r.state, r.events, NOW, tmp_path)
    assert msg.text.startswith("ACME: Checkout failing is Identified. Next: by ")
    brief = preview_message("exec-brief", r.state, r.events, NOW, tmp_path)
    assert brief.text == "For leadership: SEV-3 Checkout failing ([impact not yet recorded])\n"
    with pytest.raises(InvalidInput, match="no template 'nope': use one of initial, update"):
        get_template("nope", tmp_path)


def test_broken_override_names_the_file_and_the_placeholder(tmp_path: Path) -> None:
    bad = write(tmp_path, "update.txt", "Status: $status\nCause: $root_cuase\n")
    with pytest.raises(TemplateError) as e:
        load_templates(tmp_path)
    assert str(e.value).startswith(f"{bad}: line 2, column 8: unknown placeholder $root_cuase")
    assert "did you mean $root_cause?" in str(e.value)


def test_unreadable_overrides_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        load_templates(tmp_path / "missing")
    with pytest.raises(InvalidInput, match=r"no templates \(\*.txt files\)"):
        load_templates(tmp_path)
    (tmp_path / "rca.txt").write_bytes(b"\xff\xfe broken")
    with pytest.raises(TemplateError, match=r"rca.txt: not UTF-8"):
        load_templates(tmp_path)
    (tmp_path / "rca.txt").unlink()
    write(tmp_path, "Bad Name.txt", "$title")
    with pytest.raises(TemplateError, match="bad template name"):
        load_templates(tmp_path)


def test_audiences_and_marking_sent() -> None:
    assert AUDIENCES == ("customers", "support", "engineering", "leadership", "sales",
                         "internal")
    assert parse_audience("Status Page") == "customers"
    assert parse_audience("LEADERSHIP") == "leadership"
    with pytest.raises(InvalidInput, match="unknown audience 'board': use one of customers"):
        parse_audience("board")
    r = Recorder()
    s = r.commit(commands.declare("t", Severity.SEV2, "alice"))
    s = r.commit(mark_sent(s, "Update", "eng", "erin", text="internal note", channel=" #inc "))
    assert "first_update" not in s.checklist  # an internal audience is not the customer update
    assert r.events[-1].data == {"template": "update", "audience": "engineering",
                                 "channel": "#inc", "text": "internal note"}
    s = r.commit(mark_sent(s, "initial", "status page", "erin", text="We're investigating"))
    assert s.communications[-1].audience == "customers" and "first_update" in s.checklist
    with pytest.raises(InvalidInput, match="bad template name"):
        mark_sent(s, "../x", "customers", "erin")
    with pytest.raises(InvalidInput, match="limit"):
        mark_sent(s, "update", "customers", "erin", text="x" * 50_001)


def test_update_clock_follows_the_severity_cadence() -> None:
    r = Recorder()
    s = r.commit(commands.declare("t", Severity.SEV1, "alice"))
    assert next_update_due(s) == T0 + timedelta(minutes=30)  # the first update, from detection
    r.tick(minutes=7)
    s = r.commit(mark_sent(s, "initial", "customers", "erin"))
    assert next_update_due(s) == r.now + timedelta(minutes=15)
    s = r.commit(commands.change_severity(s, Severity.SEV3, "bob"))
    assert next_update_due(s) == r.now + timedelta(minutes=60)
    s = r.commit(commands.change_severity(s, Severity.SEV4, "bob"))
    assert next_update_due(s) is None
    s = r.commit(commands.change_severity(s, Severity.SEV2, "bob"))
    s = r.commit(commands.change_status(s, Status.RESOLVED, "bob"))
    assert next_update_due(s) is None


def test_schedule_says_what_is_due_and_what_went_out() -> None:
    r = Recorder()
    s = r.commit(commands.declare("t", Severity.SEV2, "alice"))
    late = T0 + timedelta(minutes=31)
    rows = {row.template: row for row in comms_schedule(s, late)}
    assert rows["initial"].due_at == T0 + timedelta(minutes=30) and rows["initial"].overdue
    assert rows["update"].due_at is None and rows["resolution"].due_at is None
    r.tick(minutes=10)
    s = r.commit(mark_sent(s, "initial", "customers", "erin"))
    sent_at = r.now
    r.tick(minutes=20)
    s = r.commit(commands.change_status(s, Status.RESOLVED, "bob"))
    rows = {row.template: row for row in comms_schedule(s, r.now)}
    assert rows["initial"].sent_at == sent_at and not rows["initial"].overdue
    assert rows["update"].due_at is None  # resolved: no more updates
    assert rows["resolution"].due_at == r.now + timedelta(minutes=30)
    assert rows["rca"].due_at == r.now + timedelta(hours=48) and not rows["rca"].overdue
    later = r.now + timedelta(hours=49)
    r.tick(minutes=5)
    s = r.commit(mark_sent(s, "resolution", "customers", "erin"))
    rows = {row.template: row for row in comms_schedule(s, later)}
    assert rows["resolution"].sent_at == r.now and not rows["resolution"].overdue
    assert rows["rca"].overdue


def test_rendering_is_a_pure_function_of_its_inputs(templates) -> None:  # type: ignore[no-untyped-def]
    r = rich(Severity.SEV2, Status.MONITORING)
    assert r.state is not None
    a = render_message(templates["update"], r.state, r.events, NOW)
    b = render_message(templates["update"], r.state, list(r.events), NOW)
    assert a == b
    other = datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
    assert render_message(templates["update"], r.state, r.events, other).text != a.text


def test_template_syntax_is_string_template_and_nothing_more() -> None:
    # Attribute access, indexing and format specs are not placeholders: they are refused or
    # left as text, never evaluated.
    with pytest.raises(TemplateError):
        parse_template("x", "${title.__class__}")
    t = parse_template("x", "{title} {0} %(title)s $title.__class__")
    r = Recorder()
    s = r.commit(commands.declare("T", Severity.SEV2, "alice"))
    assert render_message(t, s, r.events, NOW).text == "{title} {0} %(title)s T.__class__"
    assert string.Template.delimiter == "$"


def test_times_and_durations_read_well_for_people() -> None:
    from warroom.domain.incident.facts import ceil_minute, in_words, window

    assert in_words(timedelta(seconds=59)) == "less than a minute"
    assert in_words(timedelta(minutes=1, seconds=59)) == "1 minute"
    assert in_words(timedelta(minutes=47)) == "47 minutes"
    assert in_words(timedelta(hours=1)) == "1 hour"
    assert in_words(timedelta(hours=2, minutes=5)) == "2 hours 5 minutes"
    assert in_words(timedelta(days=1, hours=3, minutes=9)) == "1 day 3 hours"
    start = datetime(2026, 3, 4, 23, 40, 30, tzinfo=UTC)
    assert window(start, start + timedelta(minutes=10)) == "2026-03-04 23:40 - 23:50 UTC"
    assert window(start, start + timedelta(hours=1)) == \
        "2026-03-04 23:40 UTC - 2026-03-05 00:40 UTC"
    assert window(start, None) == "2026-03-04 23:40 UTC - ongoing"
    assert ceil_minute(start) == start.replace(minute=41, second=0)
    assert ceil_minute(start.replace(second=0)) == start.replace(second=0)
