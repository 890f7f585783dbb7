"""Event kinds are classes that register themselves: no table to fill in anywhere else."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.events import Event, Kind, NewEvent, Tone
from warroom.domain.incident.fold import fold
from warroom.domain.incident.kinds import (
    describe,
    event_json,
    kind_for,
    kind_label,
    kind_tone,
    known_kinds,
    parse_body,
)
from warroom.domain.incident.kinds.records import Amended, Note
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.timeline import timeline_rows
from warroom.store.base import name_events

from .conftest import Recorder


class Poked(Kind):
    """A kind only this test module knows: defining it is all it takes."""

    kind = "test_poked"
    label = "poke"
    tone = Tone.ALARM

    by_whom: str

    def describe(self) -> str:
        return f"poked by {self.by_whom}"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.title = f"{state.title} (poked by {self.by_whom})"


def test_a_kind_defined_anywhere_is_registered_and_folded(rec: Recorder) -> None:
    s = rec.commit([NewEvent.of(Poked(by_whom="bob"), "bob")])
    assert s.title.endswith("(poked by bob)") and s.last_kind == "test_poked"
    assert fold(rec.events).model_dump() == s.model_dump()
    e = rec.events[-1]
    assert kind_for("test_poked") is Poked
    assert describe(e) == "poked by bob"
    assert (kind_label(e.kind), kind_tone(e.kind)) == ("poke", Tone.ALARM)
    assert timeline_rows(rec.events)[-1].text == "poked by bob"


def test_every_kind_has_a_label_a_tone_and_a_description() -> None:
    kinds = known_kinds()
    assert len(kinds) >= 28
    for name, cls in kinds.items():
        assert cls.kind == name
        assert isinstance(cls.label, str) and 0 < len(cls.label) <= 8, name
        assert isinstance(cls.tone, Tone), name
        assert cls.describe is not Kind.describe, name
        assert cls.text_field is None or cls.text_field in cls.model_fields, name


def test_a_kind_without_its_parts_or_with_a_taken_name_is_refused() -> None:
    with pytest.raises(TypeError, match="no label, tone, describe"):
        class Half(Kind):
            kind = "test_half"

    with pytest.raises(TypeError, match="'note' is defined twice"):
        class MyNote(Kind):
            kind = "note"
            label = "note"
            tone = Tone.QUIET

            def describe(self) -> str:
                return ""

    assert kind_for("test_half") is None and kind_for("note") is Note


def test_an_unknown_kind_folds_as_a_no_op_and_reads_generically(rec: Recorder) -> None:
    before = rec.state
    assert before is not None
    dumped = before.model_dump()
    s = rec.commit([NewEvent(kind="from_the_future", actor="x", data={"b": [1], "a": "z"})])
    e = rec.events[-1]
    assert parse_body(e.kind, e.data) is None
    assert s.version == 2 and s.last_kind == "from_the_future"
    changed = {k for k, v in s.model_dump().items() if dumped[k] != v}
    assert changed == {"version", "last_kind", "last_actor"}
    assert describe(e) == "from_the_future: a=z, b=[1]"
    assert (kind_label(e.kind), kind_tone(e.kind)) == ("from_the_future", Tone.QUIET)


def test_a_body_this_version_cannot_read_is_described_field_by_field() -> None:
    odd = NewEvent(kind="note", actor="x", data={"txt": "typo'd field"})
    assert describe(odd) == "note: txt=typo'd field"


def test_timeline_rows_apply_amendments(rec: Recorder) -> None:
    s = rec.commit(commands.add_note(rec.state, "5xx on checkout", "bob"))  # type: ignore[arg-type]
    note = rec.events[-1]
    rows = timeline_rows(rec.events)
    assert [r.edited for r in rows] == [False, False]
    later = rec.tick(minutes=3)
    s = rec.commit(commands.amend(s, note.event_id, "scribe", text="5xx on /v2/charge only"))
    s = rec.commit(commands.amend(s, note.event_id, "scribe", new_at=later - timedelta(1)))
    # Incremental: the rows already shown, extended by the new events.
    rows = timeline_rows(rec.events[2:], rows)
    assert rows == timeline_rows(rec.events)
    assert len(rows) == 4 and rows[1].event is note
    assert rows[1].edited and rows[1].text == "5xx on /v2/charge only"
    assert rows[1].amended_at == later - timedelta(1)
    assert rows[2].text.startswith("edited an entry: text -> ")
    assert (rows[1].label, rows[1].tone) == ("note", Tone.QUIET)
    # The fold records the same amendments.
    assert s.amendments[note.event_id] == rec.events[-1].event_id


def test_amendment_of_an_entry_not_on_the_timeline_changes_no_row(rec: Recorder) -> None:
    rec.commit([NewEvent.of(Amended(target="elsewhere", text="x"), "scribe")])
    rows = timeline_rows(rec.events)
    assert [r.edited for r in rows] == [False, False]


def test_event_json_keeps_its_shape(rec: Recorder) -> None:
    e = rec.events[0]
    out = event_json(e)
    assert list(out) == ["seq", "event_id", "incident_id", "version", "kind", "actor", "at",
                         "recorded_at", "text", "data"]
    assert out["at"].endswith("Z") and out["text"] == describe(e) and out["data"] == e.data
    json.dumps(out)


def test_the_store_names_unnamed_events_once() -> None:
    a, b = NewEvent(kind="note", actor="x", data={"text": "a"}), NewEvent.of(
        Note(text="b"), "x", event_id="given")
    assert a.event_id is None
    name_events([a, b])
    first = a.event_id
    assert first is not None and b.event_id == "given"
    name_events([a, b])  # a retried batch keeps its names
    assert a.event_id == first and a.name("other") == first


def test_every_tone_has_a_style_on_the_timeline() -> None:
    from warroom.tui.widgets.timeline import TONE_STYLES

    assert set(TONE_STYLES) == set(Tone)


def test_timeline_rows_by_the_time_things_happened(rec: Recorder) -> None:
    """A note backdated to 22:45 and recorded at 23:06 comes before one of 22:55, marked
    as recorded later; without by_time the rows stay in commit order (the dashboard's)."""
    from datetime import UTC, datetime

    def at(h: int, m: int) -> datetime:
        return datetime(2026, 3, 4, h, m, tzinfo=UTC)

    assert rec.state is not None and rec.now < at(22, 40)  # declared earlier that day
    rec.now = at(22, 55)
    s = rec.commit(commands.add_note(rec.state, "rolled back", "bob"))
    rec.now = at(23, 6)
    s = rec.commit(commands.add_note(s, "first 500s seen", "carol", at=at(22, 45)))
    rows = timeline_rows(rec.events, by_time=True)[-2:]
    assert [r.text for r in rows] == ["first 500s seen", "rolled back"]
    assert [r.recorded_later for r in rows] == [True, False]
    assert rows[0].happened_at == at(22, 45) and rows[0].recorded_note == "recorded 23:06"
    assert rows[1].recorded_note is None
    assert [r.text for r in timeline_rows(rec.events)][-1] == "first 500s seen"
