"""`warroom statuspage build --out DIR`: the public status page as a static site.

The same files `warroom serve` serves live at /status/ (docs/statuspage.md): index.html, one
page per incident, summary.json and incidents.json (Atlassian Statuspage's /api/v2 shape) and
history.atom. Only what was sent to customers is in them.
"""

from __future__ import annotations

from pathlib import Path

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line, safe


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
