"""Incident metrics over the history: MTTD, MTTA, MTTR, MTTF and incidents per month.

Pure: the incidents and the current time are passed in. The input is anything with the seven
attributes of `IncidentTimesLike` (the store's IncidentSummary rows have them, straight from SQL),
so metrics never fold events and this module never imports the store.

`metrics_report` is the one call behind both `warroom metrics` and the dashboard's metrics pane.
The definitions it implements are worded once, in metric_definitions.DEFINITIONS, which
`warroom metrics --help` prints and docs/metrics.md repeats (a test keeps them equal).
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Annotated, NamedTuple, Protocol

from pydantic import Field, PlainSerializer, computed_field

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.jsonable import UtcTime
from warroom.domain.common.timefmt import format_duration
from warroom.domain.incident.severity import Severity
from warroom.domain.metrics.definitions import DEFINITIONS as DEFINITIONS
from warroom.domain.metrics.targets import MetricTargets as MetricTargets

# "A month" for the incidents-per-month rate of a period: 30 days, the same 720 h the MTTF
# target uses. Calendar months (UTC) are used only for the per-month series.
RATE_MONTH = timedelta(days=30)
DEFAULT_PERIOD = timedelta(days=30)
SERIES_MONTHS = 12
NO_SERVICE = "(none)"  # the by-service key of incidents declared without a service


class IncidentTimesLike(Protocol):
    """What metrics read of an incident (IncidentSummary has these attributes)."""

    @property
    def id(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def service(self) -> str | None: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def detected_at(self) -> datetime: ...

    @property
    def acknowledged_at(self) -> datetime | None: ...

    @property
    def first_resolved_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class IncidentTimes:
    """A ready-made IncidentTimesLike, for tests and callers without a store."""

    id: str
    severity: str
    service: str | None
    started_at: datetime
    detected_at: datetime
    acknowledged_at: datetime | None = None
    first_resolved_at: datetime | None = None


# ---- targets (warroom/domain/metrics/targets.py) ------------------------------------------------


DEFAULT_TARGETS = MetricTargets()


@dataclass(frozen=True, slots=True)
class MetricInfo:
    key: str
    label: str
    meaning: str
    lower_is_better: bool
    unit: str  # "seconds" or "incidents per 30 days"


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("mttd", "MTTD", "time to detect", True, "seconds"),
    MetricInfo("mtta", "MTTA", "time to acknowledge", True, "seconds"),
    MetricInfo("mttr", "MTTR", "time to resolve", True, "seconds"),
    MetricInfo("mttf", "MTTF", "time between failures", False, "seconds"),
    MetricInfo("incidents", "Incidents/month", "incidents per month", True,
               "incidents per 30 days"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
DURATION_KEYS = ("mttd", "mtta", "mttr", "mttf")


# ---- results -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """The change against the previous period of the same length."""

    previous: float | None  # the previous period's value (None: no data then)
    change_pct: float | None  # None when there is nothing to divide by
    direction: str  # "up", "down", "flat" or "none" (nothing to compare)
    arrow: str  # ↑ ↓ → or "" for none
    good: bool | None  # is this direction good for this metric? None when flat or none
    words: str  # "better", "worse", "unchanged" or "no comparison"
    text: str  # "↓ 15%", "↑ new", "→ 0%" or ""


@dataclass(frozen=True, slots=True)
class MonthValue:
    month: str  # "2026-03" (UTC calendar month)
    value: float | None  # the month's mean (seconds), or its incident count


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One metric over one set of incidents: everything a row of the metrics pane shows."""

    key: Annotated[str, Field(exclude=True)]  # mttd, mtta, mttr, mttf, incidents (the JSON key)
    label: str  # MTTD ... Incidents/month
    unit: str
    value: float | None  # the mean in seconds, or incidents per 30 days; None: no data
    median: float | None
    p90: float | None
    samples: int  # incidents (or gaps, for MTTF) in the mean
    open: int  # left out because not yet acknowledged / resolved
    never_acknowledged: int  # MTTA only: resolved without an acknowledgement
    overlapping: int  # MTTF only: started while an earlier incident was unresolved
    target: float  # seconds, or incidents a month
    target_text: str  # "< 5m", "> 720h", "< 10"
    met: bool | None  # None: no data
    status: str  # "met", "not met" or "no data"
    value_text: str
    median_text: str
    p90_text: str
    trend: Trend
    # Per calendar month, oldest first, and the values with gaps drawn flat: the headline
    # lines only (absent from the JSON of the others).
    series: Annotated[tuple[MonthValue, ...], Field(exclude_if=lambda v: not v)] = ()
    sparkline: Annotated[tuple[float, ...], Field(exclude_if=lambda v: not v)] = ()


