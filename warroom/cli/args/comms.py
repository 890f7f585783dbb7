"""The grammar of `comms`, `runbook` and `export` (their implementation: warroom.cli.comms)."""

from __future__ import annotations

import argparse
from typing import Any

from warroom.cli.args import command_adder, incident_arg
from warroom.cli.argtypes import sequence


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common, "warroom.cli.comms")

    p = cmd("comms", "preview a communication for an incident, or mark one sent; with no "
                     "--template, show what is due and who must be told", "comms")
    incident_arg(p)
    p.add_argument("--template", metavar="NAME",
                   help="initial, update, resolution, rca, or one of the team's own")
    p.add_argument("--templates", metavar="DIR",
                   help="the team's template directory (its <name>.txt files override the "
                        "defaults)")
    p.add_argument("--send", action="store_true",
                   help="record that the message was sent (needs --template and --audience)")
    p.add_argument("--audience", metavar="WHO",
                   help="customers, support, engineering, leadership, sales or internal")
    p.add_argument("--channel", metavar="WHERE", help="where it went: status page, #incidents...")
    p.add_argument("--text-file", metavar="FILE",
                   help="with --send: the text actually sent, if edited ('-' reads stdin)")
    p.add_argument("--at", metavar="TIME", help="with --send: when it was sent, if not now")
    p.add_argument("--expect-version", type=sequence, metavar="N",
                   help="with --send: refuse (exit 3) if the incident changed since version N")

    p = cmd("runbook", "print the runbook of a service, or of an incident's service", "runbook")
    p.add_argument("target", metavar="SERVICE|ID", help="a service name, or an incident id")
    p.add_argument("--runbooks", metavar="DIR",
                   help="the runbook directory (default: the configuration's services.*.runbook "
                        "and content.runbooks, else the shipped sample runbooks)")

    p = cmd("export", "export an incident: the postmortem in Markdown, or the full record and "
                      "the postmortem as JSON", "export")
    incident_arg(p)
    p.add_argument("--format", choices=("json", "markdown"), default="json",
                   help="json (default: the record, its events and the postmortem's facts) or "
                        "markdown (the postmortem document)")
