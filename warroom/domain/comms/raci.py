"""The seed's RACI matrix: who is Responsible, Accountable, Consulted, Informed per activity.

Kept as data so the postmortem (and the dashboard's help) print the same table.
"""

from __future__ import annotations

from warroom.domain.incident.roles import Role

RACI_LEGEND = "R = Responsible, A = Accountable, C = Consulted, I = Informed"

# Columns in the seed's order. "On-call" is whoever holds the pager (on-call primary).
RACI_COLUMNS: tuple[tuple[str, Role], ...] = (
    ("Incident Commander", Role.INCIDENT_COMMANDER),
    ("Tech Lead", Role.TECH_LEAD),
    ("Comms Lead", Role.COMMUNICATIONS_LEAD),
    ("Scribe", Role.SCRIBE),
    ("On-call", Role.ONCALL_PRIMARY),
)

RACI: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Declare Incident", ("A", "C", "I", "I", "R")),
    ("Assess Severity", ("A", "C", "I", "R", "C")),
    ("Technical Investigation", ("I", "A", "I", "R", "R")),
    ("Customer Updates", ("A", "I", "R", "C", "I")),
    ("Execute Fixes", ("A", "R", "I", "I", "C")),
    ("Status Updates", ("R", "C", "A", "R", "I")),
    ("Document Timeline", ("I", "C", "C", "A", "C")),
    ("Call Postmortem", ("A", "R", "I", "R", "C")),
)