def _by_key(lines: tuple[MetricLine, ...]) -> dict[str, MetricLine]:
    return {m.key: m for m in lines}


# In the JSON, metric lines are an object keyed by metric: {"mttd": {...}, "mtta": ...}.
MetricLines = Annotated[tuple[MetricLine, ...],
                        PlainSerializer(_by_key, return_type=dict[str, MetricLine])]


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    """The metrics of one severity or one service over the period."""

    # "SEV-1", "payments", or "(none)" for incidents without a service (the JSON key)
    key: Annotated[str, Field(exclude=True)]
    incidents: int
    unresolved: int
    lines: Annotated[MetricLines, Field(serialization_alias="metrics")]

    def line(self, key: str) -> MetricLine:
        return next(m for m in self.lines if m.key == key)


def _groups_by_key(groups: tuple[GroupMetrics, ...]) -> dict[str, GroupMetrics]:
    return {g.key: g for g in groups}


Groups = Annotated[tuple[GroupMetrics, ...],
                   PlainSerializer(_groups_by_key, return_type=dict[str, GroupMetrics])]


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str  # "2026-03"
    start: UtcTime
    end: UtcTime  # exclusive; the last month stops at the period's end
    incidents: int
    # The month's mean seconds of each duration metric.
    mttd: float | None
    mtta: float | None
    mttr: float | None
    mttf: float | None

    @property
    def means(self) -> dict[str, float | None]:
        return {"mttd": self.mttd, "mtta": self.mtta, "mttr": self.mttr, "mttf": self.mttf}


@dataclass(frozen=True, slots=True)
class Span:
    since: UtcTime
    until: UtcTime  # exclusive


@dataclass(frozen=True, slots=True)
class Period(Span):
    @computed_field  # type: ignore[prop-decorator]
    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class Filters:
    service: str | None
    severity: str | None


def _target_numbers(targets: MetricTargets) -> dict[str, float]:
    return {m.key: targets.seconds(m.key) for m in METRICS}


@dataclass(frozen=True, slots=True)
class MetricsReport:
    """Everything `warroom metrics` prints and the dashboard's metrics pane shows."""

    now: UtcTime
    window: Annotated[Period, Field(serialization_alias="period")]
    previous: Span  # the period of the same length just before, for the trend
    filters: Filters
    # In the JSON: each metric's target as a number (seconds, or incidents a month).
    targets: Annotated[MetricTargets, PlainSerializer(_target_numbers,
                                                      return_type=dict[str, float])]
    incidents: int  # detected in the period
    unresolved: int  # of those, not yet resolved
    unacknowledged: int  # of those, neither acknowledged nor resolved
    never_acknowledged: int  # of those, resolved without an acknowledgement
    lines: Annotated[MetricLines, Field(serialization_alias="metrics")]  # MTTD ... incidents
    by_severity: Groups
    by_service: Groups
    months: tuple[MonthRow, ...]

    def line(self, key: str) -> MetricLine:
        return next(m for m in self.lines if m.key == key)

    @property
    def since(self) -> datetime:
        return self.window.since

    @property
    def until(self) -> datetime:
        return self.window.until

    @property
    def period(self) -> timedelta:
        return self.until - self.since

    @property
    def service(self) -> str | None:
        return self.filters.service

    @property
    def severity(self) -> str | None:
        return self.filters.severity


