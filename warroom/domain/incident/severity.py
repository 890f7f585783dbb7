"""Severity levels and the assessment matrix, from the seed document.

Everything that needs a severity's targets reads the one SEVERITIES table, so a change to a
target is made in one place.

The seed gives two response times for SEV-1 and SEV-2: the levels table says "< 15 minutes" and
"< 30 minutes", the "Response Requirements by Severity" boxes say "< 5 minutes" and
"< 15 minutes". We keep both: `response_time` is the levels table (time until the team is working
the incident) and `acknowledge_within` is the requirements box (time until a human owns it;
the levels table's value for SEV-3 and SEV-4, which have no box).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from warroom.domain.common.errors import InvalidInput


class Severity(StrEnum):
    SEV1 = "SEV-1"
    SEV2 = "SEV-2"
    SEV3 = "SEV-3"
    SEV4 = "SEV-4"

    @property
    def rank(self) -> int:
        """1 for SEV-1 (most severe) to 4."""
        return int(self.value[-1])

    @property
    def info(self) -> SeverityLevel:
        return SEVERITIES[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Accept SEV-1, sev1, 1, S1 and the level names (critical, major, minor, low)."""
        t = text.strip().lower().replace("_", "-").replace(" ", "")
        for name, sev in _SEVERITY_NAMES.items():
            if t == name:
                return sev
        digits = t.removeprefix("sev").removeprefix("s").removeprefix("-")
        if digits in {"1", "2", "3", "4"}:
            return cls(f"SEV-{digits}")
        raise InvalidInput(f"unknown severity {text!r}: use SEV-1, SEV-2, SEV-3 or SEV-4")


@dataclass(frozen=True)
class SeverityLevel:
    severity: Severity
    name: str
    definition: str
    example: str
    response_time: timedelta
    acknowledge_within: timedelta
    war_room: str
    update_every: timedelta | None
    leadership: str
    customer_comms: str
    war_room_needed: str = "not needed"  # the seed's "War Room: Mandatory / As needed"
    response_mode: str = "normal team channel"  # the seed's initial-response flow
    # The normal team works it at its own pace: the checklist's detection targets (acknowledge,
    # triage, assemble) are at least the response time (a SEV-4 is not overdue after 5 min).
    own_pace: bool = False

    @property
    def response_time_text(self) -> str:
        return within_text(self.response_time)

    @property
    def acknowledge_text(self) -> str:
        return within_text(self.acknowledge_within)


def within_text(td: timedelta) -> str:
    """The seed's way of writing a target: "< 15 min", "< 2 h"."""
    minutes = td.total_seconds() / 60
    if minutes < 60 or minutes % 60:
        return f"< {minutes:g} min"
    return f"< {minutes / 60:g} h"


SEVERITIES: dict[Severity, SeverityLevel] = {
    Severity.SEV1: SeverityLevel(
        Severity.SEV1,
        name="Critical",
        definition="Critical business impact",
        example="Complete outage, data loss",
        response_time=timedelta(minutes=15),
        acknowledge_within=timedelta(minutes=5),
        war_room="Mandatory: all hands",
        update_every=timedelta(minutes=15),
        leadership="VP notification (CEO + VP alert)",
        customer_comms="Immediate",
        war_room_needed="mandatory",
        response_mode="all hands war room",
    ),
    Severity.SEV2: SeverityLevel(
        Severity.SEV2,
        name="Major",
        definition="Major functionality impaired",
        example="Core features down",
        response_time=timedelta(minutes=30),
        acknowledge_within=timedelta(minutes=15),
        war_room="As needed: core team, virtual bridge",
        update_every=timedelta(minutes=30),
        leadership="Director notification",
        customer_comms="Within 30 min",
        war_room_needed="as needed",
        response_mode="core team virtual bridge",
    ),
    Severity.SEV3: SeverityLevel(
        Severity.SEV3,
        name="Minor",
        definition="Minor functionality impaired",
        example="Non-critical features affected",
        response_time=timedelta(hours=2),
        acknowledge_within=timedelta(hours=2),
        war_room="No: normal team, chat channel",
        update_every=timedelta(minutes=60),
        leadership="Manager FYI",
        customer_comms="If asked",
        own_pace=True,
    ),
    Severity.SEV4: SeverityLevel(
        Severity.SEV4,
        name="Low",
        definition="Minimal impact",
        example="Cosmetic issues",
        response_time=timedelta(hours=24),
        acknowledge_within=timedelta(hours=24),
        war_room="No: ticket only",
        update_every=None,
        leadership="Weekly report",
        customer_comms="No comms",
        own_pace=True,
    ),
}

_SEVERITY_NAMES = {
    "critical": Severity.SEV1,
    "major": Severity.SEV2,
    "minor": Severity.SEV3,
    "low": Severity.SEV4,
}


class DataRisk(StrEnum):
    LOSS = "loss"  # data loss or corruption
    AT_RISK = "at_risk"
    DELAYS = "delays"
    NONE = "none"


class SecurityImpact(StrEnum):
    ACTIVE_BREACH = "active_breach"
    VULNERABILITY_EXPOSED = "vulnerability_exposed"
    POTENTIAL = "potential"
    NONE = "none"


