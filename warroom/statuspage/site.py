"""Reading the room for the status page, and writing the static site.

The page needs every incident open now or resolved in the last 90 days, with its events (the
messages' texts live in the events, corrections included). Older incidents are never read.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from warroom.domain.config.model import Config
from warroom.domain.statuspage.page import HISTORY_DAYS, StatusPage, build_page
from warroom.store.base import Store


async def read_page(store: Store, config: Config, now: datetime) -> StatusPage:
    since = now - timedelta(days=HISTORY_DAYS)
    rooms = []
    for s in await store.summaries():
        if not s.is_open and (s.resolved_at is None or s.resolved_at < since):
            continue
        state = await store.get(s.id)
        if not state.communications:
            continue  # nothing was ever sent about it: not on the page
        rooms.append((state, await store.events(s.id)))
    return build_page(rooms, config, now)


def write_site(files: dict[str, bytes], out: Path) -> list[Path]:
    """Each file written whole (a temporary file renamed over it), so a static host serving
    the folder never sends half a page."""
    written: list[Path] = []
    for rel, data in sorted(files.items()):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
