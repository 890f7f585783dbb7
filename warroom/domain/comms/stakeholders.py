"""The seed's stakeholder communication plan: for each severity, who is told what, how, when.

One table (STAKEHOLDER_PLAN), one row per audience, one cell per severity. `what` keeps the
seed's words; `how`, `when` and `required` spell out what the words mean for the person doing
it, so the dashboard can show a to-do list rather than a quotation.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.domain.incident.severity import Severity

S1, S2, S3, S4 = Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4


@dataclass(frozen=True)
class PlanCell:
    what: str  # the seed's words
    how: str  # the channel; "-" when nothing is sent
    when: str
    required: bool  # must be done for every incident of this severity
    condition: str | None = None  # when not required: in which case it is done


@dataclass(frozen=True)
class StakeholderRow:
    audience: str  # one of comms.AUDIENCES
    label: str
    cells: dict[Severity, PlanCell]


STAKEHOLDER_PLAN: tuple[StakeholderRow, ...] = (
    StakeholderRow("customers", "Customers", {
        S1: PlanCell("Immediate status page", "status page", "immediately", True),
        S2: PlanCell("30 min status update", "status page", "within 30 min", True),
        S3: PlanCell("If asked", "reply to the customer who asked", "when asked", False,
                     "only if a customer asks"),
        S4: PlanCell("No comms", "-", "-", False),
    }),
    StakeholderRow("support", "Support Team", {
        S1: PlanCell("Immediate briefing", "briefing call", "immediately", True),
        S2: PlanCell("Alert + talking points", "support channel alert with talking points",
                     "within 30 min", True),
        S3: PlanCell("FYI notice", "support channel notice", "same day", True),
        S4: PlanCell("Wiki update", "support wiki", "after resolution", True),
    }),
    StakeholderRow("engineering", "Engineering", {
        S1: PlanCell("All hands page", "page every on-call engineer", "immediately", True),
        S2: PlanCell("Team page", "page the owning team", "immediately", True),
        S3: PlanCell("Slack notify", "team chat channel", "when declared", True),
        S4: PlanCell("Ticket only", "ticket", "when declared", True),
    }),
    StakeholderRow("leadership", "Leadership", {
        S1: PlanCell("CEO + VP alert", "phone or page the CEO and VP Engineering",
                     "immediately", True),
        S2: PlanCell("Director alert", "message the director", "within 30 min", True),
        S3: PlanCell("Manager FYI", "message the team's manager", "same day", True),
        S4: PlanCell("Weekly report", "weekly incident report", "next weekly report", True),
    }),
    StakeholderRow("sales", "Sales", {
        S1: PlanCell("Account manager alert", "alert account managers", "immediately", True),
        S2: PlanCell("If customer facing", "alert account managers", "within 30 min", False,
                     "only if the incident is customer facing"),
        S3: PlanCell("No action", "-", "-", False),
        S4: PlanCell("No action", "-", "-", False),
    }),
)


@dataclass(frozen=True)
class StakeholderAction:
    """One line of the plan for one severity: what the Communications Lead owes an audience."""

    audience: str
    label: str
    severity: Severity
    what: str
    how: str
    when: str
    required: bool
    condition: str | None


def stakeholders_for(severity: Severity) -> list[StakeholderAction]:
    """The plan's column for a severity, in the seed's row order."""
    sev = Severity(severity)
    return [
        StakeholderAction(
            audience=row.audience, label=row.label, severity=sev, what=c.what, how=c.how,
            when=c.when, required=c.required, condition=c.condition,
        )
        for row in STAKEHOLDER_PLAN
        for c in (row.cells[sev],)
    ]
