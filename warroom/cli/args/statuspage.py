"""The grammar of `warroom statuspage` (its implementation: warroom.cli.statuspage)."""

from __future__ import annotations

import argparse
from typing import Any

from warroom.cli.args import command_adder


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common, "warroom.cli.statuspage")
    p = cmd("statuspage", "the public status page: `build --out DIR` writes it as a static "
                          "site (what `warroom serve` shows at /status/)", "statuspage")
    p.add_argument("action", choices=("build",), help="build: write the static site")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="the folder to write (created if missing; files are replaced whole)")
