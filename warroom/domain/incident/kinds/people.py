"""Who holds which role: assignments, hand-offs and releases."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from warroom.domain.incident.events import Event, Kind, Tone
from warroom.domain.incident.roles import Role
from warroom.domain.incident.state import IncidentState, RoleHolder, RoleStint
from warroom.domain.incident.status import Phase

# The response team is formed once these roles are held (the seed's "Assembly" item).
ASSEMBLED_ROLES = (Role.INCIDENT_COMMANDER, Role.TECH_LEAD, Role.COMMUNICATIONS_LEAD)


class RoleAssigned(Kind):
    """A vacant role taken, or handed off from `previous`."""

    kind = "role_assigned"
    label = "role"
    tone = Tone.PEOPLE

    role: Role
    person: str = Field(min_length=1)
    previous: str | None = None

    def describe(self) -> str:
        if self.previous:
            return f"{self.role.title} handed off {self.previous} -> {self.person}"
        return f"{self.role.title}: {self.person}"

    def apply(self, state: IncidentState, event: Event) -> None:
        _end_stint(state, self.role, event.at)
        state.roles[self.role] = RoleHolder(person=self.person, since=event.at)
        state.role_history.append(RoleStint(role=self.role, person=self.person, start=event.at))
        if all(r in state.roles for r in ASSEMBLED_ROLES):
            state.check("assemble", event.at)
        if self.role == Role.INCIDENT_COMMANDER and state.acknowledged:
            state.advance_phase(Phase.RESPONSE)


class RoleReleased(Kind):
    kind = "role_released"
    label = "role"
    tone = Tone.PEOPLE

    role: Role
    person: str

    def describe(self) -> str:
        return f"{self.role.title} released (was {self.person})"

    def apply(self, state: IncidentState, event: Event) -> None:
        state.roles.pop(self.role, None)
        _end_stint(state, self.role, event.at)


def _end_stint(state: IncidentState, role: Role, at: datetime) -> None:
    for stint in reversed(state.role_history):
        if stint.role == role and stint.end is None:
            stint.end = at
            break
