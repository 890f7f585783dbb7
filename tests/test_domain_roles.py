"""Roles: assign, hand off, release; one holder per role; one person may hold several."""

from __future__ import annotations

import pytest

from warroom.domain.common.errors import InvalidInput, TransitionRefused
from warroom.domain.incident import commands
from warroom.domain.incident.roles import Role


@pytest.mark.parametrize("text,role", [
    ("ic", Role.INCIDENT_COMMANDER), ("Incident Commander", Role.INCIDENT_COMMANDER),
    ("tech", Role.TECH_LEAD), ("tech-lead", Role.TECH_LEAD), ("comms", Role.COMMUNICATIONS_LEAD),
    ("communications lead", Role.COMMUNICATIONS_LEAD), ("scribe", Role.SCRIBE),
    ("primary", Role.ONCALL_PRIMARY), ("secondary", Role.ONCALL_SECONDARY),
    ("oncall_secondary", Role.ONCALL_SECONDARY),
])
def test_role_names(text: str, role: Role) -> None:
    assert Role.parse(text) == role


def test_unknown_role_lists_short_names() -> None:
    with pytest.raises(InvalidInput, match=r"ic \(Incident Commander\)"):
        Role.parse("boss")


def test_assign_handoff_release(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.commit(commands.assign_role(rec.state, Role.INCIDENT_COMMANDER, "carol", "alice"))
    assert s.holder(Role.INCIDENT_COMMANDER) == "carol"
    rec.tick(minutes=30)
    s = rec.commit(commands.assign_role(s, Role.INCIDENT_COMMANDER, "dave", "carol"))
    assert rec.events[-1].data["previous"] == "carol"
    assert s.holder(Role.INCIDENT_COMMANDER) == "dave"
    stints = [(x.person, x.start, x.end) for x in s.role_history]
    assert stints[0][2] == rec.now and stints[1] == ("dave", rec.now, None)
    with pytest.raises(TransitionRefused, match="dave already holds Incident Commander"):
        commands.assign_role(s, Role.INCIDENT_COMMANDER, "dave", "carol")
    rec.tick(minutes=5)
    s = rec.commit(commands.release_role(s, Role.INCIDENT_COMMANDER, "dave"))
    assert s.holder(Role.INCIDENT_COMMANDER) is None
    assert s.role_history[-1].end == rec.now
    with pytest.raises(TransitionRefused, match="already vacant"):
        commands.release_role(s, Role.INCIDENT_COMMANDER, "dave")


def test_one_person_many_roles_and_assembly(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.state
    for role in (Role.INCIDENT_COMMANDER, Role.SCRIBE, Role.TECH_LEAD):
        s = rec.commit(commands.assign_role(s, role, "erin", "alice"))
    assert set(s.roles_of("erin")) == {Role.INCIDENT_COMMANDER, Role.SCRIBE, Role.TECH_LEAD}
    assert "assemble" not in s.checklist
    s = rec.commit(commands.assign_role(s, Role.COMMUNICATIONS_LEAD, "frank", "alice"))
    assert "assemble" in s.checklist


def test_blank_person_refused(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput):
        commands.assign_role(rec.state, Role.SCRIBE, "  ", "alice")


def test_release_by_someone_else_does_not_name_the_holder_as_the_actor(rec) -> None:  # type: ignore[no-untyped-def]
    """alice releases frank's Scribe role: the line must not say frank released it."""
    from warroom.domain.incident.kinds import describe

    s = rec.commit(commands.assign_role(rec.state, Role.SCRIBE, "frank", "alice"))
    rec.tick(minutes=1)
    rec.commit(commands.release_role(s, Role.SCRIBE, "alice"))
    event = rec.events[-1]
    assert event.actor == "alice"
    assert "released by frank" not in describe(event)
    assert describe(event) == "Scribe released (was frank)"
