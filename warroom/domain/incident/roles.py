"""Incident roles and the short names people type for them."""

from __future__ import annotations

from enum import StrEnum

from warroom.domain.common.errors import InvalidInput


class Role(StrEnum):
    INCIDENT_COMMANDER = "incident_commander"
    TECH_LEAD = "tech_lead"
    COMMUNICATIONS_LEAD = "communications_lead"
    SCRIBE = "scribe"
    ONCALL_PRIMARY = "oncall_primary"
    ONCALL_SECONDARY = "oncall_secondary"

    @property
    def title(self) -> str:
        return ROLE_TITLES[self]

    @property
    def short(self) -> str:
        return ROLE_SHORT[self]

    @classmethod
    def parse(cls, text: str) -> Role:
        t = text.strip().lower().replace("-", " ").replace("_", " ")
        t = " ".join(t.split())
        for role, names in _ROLE_NAMES.items():
            if t in names:
                return role
        raise InvalidInput(
            f"unknown role {text!r}: use "
            + ", ".join(f"{r.short} ({r.title})" for r in cls)
        )


ROLE_TITLES: dict[Role, str] = {
    Role.INCIDENT_COMMANDER: "Incident Commander",
    Role.TECH_LEAD: "Tech Lead",
    Role.COMMUNICATIONS_LEAD: "Communications Lead",
    Role.SCRIBE: "Scribe",
    Role.ONCALL_PRIMARY: "On-call primary",
    Role.ONCALL_SECONDARY: "On-call secondary",
}

ROLE_SHORT: dict[Role, str] = {
    Role.INCIDENT_COMMANDER: "ic",
    Role.TECH_LEAD: "tech",
    Role.COMMUNICATIONS_LEAD: "comms",
    Role.SCRIBE: "scribe",
    Role.ONCALL_PRIMARY: "primary",
    Role.ONCALL_SECONDARY: "secondary",
}

_ROLE_NAMES: dict[Role, set[str]] = {
    Role.INCIDENT_COMMANDER: {"ic", "incident commander", "commander", "incident_commander"},
    Role.TECH_LEAD: {"tech", "tl", "tech lead", "technical lead", "tech_lead"},
    Role.COMMUNICATIONS_LEAD: {
        "comms",
        "cl",
        "comms lead",
        "communications lead",
        "communications",
        "communications_lead",
    },
    Role.SCRIBE: {"scribe"},
    Role.ONCALL_PRIMARY: {"primary", "oncall primary", "on call primary", "oncall_primary"},
    Role.ONCALL_SECONDARY: {
        "secondary",
        "oncall secondary",
        "on call secondary",
        "oncall_secondary",
    },
}
