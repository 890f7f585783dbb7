"""The grammar of `warroom metrics` (its implementation: warroom.cli.metrics)."""

from __future__ import annotations

import argparse
from typing import Any

USAGE_NOTES = """\
period: --since and --until take ISO 8601 (2026-03-01, 2026-03-01T09:00Z), -30d, '12h ago'...
  (times without an offset are local). Default: the last 30 days (until now), compared with the
  30 days before. --since alone runs until now; --until alone covers the 30 days before it.
  The period includes --since and excludes --until.

output: a table for people; --json for the full report (durations in seconds); --csv for one
  row per metric and scope (period, previous, severity, service, month), durations in seconds.
"""


def _epilog() -> str:
    """Computed when help is printed (warroom.cli.args.Parser): the definitions are the
    domain's text, which no other command should import."""
    from warroom.domain.metrics.definitions import DEFINITIONS

    return DEFINITIONS + "\n" + USAGE_NOTES


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "metrics",
        help="MTTD, MTTA, MTTR, MTTF and incidents per month, against their targets",
        description="Incident metrics over a period, against the targets, with the trend "
                    "against the previous period of the same length, by severity, by service "
                    "and per calendar month.",
        epilog=_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    p.add_argument("--since", metavar="TIME", help="start of the period (included)")
    p.add_argument("--until", metavar="TIME", help="end of the period (excluded; default now)")
    p.add_argument("--service", metavar="S", help="only this service's incidents")
    p.add_argument("--severity", metavar="SEV-N",
                   help="only incidents of this (current) severity")
    p.add_argument("--csv", action="store_true", help="CSV output (one row per metric and scope)")
    p.add_argument("--oncall", action="store_true",
                   help="on-call load instead: per person and calendar month, hours on call "
                        "(primary, secondary), pages received, pages outside business hours "
                        "and at night (22:00-07:00 in their time zone), incidents handled")
    p.set_defaults(handler="warroom.cli.metrics:metrics")
