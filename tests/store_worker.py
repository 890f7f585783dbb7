"""Worker processes for the multi-process store tests (run as `python tests/store_worker.py`)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from warroom.domain.incident import commands
from warroom.domain.incident.status import Status
from warroom.store import Conflict, open_store


async def writer(db: str, incident: str, count: int, tag: str) -> int:
    store = await open_store(db)
    try:
        state = await store.get(incident)
        for i in range(count):
            await store.append(incident, commands.add_note(state, f"{tag}-{i}", tag))
    finally:
        await store.close()
    return 0


async def reader(db: str, total: int, out: str) -> int:
    store = await open_store(db, readonly=True, poll_interval=0.01)
    seen: list[str] = []
    try:
        feed = store.subscribe(0)
        Path(out + ".ready").touch()
        async for batch in feed:
            seen.extend(f"{e.seq} {e.event_id}" for e in batch)
            if len(seen) >= total:
                break
    finally:
        await store.close()
    Path(out).write_text("\n".join(seen) + "\n")
    return 0


async def racer(db: str, incident: str, go: str, name: str) -> int:
    store = await open_store(db)
    try:
        state = await store.get(incident)
        Path(go + "." + name).touch()
        while not Path(go).exists():
            time.sleep(0.0005)  # noqa: ASYNC251 - a tight spin so racers start together
        try:
            await store.append(incident, commands.change_status(state, Status.IDENTIFIED, name),
                               expected_version=state.version)
        except Conflict as e:
            print("conflict:", e.describe())
            return 3
        print("won")
        return 0
    finally:
        await store.close()


async def kill_me(db: str, incident: str) -> int:
    store = await open_store(db)
    state = await store.get(incident)
    i = 0
    while True:
        events = commands.add_note(state, f"note {i}", "victim")
        await store.append(incident, events)
        sys.stdout.write(events[0].event_id + "\n")
        sys.stdout.flush()
        i += 1


async def opener(db: str, go: str, name: str) -> int:
    """Open a (possibly brand-new) room at the same moment as others, then declare once."""
    from warroom.domain.incident.severity import Severity

    Path(go + "." + name).touch()
    while not Path(go).exists():
        time.sleep(0.0005)  # noqa: ASYNC251 - a tight spin so openers start together
    store = await open_store(db)
    try:
        result = await store.append(None, commands.declare(name, Severity.SEV3, name))
        print(result.incident_id)
        return 0
    finally:
        await store.close()


async def noter(db: str, incident: str, count: str, tag: str, go: str) -> int:
    """Write `count` unversioned notes through `execute`, as a script or the engine would: a
    concurrent change is met by deciding again, so every one of them must land."""
    from warroom.store.execute import BACKGROUND, execute

    store = await open_store(db)
    try:
        Path(go + "." + tag).touch()
        while not Path(go).exists():
            time.sleep(0.0005)  # noqa: ASYNC251 - a tight spin so writers start together
        for i in range(int(count)):
            try:
                await execute(store, incident,
                              lambda s, i=i: commands.add_note(s, f"{tag}-{i}", tag),
                              retry=BACKGROUND)
            except Conflict as e:
                print("conflict:", e.describe())
                return 3
        return 0
    finally:
        await store.close()


def main() -> int:
    role, *args = sys.argv[1:]
    fn = {"writer": writer, "reader": reader, "racer": racer, "kill_me": kill_me,
          "opener": opener, "noter": noter}[role]
    if role == "writer":
        return asyncio.run(writer(args[0], args[1], int(args[2]), args[3]))
    if role == "reader":
        return asyncio.run(reader(args[0], int(args[1]), args[2]))
    return asyncio.run(fn(*args))  # type: ignore[operator]


if __name__ == "__main__":
    raise SystemExit(main())
