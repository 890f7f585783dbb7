"""The severity table and the assessment matrix, edges included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warroom.domain.common.errors import InvalidInput, TransitionRefused
from warroom.domain.incident import commands
from warroom.domain.incident.severity import (
    SEVERITIES,
    Assessment,
    DataRisk,
    Reputation,
    SecurityImpact,
    Severity,
    suggest_severity,
)


def test_one_table_holds_the_seed_targets() -> None:
    assert [SEVERITIES[s].response_time for s in Severity] == [
        timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=24)]
    assert SEVERITIES[Severity.SEV1].acknowledge_within == timedelta(minutes=5)
    assert SEVERITIES[Severity.SEV2].acknowledge_within == timedelta(minutes=15)
    assert SEVERITIES[Severity.SEV1].update_every == timedelta(minutes=15)
    assert SEVERITIES[Severity.SEV2].update_every == timedelta(minutes=30)
    assert SEVERITIES[Severity.SEV1].war_room.startswith("Mandatory")
    assert SEVERITIES[Severity.SEV2].customer_comms == "Within 30 min"
    assert SEVERITIES[Severity.SEV4].update_every is None


@pytest.mark.parametrize("text,sev", [
    ("SEV-1", Severity.SEV1), ("sev2", Severity.SEV2), ("3", Severity.SEV3), ("S4", Severity.SEV4),
    ("critical", Severity.SEV1), ("Major", Severity.SEV2), ("sev 3", Severity.SEV3),
])
def test_parse(text: str, sev: Severity) -> None:
    assert Severity.parse(text) == sev


@pytest.mark.parametrize("text", ["SEV-0", "SEV-5", "", "high", "sev-12"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(InvalidInput, match="SEV-1, SEV-2, SEV-3 or SEV-4"):
        Severity.parse(text)


@pytest.mark.parametrize("revenue,sev", [
    (10_000.01, Severity.SEV1), (10_000, Severity.SEV2), (1_000, Severity.SEV2),
    (999.99, Severity.SEV3), (0.01, Severity.SEV3), (0, Severity.SEV4),
])
def test_revenue_boundaries(revenue: float, sev: Severity) -> None:
    assert suggest_severity(Assessment(revenue_per_minute=revenue)).severity == sev


@pytest.mark.parametrize("pct,sev", [
    (100, Severity.SEV1), (99.9, Severity.SEV2), (10, Severity.SEV2), (9.99, Severity.SEV3),
    (1, Severity.SEV3), (0.5, Severity.SEV4), (0, Severity.SEV4),
])
def test_user_share_boundaries(pct: float, sev: Severity) -> None:
    assert suggest_severity(Assessment(users_affected_pct=pct)).severity == sev


@pytest.mark.parametrize("hours,sev", [
    (4.01, Severity.SEV1), (4, Severity.SEV2), (1, Severity.SEV2), (0.99, Severity.SEV3),
    (0.5, Severity.SEV3), (0.49, Severity.SEV4), (0, Severity.SEV4),
])
def test_recovery_boundaries(hours: float, sev: Severity) -> None:
    assert suggest_severity(Assessment(recovery_hours=hours)).severity == sev


def test_categorical_criteria() -> None:
    assert suggest_severity(Assessment(data_risk=DataRisk.LOSS)).severity == Severity.SEV1
    assert suggest_severity(Assessment(data_risk=DataRisk.DELAYS)).severity == Severity.SEV3
    assert suggest_severity(
        Assessment(security=SecurityImpact.VULNERABILITY_EXPOSED)).severity == Severity.SEV2
    assert suggest_severity(Assessment(reputation=Reputation.INTERNAL)).severity == Severity.SEV4


def test_most_severe_criterion_decides_and_is_named() -> None:
    s = suggest_severity(Assessment(
        revenue_per_minute=500, users_affected_pct=15, data_risk=DataRisk.NONE,
        security=SecurityImpact.ACTIVE_BREACH, reputation=Reputation.COMPLAINTS,
    ))
    assert s.severity == Severity.SEV1
    assert s.decided_by.criterion == "security"
    assert len(s.all) == 5
    assert "security" in s.explain()


def test_tie_names_the_first_row() -> None:
    s = suggest_severity(Assessment(users_affected_pct=50, revenue_per_minute=5_000))
    assert s.severity == Severity.SEV2 and s.decided_by.criterion == "revenue impact"


@pytest.mark.parametrize("a", [
    Assessment(), Assessment(users_affected_pct=101), Assessment(users_affected_pct=-1),
    Assessment(revenue_per_minute=-5), Assessment(recovery_hours=-1),
])
def test_bad_assessments_are_refused(a: Assessment) -> None:
    with pytest.raises(InvalidInput):
        suggest_severity(a)


def test_change_severity_records_the_assessment(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.commit(commands.change_severity(
        rec.state, Severity.SEV2, "bob", assessment=Assessment(users_affected_pct=20)))
    assert s.severity == Severity.SEV2
    assert rec.events[-1].data["assessment"]["decided_by"] == "user impact"
    assert [(c.from_severity, c.to_severity) for c in s.severity_history] == [
        (None, Severity.SEV1), (Severity.SEV1, Severity.SEV2)]
    # The change itself completed triage, so choosing the same level again is refused.
    with pytest.raises(TransitionRefused, match="already SEV-2"):
        commands.change_severity(rec.state, Severity.SEV2, "bob")


def test_confirming_the_declared_severity_completes_triage(rec) -> None:  # type: ignore[no-untyped-def]
    s = rec.commit(commands.change_severity(rec.state, Severity.SEV1, "bob"))
    assert s.severity == Severity.SEV1 and "triage" in s.checklist
    assert rec.events[-1].kind == "checklist_done"
