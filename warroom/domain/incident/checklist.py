"""The seed's response checklist, with the target time of each item.

Targets are measured from an anchor: detection for the first four items, the move to Monitoring
(the fix going out) for verification, and resolution for the documented timeline. Items with no
target (root cause, deploy fix) are tracked but never overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from warroom.domain.common.errors import InvalidInput
from warroom.domain.incident.roles import Role


class Anchor(StrEnum):
    DETECTED = "detected"
    FIX_DEPLOYED = "fix_deployed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    phase: str
    task: str
    owner: str
    target: timedelta | None
    anchor: Anchor
    target_text: str


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("acknowledge", "Detection", "Acknowledge alert", "On-call",
                  timedelta(minutes=5), Anchor.DETECTED, "< 5 min"),
    ChecklistItem("triage", "Triage", "Assess severity", "On-call",
                  timedelta(minutes=10), Anchor.DETECTED, "< 10 min"),
    ChecklistItem("assemble", "Assembly", "Form response team", "IC",
                  timedelta(minutes=15), Anchor.DETECTED, "< 15 min"),
    ChecklistItem("first_update", "Communication", "First customer update", "Comms",
                  timedelta(minutes=30), Anchor.DETECTED, "< 30 min"),
    ChecklistItem("root_cause", "Investigation", "Root cause analysis", "Tech Lead",
                  None, Anchor.DETECTED, "ongoing"),
    ChecklistItem("fix_deployed", "Resolution", "Deploy fix", "Dev Team",
                  None, Anchor.DETECTED, "ASAP"),
    ChecklistItem("verify", "Verification", "Confirm fixed", "QA/Ops",
                  timedelta(minutes=15), Anchor.FIX_DEPLOYED, "+15 min after fix"),
    ChecklistItem("timeline", "Documentation", "Timeline complete", "Scribe",
                  timedelta(hours=2), Anchor.RESOLVED, "+2 h after resolution"),
)

CHECKLIST_BY_KEY: dict[str, ChecklistItem] = {item.key: item for item in CHECKLIST}


def parse_item(text: str) -> ChecklistItem:
    t = text.strip().lower().replace("-", "_").replace(" ", "_")
    if t in CHECKLIST_BY_KEY:
        return CHECKLIST_BY_KEY[t]
    for item in CHECKLIST:
        if item.task.lower().replace(" ", "_") == t or item.phase.lower() == t:
            return item
    raise InvalidInput(
        f"unknown checklist item {text!r}: use one of " + ", ".join(CHECKLIST_BY_KEY)
    )


# The seed's Owner column as the room's roles; "Dev Team" and "QA/Ops" are teams, not roles.
OWNER_ROLES: dict[str, Role | None] = {
    "On-call": Role.ONCALL_PRIMARY,
    "IC": Role.INCIDENT_COMMANDER,
    "Comms": Role.COMMUNICATIONS_LEAD,
    "Tech Lead": Role.TECH_LEAD,
    "Scribe": Role.SCRIBE,
    "Dev Team": None,
    "QA/Ops": None,
}


def owner_role(item: ChecklistItem) -> Role | None:
    """The role that owns the item (the seed's Owner column), None for a team."""
    return OWNER_ROLES.get(item.owner)
