"""`warroom statuspage build --out DIR`: the public status page as a static site.

The same files `warroom serve` serves live at /status/ (docs/statuspage.md): index.html, one
page per incident, summary.json and incidents.json (Atlassian Statuspage's /api/v2 shape) and
history.atom. Only what was sent to customers is in them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from warroom.cli.context import Context, command_adder
from warroom.cli.output import emit_json, line, safe


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common)
    p = cmd("statuspage", "the public status page: `build --out DIR` writes it as a static "
                          "site (what `warroom serve` shows at /status/)", statuspage)
    p.add_argument("action", choices=("build",), help="build: write the static site")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="the folder to write (created if missing; files are replaced whole)")


async def statuspage(ctx: Context) -> int:
    from warroom.statuspage.render import site
    from warroom.statuspage.site import read_page, write_site

    config = ctx.config
    async with await ctx.store(write=False) as store:
        page = await read_page(store, config, ctx.now())
    out = Path(ctx.args.out)
    written = write_site(site(page), out)
    if ctx.json:
        emit_json({"out": str(out), "files": [str(p.relative_to(out)) for p in written],
                   "indicator": page.indicator, "active": len(page.active),
                   "history": len(page.history)})
        return 0
    line(f"{safe(str(out))}: {len(written)} files; {page.description}; "
         f"{len(page.active)} active, {len(page.history)} in the last 90 days")
    return 0
