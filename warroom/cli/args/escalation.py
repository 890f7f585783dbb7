"""The grammar of the escalation commands: engine, escalate, oncall, config, escalation,
clocks (their implementation: warroom.cli.escalation)."""

from __future__ import annotations

import argparse
from typing import Any

from warroom.cli.args import command_adder, incident_arg
from warroom.cli.argtypes import sequence


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common, "warroom.cli.escalation")

    p = cmd("engine", "run the escalation engine: fire due levels and deliver pages", "engine",
            epilog="Without --once it runs until Ctrl-C or SIGTERM, waking on every change in "
                   "the room and when a level falls due. Any number of engines (and dashboards) "
                   "may run on one room: each level is recorded, and paged, exactly once.")
    p.add_argument("--once", action="store_true",
                   help="evaluate every open incident once, deliver, and exit")
    p.add_argument("--now", metavar="TIME",
                   help="with --once: evaluate as of TIME, and record the events at TIME "
                        "(drills, scripts, tests)")
    p.add_argument("--no-deliver", action="store_true",
                   help="record escalations but send no page (a drill)")

    p = cmd("escalate", "escalate an incident now, one level up (pages the next level)",
            "escalate")
    incident_arg(p)
    p.add_argument("--at", metavar="TIME", help="when, if not now")
    p.add_argument("--expect-version", type=sequence, metavar="N",
                   help="refuse (exit 3) if the incident changed since version N")
    p.add_argument("--no-deliver", action="store_true", help="record it but send no page")

    p = cmd("oncall", "who is primary and secondary on each rotation; `oncall simulate`: who "
            "each escalation level would page, and when, at each handoff and daylight-saving "
            "change of a window", "oncall")
    p.add_argument("action", nargs="?", choices=("simulate",),
                   help="simulate: an incident declared at each handoff (and a minute before), "
                        "override edge and daylight-saving change in --from/--to, and at each "
                        "--at hour; nobody acknowledges, overrides apply")
    p.add_argument("--at", metavar="TIME", action="append",
                   help="at this time instead of now; with simulate: an hour of the day "
                        "(HH:MM, in the zone of the ladder's rotation, where the people paged "
                        "live) to simulate on every day too (repeatable)")
    p.add_argument("--rotation", metavar="NAME", help="only this rotation")
    p.add_argument("--from", dest="since", metavar="DATE", help="simulate: the window's start")
    p.add_argument("--to", dest="until", metavar="DATE",
                   help="simulate: the window's end (a bare date: the end of that day)")
    p.add_argument("--service", metavar="NAME", help="simulate: the incident's service (its "
                   "policy and rotation)")
    p.add_argument("--severity", metavar="SEV-N", default="SEV-1",
                   help="simulate: the incident's severity (default SEV-1: the whole ladder)")

    p = cmd("config", "check or show the room's configuration", "config_cmd")
    p.add_argument("action", nargs="?", choices=("check", "show"), default="check",
                   help="check (default): validate and summarise; show: the full effective "
                        "configuration as JSON, secrets redacted")
    p.add_argument("--show-secrets", action="store_true",
                   help="with show: print tokens, header values and webhook credentials as "
                        "they are (only for someone who can write the file)")

    p = cmd("escalation", "an incident's escalation ladder: fired, next, frozen or ended",
            "escalation_status")
    incident_arg(p)
    p.add_argument("--now", metavar="TIME", help="as of TIME instead of now")

    p = cmd("clocks", "an incident's response clocks: checklist targets and update cadence",
            "clocks")
    incident_arg(p)
    p.add_argument("--now", metavar="TIME", help="as of TIME instead of now")
