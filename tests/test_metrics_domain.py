"""Metrics of a hand-built set of incidents, compared with values worked out by hand.

The set (UTC), period 2026-03-01 .. 2026-03-31 (30 days), previous period 2026-01-30 .. 03-01:

  id  service   sev    started  detected      acked   resolved   (offsets from detection)
  P1  payments  SEV-2  -2m      02-10 10:00   +4m     +40m
  P2  auth      SEV-3  0        02-20 12:00   +10m    +60m
  A   payments  SEV-1  -3m      03-02 10:00   +2m     +30m
  B   payments  SEV-2  -1m      03-05 08:00   +6m     +60m
  C   checkout  SEV-3  -5m      03-05 08:30   +1m     +20m      starts while B is unresolved
  D   auth      SEV-3  0        03-10 00:00   never   +15m      resolved without an ack
  E   search    SEV-4  -10m     03-20 12:00   +3m     open
  F   payments  SEV-2  0        03-25 12:00   open    open
  G   (none)    SEV-4  -2m      03-28 06:00   +4m     +60m
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warroom.domain.common.errors import InvalidInput
from warroom.domain.metrics.report import (
    IncidentTimes,
    MetricTargets,
    format_metric,
    metrics_report,
    percentile,
    sparkline_values,
    trend,
)

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 31, tzinfo=UTC)
NOW = UNTIL


def inc(id_: str, service: str | None, sev: str, detected: datetime, started_min: float,
        ack_min: float | None, res_min: float | None) -> IncidentTimes:
    return IncidentTimes(
        id=id_, severity=sev, service=service,
        started_at=detected - timedelta(minutes=started_min),
        detected_at=detected,
        acknowledged_at=detected + timedelta(minutes=ack_min) if ack_min is not None else None,
        first_resolved_at=detected + timedelta(minutes=res_min) if res_min is not None else None,
    )


def d(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


P1 = inc("INC-1", "payments", "SEV-2", d(2, 10, 10), 2, 4, 40)
P2 = inc("INC-2", "auth", "SEV-3", d(2, 20, 12), 0, 10, 60)
A = inc("INC-3", "payments", "SEV-1", d(3, 2, 10), 3, 2, 30)
B = inc("INC-4", "payments", "SEV-2", d(3, 5, 8), 1, 6, 60)
C = inc("INC-5", "checkout", "SEV-3", d(3, 5, 8, 30), 5, 1, 20)
D = inc("INC-6", "auth", "SEV-3", d(3, 10, 0), 0, None, 15)
E = inc("INC-7", "search", "SEV-4", d(3, 20, 12), 10, 3, None)
F = inc("INC-8", "payments", "SEV-2", d(3, 25, 12), 0, None, None)
G = inc("INC-9", None, "SEV-4", d(3, 28, 6), 2, 4, 60)
ALL = [P1, P2, A, B, C, D, E, F, G]

# MTTF gaps (seconds), from the latest resolution so far to the next start:
GAP_P2 = 10 * 86400 + 80 * 60  # P1 resolved 02-10 10:40 -> P2 starts 02-20 12:00
GAP_A = 10 * 86400 - (3 * 3600 + 3 * 60)  # 02-20 13:00 -> 03-02 09:57
GAP_B = 3 * 86400 - (2 * 3600 + 31 * 60)  # 03-02 10:30 -> 03-05 07:59
GAP_D = 4 * 86400 + 15 * 3600  # 03-05 09:00 (B; C overlapped) -> 03-10 00:00
GAP_E = 10 * 86400 + 11 * 3600 + 35 * 60  # 03-10 00:15 -> 03-20 11:50 (E, still open)
# F and G start while E is unresolved: they overlap it.


@pytest.fixture
def report():  # type: ignore[no-untyped-def]
    return metrics_report(reversed(ALL), now=NOW, since=SINCE, until=UNTIL, months=3)


def test_period_and_counts(report) -> None:  # type: ignore[no-untyped-def]
    assert report.previous.since == datetime(2026, 1, 30, tzinfo=UTC)
    assert report.previous.until == SINCE
    assert report.incidents == 7
    assert report.unresolved == 2  # E, F
    assert report.unacknowledged == 1  # F
    assert report.never_acknowledged == 1  # D


def test_mttd(report) -> None:  # type: ignore[no-untyped-def]
    m = report.line("mttd")
    # samples 180, 60, 300, 0, 600, 0, 120
    assert m.value == pytest.approx(1260 / 7)
    assert m.median == 120
    assert m.p90 == 600  # nearest rank ceil(0.9 * 7) = 7th of 7
    assert (m.samples, m.open) == (7, 0)
    assert m.status == "met" and m.met is True
    assert m.target_text == "< 5m"
    assert m.trend.previous == 60  # P1 2 min, P2 0
    assert m.trend.arrow == "↑" and m.trend.good is False and m.trend.words == "worse"
    assert m.trend.change_pct == pytest.approx(200.0)
    assert m.trend.text == "↑ 200%"


def test_mtta_leaves_out_open_and_never_acknowledged(report) -> None:  # type: ignore[no-untyped-def]
    m = report.line("mtta")
    # A 120, B 360, C 60, E 180, G 240; F still open, D resolved without an ack
    assert m.value == 192
    assert m.median == 180
    assert m.p90 == 360
    assert (m.samples, m.open, m.never_acknowledged) == (5, 1, 1)
    assert m.status == "met"
    assert m.trend.previous == 420  # (4 + 10) / 2 min
    assert m.trend.change_pct == pytest.approx((192 - 420) / 420 * 100)
    assert (m.trend.arrow, m.trend.good, m.trend.text) == ("↓", True, "↓ 54%")


def test_mttr_leaves_out_unresolved(report) -> None:  # type: ignore[no-untyped-def]
    m = report.line("mttr")
    # A 1800, B 3600, C 1200, D 900, G 3600; E and F open
    assert m.value == 2220
    assert m.median == 1800
    assert m.p90 == 3600
    assert (m.samples, m.open) == (5, 2)
    assert m.status == "not met" and m.met is False
    assert m.value_text == "37m00s"
    assert m.trend.previous == 3000
    assert m.trend.good is True and m.trend.words == "better"


def test_mttf_with_gaps_and_an_overlap(report) -> None:  # type: ignore[no-untyped-def]
    m = report.line("mttf")
    samples = sorted([GAP_A, GAP_B, GAP_D, GAP_E])
    assert m.value == pytest.approx(sum(samples) / 4)
    assert m.value == pytest.approx(602115)
    assert m.median == pytest.approx((samples[1] + samples[2]) / 2)
    assert m.p90 == GAP_E
    assert (m.samples, m.open, m.overlapping) == (4, 0, 3)  # C overlaps B; F, G overlap E
    assert m.status == "not met"  # 167 h, target > 720 h
    assert m.value_text == "167h"
    assert m.target_text == "> 720h"
    assert m.trend.previous == GAP_P2  # P1 has no earlier incident: no sample
    # Down is bad news for the time between failures.
    assert (m.trend.arrow, m.trend.good, m.trend.words) == ("↓", False, "worse")


def test_incidents_per_month(report) -> None:  # type: ignore[no-untyped-def]
    m = report.line("incidents")
    assert m.value == 7.0  # a 30-day period: the count itself
    assert m.status == "met"
    assert m.target_text == "< 10"
    assert m.trend.previous == 2.0
    assert m.trend.change_pct == pytest.approx(250.0)
    assert (m.trend.arrow, m.trend.good) == ("↑", False)


def test_rate_scales_to_thirty_days() -> None:
    r = metrics_report(ALL, now=NOW, since=d(3, 1, 0), until=d(3, 16, 0))  # 15 days
    assert r.incidents == 4  # A, B, C, D
    assert r.line("incidents").value == 8.0  # 4 in 15 days: 8 per 30 days


def test_by_severity(report) -> None:  # type: ignore[no-untyped-def]
    groups = {g.key: g for g in report.by_severity}
    assert list(groups) == ["SEV-1", "SEV-2", "SEV-3", "SEV-4"]
    assert {k: g.incidents for k, g in groups.items()} == {
        "SEV-1": 1, "SEV-2": 2, "SEV-3": 2, "SEV-4": 2}
    sev2 = groups["SEV-2"]
    assert sev2.line("mttd").value == 30  # B 60, F 0
    assert sev2.line("mtta").value == 360 and sev2.line("mtta").open == 1
    assert sev2.line("mttr").value == 3600 and sev2.unresolved == 1
    # SEV-2's own failures: P1 resolved 02-10 10:40 -> B starts 03-05 07:59; B resolved
    # 09:00 -> F (still open) starts 03-25 12:00
    assert sev2.line("mttf").value == (
        23 * 86400 - (2 * 3600 + 41 * 60) + 20 * 86400 + 3 * 3600) / 2
    sev3 = groups["SEV-3"]
    # P2 resolved 02-20 13:00 -> C starts 03-05 08:25; C resolved 08:50 -> D starts 03-10 00:00
    assert sev3.line("mttf").value == pytest.approx(
        ((13 * 86400 - (4 * 3600 + 35 * 60)) + (4 * 86400 + 15 * 3600 + 10 * 60)) / 2)
    assert sev3.line("mtta").never_acknowledged == 1
    assert groups["SEV-1"].line("mttf").value is None  # A is the only SEV-1 ever
    assert groups["SEV-1"].line("mttf").status == "no data"


def test_by_service(report) -> None:  # type: ignore[no-untyped-def]
    keys = [g.key for g in report.by_service]
    assert keys == ["payments", "(none)", "auth", "checkout", "search"]
    pay = report.by_service[0]
    assert pay.incidents == 3
    assert pay.line("mttr").value == (1800 + 3600) / 2
    # P1 resolved 02-10 10:40 -> A starts 03-02 09:57; A resolved 10:30 -> B starts 03-05 07:59;
    # B resolved 09:00 -> F (still open) starts 03-25 12:00
    assert pay.line("mttf").value == pytest.approx(
        (20 * 86400 - 43 * 60 + GAP_B + 20 * 86400 + 3 * 3600) / 3)
    auth = next(g for g in report.by_service if g.key == "auth")
    assert auth.line("mttr").trend.previous == 3600  # P2


def test_monthly_series_and_sparkline(report) -> None:  # type: ignore[no-untyped-def]
    assert [m.month for m in report.months] == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = report.months
    assert (jan.incidents, feb.incidents, mar.incidents) == (0, 2, 7)
    assert jan.means["mttd"] is None
    assert feb.means == {"mttd": 60, "mtta": 420, "mttr": 3000, "mttf": GAP_P2}
    assert mar.means["mttr"] == 2220
    assert mar.end == UNTIL
    mttd = report.line("mttd")
    assert [v.value for v in mttd.series] == [None, 60, pytest.approx(180)]
    assert mttd.sparkline == (60.0, 60.0, pytest.approx(180.0))  # the gap drawn flat
    assert report.line("incidents").sparkline == (0.0, 2.0, 7.0)


def test_period_bounds_include_since_and_exclude_until() -> None:
    at_since = inc("INC-1", "x", "SEV-3", SINCE, 0, 1, 2)
    at_until = inc("INC-2", "x", "SEV-3", UNTIL, 0, 1, 2)
    r = metrics_report([at_since, at_until], now=NOW, since=SINCE, until=UNTIL)
    assert r.incidents == 1
    assert r.line("mtta").value == 60


def test_filters() -> None:
    r = metrics_report(ALL, now=NOW, since=SINCE, until=UNTIL, service="Payments")
    assert r.incidents == 3 and r.service == "Payments"
    assert [g.key for g in r.by_service] == ["payments"]
    r = metrics_report(ALL, now=NOW, since=SINCE, until=UNTIL, severity="sev2")
    assert r.incidents == 2 and r.severity == "SEV-2"
    assert [g.key for g in r.by_severity] == ["SEV-2"]
    # MTTF over SEV-2 only: the gaps from P1 to B and from B to F (open)
    assert r.line("mttf").value == (23 * 86400 - (2 * 3600 + 41 * 60) + 20 * 86400 + 3 * 3600) / 2
    with pytest.raises(InvalidInput):
        metrics_report(ALL, now=NOW, severity="SEV-9")


def test_defaults_last_thirty_days_until_now() -> None:
    r = metrics_report(ALL, now=d(3, 26, 0))
    assert r.until == d(3, 26, 0)
    assert r.since == d(2, 24, 0)
    assert r.incidents == 6  # A..F
    assert len(r.months) == 12 and r.months[-1].month == "2026-03"


def test_no_history_before_the_period_means_no_comparison() -> None:
    r = metrics_report([A, B], now=NOW, since=SINCE, until=UNTIL)
    for m in r.lines:
        assert m.trend.direction == "none" and m.trend.text == ""
        assert m.trend.words == "no comparison"


def test_empty_history_reports_no_data() -> None:
    r = metrics_report([], now=NOW)
    assert r.incidents == 0
    assert r.line("mttr").status == "no data" and r.line("mttr").value_text == "-"
    assert r.line("incidents").value == 0 and r.line("incidents").status == "met"
    assert r.by_service == ()
    assert r.line("mttd").sparkline == ()


def test_negative_durations_count_as_zero() -> None:
    odd = IncidentTimes("INC-1", "SEV-3", "x", started_at=d(3, 2, 10), detected_at=d(3, 2, 10),
                        acknowledged_at=d(3, 2, 9), first_resolved_at=d(3, 2, 11))
    r = metrics_report([odd], now=NOW, since=SINCE, until=UNTIL)
    assert r.line("mtta").value == 0


def test_empty_period_is_refused() -> None:
    with pytest.raises(InvalidInput, match="period is empty"):
        metrics_report(ALL, now=NOW, since=UNTIL, until=SINCE)


def test_percentile_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(x) for x in range(1, 11)], 90) == 9.0  # not 10: exact rank 9
    assert percentile([float(x) for x in range(1, 12)], 90) == 10.0  # ceil(9.9) = 10
    assert percentile([float(x) for x in range(1, 11)], 50) == 5.0


def test_trend_edges() -> None:
    assert trend("incidents", 3, 0).text == "↑ new"
    assert trend("incidents", 0, 0).text == "→ 0%"
    assert trend("mttr", 100, 100).words == "unchanged"
    assert trend("mttr", None, 100).direction == "none"
    assert trend("mttr", 100.2, 100).text == "↑ <1%"
    up = trend("mttf", 200, 100)
    assert (up.arrow, up.good, up.text, up.words) == ("↑", True, "↑ 100%", "better")


def test_sparkline_values_fill_gaps_flat() -> None:
    assert sparkline_values([None, None]) == ()
    assert sparkline_values([None, 2, None, 5, None]) == (2.0, 2.0, 2.0, 5.0, 5.0)


def test_targets_are_configurable() -> None:
    t = MetricTargets(mttr="45m", mttf=timedelta(hours=100), incidents_per_month=20)
    assert t.mttr == timedelta(minutes=45)
    assert t.mtta == timedelta(minutes=5)  # default kept
    r = metrics_report(ALL, now=NOW, since=SINCE, until=UNTIL, targets=t)
    assert r.line("mttr").status == "met"  # 37 min < 45 min
    assert r.line("mttf").status == "met"  # 214 h > 100 h
    assert r.line("mttr").target_text == "< 45m"
    with pytest.raises(ValueError):
        MetricTargets(mttd="0s")
    with pytest.raises(ValueError):
        MetricTargets(mtta="soon")
    with pytest.raises(ValueError):
        MetricTargets(typo="5m")


def test_format_metric() -> None:
    assert format_metric("mttd", None) == "-"
    assert format_metric("mttd", 192) == "3m12s"
    assert format_metric("mttr", 2 * 3600 + 300) == "2h05m"
    assert format_metric("mttf", 892 * 3600) == "892h"
    assert format_metric("incidents", 7) == "7.0"


def test_json_is_plain_data(report) -> None:  # type: ignore[no-untyped-def]
    import json

    from warroom.cli.output import emit_json  # the CLI's serialiser (datetimes as ISO Z)

    class Sink:
        text = ""

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    sink = Sink()
    emit_json(report, sink)  # type: ignore[arg-type]
    data = json.loads(sink.text)
    assert data["period"] == {"since": "2026-03-01T00:00:00Z", "until": "2026-03-31T00:00:00Z",
                              "days": 30.0}
    assert data["metrics"]["mtta"]["value"] == 192
    assert data["metrics"]["mttf"]["trend"]["good"] is False
    assert data["by_service"]["payments"]["metrics"]["mttr"]["value"] == 2700
    assert data["months"][1] == {
        "month": "2026-02", "start": "2026-02-01T00:00:00Z", "end": "2026-03-01T00:00:00Z",
        "incidents": 2, "mttd": 60.0, "mtta": 420.0, "mttr": 3000.0, "mttf": float(GAP_P2)}
    assert data["metrics"]["incidents"]["sparkline"] == [0.0, 2.0, 7.0]


def test_docs_carry_the_definitions_verbatim() -> None:
    from pathlib import Path

    from warroom.domain.metrics.definitions import DEFINITIONS

    docs = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
    assert DEFINITIONS in docs.read_text(encoding="utf-8")


def test_mttf_counts_the_gap_ended_by_an_ongoing_incident() -> None:
    """Incidents at day 0, 10, 20 (each resolved within the hour) and day 25, still open: the
    failure-free time before the open one ended with a failure, so three gaps count."""
    start = d(3, 1, 0)
    incs = [inc(f"INC-{i + 1}", "x", "SEV-3", start + timedelta(days=day), 0, 5, 30 if i < 3
                else None) for i, day in enumerate((0, 10, 20, 25))]
    r = metrics_report(incs, now=d(3, 31, 0), since=start, until=d(3, 31, 0))
    m = r.line("mttf")
    gaps = [10 * 86400 - 1800, 10 * 86400 - 1800, 5 * 86400 - 1800]
    assert m.samples == 3
    assert m.value == pytest.approx(sum(gaps) / 3)


def test_mttf_an_incident_starting_during_an_unresolved_one_overlaps() -> None:
    start = d(3, 1, 0)
    first = inc("INC-1", "x", "SEV-3", start, 0, 5, 30)
    ongoing = inc("INC-2", "x", "SEV-3", start + timedelta(days=10), 0, 5, None)
    during = inc("INC-3", "x", "SEV-3", start + timedelta(days=12), 0, 5, 30)
    r = metrics_report([first, ongoing, during], now=d(3, 31, 0), since=start, until=d(3, 31, 0))
    m = r.line("mttf")
    assert (m.samples, m.overlapping) == (1, 1)  # only the gap first -> ongoing
    assert m.value == pytest.approx(10 * 86400 - 1800)