# ---- arithmetic --------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: int) -> float | None:
    """Nearest rank: the ceil(p/100 * n)-th smallest value, always one that was observed."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, -(-p * n // 100))  # integer ceil: no float surprise at 0.9 * 10
    return sorted_values[rank - 1]


def _summary(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    values.sort()
    return math.fsum(values) / len(values), statistics.median(values), percentile(values, 90)


def _ts(dt: datetime) -> float:
    if dt.tzinfo is None:
        raise ValueError("metrics need time-zone aware datetimes")
    return dt.timestamp()


class _Rec(NamedTuple):
    """An incident as floats (epoch seconds): the arithmetic below runs over 10,000 of them,
    so this is a plain tuple, built once and sorted once."""

    start: float
    detect: float
    number: int
    id: str
    severity: str
    service: str | None
    ack: float | None
    res: float | None


_START_ORDER = itemgetter(0, 1, 2, 3)  # start, detect, number, id: never reaches a None
_DETECT_ORDER = itemgetter(1, 2, 3)


def _records(incidents: Iterable[IncidentTimesLike]) -> list[_Rec]:
    """The incidents in start order."""
    recs = []
    for i in incidents:
        detected = i.detected_at
        if detected.tzinfo is None:
            raise ValueError("metrics need time-zone aware datetimes")
        detect = detected.timestamp()
        start = i.started_at.timestamp()
        tail = i.id.rpartition("-")[2]
        ack, res = i.acknowledged_at, i.first_resolved_at
        recs.append(_Rec(
            start if start < detect else detect,
            detect,
            int(tail) if tail.isdigit() else 0,
            i.id,
            str(i.severity),
            i.service,
            ack.timestamp() if ack is not None else None,
            res.timestamp() if res is not None else None,
        ))
    recs.sort(key=_START_ORDER)
    return recs


def _failure_gaps(by_start: list[_Rec]) -> tuple[dict[str, float], set[str]]:
    """Each incident's MTTF sample: its start minus the latest earlier resolution.

    An incident still open ended a failure-free stretch as surely as a resolved one: its gap
    counts. Overlapping incidents (starting before the latest resolution so far, or while an
    earlier incident is still unresolved) are one failure seen twice: they add no sample.
    Returns the samples by incident id, and the ids of the overlapping incidents.
    """
    gaps: dict[str, float] = {}
    overlapping: set[str] = set()
    up_since: float | None = None  # the latest resolution so far; inf: a failure still open
    for r in by_start:
        end = math.inf if r.res is None else r.res
        if up_since is None:
            up_since = end
            continue
        if r.start > up_since:
            gaps[r.id] = r.start - up_since
        else:
            overlapping.add(r.id)
        if end > up_since:
            up_since = end
    return gaps, overlapping


@dataclass(slots=True)
class _Stats:
    """The raw numbers of every metric over one window."""

    count: int
    values: dict[str, tuple[float | None, float | None, float | None]]
    samples: dict[str, int]
    open: dict[str, int]
    never_acknowledged: int
    overlapping: int
    unresolved: int
    unacknowledged: int

    def value(self, key: str) -> float | None:
        return self.values[key][0]


class _Group:
    """One set of incidents (all, one severity, one service): sorted by detection, with the
    MTTF samples of that set (a service's MTTF is the time between that service's failures)."""

    def __init__(self, by_start: list[_Rec], by_detect: list[_Rec]) -> None:
        self.gaps, self.overlapping = _failure_gaps(by_start)
        self.recs = by_detect
        self.detects = [r.detect for r in by_detect]

    def window(self, a: float, b: float) -> list[_Rec]:
        """Incidents detected in [a, b)."""
        return self.recs[bisect_left(self.detects, a):bisect_left(self.detects, b)]

    def stats(self, a: float, b: float) -> _Stats:
        d, ack, r, f = [], [], [], []
        unacked = never = unresolved = overlapping = 0
        for x in self.window(a, b):
            d.append(max(0.0, x.detect - x.start))
            if x.ack is not None:
                ack.append(max(0.0, x.ack - x.detect))
            elif x.res is None:
                unacked += 1
            else:
                never += 1
            gap = self.gaps.get(x.id)
            if gap is not None:
                f.append(gap)
            elif x.id in self.overlapping:
                overlapping += 1
            if x.res is None:
                unresolved += 1
                continue
            r.append(max(0.0, x.res - x.detect))
        count = len(d)
        rate = count * RATE_MONTH.total_seconds() / (b - a) if b > a else None
        return _Stats(
            count=count,
            values={
                "mttd": _summary(d), "mtta": _summary(ack), "mttr": _summary(r),
                "mttf": _summary(f), "incidents": (rate, None, None),
            },
            samples={"mttd": len(d), "mtta": len(ack), "mttr": len(r), "mttf": len(f),
                     "incidents": count},
            open={"mttd": 0, "mtta": unacked, "mttr": unresolved, "mttf": 0,
                  "incidents": 0},
            never_acknowledged=never,
            overlapping=overlapping,
            unresolved=unresolved,
            unacknowledged=unacked,
        )


# ---- words -------------------------------------------------------------------------------------


def format_metric(key: str, value: float | None) -> str:
    """How a metric's value reads on the dashboard: 3m12s, 1h05m, 892h, 7.0."""
    if value is None:
        return "-"
    if key == "incidents":
        return f"{value:.1f}"
    if key == "mttf" and value >= 3600:
        return f"{value / 3600:.0f}h"
    return format_duration(timedelta(seconds=value), precise=value < 3600)


