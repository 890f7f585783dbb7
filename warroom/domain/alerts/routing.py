"""From an alert to an incident: which service, how severe, when detected, and who hears of it.

Pure (config, notification and `now` in). The decision tree is the seed's:

    auto-remediation configured? -> run it once per alert; fixed within its window -> closed as
                                    auto-remediated, nobody paged; else go on below
    critical service?            -> page the on-call at once
    business hours (team zone)?  -> notify the team; page if nobody acknowledges in time
    can the alert wait?          -> queue until the next business morning, then page
    otherwise                    -> page the on-call at once

Every step taken is returned as a line of text with its reason, for the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from warroom.domain.alerts.formats import AlertItem, Notification
from warroom.domain.common.jsonable import UtcTime
from warroom.domain.common.timefmt import format_duration
from warroom.domain.config.model import Config, Remediation, Service, Team
from warroom.domain.incident.events import iso
from warroom.domain.incident.severity import Severity

MAX_TITLE = 200
MAX_SUMMARY = 4000
TRUE_WORDS = frozenset({"true", "yes", "1", "y", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "off"})


@dataclass(frozen=True)
class Mapping:
    """How a notification was mapped, kept with its payload on the timeline."""

    service: str | None
    service_reason: str
    severity: Severity
    severity_reason: str
    title: str
    summary: str | None
    started_at: UtcTime
    detected_at: UtcTime
    detected_reason: str
    # What the mapping read; not kept with it (the payload on the timeline has them).
    labels: Annotated[dict[str, str], Field(exclude=True)] = field(default_factory=dict)
    # Times the sender gave outside the room's window ([times]), each replaced by the time
    # the notification arrived: one line each, for the timeline (kept only when there are).
    time_notes: Annotated[tuple[str, ...], Field(exclude_if=lambda notes: not notes)] = ()


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split()) if limit <= MAX_TITLE else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def labels_of(n: Notification) -> dict[str, str]:
    """The labels the mapping reads: the group's common labels, then the first alert's."""
    merged = dict(n.alerts[0].labels) if n.alerts else {}
    merged.update(n.common_labels)
    return merged


def map_service(config: Config, labels: dict[str, str]) -> tuple[str | None, str]:
    settings = config.alerts
    for name in settings.service_labels:
        value = labels.get(name)
        if value:
            if value in config.services or not settings.default_service:
                return value, f"label {name}={value!r}"
            return settings.default_service, (
                f"label {name}={value!r} is not a configured service: default_service "
                f"{settings.default_service!r}")
    wanted = ", ".join(settings.service_labels) or "(none configured)"
    if settings.default_service:
        return settings.default_service, (f"no service label ({wanted}): default_service "
                                          f"{settings.default_service!r}")
    return None, f"no service label ({wanted}) and no default_service"


def map_severity(config: Config, service: str | None, labels: dict[str, str]
                 ) -> tuple[Severity, str]:
    settings = config.alerts
    svc = config.service(service)
    word = next(((n, labels[n]) for n in settings.severity_labels if labels.get(n)), None)
    if word is None:
        return settings.default_severity, (f"no severity label "
                                           f"({', '.join(settings.severity_labels)}): "
                                           f"default_severity")
    name, value = word
    key = value.strip().lower()
    tables: list[tuple[str, dict[str, Severity]]] = []
    if svc is not None:
        tables.append((f"services.{service}.alerts.severity", svc.alerts.severity))
        if svc.critical:
            tables.append(("alerts.critical_service_severity",
                           settings.critical_service_severity))
    tables.append(("alerts.severity", settings.severity))
    for where, table in tables:
        lowered = {k.lower(): v for k, v in table.items()}
        if key in lowered:
            sev = lowered[key]
            return sev, f"label {name}={value!r} -> {sev.value} ({where})"
    if key.upper().replace("_", "-").startswith("SEV"):
        try:
            sev = Severity.parse(value)
            return sev, f"label {name}={value!r}"
        except ValueError:
            pass
    return settings.default_severity, (f"label {name}={value!r} is not in the mapping: "
                                       f"default_severity")


def most_severe(config: Config, service: str | None, alerts: tuple[AlertItem, ...],
                common: dict[str, str]) -> tuple[Severity, str]:
    """The group's severity: the most severe of its firing alerts (all alerts if none fires)."""
    pool = [a for a in alerts if a.firing] or list(alerts)
    best: tuple[Severity, str] | None = None
    for a in pool[:500]:
        labels = {**common, **a.labels}
        sev, why = map_severity(config, service, labels)
        if best is None or sev.rank < best[0].rank:
            best = (sev, why)
    return best or map_severity(config, service, common)


