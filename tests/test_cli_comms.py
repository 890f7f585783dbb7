"""`warroom comms`, `runbook` and `export` through the real process, as a script runs them."""

from __future__ import annotations

from pathlib import Path

TITLE = "[bold red]Pay[/] *down* \x1b[2J\x1b]0;pwned\x07 $impact"
SHOWN = "[bold red]Pay[/] *down* \\x1b[2J\\x1b]0;pwned\\x07 $impact"


def ok(result):  # type: ignore[no-untyped-def]
    assert result.code == 0, (result.code, result.out, result.err)
    return result


def refused(result, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err and result.err.count("\n") == 1, result.err
    return str(result.err)


def declare(cli, service: str = "payments") -> None:  # type: ignore[no-untyped-def]
    ok(cli("declare", "--title", TITLE, "--severity", "1", "--service", service,
           "--summary", "card payments fail"))


def test_preview_prints_literally_and_json_carries_the_raw_text(cli) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    ok(cli("note", "1", "Impact: \x1b[31mall\x1b[0m card payments [i]fail[/i]"))
    human = ok(cli("comms", "1", "--template", "initial"))
    assert "\x1b" not in human.out and "\x07" not in human.out
    assert human.out.startswith(f"[SEV-1] {SHOWN}: Investigating\n")
    assert "What is affected: \\x1b[31mall\\x1b[0m card payments [i]fail[/i]\n" in human.out
    assert human.err == ""  # every fact the initial message needs is recorded
    data = ok(cli("comms", "1", "--template", "initial", "--json")).json()
    assert data["subject"] == f"[SEV-1] {TITLE}: Investigating"  # type: ignore[index]
    assert "\x1b[31mall\x1b[0m card payments [i]fail[/i]" in data["text"]  # type: ignore[index]
    assert data["missing"] == [] and data["next_update_at"]  # type: ignore[index]
    resolution = ok(cli("comms", "1", "--template", "resolution"))
    assert "Root cause: [root cause not yet recorded]" in resolution.out
    assert resolution.err.startswith("warroom: INC-1: no data yet for: root_cause")


def test_send_records_the_message_and_completes_the_first_update(cli) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    preview = ok(cli("comms", "1", "--template", "initial", "--json")).json()
    sent = ok(cli("comms", "1", "--send", "--template", "initial", "--audience", "Status Page",
                  "--channel", "status page", "--json", user="erin")).json()
    event = sent["events"][0]  # type: ignore[index]
    assert event["kind"] == "communication_sent" and event["actor"] == "erin"
    assert event["data"]["audience"] == "customers"
    assert event["data"]["text"] == preview["text"]  # type: ignore[index]
    state = ok(cli("show", "1", "--json")).json()
    assert "first_update" in state["checklist"]  # type: ignore[index]
    human = ok(cli("comms", "1", "--send", "--template", "update", "--audience", "leadership",
                   "--text-file", "-", input="Edited by hand: rollback at 14:40\n"))
    assert human.out == "INC-1 v3: update message sent to leadership\n"
    export = ok(cli("export", "1", "--json")).json()
    comms = export["postmortem"]["communications"]  # type: ignore[index]
    assert [c["text"] for c in comms] == [preview["text"],  # type: ignore[index]
                                          "Edited by hand: rollback at 14:40\n"]


def test_send_refusals_write_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    assert "--send needs --template and --audience" in refused(
        cli("comms", "1", "--send", "--template", "initial"))
    assert "unknown audience 'board'" in refused(
        cli("comms", "1", "--send", "--template", "initial", "--audience", "board"))
    assert "--audience only goes with --send" in refused(
        cli("comms", "1", "--template", "initial", "--audience", "customers"))
    assert "no template 'welcome'" in refused(cli("comms", "1", "--template", "welcome"))
    assert "no incident INC-9" in refused(cli("comms", "9", "--template", "initial"), 4)
    assert ok(cli("show", "1", "--json")).json()["version"] == 1  # type: ignore[index]


def test_team_templates_override_and_broken_ones_name_the_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    team = tmp_path / "team"
    team.mkdir()
    (team / "initial.txt").write_text("ACME status: $status_message ($incident_id)\n")
    out = ok(cli("comms", "1", "--template", "initial", "--templates", str(team))).out
    assert out == "ACME status: We're investigating the issue (INC-1)\n"
    # The defaults the team did not override are still there.
    ok(cli("comms", "1", "--template", "rca", "--templates", str(team)))
    (team / "update.txt").write_text("Now: $status\nCause: ${rootcause}\n")
    err = refused(cli("comms", "1", "--template", "initial", "--templates", str(team)))
    assert f"{team / 'update.txt'}: line 2, column 8: unknown placeholder $rootcause" in err
    assert "did you mean $root_cause?" in err
    assert "does not exist" in refused(
        cli("comms", "1", "--template", "initial", "--templates", str(tmp_path / "none")))


def test_overview_lists_schedule_and_stakeholders(cli) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    data = ok(cli("comms", "1", "--json")).json()
    assert data["severity"] == "SEV-1"  # type: ignore[index]
    plan = {s["audience"]: s for s in data["stakeholders"]}  # type: ignore[index]
    assert plan["customers"]["what"] == "Immediate status page"
    assert plan["leadership"]["what"] == "CEO + VP alert"
    assert [r["template"] for r in data["schedule"]] == [  # type: ignore[index]
        "initial", "update", "resolution", "rca"]
    assert data["templates"] == ["initial", "update", "resolution", "rca"]  # type: ignore[index]
    human = ok(cli("comms", "1")).out
    assert f"INC-1  SEV-1  Investigating  {SHOWN}\n" in human
    assert "Customers     Immediate status page" in human and "none yet" in human


def test_export_markdown_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    ok(cli("status", "1", "identified", "--reason", "pool <exhausted> | v2.5.0"))
    ok(cli("status", "1", "resolved"))
    md = ok(cli("export", "1", "--format", "markdown")).out
    assert md.startswith("# Postmortem: INC-1: \\[bold red\\]Pay\\[/\\] \\*down\\* "
                         "\\\\x1b\\[2J\\\\x1b\\]0;pwned\\\\x07 \\$impact\n")
    assert "\x1b" not in md and "- **Root cause:** pool \\<exhausted> \\| v2.5.0" in md
    data = ok(cli("export", "1")).json()  # JSON stays the default, as before
    assert data["incident"]["title"] == TITLE  # type: ignore[index]
    assert len(data["events"]) == 3  # type: ignore[index]
    assert data["postmortem"]["root_cause"] == "pool <exhausted> | v2.5.0"  # type: ignore[index]
    assert ok(cli("export", "1", "--format", "markdown", "--json")).json() == data


def test_runbook_by_service_or_incident(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = ok(cli("runbook", "payments")).out
    assert out.startswith("# Payments Runbook\n") and "## Emergency Procedures" in out
    declare(cli, service="auth")
    data = ok(cli("runbook", "INC-1", "--json")).json()
    assert data["service"] == "auth" and data["incident_id"] == "INC-1"  # type: ignore[index]
    assert data["title"] == "Auth Runbook" and data["warnings"] == []  # type: ignore[index]
    assert "runbooks there: auth, checkout" in refused(cli("runbook", "nope"))
    books = tmp_path / "books"
    books.mkdir()
    (books / "auth.md").write_text("# [b]Auth[/b] \x1b[31mRunbook\n\n## Key Metrics\n- logins\n")
    r = ok(cli("runbook", "1", "--runbooks", str(books)))
    assert r.out == "# [b]Auth[/b] \\x1b[31mRunbook\n\n## Key Metrics\n- logins\n"
    assert "\x1b" not in r.err and "warning: " in r.err and "no '## Common Issues' section" in r.err
    raw = ok(cli("runbook", "auth", "--runbooks", str(books), "--json")).json()
    assert raw["title"] == "[b]Auth[/b] \x1b[31mRunbook"  # type: ignore[index]


def test_facts_set_directly_and_with_status_moves_reach_postmortem_and_comms(cli) -> None:  # type: ignore[no-untyped-def]
    declare(cli)
    moved = ok(cli("status", "1", "identified", "--cause", "pool exhausted after v2.5.0"))
    assert "Root cause: pool exhausted after v2.5.0" in moved.out
    ok(cli("fact", "1", "eta", "15:30 UTC"))
    ok(cli("fact", "1", "lessons", "canary the pool size"))
    ok(cli("status", "1", "resolved", "--impact", "40% of card payments failed for 47 min"))
    md = ok(cli("export", "1", "--format", "markdown")).out
    assert "[root cause not yet recorded]" not in md
    assert "pool exhausted after v2.5.0" in md
    assert "40% of card payments failed for 47 min" in md
    assert "canary the pool size" in md
    data = ok(cli("export", "1", "--json")).json()["postmortem"]  # type: ignore[index]
    assert data["root_cause_source"] == "fact"  # type: ignore[index]
    resolution = ok(cli("comms", "1", "--template", "resolution"))
    assert "Root cause: pool exhausted after v2.5.0" in resolution.out
    # set directly, a later fact replaces the earlier one
    ok(cli("fact", "1", "root-cause", "a leaked connection per retry"))
    md = ok(cli("export", "1", "--format", "markdown")).out
    assert "a leaked connection per retry" in md
    assert refused(cli("fact", "1", "colour", "blue")).startswith("warroom: unknown fact")


def test_checklist_owners_and_the_postmortem_schedule(cli) -> None:  # type: ignore[no-untyped-def]
    """The seed's Owner column with who holds it now; the postmortem's time, recorded and shown
    in the resolution and RCA messages."""
    declare(cli)
    ok(cli("assign", "1", "ic", "carol"))
    ok(cli("assign", "1", "scribe", "dave"))
    out = ok(cli("show", "1")).out
    checklist = out[out.index("checklist:"):out.index("timeline:")]
    assert "Acknowledge alert" in checklist and "On-call (vacant)" in checklist
    assert "Form response team" in checklist and "IC (carol)" in checklist
    assert "Timeline complete" in checklist and "Scribe (dave)" in checklist
    assert "Deploy fix" in checklist and "Dev Team" in checklist
    clocks = ok(cli("clocks", "1")).out
    assert "IC (carol)" in clocks
    items = {c["key"]: c for c in ok(cli("clocks", "1", "--json")).json()["clocks"]}  # type: ignore[index]
    assert items["assemble"]["owner"] == "IC" and items["assemble"]["holder"] == "carol"
    ok(cli("status", "1", "resolved"))
    r = ok(cli("schedule-postmortem", "1", "2026-12-01T14:00Z"))
    assert "postmortem scheduled for Tuesday 14:00 UTC (2026-12-01)" in r.out
    assert "postmortem: Tuesday 14:00 UTC (2026-12-01)" in ok(cli("show", "1")).out
    for template in ("resolution", "rca"):
        msg = ok(cli("comms", "1", "--template", template)).out
        assert "Postmortem: Tuesday 14:00 UTC (2026-12-01)" in msg, template
