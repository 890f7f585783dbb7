"""The demo room: the sample history plus an ongoing SEV-1, built from sample_data/.

`warroom demo` builds it once and reuses it while its incident is fresh, so two terminals
running `warroom demo` share one room and each sees the other's key presses.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.domain.common.timefmt import parse_duration
from warroom.domain.incident import commands
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status
from warroom.settings import Settings
from warroom.store import Store
from warroom.store.execute import BACKGROUND, execute

# The demo's ongoing incident stays believable for this long; after that it is rebuilt.
FRESH_FOR = timedelta(hours=2)


def default_demo_path(settings: Settings) -> Path:
    """In a folder of its own: the demo keeps its warroom.toml and runbooks beside its database,
    and beside the default room they would replace that room's configuration."""
    return settings.default_db_path().parent / "demo" / "demo.db"


def _offset(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    return sign * parse_duration(text.lstrip("+-"))


def _step_events(step: dict[str, Any], state: IncidentState | None,
                 at: datetime, now: datetime) -> list[NewEvent]:
    who, do = step["as"], step["do"]
    if do == "declare":
        started = now + _offset(step["started"]) if step.get("started") else None
        return commands.declare(step["title"], Severity.parse(step["severity"]), who, at=at,
                                service=step.get("service"), summary=step.get("summary"),
                                started_at=started, detected_at=at,
                                source=step.get("source", "manual"))
    assert state is not None, "a demo incident must start with a declaration"
    if do == "ack":
        return commands.acknowledge(state, who, at)
    if do == "assign":
        return commands.assign_role(state, Role.parse(step["role"]), step["person"], who, at)
    if do in ("note", "decision", "action"):
        return commands.add_note(state, step["text"], who, at, kind=do, owner=step.get("owner"))
    if do == "severity":
        return commands.change_severity(state, Severity.parse(step["severity"]), who, at,
                                        reason=step.get("reason"))
    if do == "status":
        return commands.change_status(state, Status.parse(step["to"]), who, at,
                                      reason=step.get("reason"))
    if do == "comms":
        return commands.record_communication(state, step["template"], step["audience"], who, at,
                                             text=step.get("text", ""),
                                             channel=step.get("channel"))
    if do == "alert":
        return commands.attach_alert(state, step["source"], step["key"], who, at,
                                     summary=step["summary"])
    if do == "escalate":
        return commands.record_escalation(state, step["level"], step["targets"], who, at,
                                          reason=step.get("reason", "timeout"))
    raise ValueError(f"unknown demo step {do!r}")


async def add_scenario(store: Store, scenario: dict[str, Any], now: datetime) -> list[str]:
    """Play the scenario's incidents into the store, times relative to `now`: each step is
    the domain command a person (or the engine) would have run, decided on the state then."""
    ids: list[str] = []
    for incident in scenario["incidents"]:
        incident_id: str | None = None
        for step in incident["steps"]:
            at = now + _offset(step["t"])

            def decide(state: IncidentState | None, step: dict[str, Any] = step,
                       at: datetime = at) -> list[NewEvent]:
                # Recorded as it happened: the demo is a history, not a room of late scribes.
                return [dataclasses.replace(e, replayed=True)
                        for e in _step_events(step, state, at, now)]

            result = await execute(store, incident_id, decide, retry=BACKGROUND)
            incident_id = result.incident_id
        assert incident_id is not None
        ids.append(incident_id)
    return ids


def load_scenario(sample_dir: Path) -> dict[str, Any]:
    return json.loads((sample_dir / "demo_scenario.json").read_text(encoding="utf-8"))


async def _is_fresh(path: Path, now: datetime) -> bool:
    from warroom.store import StoreError, open_store

    try:
        store = await open_store(path, readonly=True)
    except StoreError:
        return False
    try:
        rows = await store.summaries(open_only=True)
    finally:
        await store.close()
    return any(r.severity == "SEV-1" and now - r.detected_at < FRESH_FOR for r in rows)


async def build_demo(path: Path, sample_dir: Path, now: datetime) -> list[str]:
    """A fresh demo room at `path` (replacing any old one): the year of sample history, then
    the ongoing incidents, with the demo world's configuration beside it (so every terminal
    and `warroom engine` opened on this room use the same rotation and policies)."""
    import shutil

    from warroom.store import open_store
    from warroom.store.importer import import_history, read_history

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(sample_dir / "warroom.toml", path.with_name("warroom.toml"))
    # The demo config names its runbooks relative to itself: bring them along.
    shutil.copytree(sample_dir / "runbooks", path.with_name("runbooks"), dirs_exist_ok=True)
    store = await open_store(path)
    try:
        await import_history(store, read_history(sample_dir / "history.jsonl"))
        return await add_scenario(store, load_scenario(sample_dir), now)
    finally:
        await store.close()


async def ensure_demo(path: Path, sample_dir: Path, now: datetime, reset: bool = False) -> bool:
    """Build the demo room unless a fresh one is there; True if it was (re)built.

    A lock file keeps two terminals started together from rebuilding it under each other.
    """
    import asyncio
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        if not reset and path.exists() and await _is_fresh(path, now):
            return False
        await build_demo(path, sample_dir, now)
        return True


def build_drill_demo(path: Path, sample_dir: Path) -> Path:
    """A fresh, empty room for `warroom demo --drill` with the demo world's configuration
    beside it as DRILL.warroom.toml (never warroom.toml: the folder may be the one of the
    team's own room, whose configuration that name would replace); the drill's alerts route
    and escalate as in the demo, and the drill run marks the room a drill. Returns the
    configuration's path."""
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    config = path.with_name(f"{path.stem}.warroom.toml")
    shutil.copyfile(sample_dir / "warroom.toml", config)
    return config
