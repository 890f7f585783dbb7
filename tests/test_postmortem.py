"""The postmortem of a scripted incident, compared in full with the expected Markdown."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.domain.comms.markdown import md_cell, md_escape, unescape
from warroom.domain.comms.messages import mark_sent
from warroom.domain.comms.postmortem import (
    build_postmortem,
    postmortem_json,
    postmortem_markdown,
    render_postmortem,
)
from warroom.domain.incident import commands
from warroom.domain.incident.events import NewEvent, idempotent_id
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status

from .conftest import Recorder

EXPECTED = Path(__file__).parent / "data" / "postmortem_inc7.md"
START = datetime(2026, 3, 4, 14, 32, 15, tzinfo=UTC)
LATER = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def at(hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return START.replace(hour=h, minute=m, second=s)


class StableIds(Recorder):
    """Event ids from a counter, so that the ids the postmortem prints are the same each run."""

    def commit(self, new: list[NewEvent]) -> IncidentState:
        fixed = [replace(n, event_id=idempotent_id(f"INC-7/{len(self.events) + i}"))
                 for i, n in enumerate(new)]
        return super().commit(fixed)


def scripted() -> Recorder:
    """The seed's payment outage, recorded as the room would record it."""
    r = StableIds("INC-7", START)

    def step(when: str) -> None:
        r.now = at(when)

    s = r.commit(commands.declare(
        "Payment service outage", Severity.SEV2, "alice", service="payments",
        summary="Card payments fail with HTTP 502 at checkout.\nAll regions.",
        started_at=at("14:30:00"), source="alertmanager",
    ))
    step("14:33:12")
    s = r.commit(commands.acknowledge(s, "alice", note="on it"))
    step("14:34:00")
    s = r.commit(commands.assign_role(s, Role.INCIDENT_COMMANDER, "bob", "alice"))
    s = r.commit(commands.assign_role(s, Role.TECH_LEAD, "carol", "bob"))
    s = r.commit(commands.assign_role(s, Role.COMMUNICATIONS_LEAD, "erin", "bob"))
    s = r.commit(commands.assign_role(s, Role.SCRIBE, "dave", "bob"))
    step("14:35:00")
    s = r.commit(commands.change_severity(s, Severity.SEV1, "bob",
                                          reason="every card payment failing"))
    step("14:36:00")
    s = r.commit(commands.add_note(
        s, "Impact: all card payments failed; about 15,000 transactions", "dave"))
    step("14:38:30")
    s = r.commit(commands.change_status(s, Status.IDENTIFIED, "carol",
                                        reason="DB connection pool exhausted after v2.5.0"))
    step("14:39:00")
    s = r.commit(commands.add_note(s, "Roll back payments-api to v2.4.9", "bob",
                                   kind="decision"))
    step("14:40:00")
    s = r.commit(mark_sent(s, "initial", "customers", "erin", channel="status page", text=(
        "[SEV-1] Payment service outage: Identified\n\n"
        "We've identified the problem. Card payments are failing; next update by 14:55 UTC."
    )))
    step("14:41:00")
    s = r.commit(commands.add_note(s, "Mitigation: raised the pool size to 205", "carol"))
    typo = r.events[-1].event_id
    step("14:42:15")
    s = r.commit(commands.change_status(s, Status.MONITORING, "carol",
                                        reason="rolled back to v2.4.9"))
    step("14:43:00")
    s = r.commit(commands.amend(s, typo, "dave", text="Mitigation: raised the pool size to 250",
                                reason="typo"))
    step("14:44:00")
    s = r.commit(commands.add_note(s, "Alert on pool saturation above 90%", "dave",
                                   kind="action", owner="carol"))
    alarm = s.action_items[-1].id
    s = r.commit(commands.add_note(s, "Load test v2.5.x before the next release", "dave",
                                   kind="action", owner="frank"))
    step("14:46:00")
    # The scribe catches up: the pool was seen full at 14:37, recorded later.
    s = r.commit(commands.add_note(s, "`pg_stat_activity`: 200 of 200 connections busy",
                                   "dave", at=at("14:37:00")))
    step("14:48:00")
    s = r.commit(commands.assign_role(s, Role.COMMUNICATIONS_LEAD, "frank", "bob"))
    step("14:50:00")
    s = r.commit(mark_sent(s, "update", "leadership", "frank", channel="#exec", text=(
        "Fix deployed 14:42, error rate falling. Watching for 10 minutes before resolving."
    )))
    step("14:55:00")
    s = r.commit(commands.change_status(s, Status.RESOLVED, "bob",
                                        reason="error rate at baseline for 10 minutes"))
    step("14:56:00")
    s = r.commit(commands.complete_action(s, alarm, "carol"))
    step("14:57:00")
    s = r.commit(commands.add_note(s, "Lesson: the canary never exercised the payment path",
                                   "dave"))
    s = r.commit(commands.add_note(s, "Next: postmortem review Tuesday 14:00 UTC", "bob"))
    step("14:58:00")
    s = r.commit(mark_sent(s, "resolution", "customers", "frank", channel="status page",
                           text="Resolved: card payments work again since 14:42 UTC."))
    step("15:00:00")
    s = r.commit(commands.release_role(s, Role.SCRIBE, "dave"))
    return r


