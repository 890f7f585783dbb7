"""Incident commands' grammar: declare, list, show, and every state change the dashboard makes
(their implementation: warroom.cli.incidents)."""

from __future__ import annotations

import argparse
from typing import Any

from warroom.cli.args import command_adder, incident_arg
from warroom.cli.argtypes import count, sequence

# The domain's values, spelled out so that building the parser imports no domain module
# (tests/test_startup_imports.py checks them against warroom.domain.incident).
NOTE_KINDS = ("note", "decision", "action")  # commands.NOTE_KINDS
CHECKLIST_KEYS = ("acknowledge", "triage", "assemble", "first_update", "root_cause",
                  "fix_deployed", "verify", "timeline")  # checklist.CHECKLIST
PHASES = ("Detection", "Triage", "Response", "Recovery", "Analysis", "Improvement")  # Phase
DATA_RISKS = ("loss", "at_risk", "delays", "none")  # severity.DataRisk
SECURITY_IMPACTS = ("active_breach", "vulnerability_exposed", "potential", "none")
REPUTATIONS = ("media", "social", "complaints", "internal")  # severity.Reputation


def _mutating(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", metavar="TIME",
                   help="when it happened, if not now (ISO 8601, HH:MM, -5m, '5m ago')")
    p.add_argument("--expect-version", type=sequence, metavar="N",
                   help="refuse (exit 3) if the incident changed since version N")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common, "warroom.cli.incidents")

    p = cmd("declare", "declare a new incident", "declare")
    p.add_argument("--title", required=True)
    p.add_argument("--severity", required=True, metavar="SEV-N")
    p.add_argument("--service")
    p.add_argument("--summary")
    p.add_argument("--started-at", metavar="TIME", help="when the impact began (for MTTD)")
    p.add_argument("--detected-at", metavar="TIME", help="when it was detected")
    _mutating(p)

    p = cmd("list", "list incidents (open ones, most severe first)", "list_incidents")
    p.add_argument("--all", action="store_true", help="include resolved incidents, newest first")
    p.add_argument("--limit", type=count, default=None)

    p = cmd("show", "show an incident: state, roles and timeline", "show")
    incident_arg(p)
    p.add_argument("--last", type=count, default=None, metavar="N",
                   help="only the last N timeline entries")
    p.add_argument("--as-of", metavar="TIME",
                   help="the incident as the room knew it then: the events recorded (committed) "
                        "by TIME, clocks computed at TIME; an entry backdated to before TIME but "
                        "recorded after it is left out (ISO 8601, HH:MM, -1h)")

    p = cmd("ack", "acknowledge an incident (stops escalation)", "ack")
    incident_arg(p)
    p.add_argument("--note")
    _mutating(p)

    p = cmd("status", "move an incident along the status workflow", "status")
    incident_arg(p)
    p.add_argument("status", metavar="STATUS",
                   help="Investigating, Identified, Monitoring or Resolved")
    p.add_argument("--reason")
    p.add_argument("--cause", metavar="TEXT",
                   help="with Identified: what was identified (the root cause, for the record)")
    p.add_argument("--impact", metavar="TEXT",
                   help="with Resolved (or any move): the impact, for the record")
    _mutating(p)

    p = cmd("service", "change (correct) an incident's service", "service")
    incident_arg(p)
    p.add_argument("service", metavar="NAME", help="a configured service; '' for none")
    _mutating(p)

    p = cmd("schedule-postmortem", "record when the postmortem meets (shown in the resolution "
            "and RCA messages)", "schedule_postmortem")
    incident_arg(p)
    p.add_argument("meets_at", metavar="TIME",
                   help="ISO 8601 (2026-12-01T14:00, local time without an offset) or +2d")
    _mutating(p)

    p = cmd("fact", "set a fact for the record: impact, root-cause, eta or lessons", "fact")
    incident_arg(p)
    p.add_argument("fact", metavar="FACT", help="impact, root-cause, eta or lessons")
    p.add_argument("text", metavar="TEXT")
    _mutating(p)

    p = cmd("severity", "change (or confirm) an incident's severity", "severity")
    incident_arg(p)
    p.add_argument("severity", metavar="SEV-N", nargs="?",
                   help="the new severity; omit it to use the assessment's suggestion")
    p.add_argument("--reason")
    _assessment_options(p)
    _mutating(p)

    p = cmd("assess", "suggest a severity from the seed's assessment matrix", "assess")
    _assessment_options(p)

    p = cmd("assign", "assign a role, or hand it off to someone else", "assign")
    incident_arg(p)
    p.add_argument("role", metavar="ROLE",
                   help="ic, tech, comms, scribe, primary, secondary (or in full)")
    p.add_argument("person", metavar="PERSON")
    _mutating(p)

    p = cmd("release", "release a role (it becomes vacant)", "release")
    incident_arg(p)
    p.add_argument("role", metavar="ROLE")
    _mutating(p)

    p = cmd("note", "add a note, a decision or an action item to the timeline", "note")
    incident_arg(p)
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--kind", choices=NOTE_KINDS, default="note")
    p.add_argument("--owner", help="owner of an action item")
    _mutating(p)

    p = cmd("done", "mark an action item done", "done")
    incident_arg(p)
    p.add_argument("item", metavar="ITEM", help="the action item's id (a prefix is enough)")
    _mutating(p)

    p = cmd("check", "mark a response-checklist item done", "check")
    incident_arg(p)
    p.add_argument("item", metavar="ITEM", help=", ".join(CHECKLIST_KEYS))
    _mutating(p)

    p = cmd("phase", "set the lifecycle phase by hand", "phase")
    incident_arg(p)
    p.add_argument("phase", metavar="PHASE", help=", ".join(PHASES))
    _mutating(p)

    p = cmd("edit", "correct a timeline entry (the scribe's edit; the original is kept)", "edit")
    incident_arg(p)
    p.add_argument("seq", metavar="SEQ", type=sequence, help="the entry's #seq")
    p.add_argument("--text")
    p.add_argument("--time", metavar="TIME", help="when it really happened")
    p.add_argument("--reason")
    _mutating(p)

    p = cmd("retitle", "change an incident's title", "retitle")
    incident_arg(p)
    p.add_argument("title", metavar="TITLE")
    _mutating(p)

    p = cmd("tail", "print committed events in commit order", "tail")
    p.add_argument("--since", type=sequence, default=0, metavar="SEQ",
                   help="start after this sequence number")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    p.add_argument("--incident", metavar="ID", help="only this incident")


def _assessment_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("assessment matrix (any subset)")
    g.add_argument("--revenue-per-min", type=float, metavar="USD")
    g.add_argument("--users-pct", type=float, metavar="PCT", help="share of users affected")
    g.add_argument("--data-risk", choices=DATA_RISKS)
    g.add_argument("--security", choices=SECURITY_IMPACTS)
    g.add_argument("--reputation", choices=REPUTATIONS)
    g.add_argument("--recovery-hours", type=float, metavar="H",
                   help="expected time to recover, in hours")