class Reputation(StrEnum):
    MEDIA = "media"  # media attention
    SOCIAL = "social"  # social media noise
    COMPLAINTS = "complaints"  # customer complaints
    INTERNAL = "internal"  # internal only


@dataclass(frozen=True)
class Assessment:
    """What the responders know about the impact; any criterion may be unknown (None)."""

    revenue_per_minute: float | None = None  # dollars lost per minute
    users_affected_pct: float | None = None  # 0..100
    data_risk: DataRisk | None = None
    security: SecurityImpact | None = None
    reputation: Reputation | None = None
    recovery_hours: float | None = None  # expected time to recover


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    severity: Severity
    reason: str


@dataclass(frozen=True)
class Suggestion:
    severity: Severity
    decided_by: CriterionResult
    all: tuple[CriterionResult, ...]

    def explain(self) -> str:
        return f"{self.severity}: {self.decided_by.criterion} ({self.decided_by.reason})"


def _revenue(v: float) -> tuple[Severity, str]:
    if not math.isfinite(v):
        raise InvalidInput(f"revenue impact per minute must be a number of dollars, not {v}")
    if v < 0:
        raise InvalidInput("revenue impact per minute cannot be negative")
    if v > 10_000:
        return Severity.SEV1, f"${v:,.0f}/min > $10k/min"
    if v >= 1_000:
        return Severity.SEV2, f"${v:,.0f}/min in $1k-10k/min"
    if v > 0:
        return Severity.SEV3, f"${v:,.0f}/min < $1k/min"
    return Severity.SEV4, "no revenue impact"


def _users(p: float) -> tuple[Severity, str]:
    # The seed: all users / many (>10%) / some (<10%) / few. Exactly 10% counts as many, so
    # a boundary case errs towards the more severe level; "few" is taken as under 1%.
    if not 0 <= p <= 100:
        raise InvalidInput("share of users affected must be between 0 and 100 percent")
    if p >= 100:
        return Severity.SEV1, "all users affected"
    if p >= 10:
        return Severity.SEV2, f"{p:g}% of users (many, >=10%)"
    if p >= 1:
        return Severity.SEV3, f"{p:g}% of users (some, <10%)"
    return Severity.SEV4, f"{p:g}% of users (few)"


_DATA = {
    DataRisk.LOSS: (Severity.SEV1, "data loss or corruption"),
    DataRisk.AT_RISK: (Severity.SEV2, "data at risk"),
    DataRisk.DELAYS: (Severity.SEV3, "data delays"),
    DataRisk.NONE: (Severity.SEV4, "no data risk"),
}
_SECURITY = {
    SecurityImpact.ACTIVE_BREACH: (Severity.SEV1, "active breach"),
    SecurityImpact.VULNERABILITY_EXPOSED: (Severity.SEV2, "vulnerability exposed"),
    SecurityImpact.POTENTIAL: (Severity.SEV3, "potential security issue"),
    SecurityImpact.NONE: (Severity.SEV4, "no security impact"),
}
_REPUTATION = {
    Reputation.MEDIA: (Severity.SEV1, "media attention"),
    Reputation.SOCIAL: (Severity.SEV2, "social media noise"),
    Reputation.COMPLAINTS: (Severity.SEV3, "customer complaints"),
    Reputation.INTERNAL: (Severity.SEV4, "internal only"),
}


def _recovery(h: float) -> tuple[Severity, str]:
    # >4 h, 1-4 h, <1 h, <30 min; exact boundaries fall in the more severe bucket.
    if not math.isfinite(h):
        raise InvalidInput(f"expected recovery time must be a number of hours, not {h}")
    if h < 0:
        raise InvalidInput("expected recovery time cannot be negative")
    if h > 4:
        return Severity.SEV1, f"recovery {h:g} h > 4 h"
    if h >= 1:
        return Severity.SEV2, f"recovery {h:g} h in 1-4 h"
    if h >= 0.5:
        return Severity.SEV3, f"recovery {h * 60:g} min < 1 h"
    return Severity.SEV4, f"recovery {h * 60:g} min < 30 min"


def suggest_severity(a: Assessment) -> Suggestion:
    """The most severe level any known criterion reaches, and the criterion that decided it.

    Criteria are checked in the seed's row order; on a tie the earlier row is named.
    """
    results: list[CriterionResult] = []
    if a.revenue_per_minute is not None:
        results.append(CriterionResult("revenue impact", *_revenue(a.revenue_per_minute)))
    if a.users_affected_pct is not None:
        results.append(CriterionResult("user impact", *_users(a.users_affected_pct)))
    if a.data_risk is not None:
        results.append(CriterionResult("data risk", *_DATA[DataRisk(a.data_risk)]))
    if a.security is not None:
        results.append(CriterionResult("security", *_SECURITY[SecurityImpact(a.security)]))
    if a.reputation is not None:
        results.append(CriterionResult("reputation", *_REPUTATION[Reputation(a.reputation)]))
    if a.recovery_hours is not None:
        results.append(CriterionResult("recovery time", *_recovery(a.recovery_hours)))
    if not results:
        raise InvalidInput("assessment needs at least one criterion")
    decided = min(results, key=lambda r: r.severity.rank)
    return Suggestion(decided.severity, decided, tuple(results))