def test_postmortem_markdown_matches_the_expected_file() -> None:
    r = scripted()
    assert r.state is not None
    md = render_postmortem(r.state, r.events, LATER)
    if os.environ.get("WARROOM_UPDATE_EXPECTED"):
        EXPECTED.parent.mkdir(exist_ok=True)
        EXPECTED.write_text(md, encoding="utf-8")
    assert md == EXPECTED.read_text(encoding="utf-8")


def test_markdown_is_stable_and_reviewable() -> None:
    r = scripted()
    assert r.state is not None
    a = render_postmortem(r.state, r.events, LATER)
    # The export time does not appear: a resolved incident exports the same file every time.
    assert a == render_postmortem(r.state, r.events, LATER + timedelta(days=30))
    assert a.endswith("\n") and not a.endswith("\n\n")
    assert all(line == line.rstrip() for line in a.split("\n"))
    assert "\x1b" not in a and "None" not in a
    headings = [x for x in a.split("\n") if x.startswith("## ")]
    assert headings == [
        "## Summary", "## Impact", "## Resolution", "## Response times", "## Severity history",
        "## Status history", "## Roles", "## Decisions", "## Action items",
        "## Communications sent", "## Timeline", "## Lessons", "## RACI", "## Messages sent",
    ]


def test_json_carries_the_same_facts() -> None:
    r = scripted()
    assert r.state is not None
    pm = build_postmortem(r.state, r.events, LATER)
    data = postmortem_json(pm)
    json.dumps(data)  # serialisable as it is
    md = postmortem_markdown(pm)
    assert data["severity"] == "SEV-1" and data["peak_severity"] == "SEV-1"
    assert data["started_at"] == "2026-03-04T14:30:00Z"
    assert data["resolved_at"] == "2026-03-04T14:55:00Z" and data["as_of"] is None
    times = {t["name"]: t["seconds"] for t in data["response_times"]}
    assert times == {"Time to detect": 135.0, "Time to acknowledge": 57.0,
                     "Time to resolve": 1365.0, "Impact duration": 1500.0}
    assert data["root_cause"] == "DB connection pool exhausted after v2.5.0"
    assert data["root_cause_source"] == "status reason"
    assert data["resolution"]["actions_taken"] == [
        "Roll back payments-api to v2.4.9", "raised the pool size to 250",
        "rolled back to v2.4.9", "Alert on pool saturation above 90%",
    ]
    assert data["resolution"]["next_steps"] == [
        "postmortem review Tuesday 14:00 UTC",
        "Load test v2.5.x before the next release (owner: frank)",
    ]
    assert [(s["role"], s["person"], s["end"]) for s in data["roles"]] == [
        ("incident_commander", "bob", None),
        ("tech_lead", "carol", None),
        ("communications_lead", "erin", "2026-03-04T14:48:00Z"),
        ("scribe", "dave", "2026-03-04T15:00:00Z"),
        ("communications_lead", "frank", None),
    ]
    assert [(a["owner"], a["state"]) for a in data["action_items"]] == [
        ("carol", "done"), ("frank", "open")]
    assert [(c["template"], c["audience"]) for c in data["communications"]] == [
        ("initial", "customers"), ("update", "leadership"), ("resolution", "customers")]
    assert data["communications"][1]["text"].startswith("Fix deployed 14:42")
    # Every timeline entry of the JSON is a row of the Markdown timeline, in the same order.
    section = md.split("## Timeline")[1].split("## Lessons")[0]
    rows = [x for x in section.split("\n") if x.startswith("| 2026")]
    assert len(rows) == len(data["timeline"]) == len(r.events) - 1  # the amendment is folded in
    for row, entry in zip(rows, data["timeline"], strict=True):
        assert row.startswith(f"| {entry['at'][:10]} {entry['at'][11:19]} | {entry['actor']} |")
    amended = [e for e in data["timeline"] if e["corrections"]]
    assert len(amended) == 1
    assert amended[0]["text"] == "Mitigation: raised the pool size to 250"
    assert amended[0]["original"]["text"] == "Mitigation: raised the pool size to 205"
    assert amended[0]["corrections"][0]["reason"] == "typo"
    backdated = next(e for e in data["timeline"] if "pg_stat_activity" in e["text"])
    assert backdated["at"] == "2026-03-04T14:37:00Z"
    assert data["raci"]["rows"][0] == {"activity": "Declare Incident",
                                       "letters": ["A", "C", "I", "I", "R"]}