MAX_TIME_NOTES = 5


def sane_start_times(config: Config, n: Notification, now: datetime
                     ) -> tuple[list[datetime], tuple[str, ...]]:
    """The firing alerts' start times, each outside the room's window ([times]: a sender's
    broken clock, a typo, year 9999) replaced by `now`, the time the notification arrived;
    and one note per time replaced (end times included), for the timeline."""
    window = config.times.window()
    starts: list[datetime] = []
    notes: list[str] = []
    for i, a in enumerate(n.alerts):
        for name, value in (("startsAt", a.starts_at), ("endsAt", a.ends_at)):
            if value is None or window.contains(value, now):
                continue
            where = "payload.timestamp" if n.format == "pagerduty" else f"alerts[{i}].{name}"
            notes.append(f"{where} {iso(value)} is outside the room's times "
                         f"({window.describe(now)}): replaced by the time it arrived")
        if a.firing and a.starts_at is not None:
            starts.append(a.starts_at if window.contains(a.starts_at, now) else now)
    if len(notes) > MAX_TIME_NOTES:
        notes[MAX_TIME_NOTES:] = [f"and {len(notes) - MAX_TIME_NOTES} more times like these"]
    return starts, tuple(notes)


def map_notification(config: Config, n: Notification, now: datetime) -> Mapping:
    labels = labels_of(n)
    service, service_reason = map_service(config, labels)
    severity, severity_reason = most_severe(config, service, n.alerts, n.common_labels)
    starts, time_notes = sane_start_times(config, n, now)
    lag = config.alerts.max_detection_lag
    if not starts:
        started = detected = now
        detected_reason = "no start time in the alert: detected when it arrived"
    else:
        first = min(starts)
        if first > now:
            started = detected = now
            detected_reason = (f"the alert's start {iso(first)} is in the future (sender's "
                               "clock): detected when it arrived")
        elif first < now - lag:
            started, detected = first, now - lag
            detected_reason = (f"the alert started {format_duration(now - first)} before it "
                               f"arrived: detection clamped to {format_duration(lag)} before "
                               "arrival (alerts.max_detection_lag); impact start kept")
        elif first == now and time_notes:
            started = detected = now
            detected_reason = "the alert's start time was outside the room's times: " \
                              "detected when it arrived"
        else:
            started = detected = first
            detected_reason = "the alert's start time"
    summary = n.description.strip() if n.description and n.description.strip() else None
    return Mapping(
        service=service, service_reason=service_reason, severity=severity,
        severity_reason=severity_reason, title=_clip(n.title or "alert", MAX_TITLE) or "alert",
        summary=_clip(summary, MAX_SUMMARY) if summary else None, started_at=started,
        detected_at=detected, detected_reason=detected_reason, labels=labels,
        time_notes=time_notes,
    )


# ---- the decision tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """What the receiver does for a new incident, and why."""

    route: str  # page | notify | queue | remediate
    steps: list[str]  # one line per decision, with its reason
    hold_until: datetime | None = None  # the ladder waits until then
    hold_cause: str | None = None
    hold_reason: str | None = None
    remediation: Remediation | None = None
    remediation_until: datetime | None = None
    # If the remediation fails: the hold that the rest of the tree asked for (None: page now).
    fallback_hold: datetime | None = None
    fallback_reason: str | None = None
    fallback_cause: str | None = None