def target_text(key: str, targets: MetricTargets) -> str:
    target = targets.seconds(key)
    if key == "incidents":
        return f"< {target:g}"
    if key == "mttf" and target >= 3600:
        text = format_metric(key, target)
    else:  # a round target reads as one: "< 5m", not "< 5m00s"
        text = format_duration(timedelta(seconds=target))
    return ("< " if METRIC_BY_KEY[key].lower_is_better else "> ") + text


def _met(key: str, value: float | None, target: float) -> tuple[bool | None, str]:
    if value is None:
        return None, "no data"
    met = value < target if METRIC_BY_KEY[key].lower_is_better else value > target
    return met, "met" if met else "not met"


def trend(key: str, current: float | None, previous: float | None) -> Trend:
    """Arrow and percentage of the change, and whether it is good news for this metric."""
    if current is None or previous is None:
        return Trend(previous, None, "none", "", None, "no comparison", "")
    if current == previous:
        return Trend(previous, 0.0, "flat", "→", None, "unchanged", "→ 0%")
    up = current > previous
    arrow = "↑" if up else "↓"
    good = (not up) if METRIC_BY_KEY[key].lower_is_better else up
    words = "better" if good else "worse"
    if previous == 0:
        return Trend(previous, None, "up" if up else "down", arrow, good, words, f"{arrow} new")
    pct = (current - previous) / previous * 100
    shown = f"{abs(pct):.0f}%" if abs(pct) >= 1 else "<1%"
    return Trend(previous, pct, "up" if up else "down", arrow, good, words, f"{arrow} {shown}")


def _line(key: str, now: _Stats, before: _Stats | None, targets: MetricTargets,
          series: tuple[MonthValue, ...] = ()) -> MetricLine:
    info = METRIC_BY_KEY[key]
    mean, median, p90 = now.values[key]
    target = targets.seconds(key)
    met, status = _met(key, mean, target)
    return MetricLine(
        key=key,
        label=info.label,
        unit=info.unit,
        value=mean,
        median=median,
        p90=p90,
        samples=now.samples[key],
        open=now.open[key],
        never_acknowledged=now.never_acknowledged if key == "mtta" else 0,
        overlapping=now.overlapping if key == "mttf" else 0,
        target=target,
        target_text=target_text(key, targets),
        met=met,
        status=status,
        value_text=format_metric(key, mean),
        median_text=format_metric(key, median),
        p90_text=format_metric(key, p90),
        trend=trend(key, mean, before.value(key) if before is not None else None),
        series=series,
        sparkline=sparkline_values([m.value for m in series]),
    )


def sparkline_values(values: Sequence[float | None]) -> tuple[float, ...]:
    """Months without data drawn flat: the last known value carries on (the first known one
    fills the start), so a quiet month is neither a dip nor a spike. Empty if nothing is known.
    """
    known = [v for v in values if v is not None]
    if not known:
        return ()
    last = known[0]
    out = []
    for v in values:
        if v is not None:
            last = v
        out.append(float(last))
    return tuple(out)


# ---- months ------------------------------------------------------------------------------------


def month_start(dt: datetime) -> datetime:
    d = dt.astimezone(UTC)
    return datetime(d.year, d.month, 1, tzinfo=UTC)


