"""Load a recorded incident history (such as sample_data/history.jsonl) into an empty room.

The file holds one event per line in the store's event shape: {"incident_id", "version",
"event_id", "kind", "actor", "at", "data"}. Each incident goes in with one declaration (its events
keep their ids, times and versions) and the store numbers incidents itself, so the ids can only
come out as in the file when the room is empty and the incidents come in order: anything else is
refused before a single event is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from warroom.domain.common.errors import InvalidInput
from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import FoldError, apply
from warroom.domain.incident.kinds.lifecycle import Declared
from warroom.domain.incident.state import IncidentState
from warroom.store.base import Store
from warroom.store.execute import execute

HISTORY_FILE = "history.jsonl"
_FIELDS = ("incident_id", "version", "event_id", "kind", "actor", "at", "data")


class ImportRefused(InvalidInput):
    """The history cannot go into this room as it is; nothing was written."""


def sample_history_path() -> Path:
    """The bundled sample history: in a source checkout, or in the installed package."""
    from warroom.resources import sample_data_dir

    try:
        candidate = sample_data_dir() / HISTORY_FILE
    except FileNotFoundError:
        candidate = None
    if candidate is None or not candidate.is_file():
        raise ImportRefused(f"no sample history found ({HISTORY_FILE} in warroom's sample data)")
    return candidate


def read_history(path: str | Path) -> list[dict[str, Any]]:
    """The events of a history file, one JSON object per non-empty line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ImportRefused(f"cannot read {p}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ImportRefused(f"{p} is not UTF-8 text") from None
    events = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ImportRefused(f"{p} line {n}: not JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise ImportRefused(f"{p} line {n}: expected a JSON object")
        events.append(obj)
    return events


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ImportRefused(f"{where}: 'at' must be an ISO 8601 time")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportRefused(f"{where}: cannot read time {value!r}") from None
    if dt.tzinfo is None:
        raise ImportRefused(f"{where}: time {value!r} has no UTC offset")
    return dt


def _incidents(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[NewEvent]]]:
    """Group and check the events: incidents INC-1, INC-2... in order, each contiguous, with
    versions 1..n, and a history the fold accepts (every body valid)."""
    groups: list[tuple[str, list[NewEvent]]] = []
    state: IncidentState | None = None
    for n, e in enumerate(events, start=1):
        where = f"event {n}"
        missing = [f for f in _FIELDS if f not in e]
        if missing:
            raise ImportRefused(f"{where}: missing {', '.join(missing)}")
        incident_id, version = e["incident_id"], e["version"]
        where = f"event {n} ({incident_id} v{version})"
        if not isinstance(version, int) or not isinstance(e["data"], dict):
            raise ImportRefused(f"{where}: version must be a number and data an object")
        if not groups or groups[-1][0] != incident_id:
            expected = f"INC-{len(groups) + 1}"
            if incident_id != expected:
                seen = any(g[0] == incident_id for g in groups)
                raise ImportRefused(
                    f"{where}: " + (f"{incident_id}'s events are not together" if seen else
                                    f"expected {expected} next: incidents must come in order "
                                    "INC-1, INC-2... for their ids to stay the same")
                )
            groups.append((incident_id, []))
            state = None
        batch = groups[-1][1]
        if version != len(batch) + 1:
            raise ImportRefused(f"{where}: expected version {len(batch) + 1}")
        if (version == 1) != (e["kind"] == Declared.kind):
            raise ImportRefused(f"{where}: an incident's history starts with a declaration, and "
                                "only the first event may be one")
        at = _time(e["at"], where)
        new = NewEvent(kind=str(e["kind"]), actor=str(e["actor"]), data=dict(e["data"]), at=at,
                       replayed=True,
                       event_id=str(e["event_id"]))
        try:
            state = apply(state, Event(
                seq=n, event_id=new.event_id, incident_id=incident_id, version=version,
                kind=new.kind, actor=new.actor, at=at, recorded_at=at, data=new.data,
            ))
        except (FoldError, ValueError, KeyError, TypeError) as err:
            # One line, whatever the validation error looked like.
            detail = " ".join(str(err).split())[:300]
            raise ImportRefused(f"{where}: invalid {new.kind} event: {detail}") from None
        batch.append(new)
    return groups


async def import_history(store: Store, events: Iterable[Mapping[str, Any]]) -> int:
    """Append each incident's events (one append per incident) into an EMPTY room, keeping
    their ids, times and versions; returns the number of incidents imported.

    Everything is checked before the first write. Raises ImportRefused (exit 2 in the CLI) when
    the room already has events, when the file's incidents are not INC-1, INC-2... in order, or
    when an event is malformed; a StoreError if the store fails.
    """
    groups = _incidents(events)
    if await store.last_seq() != 0:
        have = len(await store.summaries())
        raise ImportRefused(
            f"the room at {store.location} already has {have} incident(s): a history can only "
            "be imported into an empty room (its incident ids must stay as in the file)"
        )
    for incident_id, batch in groups:
        result = await execute(store, None, lambda _, b=batch: b)
        if result.incident_id != incident_id:
            raise ImportRefused(
                f"the store numbered {incident_id} as {result.incident_id}: someone declared an "
                f"incident during the import; {result.incident_id} and the incidents before it "
                "were imported, the rest were not"
            )
    return len(groups)