def can_wait(config: Config, service: Service | None, labels: dict[str, str]
             ) -> tuple[bool, str]:
    name = config.alerts.can_wait_label
    value = labels.get(name, "").strip().lower() if name else ""
    if value in TRUE_WORDS:
        return True, f"label {name}={labels[name]!r}"
    if value in FALSE_WORDS:
        return False, f"label {name}={labels[name]!r}"
    if service is not None and service.alerts.can_wait:
        return True, "the service's alerts.can_wait"
    return False, f"no {name} label and the service's alerts.can_wait is off"


def next_business_start(team: Team, now: datetime) -> datetime:
    """The next start of business hours strictly after `now`, in the team's zone."""
    tz = team.tz
    local = now.astimezone(tz)
    bh = team.business_hours
    for days in range(0, 15):
        day = (local + timedelta(days=days)).date()
        if day.weekday() not in bh.days:
            continue
        start = datetime.combine(day, bh.start, tzinfo=tz)
        if start > now:
            return start
    return now  # no business day configured at all: do not hold


def _local(at: datetime, team: Team) -> str:
    return f"{at.astimezone(team.tz):%a %H:%M} {team.timezone}"


def decide_route(config: Config, service_name: str | None, severity: Severity,
                 labels: dict[str, str], now: datetime) -> Route:
    svc = config.service(service_name)
    shown = service_name or "(no service)"
    rem = svc.alerts.remediation if svc is not None else None
    at = now + rem.window if rem is not None else now
    prefix = f"if not fixed by {at:%H:%MZ}: " if rem is not None else ""
    route, steps, hold, cause, why = _tree(config, svc, shown, severity, labels, at)
    steps = [prefix + s for s in steps]
    if rem is None:
        return Route(route, steps, hold, cause if hold else None, why if hold else None)
    cmd = " ".join(rem.command)
    first = (f"auto-remediation configured for {shown}: running {cmd!r} once per alert; pages "
             f"held until {at:%H:%MZ} (window {format_duration(rem.window)}); resolved by then "
             "-> closed as auto-remediated, nobody paged")
    until = max(at, hold) if hold else at
    return Route("remediate", [first, *steps], until, "remediation",
                 f"auto-remediation window ({format_duration(rem.window)})", rem, at,
                 hold, why if hold else None, cause if hold else None)


def _tree(config: Config, svc: Service | None, shown: str, severity: Severity,
          labels: dict[str, str], at: datetime
          ) -> tuple[str, list[str], datetime | None, str, str]:
    if svc is not None and svc.critical:
        return "page", [f"{shown} is a critical service: page the on-call at once"], None, "", ""
    team_name, team = config.team_for(svc and shown)
    if team is None:
        why = ("it has no team" if svc is not None else "it is not a configured service")
        return "page", [f"{shown} is not critical but {why} (business hours unknown): page "
                        "the on-call at once"], None, "", ""
    when = _local(at, team)
    if team.in_business_hours(at):
        window = (svc.alerts.notify_window if svc and svc.alerts.notify_window is not None
                  else severity.info.response_time)
        until = at + window
        return "notify", [
            f"{shown} is not critical and it is business hours for team {team_name} ({when}): "
            f"team {team_name} notified; the on-call is paged if nobody acknowledges by "
            f"{until:%H:%MZ} ({format_duration(window)})"], until, "notify", (
            f"team {team_name} notified in business hours")
    wait, wait_why = can_wait(config, svc, labels)
    if wait:
        morning = next_business_start(team, at)
        return "queue", [
            f"{shown} is not critical, outside business hours for team {team_name} ({when}) "
            f"and the alert can wait ({wait_why}): queued until the next business morning, "
            f"{_local(morning, team)} ({morning:%Y-%m-%d %H:%MZ}), then the on-call is paged"
        ], morning, "queued", f"queued until business hours ({team_name})"
    return "page", [
        f"{shown} is not critical and outside business hours for team {team_name} ({when}), "
        f"but the alert cannot wait ({wait_why}): page the on-call at once"], None, "", ""