def _next_month(dt: datetime) -> datetime:
    return datetime(dt.year + dt.month // 12, dt.month % 12 + 1, 1, tzinfo=UTC)


def _months_ending(until: datetime, count: int) -> list[datetime]:
    """Starts of the `count` calendar months up to the one holding the instant before `until`."""
    last = month_start(until - timedelta(microseconds=1))
    starts = [last]
    for _ in range(count - 1):
        prev = starts[-1] - timedelta(days=1)
        starts.append(datetime(prev.year, prev.month, 1, tzinfo=UTC))
    starts.reverse()
    return starts


# ---- the report --------------------------------------------------------------------------------


def _matches(r: _Rec, service: str | None, severity: str | None) -> bool:
    if severity is not None and r.severity != severity:
        return False
    return service is None or (r.service or "").casefold() == service.casefold()


def _group_metrics(key: str, group: _Group, a: float, b: float, pa: float,
                   targets: MetricTargets, compare: bool) -> GroupMetrics:
    now, before = group.stats(a, b), group.stats(pa, a) if compare else None
    return GroupMetrics(
        key=key,
        incidents=now.count,
        unresolved=now.unresolved,
        lines=tuple(_line(m.key, now, before, targets) for m in METRICS),
    )


def _severity_order(key: str) -> tuple[int, str]:
    try:
        return Severity(key).rank, key
    except ValueError:
        return 99, key


def metrics_report(
    incidents: Iterable[IncidentTimesLike],
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    service: str | None = None,
    severity: Severity | str | None = None,
    targets: MetricTargets | None = None,
    months: int = SERIES_MONTHS,
) -> MetricsReport:
    """The metrics of the incidents detected in [since, until), against the period before.

    until defaults to now and since to 30 days before until. The whole history is passed in
    (not just the period): MTTF needs the incidents before the period, the trend the previous
    period and the sparkline the last `months` calendar months.
    """
    targets = targets or DEFAULT_TARGETS
    until = until or now
    since = since or until - DEFAULT_PERIOD
    if since.tzinfo is None or until.tzinfo is None or now.tzinfo is None:
        raise ValueError("metrics need time-zone aware datetimes")
    if since >= until:
        raise InvalidInput("the period is empty: --since must be before --until")
    if months < 1:
        raise InvalidInput("the per-month series needs at least one month")
    sev = Severity.parse(str(severity)).value if severity is not None else None
    svc = service.strip() if service and service.strip() else None
    length = until - since
    previous_since = since - length
    a, b, pa = _ts(since), _ts(until), _ts(previous_since)

    everything = _records(incidents)
    # A room whose history starts inside the period has nothing to compare with: "0 incidents
    # before" would read as a 100% rise.
    compare = any(r.detect < a for r in everything)
    by_start = [r for r in everything if _matches(r, svc, sev)]
    by_detect = sorted(by_start, key=_DETECT_ORDER)
    group = _Group(by_start, by_detect)
    current, before = group.stats(a, b), group.stats(pa, a) if compare else None

    month_rows: list[MonthRow] = []
    month_stats: list[_Stats] = []
    for start in _months_ending(until, months):
        end = min(_next_month(start), until)
        st = group.stats(_ts(start), _ts(end))
        month_stats.append(st)
        month_rows.append(MonthRow(
            month=start.strftime("%Y-%m"), start=start, end=end, incidents=st.count,
            **{k: st.value(k) for k in DURATION_KEYS},
        ))

    lines = []
    for m in METRICS:
        series = tuple(
            MonthValue(row.month, float(st.count) if m.key == "incidents" else st.value(m.key))
            for row, st in zip(month_rows, month_stats, strict=True)
        )
        lines.append(_line(m.key, current, before, targets, series))

    # Split both orders by severity and by service once; each part keeps its order.
    severity_keys = [x.value for x in Severity] if sev is None else [sev]
    parts: dict[tuple[str, str], tuple[list[_Rec], list[_Rec]]] = {
        ("severity", k): ([], []) for k in severity_keys}
    for index, ordered in enumerate((by_start, by_detect)):
        for r in ordered:
            parts.setdefault(("severity", r.severity), ([], []))[index].append(r)
            parts.setdefault(("service", r.service or NO_SERVICE), ([], []))[index].append(r)
    # Services with no incident in this period or the previous one would be rows of dashes.
    seen_services = {r.service or NO_SERVICE for r in group.window(pa, b)}
    severity_groups = tuple(
        _group_metrics(k, _Group(*parts[("severity", k)]), a, b, pa, targets, compare)
        for k in sorted((k for scope, k in parts if scope == "severity"), key=_severity_order)
    )
    service_groups = [
        _group_metrics(k, _Group(*parts[("service", k)]), a, b, pa, targets, compare)
        for scope, k in parts if scope == "service" and k in seen_services
    ]
    service_groups.sort(key=lambda g: (-g.incidents, g.key))

    return MetricsReport(
        now=now,
        window=Period(since, until),
        previous=Span(previous_since, since),
        filters=Filters(svc, sev),
        targets=targets,
        incidents=current.count,
        unresolved=current.unresolved,
        unacknowledged=current.unacknowledged,
        never_acknowledged=current.never_acknowledged,
        lines=tuple(lines),
        by_severity=severity_groups,
        by_service=tuple(service_groups),
        months=tuple(month_rows),
    )
