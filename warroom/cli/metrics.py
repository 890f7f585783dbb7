"""`warroom metrics`: MTTD, MTTA, MTTR, MTTF and incidents per month, against their targets.

Reads the incidents' summary rows (never the events) and hands them to the pure
`warroom.domain.metrics.report.metrics_report`, the same call the dashboard's metrics pane makes.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from warroom.cli.context import Context
from warroom.cli.output import emit_json, line, safe, when

if TYPE_CHECKING:
    from datetime import datetime

    from warroom.domain.metrics.report import GroupMetrics, MetricLine, MetricsReport

async def metrics(ctx: Context) -> int:
    from datetime import timedelta

    from warroom.domain.common.errors import InvalidInput
    from warroom.domain.incident.severity import Severity
    from warroom.domain.metrics.report import DEFAULT_PERIOD, metrics_report

    a = ctx.args
    if ctx.json and a.csv:
        raise InvalidInput("choose one output: --json or --csv")
    now = ctx.now()
    since = ctx.time(a.since, "--since", lookup=True)
    until = ctx.time(a.until, "--until", lookup=True)
    until = until or now
    if since is None:
        since = until - DEFAULT_PERIOD
    if since >= until:
        raise InvalidInput(f"the period is empty: --since ({when(since)}) must be before "
                           f"--until ({when(until)})")
    if until - since > timedelta(days=366 * 100):
        raise InvalidInput("the period is longer than a century; check --since and --until")
    severity = Severity.parse(a.severity) if a.severity else None
    if a.oncall:
        return await oncall(ctx, since, until)
    async with await ctx.store(write=False) as store:
        rows = await store.summaries()
        drill = await store.room_mark("drill")
    report = metrics_report(rows, now=now, since=since, until=until, service=a.service,
                            severity=severity, targets=ctx.config.metrics)
    if ctx.json:
        if drill is not None:
            from warroom.domain.common.jsonable import to_json

            # The same report, said to be a drill's: a script must not add it to the record.
            emit_json({"drill": True, "drill_scenario": drill, **to_json(report)})
        else:
            emit_json(report)
    elif a.csv:
        if drill is not None:
            sys.stderr.write(f"warroom: DRILL FIGURES: {safe(ctx.db)} is a drill room "
                             f"({safe(drill)}); not the team's record\n")
        write_csv(report, sys.stdout)
    else:
        if drill is not None:
            line(drill_banner(drill))
        print_report(report)
    return 0


def drill_banner(scenario: str) -> str:
    """The first line of a drill room's figures: they are practice, never the record."""
    return (f"DRILL FIGURES: this room is a drill ({safe(scenario)}); its incidents are "
            "practice and count in no real metrics")


# ---- on-call load -------------------------------------------------------------------------------

ONCALL_COLUMNS = ("month", "person", "primary_hours", "secondary_hours", "pages",
                  "pages_delivered", "pages_after_hours", "pages_night", "incidents_handled")


async def oncall(ctx: Context, since: datetime, until: datetime) -> int:
    """The seed's burnout guard: who carried the pager, and how often it rang at night."""
    from warroom.domain.oncall.load import oncall_load

    config = ctx.config
    async with await ctx.store(write=False) as store:
        # Incidents that could hold a page in the period: detected before its end and not
        # resolved before its start. Their states carry the pages and the role holders.
        rows = [s for s in await store.summaries() if s.detected_at < until
                and (s.resolved_at is None or s.resolved_at >= since)]
        states = [await store.get(s.id) for s in rows]
        drill = await store.room_mark("drill")
    loads = oncall_load(config, states, since, until)
    if ctx.json:
        emit_json({"since": since, "until": until, "rows": loads}
                  | ({"drill": True, "drill_scenario": drill} if drill is not None else {}))
        return 0
    if drill is not None and not ctx.args.csv:
        line(drill_banner(drill))
    if ctx.args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(ONCALL_COLUMNS)
        for r in loads:
            w.writerow([r.month, _cell(r.person), f"{r.primary_hours:.2f}",
                        f"{r.secondary_hours:.2f}", r.pages, r.pages_delivered,
                        r.pages_after_hours, r.pages_night, r.incidents_handled])
        return 0
    line(f"On-call load, {when(since)} .. {when(until)}")
    line(f"{'month':<8} {'person':<12} {'primary h':>9} {'secondary h':>11} {'pages':>6} "
         f"{'after-hours':>11} {'night':>6} {'incidents':>9}")
    for r in loads:
        line(f"{r.month:<8} {safe(r.person):<12} {r.primary_hours:>9.1f} "
             f"{r.secondary_hours:>11.1f} {r.pages:>6} {r.pages_after_hours:>11} "
             f"{r.pages_night:>6} {r.incidents_handled:>9}")
    if not loads:
        line("nobody was on call or paged in this period (is a rotation configured?)")
    return 0


# ---- CSV ----------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "scope", "group", "since", "until", "metric", "value", "median", "p90", "samples", "open",
    "never_acknowledged", "overlapping", "target", "status", "previous", "change_pct", "trend",
)


