"""Events: the only thing the store keeps, and what an event kind is.

An event is an envelope (who, when it happened, when it was recorded, which incident, its place
in the incident's history and in the global commit order) around a body whose shape depends on
its kind. A kind is ONE class, a subclass of `Kind`: its body's fields, its name in the log, its
label and tone on the timeline, its one-line description and what it does to the incident's
state. Defining the class registers it. The kinds themselves live in
warroom/domain/incident/kinds/, grouped by concept; importing any part of that package defines
them all, and everything that needs every kind (the fold, `describe`) imports it.

Kinds unknown to this version (written by a newer warroom) are kept and shown generically, never
refused, so that an older terminal in the room keeps working.
"""

# No `from __future__ import annotations` here: pydantic reads Kind's ClassVar annotations
# again for every kind class, and real objects cost nothing to read where strings must be
# evaluated (28 kinds x 4 annotations was ~3 ms of every CLI command's start-up).

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from warroom.domain.common.jsonable import utc_iso
from warroom.domain.incident.state import IncidentState

# Idempotency keys become event ids through uuid5 in this namespace, so that every process
# derives the same id for the same side effect (an escalation level, a page).
EVENT_NAMESPACE = uuid.UUID("6f1b3c1e-2d7a-4c55-9a8e-0b7c1d2e3f40")


def idempotent_id(key: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, key))


class Tone(StrEnum):
    """How an entry reads on the timeline, in the domain's words; the dashboard maps each tone
    to a style in one place."""

    ALARM = "alarm"  # the incident begins, or people are paged
    GOOD = "good"  # someone responded
    CLEAR = "clear"  # an alarm stopped
    STATUS = "status"
    SEVERITY = "severity"
    PHASE = "phase"
    PEOPLE = "people"
    DECISION = "decision"
    ACTION = "action"
    COMMS = "comms"
    ALERT = "alert"
    QUIET = "quiet"  # the rest: notes, the checklist, the machinery's own records


class Kind(BaseModel):
    """An event kind: subclass it with a `kind` string, a `label`, a `tone`, the body's fields,
    `describe` and (when the kind changes more than the version) `apply`.

    Bodies are validated when a command makes them and again when the fold reads them; unknown
    fields are ignored so that bodies written by a newer warroom stay readable.
    """

    # Built on first use (defer_build): a command imports every kind to fold and describe
    # events, and uses one or two of them; building all ~40 at import cost most of the
    # domain's start-up (issue 15).
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    kind: ClassVar[str]  # its name in the log: never change it, old databases hold it
    label: ClassVar[str]  # at most 8 characters, the timeline's and `tail`'s second column
    tone: ClassVar[Tone]
    # The field a scribe's text correction replaces (an `amended` event), if any.
    text_field: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Register a class that names a kind, once pydantic has built it (a base class shared
        by several kinds names none)."""
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            return
        missing = []
        if not isinstance(getattr(cls, "label", None), str):
            missing.append("label")
        if not isinstance(getattr(cls, "tone", None), Tone):
            missing.append("tone")
        if cls.describe is Kind.describe:
            missing.append("describe")
        if cls.text_field is not None and cls.text_field not in cls.model_fields:
            missing.append(f"a field {cls.text_field!r} (its text_field)")
        if missing:
            raise TypeError(f"event kind {cls.kind!r} ({cls.__name__}) has no {', '.join(missing)}")
        other = _KINDS.get(cls.kind)
        if other is not None and _where(other) != _where(cls):
            raise TypeError(f"event kind {cls.kind!r} is defined twice: {_where(other)} and "
                            f"{_where(cls)}")
        _KINDS[cls.kind] = cls

    def describe(self) -> str:
        """One line saying what happened, for timelines, conflict messages and `tail`.

        Untrusted text goes in verbatim: callers render it literally, never as markup.
        """
        raise NotImplementedError

    def apply(self, state: IncidentState, event: "Event") -> None:
        """Fold this event into `state`, in place. Events are facts that already happened:
        apply never refuses one (checking is the commands' job). Most kinds only add to the
        record, which the envelope already did."""


_KINDS: dict[str, type[Kind]] = {}


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def registered_kinds() -> dict[str, type[Kind]]:
    """Every kind defined so far, by name. Read it through warroom.domain.incident.kinds, which
    defines them all first."""
    return _KINDS


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a command produced and the store has not yet accepted.

    `at` None means "now, by the store's clock" (the database server's, for PostgreSQL).
    `event_id` None means "any fresh id": the domain draws no random ids, so the store names
    the event when it is first appended (see `name`).
    """

    kind: str
    actor: str
    data: dict[str, Any]
    at: datetime | None = None
    event_id: str | None = None
    # A history played back (an import, the demo's script): recorded when it happened, so its
    # rows are not all marked "recorded later". A person's or a machine's live write never is.
    replayed: bool = False

    @classmethod
    def of(cls, body: Kind, actor: str, at: datetime | None = None,
           event_id: str | None = None) -> "NewEvent":
        return cls(kind=body.kind, actor=actor,
                   data=body.model_dump(mode="json", exclude_none=True), at=at,
                   event_id=event_id)

    def name(self, event_id: str) -> str:
        """Give an unnamed event its id, once, and return the id it has.

        The one change a NewEvent allows: the name stays on this object, so appending the same
        batch again (a retry after a lost answer) presents the same ids, and the store answers
        with the committed events instead of writing them twice.
        """
        if self.event_id is None:
            object.__setattr__(self, "event_id", event_id)
        return self.event_id  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Event:
    """An event the store committed: `seq` is its place in the global commit order."""

    seq: int
    event_id: str
    incident_id: str
    version: int
    kind: str
    actor: str
    at: datetime
    recorded_at: datetime
    data: dict[str, Any]


# UTC ISO 8601 with a Z, the same form pydantic writes for the state (one function for both).
iso = utc_iso

