"""The grammar of `warroom drill` and `warroom replay` (their implementation:
warroom.cli.drill)."""

from __future__ import annotations

import argparse
from typing import Any

from warroom.cli.args import command_adder

SCENARIO_FORMAT = """\
scenario files (TOML; shipped ones in sample_data/drills/):
  [meta]     name, description, severity, service, duration ("60m"); optional start ("23:10")
             and timezone ("Europe/Berlin") to pin the drill clock to a time of day
  [[steps]]  at = "+3m30s" (offset from the start), then ONE of:
             alert = {...}    an Alertmanager or PagerDuty payload (format = "auto" |
                              "alertmanager" | "pagerduty"), fed through the real receiver
             fact = "..."     a timeline note from "scenario"
             severity = "SEV-1" (reason = "...")  a severity change
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common, "warroom.cli.drill")
    p = cmd("drill", "practise on the real tool: scenarios fed into a drill room",
            "_usage", epilog=SCENARIO_FORMAT, formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = p.add_subparsers(dest="drill_command", metavar="ACTION",
                            parser_class=type(p))
    dcmd = command_adder(dsub, common, "warroom.cli.drill")
    dcmd("list", "the scenarios shipped in sample_data/drills/", "drill_list")
    r = dcmd("run", "feed a scenario into a drill room on the drill clock", "drill_run",
             epilog="The team responds with the ordinary dashboard and CLI on the drill room "
                    "(warroom --db DRILL.db). Pages are recorded, never delivered. "
                    + SCENARIO_FORMAT, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("scenario", metavar="SCENARIO", help="a shipped scenario's name, or a file")
    _timing(r)
    s = dcmd("score", "the drill's scorecard: targets met or missed, cadence, roles, "
                      "escalations (a replay: the original's times beside)", "drill_score")
    s.add_argument("--format", choices=("markdown", "json"), default="markdown",
                   help="markdown (default) or json (--json says the same)")

    p = cmd("replay", "re-live a past incident in a drill room: its alerts and severity "
                      "changes at their original offsets", "replay")
    p.add_argument("incident", metavar="ID", help="the past incident: INC-42 or 42")
    p.add_argument("--from", dest="from_", metavar="ROOM", required=True,
                   help="the room (database) that holds it; opened read-only")
    p.add_argument("--blind", action="store_true",
                   help="hide what the original responders did (the scorecard reveals it)")
    _timing(p)


def _timing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--speed", type=float, default=1.0, metavar="N",
                   help="the drill clock runs N times real time (default 1: play it live)")
    p.add_argument("--instant", action="store_true",
                   help="no waiting at all: play the whole scenario at once (a debrief room, "
                        "a script)")


