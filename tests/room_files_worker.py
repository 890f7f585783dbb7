"""Writers for tests/test_room_files.py (run as `python tests/room_files_worker.py ROLE DB INC`).

Each prints the id of every acknowledged write on stdout, one a line, flushed: what a test may
hold the room to after a kill -9.
"""

from __future__ import annotations

import asyncio
import sys

from warroom.domain.incident import commands
from warroom.store import StoreError, open_store


async def writer(db: str, incident: str) -> int:
    """Write notes until the store refuses; exit with its code."""
    store = await open_store(db)
    try:
        state = await store.get(incident)
        i = 0
        while True:
            events = commands.add_note(state, f"note {i}", "writer")
            try:
                await store.append(incident, events)
            except StoreError as e:
                print(str(e), file=sys.stderr)
                return int(e.exit_code)
            print(events[0].event_id, flush=True)
            i += 1
    finally:
        await store.close()


async def holder(db: str, incident: str, count: str) -> int:
    """Write `count` notes, then follow the room (its poll running) until told it is gone,
    then stay alive, like a dashboard, until killed."""
    store = await open_store(db)
    try:
        state = await store.get(incident)
        for i in range(int(count)):
            events = commands.add_note(state, f"held {i}", "holder")
            await store.append(incident, events)
            print(events[0].event_id, flush=True)
        print("following", flush=True)
        try:
            async for _ in store.subscribe():
                pass
        except StoreError as e:
            print(f"told: {e}", flush=True)
        await asyncio.sleep(3600)
        return 0
    finally:
        await store.close()


def main() -> int:
    role, *args = sys.argv[1:]
    fn = {"writer": writer, "holder": holder}[role]
    return asyncio.run(fn(*args))  # type: ignore[operator]


if __name__ == "__main__":
    raise SystemExit(main())