def test_an_open_incident_is_a_draft_measured_to_now() -> None:
    r = Recorder("INC-3", START)
    s = r.commit(commands.declare("Search slow", Severity.SEV3, "alice", service="search"))
    now = START + timedelta(hours=1, minutes=5)
    pm = build_postmortem(s, r.events, now)
    md = postmortem_markdown(pm)
    assert "- **Status:** Investigating (open: this is a draft)" in md
    assert "- **As of:** 2026-03-04 15:37:15 UTC" in md
    assert "- **Duration:** 1 hour 5 minutes so far (2026-03-04 14:32 UTC - ongoing)" in md
    assert "- **Root cause:** \\[root cause not yet recorded\\]" in md
    assert "| Time to acknowledge | detected 2026-03-04 14:32:15 | acknowledged: not yet |" in md
    assert "\\[summary not recorded\\]" in md and "None" not in md
    assert "No roles were assigned." in md and "## Messages sent" not in md
    data = postmortem_json(pm)
    assert data["open"] and data["as_of"] == "2026-03-04T15:37:15Z"
    assert data["resolution"]["end"] is None and data["root_cause"] is None


NASTY = "[bold red]boom[/] *x* _y_ `z` <b>h</b> | a\\b $m$ &amp; \x1b[31mred\x1b[0m\x07"


def test_markup_and_escape_sequences_read_literally_in_markdown_and_json() -> None:
    r = Recorder("INC-9", START)
    s = r.commit(commands.declare(NASTY, Severity.SEV2, "alice", summary="# not a heading\n"
                                  + NASTY, service="pay|ments"))
    s = r.commit(commands.add_note(s, "Impact: " + NASTY, "[b]mallory[/b]"))
    s = r.commit(commands.add_note(s, NASTY, "bob", kind="decision"))
    s = r.commit(commands.add_note(s, NASTY, "bob", kind="action", owner="<script>"))
    s = r.commit(mark_sent(s, "update", "customers", "erin", text="```\n" + NASTY))
    s = r.commit([NewEvent.of(Escalated(level=2, targets=[NASTY]), "engine")])
    pm = build_postmortem(s, r.events, START)
    md = postmortem_markdown(pm)
    assert "\x1b" not in md and "\x07" not in md
    shown = "[bold red]boom[/] *x* _y_ `z` <b>h</b> | a\\b $m$ &amp; \\x1b[31mred\\x1b[0m\\x07"
    assert md.split("\n")[0] == "# Postmortem: INC-9: " + md_escape(NASTY)
    assert unescape(md_escape(NASTY)) == shown
    assert unescape(md_cell("Impact: " + NASTY)) == "Impact: " + shown
    assert f"| {md_cell('[b]mallory[/b]')} | {md_cell('Impact: ' + NASTY)} |" in md
    assert f"| {md_cell(NASTY)} | {md_cell('<script>')} | open |" in md
    assert "\\# not a heading\\\n" in md  # a literal '#', and the line break kept
    # No raw markup survives outside the quoted messages (code blocks, shown as they are).
    document = md.split("## Messages sent")[0]
    for raw in ("[bold red]", "<b>", "*x*", "| a\\b", "`z`"):
        assert re.search(r"(?<!\\)" + re.escape(raw), document) is None, raw
    # The message keeps its own fence-breaking backticks inside a longer fence.
    assert "````text\n```\n" in md
    data = postmortem_json(pm)
    assert data["title"] == NASTY and data["impact"] == NASTY
    assert data["decisions"][0]["text"] == NASTY
    assert data["communications"][0]["text"] == "```\n" + NASTY
    assert any(NASTY in e["text"] for e in data["timeline"] if e["kind"] == "escalated")
    assert re.search(r"\\x1b", json.dumps(data)) is None  # JSON escapes it as \u001b


def test_raci_names_the_people_who_held_each_role() -> None:
    r = scripted()
    assert r.state is not None
    pm = build_postmortem(r.state, r.events, LATER)
    md = postmortem_markdown(pm)
    raci = md[md.index("## RACI"):]
    assert ("| Activity | Incident Commander: bob | Tech Lead: carol | "
            "Comms Lead: erin, frank | Scribe: dave | On-call: (nobody) |") in raci
    data = postmortem_json(pm)["raci"]
    assert data["people"] == {"Incident Commander": ["bob"], "Tech Lead": ["carol"],
                              "Comms Lead": ["erin", "frank"], "Scribe": ["dave"],
                              "On-call": []}
