"""Every event kind this version knows, one class each, grouped by concept, and what needs
them all: reading a body, describing an event, its label and tone, its JSON.

Importing this package (or any module in it) defines every kind, so whoever imports these
functions knows every kind: there is no registry to fill in by importing something for its side
effect. To add a kind, see docs/ARCHITECTURE.md ("Adding an event kind").
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from warroom.domain.common.jsonable import UtcTime
from warroom.domain.incident.events import Event, Kind, NewEvent, Tone, registered_kinds
from warroom.domain.incident.kinds import alerts, lifecycle, paging, people, records

# The modules that define the kinds: the import above is what makes them known everywhere.
MODULES = (lifecycle, people, records, alerts, paging)


def kind_for(kind: str) -> type[Kind] | None:
    """The class of a kind, or None for a kind this version does not know."""
    return registered_kinds().get(kind)


def known_kinds() -> dict[str, type[Kind]]:
    """Every kind this version knows, by name."""
    return dict(registered_kinds())


def parse_body(kind: str, data: dict[str, Any]) -> Kind | None:
    """The typed body, or None for a kind this version does not know (written by a newer
    warroom: kept, shown generically, folded as a no-op)."""
    cls = registered_kinds().get(kind)
    return None if cls is None else cls.model_validate(data)


def describe(event: Event | NewEvent) -> str:
    """One line saying what happened, for timelines, conflict messages and `tail`.

    The result contains untrusted text verbatim: callers render it literally. A kind this
    version does not know, or a body it cannot read, is shown field by field.
    """
    cls = registered_kinds().get(event.kind)
    if cls is not None:
        try:
            return cls.model_validate(event.data).describe()
        except ValidationError:
            pass
    return f"{event.kind}: " + ", ".join(
        f"{key}={value}" for key, value in sorted(event.data.items()))


def kind_label(kind: str) -> str:
    cls = registered_kinds().get(kind)
    return kind if cls is None else cls.label


def kind_tone(kind: str) -> Tone:
    cls = registered_kinds().get(kind)
    return Tone.QUIET if cls is None else cls.tone


class EventJson(BaseModel):
    """An event as `--json` output and `tail --json` print it: the envelope, the line that
    describes it, and its body as stored. Built on first use: most commands print no JSON."""

    model_config = ConfigDict(defer_build=True)

    seq: int
    event_id: str
    incident_id: str
    version: int
    kind: str
    actor: str
    at: UtcTime
    recorded_at: UtcTime
    text: str
    data: dict[str, Any]


def event_json(event: Event) -> dict[str, Any]:
    envelope = {f.name: getattr(event, f.name) for f in fields(event)}
    return EventJson(**envelope, text=describe(event)).model_dump(mode="json")