def _cell(value: object) -> str:
    """A spreadsheet must never run a cell: formula-looking text gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = safe(value)
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def _csv_line(scope: str, group: str, since: str, until: str, m: MetricLine) -> list[str]:
    return [_cell(v) for v in (
        scope, group, since, until, m.key, m.value, m.median, m.p90, m.samples, m.open,
        m.never_acknowledged, m.overlapping, m.target, m.status, m.trend.previous,
        m.trend.change_pct, m.trend.words,
    )]


def write_csv(report: MetricsReport, out: TextIO) -> None:
    from warroom.domain.incident.events import iso

    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    since, until = iso(report.since), iso(report.until)
    scope = ";".join(f"{k}={v}" for k, v in (("service", report.service),
                                             ("severity", report.severity)) if v) or "all"
    for m in report.lines:
        w.writerow(_csv_line("period", scope, since, until, m))
    psince, puntil = iso(report.previous.since), iso(report.previous.until)
    for m in report.lines:
        prev = m.trend.previous
        w.writerow([_cell(v) for v in (
            "previous", scope, psince, puntil, m.key, prev, None, None, None, None, None, None,
            m.target, None, None, None, None,
        )])
    for scope, groups in (("severity", report.by_severity), ("service", report.by_service)):
        for g in groups:
            for m in g.lines:
                w.writerow(_csv_line(scope, g.key, since, until, m))
    for row in report.months:
        for m in report.lines:
            value = float(row.incidents) if m.key == "incidents" else row.means[m.key]
            w.writerow([_cell(v) for v in (
                "month", row.month, iso(row.start), iso(row.end), m.key, value, None, None,
                None, None, None, None, None, None, None, None, None,
            )])


# ---- text ---------------------------------------------------------------------------------------

SPARK = "▁▂▃▄▅▆▇█"


def spark_text(values: Sequence[float | None]) -> str:
    """A text sparkline; months without data are blank."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    return "".join(
        " " if v is None else SPARK[0] if hi == lo
        else SPARK[round((v - lo) / (hi - lo) * (len(SPARK) - 1))]
        for v in values
    )


def _trend_cell(m: MetricLine) -> str:
    if not m.trend.text:
        return "-"
    return f"{m.trend.text} {m.trend.words}"


def _open_cell(m: MetricLine) -> str:
    parts = []
    if m.open:
        parts.append(f"{m.open} open")
    if m.never_acknowledged:
        parts.append(f"{m.never_acknowledged} never acked")
    if m.overlapping:
        parts.append(f"{m.overlapping} overlapping")
    return ", ".join(parts)


def _table(rows: list[list[str]], out: TextIO | None = None) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), out)


def _days(report: MetricsReport) -> str:
    days = report.period.total_seconds() / 86400
    return f"{days:g} days" if days != 1 else "1 day"


def print_report(report: MetricsReport, out: TextIO | None = None) -> None:
    scope = []
    if report.service:
        scope.append(f"service {safe(report.service)}")
    if report.severity:
        scope.append(report.severity)
    line(f"Incident metrics, {when(report.since)} .. {when(report.until)} ({_days(report)})"
         + (f", {', '.join(scope)}" if scope else ""), out)
    line(f"trend against the previous {_days(report)}: {when(report.previous.since)} .. "
         f"{when(report.previous.until)}", out)
    line(f"{report.incidents} incidents detected; {report.unresolved} not resolved, "
         f"{report.unacknowledged} not acknowledged, {report.never_acknowledged} resolved "
         "without an acknowledgement", out)
    line("", out)
    months = report.months
    span = f"{months[0].month}..{months[-1].month}" if months else ""
    rows = [["metric", "value", "median", "p90", "target", "status", "trend", "n",
             "left out", f"per month {span}"]]
    for m in report.lines:
        rows.append([m.label, m.value_text, m.median_text, m.p90_text, m.target_text, m.status,
                     _trend_cell(m), str(m.samples), _open_cell(m),
                     spark_text([v.value for v in m.series])])
    _table(rows, out)
    _groups("by severity", report.by_severity, out)
    _groups("by service", report.by_service, out)
    line("", out)
    line("per calendar month (UTC, by month of detection)", out)
    rows = [["month", "incidents", "MTTD", "MTTA", "MTTR", "MTTF"]]
    from warroom.domain.metrics.report import format_metric

    for row in months:
        rows.append([row.month, str(row.incidents),
                     *(format_metric(k, row.means[k]) for k in ("mttd", "mtta", "mttr", "mttf"))])
    _table(rows, out)


def _groups(title: str, groups: tuple[GroupMetrics, ...], out: TextIO | None) -> None:
    if not groups:
        return
    line("", out)
    line(f"{title} (! misses its target)", out)
    rows = [[title.split()[-1], "incidents", "MTTD", "MTTA", "MTTR", "MTTF", "unresolved"]]
    for g in groups:
        rows.append([safe(g.key), str(g.incidents),
                     *(_group_cell(g.line(k)) for k in ("mttd", "mtta", "mttr", "mttf")),
                     str(g.unresolved)])
    _table(rows, out)


def _group_cell(m: MetricLine) -> str:
    if m.value is None:
        return "-"
    mark = "" if m.met else " !"
    return f"{m.value_text}{mark}"
