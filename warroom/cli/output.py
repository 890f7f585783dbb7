"""Printing for the CLI: JSON for scripts, plain lines for people, never raw untrusted text."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel

from warroom.domain.common.jsonable import to_json
from warroom.domain.common.text import printable
from warroom.domain.common.timefmt import format_duration
from warroom.domain.incident.events import Event, iso
from warroom.domain.incident.kinds import describe, event_json, kind_label
from warroom.domain.incident.roles import Role
from warroom.domain.incident.state import IncidentState

if TYPE_CHECKING:
    from warroom.domain.incident.timeline import TimelineRow


def emit_json(obj: Any, out: TextIO | None = None) -> None:
    """`obj` may hold the domain's result types (dataclasses, pydantic models) anywhere: they
    are written by pydantic from their annotations (warroom.domain.common.jsonable)."""
    out = out or sys.stdout
    out.write(json.dumps(obj, ensure_ascii=False, default=_default) + "\n")
    out.flush()


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return iso(o)
    if isinstance(o, BaseModel) or (dataclasses.is_dataclass(o) and not isinstance(o, type)):
        return to_json(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


def line(text: str = "", out: TextIO | None = None) -> None:
    """Print one line for a person. Untrusted parts must already have gone through `safe`."""
    out = out or sys.stdout
    out.write(text + "\n")


def safe(text: object) -> str:
    return printable(str(text))


def when(dt: datetime | None) -> str:
    if dt is None:
        return "-"
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "-"
    delta = now - dt
    if delta.total_seconds() < 0:
        return "in " + format_duration(-delta)
    return format_duration(delta) + " ago"


def roles_json(state: IncidentState) -> dict[str, str | None]:
    return {role.value: state.holder(role) for role in Role}


def incident_json(state: IncidentState, events: list[Event] | None = None) -> dict[str, Any]:
    data = state.model_dump(mode="json")
    data["roles"] = roles_json(state)
    data["role_holders"] = {
        role.value: holder.model_dump(mode="json") for role, holder in state.roles.items()
    }
    if events is not None:
        data["timeline"] = [event_json(e) for e in events]
    return data


def row_line(row: TimelineRow) -> str:
    """A timeline row as `show` prints it: its time is when it happened (corrected if so), its
    text the row's (the scribe's correction applied)."""
    e = row.event
    return (
        f"#{e.seq:<6} {when(row.happened_at)}  {e.incident_id:<8} {kind_label(e.kind):<9} "
        f"{safe(e.actor):<12} {safe(row.text)}"
    )


def event_line(e: Event) -> str:
    return (
        f"#{e.seq:<6} {when(e.at)}  {e.incident_id:<8} {kind_label(e.kind):<9} "
        f"{safe(e.actor):<12} {safe(describe(e))}"
    )
