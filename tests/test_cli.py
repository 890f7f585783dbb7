"""The real `warroom` command, run as a script would run it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, cli_env, run_cli


def ok(r):  # type: ignore[no-untyped-def]
    assert r.code == 0, (r.code, r.err)
    assert "Traceback" not in r.err
    return r


def test_full_incident_by_cli(cli) -> None:  # type: ignore[no-untyped-def]
    r = ok(cli("declare", "--title", "Checkout 500s", "--severity", "SEV-1",
               "--service", "payments", "--summary", "EU users", "--json"))
    out = r.json()
    assert out["incident_id"] == "INC-1" and out["version"] == 1
    ok(cli("ack", "INC-1", user="bob"))
    ok(cli("severity", "1", "--users-pct", "40", "--reason", "many users"))
    ok(cli("assign", "1", "ic", "carol"))
    ok(cli("assign", "1", "ic", "dave", user="carol"))  # handoff
    ok(cli("assign", "1", "comms", "erin"))
    ok(cli("release", "1", "comms"))
    ok(cli("note", "1", "dashboards show pool exhaustion"))
    ok(cli("note", "1", "roll back to v2.4.9", "--kind", "decision"))
    action = ok(cli("note", "1", "alert on pool usage", "--kind", "action", "--owner", "frank",
                    "--json")).json()["events"][0]["event_id"]
    ok(cli("done", "1", action[:8]))
    ok(cli("check", "1", "timeline"))
    ok(cli("status", "1", "identified"))
    ok(cli("status", "1", "monitoring", "--at", "-1m"))
    ok(cli("retitle", "1", "Checkout 500s (EU)"))
    shown = ok(cli("show", "INC-1", "--json")).json()
    assert shown["id"] == "INC-1" and shown["title"] == "Checkout 500s (EU)"
    assert (shown["severity"], shown["status"], shown["phase"]) == (
        "SEV-2", "Monitoring", "Recovery")
    assert shown["version"] == 15
    assert shown["roles"]["incident_commander"] == "dave"
    assert shown["roles"]["communications_lead"] is None
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds[:3] == ["declared", "acknowledged", "severity_changed"]
    for e in shown["timeline"]:
        assert {"seq", "kind", "actor", "at", "text"} <= set(e)
    assert shown["timeline"][1]["actor"] == "bob"
    assert shown["action_items"][0]["done_by"] == "alice"
    seq = shown["timeline"][7]["seq"]
    ok(cli("edit", "1", str(seq), "--text", "dashboards show DB pool exhaustion"))
    human = ok(cli("show", "1")).out
    assert "Monitoring" in human and "dave" in human and "edited an entry" in human
    exported = ok(cli("export", "1")).json()
    assert exported["incident"]["id"] == "INC-1" and len(exported["events"]) == 16


def test_list_orders_open_incidents_by_severity_then_age(cli) -> None:  # type: ignore[no-untyped-def]
    ok(cli("declare", "--title", "minor", "--severity", "3", "--at", "-30m"))
    ok(cli("declare", "--title", "major old", "--severity", "2", "--at", "-20m"))
    ok(cli("declare", "--title", "critical", "--severity", "1"))
    ok(cli("declare", "--title", "major new", "--severity", "2"))
    ok(cli("status", "4", "resolved"))
    rows = ok(cli("list", "--json")).json()
    assert [r["title"] for r in rows] == ["critical", "major old", "minor"]
    everything = ok(cli("list", "--all", "--json")).json()
    assert [r["id"] for r in everything] == ["INC-4", "INC-3", "INC-2", "INC-1"]
    assert "UNACKED" in ok(cli("list")).out


def test_backdating_and_expected_version(cli) -> None:  # type: ignore[no-untyped-def]
    ok(cli("declare", "--title", "t", "--severity", "2", "--at", "2026-03-04T14:32:15Z"))
    r = ok(cli("ack", "1", "--at", "2026-03-04T14:33:12Z", "--expect-version", "1", "--json"))
    assert r.json()["events"][0]["at"] == "2026-03-04T14:33:12Z"
    conflict = cli("status", "1", "resolved", "--expect-version", "1", user="carol")
    assert conflict.code == 3
    assert "acknowledged by alice" in conflict.err and "not applied" in conflict.err
    assert ok(cli("show", "1", "--json")).json()["status"] == "Investigating"


@pytest.mark.parametrize("args,code,message", [
    (["frobnicate"], 2, "invalid choice"),
    (["declare", "--title", "t", "--severity", "SEV-9"], 2, "SEV-1, SEV-2, SEV-3 or SEV-4"),
    (["declare", "--title", "", "--severity", "1"], 2, "title cannot be empty"),
    (["show", "banana"], 2, "not an incident id"),
    (["status", "1", "closed"], 2, "unknown status"),
    (["status", "1", "investigating"], 2, "already Investigating; allowed moves"),
    (["assign", "1", "boss", "x"], 2, "unknown role"),
    (["ack", "1", "--at", "yesterday-ish"], 2, "cannot read time"),
    (["show", "42"], 4, "no incident INC-42"),
    (["ack", "INC-42"], 4, "no incident INC-42"),
    (["--spectator", "ack", "1"], 5, "read-only"),
])
def test_bad_input_gets_one_clear_line_and_its_exit_code(cli, args, code, message) -> None:  # type: ignore[no-untyped-def]
    ok(cli("declare", "--title", "t", "--severity", "2"))
    r = cli(*args)
    assert r.code == code, (r.code, r.err)
    assert message in r.err
    assert "Traceback" not in r.err
    assert ok(cli("show", "1", "--json")).json()["version"] == 1  # nothing written


def test_json_errors_for_scripts(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("show", "7", "--json")
    assert r.code == 6  # nothing was ever written: no database yet
    ok(cli("declare", "--title", "t", "--severity", "2"))
    r = cli("show", "7", "--json")
    assert r.code == 4
    assert r.json() == {"error": {"code": 4, "type": "NotFound", "message": "no incident INC-7"}}


def test_database_problems_have_distinct_codes(tmp_path: Path) -> None:
    missing = run_cli(tmp_path / "none.db", "list")
    assert missing.code == 6 and "no database" in missing.err
    assert not (tmp_path / "none.db").exists()

    junk = tmp_path / "junk.db"
    junk.write_text("not a database " * 100)
    corrupt = run_cli(junk, "list")
    assert corrupt.code == 7 and "not a warroom database" in corrupt.err

    db = tmp_path / "room.db"
    ok(run_cli(db, "declare", "--title", "t", "--severity", "2"))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    env = cli_env(db) | {"WARROOM_LOCK_TIMEOUT": "0.3"}
    locked = run_cli(db, "ack", "1", env=env)
    holder.execute("ROLLBACK")
    holder.close()
    assert locked.code == 9 and "locked" in locked.err and "Traceback" not in locked.err
    ok(run_cli(db, "ack", "1"))  # fine again once the lock is gone


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "nan"])
def test_a_bad_lock_timeout_is_a_usage_error(db_path: Path, value: str) -> None:
    env = cli_env(db_path) | {"WARROOM_LOCK_TIMEOUT": value}
    r = run_cli(db_path, "declare", "--title", "t", "--severity", "2", env=env)
    assert r.code == 2, r.err
    assert r.err == (f"warroom: WARROOM_LOCK_TIMEOUT={value!r}: expected seconds to wait for "
                     "another writer: a finite number, 0 or more\n")
    assert not db_path.exists()  # refused before anything was opened
    as_json = run_cli(db_path, "list", "--json", env=env)
    assert as_json.code == 2
    assert as_json.json() == {"error": {"code": 2, "type": "SettingsError",
                                        "message": as_json.err[len("warroom: "):-1]}}


def test_an_empty_variable_counts_as_unset(db_path: Path) -> None:
    env = cli_env(db_path) | {"WARROOM_LOCK_TIMEOUT": "", "WARROOM_CONFIG": ""}
    ok(run_cli(db_path, "declare", "--title", "t", "--severity", "2", env=env))


def test_help_documents_exit_codes() -> None:
    r = run_cli("/nonexistent/x.db", "--help")
    assert r.code == 0
    for line in ("3  version conflict", "4  incident not found", "5  read-only",
                 "6  database missing", "9  database locked"):
        assert line in r.out


def test_untrusted_text_is_printed_literally(cli) -> None:  # type: ignore[no-untyped-def]
    title = "[bold red]boom[/] \x1b[2J\x1b]0;owned\x07 done"
    ok(cli("declare", "--title", title, "--severity", "1"))
    ok(cli("note", "1", "line1\nline2 \x1b[31mred"))
    for args in (["list"], ["show", "1"], ["tail"]):
        out = ok(cli(*args)).out
        assert "\x1b" not in out and "\x07" not in out
        assert "[bold red]boom[/]" in out and "\\x1b[2J" in out
    shown = ok(cli("show", "1", "--json")).json()
    assert shown["title"] == title  # exactly as given
    assert shown["timeline"][1]["text"] == "line1\nline2 \x1b[31mred"


def test_tail_follow_sees_other_processes(db_path: Path) -> None:
    ok(run_cli(db_path, "declare", "--title", "t", "--severity", "2"))
    p = subprocess.Popen([sys.executable, "-m", "warroom", "tail", "--follow", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=cli_env(db_path), cwd=REPO)
    try:
        assert p.stdout is not None
        first = json.loads(p.stdout.readline())
        assert first["kind"] == "declared"
        ok(run_cli(db_path, "ack", "1", user="bob"))
        second = json.loads(p.stdout.readline())
        assert (second["kind"], second["actor"], second["seq"]) == ("acknowledged", "bob", 2)
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_python_dash_m_and_console_script_agree(db_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "warroom", "--version"], capture_output=True,
                       text=True, env=cli_env(db_path))
    assert r.returncode == 0 and r.stdout.startswith("warroom ")


def test_default_database_is_in_the_user_data_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env |= {"XDG_DATA_HOME": str(tmp_path / "data"), "WARROOM_USER": "zed"}
    r = run_cli("", "declare", "--title", "t", "--severity", "4", env=env)
    assert r.code == 0, r.err
    assert (tmp_path / "data" / "warroom" / "warroom.db").exists()
    shown = run_cli("", "show", "1", "--json", env=env)
    assert json.loads(shown.out)["declared_by"] == "zed"


def test_assess_explains_the_matrix(cli) -> None:  # type: ignore[no-untyped-def]
    r = ok(cli("assess", "--revenue-per-min", "500", "--security", "active_breach", "--json"))
    assert r.json()["severity"] == "SEV-1"
    assert r.json()["decided_by"]["criterion"] == "security"
    assert "decided by security" in ok(cli("assess", "--security", "active_breach")).out


def test_show_gives_the_severity_response_time_war_room_and_mode(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("declare", "--title", "Checkout down", "--severity", "SEV-1").code == 0
    assert cli("declare", "--title", "Typo on the footer", "--severity", "SEV-4").code == 0
    out = cli("show", "1").out
    assert "response:  < 15 min (acknowledge < 5 min)" in out
    assert "war room:  mandatory (all hands war room)" in out
    out4 = cli("show", "2").out
    assert "response:  < 24 h" in out4
    assert "war room:  not needed (normal team channel)" in out4
    data = cli("show", "1", "--json").json()
    sev = data["severity_profile"]
    assert sev["response_time_s"] == 900 and sev["response_time"] == "< 15 min"
    assert sev["war_room"] == "mandatory" and sev["response_mode"] == "all hands war room"
    two = cli("show", "2", "--json").json()["severity_profile"]
    assert two["acknowledge_within_s"] == 86400 and two["customer_comms"] == "No comms"


def test_show_lists_backdated_entries_by_the_time_they_happened(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("declare", "--title", "Checkout down", "--severity", "SEV-1",
               "--at", "-30m").code == 0
    assert cli("note", "1", "rolled back", "--at", "-5m").code == 0
    assert cli("note", "1", "first 500s seen", "--at", "-15m").code == 0
    out = cli("show", "1").out
    timeline = out[out.index("timeline:"):]
    assert timeline.index("first 500s seen") < timeline.index("rolled back")
    seen = next(ln for ln in timeline.splitlines() if "first 500s seen" in ln)
    assert "(recorded " in seen
    last = cli("show", "1", "--last", "1").out
    assert "rolled back" in last and "first 500s seen" not in last


def test_an_unknown_service_warns_with_the_nearest_names_and_can_be_fixed(cli) -> None:  # type: ignore[no-untyped-def]
    from .escalation_support import SAMPLE

    cfg = ("--config", str(SAMPLE))
    r = cli("declare", "--title", "Card payments fail", "--severity", "2",
            "--service", "paymnets", *cfg)
    assert r.code == 0, r.err
    assert "warning: service 'paymnets' is not configured" in r.err
    assert "did you mean payments?" in r.err
    assert "warroom service INC-1 NAME" in r.err
    ok = cli("declare", "--title", "Checkout slow", "--severity", "3", "--service", "checkout",
             *cfg)
    assert ok.code == 0 and ok.err == ""
    fixed = cli("service", "1", "payments", *cfg)
    assert fixed.code == 0, fixed.err
    assert "service paymnets -> payments" in fixed.out and fixed.err == ""
    assert cli("show", "1", "--json").json()["service"] == "payments"
    again = cli("service", "1", "paymentz", *cfg)
    assert again.code == 0 and "did you mean payments?" in again.err
    assert cli("service", "1", "paymentz", *cfg).code != 0  # unchanged: refused


def test_an_action_items_trailing_at_name_is_its_owner(cli) -> None:  # type: ignore[no-untyped-def]
    """The CLI reads `x @bob` as the dashboard does (one parser, in the domain)."""
    from warroom.domain.incident.commands import split_owner

    assert split_owner("restart the pool @bob") == ("restart the pool", "bob")
    assert split_owner("mail ops@example.com") == ("mail ops@example.com", None)
    assert split_owner("ask @carol about it") == ("ask @carol about it", None)
    assert cli("declare", "--title", "Checkout down", "--severity", "1").code == 0
    assert cli("note", "1", "restart the pool @bob", "--kind", "action").code == 0
    assert cli("note", "1", "page the vendor @dave", "--kind", "action",
               "--owner", "erin").code == 0
    assert cli("note", "1", "a plain note @frank").code == 0
    items = cli("show", "1", "--json").json()["action_items"]
    assert [(i["text"], i["owner"]) for i in items] == [
        ("restart the pool", "bob"), ("page the vendor @dave", "erin")]


def test_a_severity_change_from_the_matrix_says_why(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("declare", "--title", "Checkout down", "--severity", "1").code == 0
    r = cli("severity", "1", "--users-pct", "40")
    assert r.code == 0, r.err
    assert "severity SEV-1 -> SEV-2" in r.out
    assert "user impact: 40% of users (many, >=10%)" in r.out
    r = cli("severity", "1", "1", "--reason", "card payments are down too")
    assert "severity SEV-2 -> SEV-1 (card payments are down too)" in r.out
    assert cli("declare", "--title", "Data loss", "--severity", "1").code == 0
    r = cli("severity", "2", "--data-risk", "loss")  # the matrix confirms the level
    assert "checklist: triage done" in r.out
    assert "matrix: SEV-1 decided by data risk: data loss or corruption" in r.out, r.out
