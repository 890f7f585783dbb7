"""Starting the dashboard from the CLI: open the store first (so a bad database is one clear
line on the terminal, not a broken screen), then run the app on the same event loop."""

from __future__ import annotations

import asyncio

from warroom.cli.context import Context
from warroom.store import Store


async def _run(store: Store, ctx: Context, follow: str | None) -> int:
    from warroom.tui.app import WarroomApp

    app = WarroomApp(store, actor=ctx.actor, local_tz=ctx.local_tz, follow=follow,
                     loaded_config=ctx.loaded_config)
    try:
        result = await app.run_async()
    finally:
        await store.close()
    return int(result or 0)


def run_dashboard(ctx: Context, *, follow: str | None = None, spectator: bool | None = None,
                  db: str | None = None) -> int:
    readonly = ctx.spectator if spectator is None else spectator

    if db:
        ctx.db = db
    from warroom.tui.actions import ActionKeys

    # A broken config file, or a [keys] table that takes a key twice, stops here, before the
    # store or the screen opens.
    ActionKeys.load(ctx.loaded_config)

    async def main() -> int:
        from warroom.store import open_store

        store = await open_store(db or ctx.db, readonly=readonly, create=not readonly,
                                 lock_timeout=ctx.lock_timeout)
        return await _run(store, ctx, follow)

    return asyncio.run(main())
