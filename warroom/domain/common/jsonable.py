"""JSON for the domain's result types, written by pydantic from their annotations.

The result types (a metrics report, a clock, an on-call answer...) stay plain dataclasses:
they are built many times a second for the dashboard and need no validation. pydantic's
TypeAdapter writes them out; the annotations say where the JSON differs from the attribute:

- `UtcTime`: ISO 8601 in UTC with a Z, the form the event log and the incident state use
  (pydantic alone would keep a non-UTC offset);
- `Seconds`: a duration as a number of seconds;
- `Field(serialization_alias=...)`, `Field(exclude=True)`, `Field(exclude_if=...)` and
  `computed_field` for renamed, internal, optional and derived keys. Derived keys come after
  the stored ones, whatever the order of the class.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import PlainSerializer, TypeAdapter


def utc_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcTime = Annotated[datetime, PlainSerializer(utc_iso, return_type=str, when_used="json")]
Seconds = Annotated[timedelta, PlainSerializer(lambda td: td.total_seconds(), return_type=float,
                                               when_used="json")]


@cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def to_json(obj: Any) -> Any:
    """The JSON form (dicts, lists, strings, numbers) of a dataclass or model instance."""
    return _adapter(type(obj)).dump_python(obj, mode="json", by_alias=True)
