#!/usr/bin/env python3
"""Write the demo room's incident history, the same bytes on every run.

    python sample_data/generate_history.py            # (re)write sample_data/history.jsonl
    python sample_data/generate_history.py --check    # exit 1 if the committed file differs

One event per line, in the store's event shape: {"incident_id", "version", "event_id", "kind",
"actor", "at", "data"}. Incidents are numbered in detection order, so importing the file into an
empty room in order (warroom.store.importer.import_history) gives back the same incident ids.

Deterministic: one seeded RNG drawn in a fixed order, and a fixed anchor instead of the clock.
Every event is made by the domain's commands (validated against the incident's state as it
stands) except escalations and alerts, whose commands live in other modules: those bodies are
built directly and still validated by the fold.

The shape of the year: the six demo services at their own base rates, busier on weekdays and in
office hours, bad weeks after deploys, a Christmas change freeze and a quiet August, a team that
gets a little better over the year (fewer incidents, faster acknowledgements and fixes),
occasional SEV-1s, after-hours and weekend pages with slower acks, escalations to the rotation's
secondary and the team lead after 5 minutes and further after 10 and 15, a few incidents resolved
without ever being acknowledged, low-severity night alerts on non-critical services queued for the
morning, fixes that fail, reopened incidents, and the last incidents still open at the anchor.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from warroom.domain.incident import commands
from warroom.domain.incident.events import Event, NewEvent, idempotent_id, iso
from warroom.domain.incident.fold import apply
from warroom.domain.incident.kinds.alerts import AlertAttached, AlertResolved
from warroom.domain.incident.kinds.paging import Escalated
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status

SEED = 20261124  # picked among a few for a year whose last month shows met and missed targets
FIRST_DAY = datetime(2025, 11, 1, tzinfo=UTC)
ANCHOR = datetime(2026, 11, 20, tzinfo=UTC)  # the history stops here; later events are not written
OUT = Path(__file__).resolve().parent / "history.jsonl"
ID_NAMESPACE = "warroom-sample-history"

ROTATION = ("alice", "bob", "carol", "dave", "erin", "frank")
LONDON = ZoneInfo("Europe/London")
ROTATION_FIRST_MONDAY = date(2025, 1, 6)  # 09:00 Europe/London, alice primary
TEAM_LEAD = "grace"
LEVELS = (  # the seed's escalation matrix: level, minutes after detection, who gets paged
    (2, 5, ("{secondary}", TEAM_LEAD)),
    (3, 10, ("heidi", "ivan")),
    (4, 15, ("judy", "ken")),
)
# How far a slow acknowledgement escalates: the C-suite is paged for a SEV-1 only.
TOP_LEVEL = {Severity.SEV1: 4, Severity.SEV2: 3, Severity.SEV3: 2, Severity.SEV4: 2}
ALERT_SOURCE = "alertmanager"


@dataclass(frozen=True)
class Service:
    name: str
    team: str
    tz: ZoneInfo
    critical: bool
    rate: float  # incidents a day before the seasons, deploys and weekends
    failures: tuple[tuple[str, str], ...]  # (title, alert name)


SERVICES = (
    Service("payments", "payments", LONDON, True, 0.075, (
        ("Card authorisation errors above 5%", "PaymentsAuthErrorRate"),
        ("Payment provider timeouts", "PaymentsProviderTimeout"),
        ("Refunds stuck in pending", "RefundQueueAge"),
        ("Duplicate charges reported by customers", "PaymentsDuplicateCapture"),
        ("Payments DB connection pool exhausted", "PaymentsDBPoolExhausted"),
        ("3-D Secure challenge failing for EU cards", "PaymentsThreeDSFailures"),
    )),
    Service("checkout", "payments", LONDON, True, 0.065, (
        ("Checkout p99 latency above 3s", "CheckoutLatencyHigh"),
        ("Basket service returning 500s", "CheckoutHTTP5xx"),
        ("Promo codes rejected at checkout", "CheckoutPromoErrors"),
        ("Checkout pods crash-looping after deploy", "CheckoutCrashLoop"),
        ("Address lookup failing for UK postcodes", "CheckoutAddressLookup"),
    )),
    Service("auth", "platform", ZoneInfo("America/New_York"), True, 0.05, (
        ("Login failures for SSO users", "AuthSSOErrors"),
        ("Token refresh returning 401", "AuthTokenRefresh401"),
        ("MFA codes delayed", "AuthMFADelay"),
        ("Session store memory above 90%", "AuthSessionStoreMemory"),
        ("Signing key rotation failed", "AuthKeyRotation"),
    )),
    Service("notifications", "platform", ZoneInfo("America/New_York"), False, 0.055, (
        ("Push notifications delayed over 10 minutes", "NotifyQueueLag"),
        ("Email bounces above threshold", "NotifyBounceRate"),
        ("SMS provider rejecting messages", "NotifySMSRejected"),
        ("Notification worker OOM kills", "NotifyWorkerOOM"),
    )),
    Service("search", "data", ZoneInfo("Europe/Berlin"), False, 0.06, (
        ("Search results stale by hours", "SearchIndexLag"),
        ("Search p95 latency above 1s", "SearchLatencyHigh"),
        ("Search cluster yellow: unassigned shards", "SearchClusterYellow"),
        ("Autocomplete returning empty results", "SearchAutocompleteEmpty"),
    )),
    Service("pipeline", "data", ZoneInfo("Europe/Berlin"), False, 0.07, (
        ("Nightly pipeline run failed", "PipelineRunFailed"),
        ("Event ingestion lag above 30 minutes", "PipelineIngestLag"),
        ("Warehouse load job stuck", "PipelineLoadStuck"),
        ("Kafka consumer group rebalancing in a loop", "PipelineConsumerRebalance"),
        ("Daily revenue report missing rows", "PipelineReportGaps"),
    )),
)

SEVERITY_MIX = {  # SEV-1..SEV-4 weights
    True: (0.06, 0.22, 0.42, 0.30),  # critical services
    False: (0.02, 0.14, 0.46, 0.38),
}
RESOLVE_MEDIAN_MIN = {Severity.SEV1: 95, Severity.SEV2: 55, Severity.SEV3: 30, Severity.SEV4: 38}
RESOLVE_SIGMA = {Severity.SEV1: 0.5, Severity.SEV2: 0.6, Severity.SEV3: 0.7, Severity.SEV4: 0.9}

NOTES = (
    "error rate graph shows the spike starting at the deploy",
    "no recent config changes in the last 24h",
    "upstream status page reports degraded performance",
    "restarted one pod as a test: errors return within minutes",
    "customer support confirms reports from several customers",
    "CPU normal, memory climbing steadily on the affected nodes",
    "canary looks healthy, the old replica set does not",
    "traffic is 30% above the usual for this hour",
    "logs show connection resets to the database",
    "the last successful run was yesterday at 02:00",
    "feature flag flipped for 10% of users at the same time",
    "dashboards attached to the incident channel",
)
DECISIONS = (
    "roll back to the previous release",
    "fail over to the secondary region",
    "disable the feature flag for all users",
    "scale the worker pool to twice its size",
    "pause the nightly batch until the fix ships",
    "switch traffic to the backup provider",
)
ACTIONS = (
    "add an alert on connection pool saturation",
    "write a runbook entry for this failure",
    "add a canary step to the deploy pipeline",
    "load-test the service at twice peak traffic",
    "add a dashboard panel for queue age",
    "review timeouts and retries towards the provider",
    "schedule the postmortem",
)
STATUS_TEXT = {
    Status.INVESTIGATING: "We're investigating the issue",
    Status.IDENTIFIED: "We've identified the problem",
    Status.MONITORING: "A fix has been implemented",
    Status.RESOLVED: "The issue has been resolved",
}


# ---- time helpers ------------------------------------------------------------------------------


def whole(dt: datetime) -> datetime:
    return dt.replace(microsecond=0)


def on_call(at: datetime) -> tuple[str, str]:
    """The sre rotation's (primary, secondary) at `at`: weekly, Monday 09:00 Europe/London."""
    local = at.astimezone(LONDON)
    monday = local.date() - timedelta(days=local.weekday())
    if local.weekday() == 0 and local.time() < time(9):
        monday -= timedelta(days=7)
    week = (monday - ROTATION_FIRST_MONDAY).days // 7
    return ROTATION[week % 6], ROTATION[(week + 1) % 6]


def business_hours(at: datetime, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz)
    return local.weekday() < 5 and 9 <= local.hour < 18


def next_morning(at: datetime, tz: ZoneInfo) -> datetime:
    """The next weekday 09:00 in the team's time zone after `at`."""
    local = at.astimezone(tz)
    day = local.date()
    while True:
        candidate = datetime.combine(day, time(9), tzinfo=tz)
        if candidate > local and candidate.weekday() < 5:
            return candidate.astimezone(UTC)
        day += timedelta(days=1)


# ---- the year's shape --------------------------------------------------------------------------


@dataclass(frozen=True)
class BadWeek:
    service: str
    start: datetime
    days: int
    boost: float


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def season(day: datetime) -> float:
    if (day.month == 12 and day.day >= 19) or (day.month == 1 and day.day <= 4):
        return 0.3  # change freeze over Christmas
    if day.month == 8:
        return 0.5  # half the company on holiday, few deploys
    return 1.0


def progress(at: datetime) -> float:
    """0 at the first day, 1 at the anchor: the team improves along it."""
    return (at - FIRST_DAY) / (ANCHOR - FIRST_DAY)


def bad_weeks(rng: random.Random) -> list[BadWeek]:
    weeks = []
    span = (ANCHOR - FIRST_DAY).days - 10
    for _ in range(14):
        service = rng.choice(SERVICES).name
        start = FIRST_DAY + timedelta(days=rng.randrange(span))
        while start.weekday() > 3:  # deploys go out Monday to Thursday
            start += timedelta(days=1)
        weeks.append(BadWeek(service, start, rng.randint(4, 8), rng.uniform(3.5, 6.0)))
    return weeks


def boost(weeks: list[BadWeek], service: str, day: datetime) -> tuple[float, bool]:
    factor, bad = 1.0, False
    for w in weeks:
        into = (day - w.start).days
        if w.service == service and 0 <= into < w.days:
            factor = max(factor, 1 + (w.boost - 1) * (1 - into / w.days))
            bad = True
    return factor, bad


@dataclass(frozen=True)
class Arrival:
    detected: datetime
    service: Service
    after_deploy: bool
    # Set only for the incidents still live at the anchor, whose story must not be left to chance.
    severity: Severity | None = None
    ack_min: float | None = None
    resolve_min: float | None = None


def _service(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)


# Still open when the history stops, so that the demo room has live incidents: a SEV-2 being
# fixed, a SEV-3 nobody has acknowledged yet, and a SEV-4 night alert queued for the morning.
LIVE = (
    Arrival(ANCHOR - timedelta(minutes=52), _service("checkout"), True, Severity.SEV2, 3.2, 190),
    Arrival(ANCHOR - timedelta(minutes=95, seconds=17), _service("pipeline"), False,
            Severity.SEV4),
    Arrival(ANCHOR - timedelta(minutes=4, seconds=10), _service("search"), False,
            Severity.SEV3, 9.5, 60),
)


def arrivals(rng: random.Random) -> list[Arrival]:
    weeks = bad_weeks(rng)
    out: list[Arrival] = []
    day = FIRST_DAY
    while day < ANCHOR:
        weekend = day.weekday() >= 5
        for svc in SERVICES:
            factor, bad = boost(weeks, svc.name, day)
            lam = svc.rate * 1.15 * season(day) * (1.15 - 0.3 * progress(day)) * factor
            lam *= 0.6 if weekend else 1.12
            for _ in range(poisson(rng, lam)):
                if not weekend and rng.random() < 0.6:
                    local = datetime.combine(day.date(), time(9), tzinfo=svc.tz)
                    at = local + timedelta(seconds=rng.randrange(9 * 3600))
                else:
                    at = day + timedelta(seconds=rng.randrange(86400))
                at = whole(at.astimezone(UTC))
                if FIRST_DAY <= at < ANCHOR - timedelta(hours=2):
                    out.append(Arrival(at, svc, bad))
        day += timedelta(days=1)
    out.extend(LIVE)
    out.sort(key=lambda a: a.detected)
    return out


# ---- one incident ------------------------------------------------------------------------------

Decide = Callable[[IncidentState], list[NewEvent]]


@dataclass
class Plan:
    """An incident's events to be, as (time, order, decide) steps applied in time order."""

    steps: list[tuple[datetime, int, Decide]] = dataclasses.field(default_factory=list)

    def at(self, when: datetime, decide: Decide) -> None:
        self.steps.append((whole(when), len(self.steps), decide))


def lognormal_minutes(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def pick_severity(rng: random.Random, svc: Service, after_deploy: bool) -> Severity:
    weights = list(SEVERITY_MIX[svc.critical])
    if after_deploy:  # a bad deploy hurts more
        weights = [weights[0] * 1.8, weights[1] * 1.4, weights[2], weights[3] * 0.6]
    return rng.choices(list(Severity), weights)[0]


def plan_incident(rng: random.Random, arrival: Arrival) -> tuple[list[NewEvent], Plan]:
    """Draw one incident's story: its declaration, and the plan of everything after it."""
    svc, t = arrival.service, arrival.detected
    p = progress(t)
    severity = arrival.severity or pick_severity(rng, svc, arrival.after_deploy)
    title, alert_name = rng.choice(svc.failures)
    primary, secondary = on_call(t)
    office = business_hours(t, svc.tz)
    from_alert = rng.random() < 0.72

    # Detection: alerts fire a couple of minutes into the impact; people notice later.
    if from_alert:
        lag = lognormal_minutes(rng, 1.6, 0.8)
        started: datetime | None = t - timedelta(minutes=lag)
    elif rng.random() < 0.75:
        started = t - timedelta(minutes=lognormal_minutes(rng, 5.0, 0.9))
    else:
        started = None  # declared by hand, impact start unknown: defaults to detection
    declarer = ALERT_SOURCE if from_alert else rng.choice((primary, primary, secondary,
                                                           TEAM_LEAD))
    # Paging: night alerts of low severity on non-critical services wait for the morning.
    queued = (not svc.critical and severity == Severity.SEV4 and not office
              and (rng.random() < 0.35 or arrival in LIVE))
    page_at = next_morning(t, svc.tz) if queued else t
    if queued:
        primary, secondary = on_call(page_at)  # the morning's on-call, after any handoff
    never_acked = (severity.rank >= 3 and not queued and rng.random() < 0.05
                   and arrival not in LIVE)
    initial = severity
    if rng.random() < 0.12 and not never_acked:  # triage moves it one level
        rank = severity.rank + rng.choice((-1, 1))
        initial = Severity(f"SEV-{min(4, max(1, rank))}")
    declare_events = commands.declare(
        title, initial, declarer, at=t, service=svc.name,
        started_at=whole(started) if started else None, detected_at=t,
        source=ALERT_SOURCE if from_alert else "manual",
    )

    plan = Plan()
    # Resolution time first: everything else fits inside it.
    resolve_min = lognormal_minutes(rng, RESOLVE_MEDIAN_MIN[severity] * (1.2 - 0.35 * p),
                                    RESOLVE_SIGMA[severity])
    resolve_min = min(resolve_min, 3 * 24 * 60)

    if queued:
        ack_min = (page_at - t).total_seconds() / 60 + lognormal_minutes(rng, 4.0, 0.6)
        resolve_min = max(resolve_min, ack_min + lognormal_minutes(rng, 25, 0.6))
    else:
        median = 1.7 * (1.35 - 0.5 * p) * (0.7 if severity == Severity.SEV1 else 1.0)
        if not office:
            median *= 1.5  # asleep, or away from the laptop
        ack_min = lognormal_minutes(rng, median, 0.6)
        if rng.random() < 0.07:
            ack_min = rng.uniform(6, 24)  # the tail: phone on silent, in a tunnel...
    ack_min = arrival.ack_min or ack_min
    resolve_min = arrival.resolve_min or resolve_min
    if never_acked:
        resolve_min = max(min(resolve_min, rng.uniform(4, 20)), 2)
    else:
        resolve_min = max(resolve_min, ack_min + rng.uniform(3, 10))
    ack_at = t + timedelta(minutes=ack_min)
    resolve_at = t + timedelta(minutes=resolve_min)

    # Escalation: L1 pages the primary; higher levels while nobody has acknowledged.
    plan.at(page_at, lambda s: [NewEvent.of(
        Escalated(level=1, targets=[primary], reason="timeout", policy="default"),
        "escalation", at=whole(page_at))])
    waited = (resolve_at if never_acked else ack_at) - page_at
    for level, minutes, targets in LEVELS:
        if waited > timedelta(minutes=minutes) and level <= TOP_LEVEL[severity]:
            who = [x.format(secondary=secondary) for x in targets]
            when = page_at + timedelta(minutes=minutes)
            plan.at(when, lambda s, level=level, who=who, when=when: [NewEvent.of(
                Escalated(level=level, targets=who, reason="timeout", policy="default"),
                "escalation", at=whole(when))])
    if from_alert:
        key = f"{svc.name}:{alert_name}"
        summary = f"{alert_name} firing for {svc.name}"
        labels = {"service": svc.name, "team": svc.team, "alertname": alert_name}
        plan.at(t, lambda s: [NewEvent.of(
            AlertAttached(source=ALERT_SOURCE, key=key, summary=summary, labels=labels),
            ALERT_SOURCE, at=t)])
        if rng.random() < 0.2:  # flapping: fires again a few minutes later
            again = t + timedelta(minutes=rng.uniform(2, 12))
            plan.at(again, lambda s, again=again: [NewEvent.of(
                AlertAttached(source=ALERT_SOURCE, key=key, summary=summary, labels=labels),
                ALERT_SOURCE, at=whole(again))])
        clear = t + (resolve_at - t) * rng.uniform(0.75, 0.98)
        plan.at(clear, lambda s, clear=clear: [NewEvent.of(
            AlertResolved(source=ALERT_SOURCE, key=key), ALERT_SOURCE, at=whole(clear))])

    if never_acked:
        # The alert cleared on its own and the incident was closed without anyone owning it.
        closer = ALERT_SOURCE if from_alert else declarer
        plan.at(resolve_at, lambda s: commands.change_status(
            s, Status.RESOLVED, closer, whole(resolve_at), "recovered on its own"))
        return declare_events, plan

    acker = primary
    if ack_at - page_at > timedelta(minutes=5) and rng.random() < 0.4:
        acker = secondary
    if ack_at - page_at > timedelta(minutes=10) and rng.random() < 0.3:
        acker = TEAM_LEAD
    plan.at(ack_at, lambda s: commands.acknowledge(s, acker, whole(ack_at)))
    span = resolve_at - ack_at

    def after_ack(fraction: float) -> datetime:
        return ack_at + span * fraction

    _roles(rng, plan, severity, acker, primary, after_ack)
    # Triage: confirm the severity, or move it to what it really is.
    triage_at = after_ack(rng.uniform(0.02, 0.12))
    if initial != severity:
        plan.at(triage_at, lambda s: commands.change_severity(
            s, severity, acker, whole(triage_at),
            "impact wider than first thought" if severity.rank < initial.rank
            else "impact smaller than first thought"))
    elif rng.random() < 0.6:
        plan.at(triage_at, lambda s: commands.change_severity(s, severity, acker,
                                                              whole(triage_at)))
    _work(rng, plan, severity, acker, after_ack, resolve_at)
    _statuses(rng, plan, acker, after_ack, resolve_at)
    if severity.rank <= 2:
        _comms(rng, plan, severity, acker, t, resolve_at)
    return declare_events, plan


def _roles(rng: random.Random, plan: Plan, severity: Severity, acker: str, primary: str,
           after_ack: Callable[[float], datetime]) -> None:
    first = after_ack(0.01)
    plan.at(first, lambda s: commands.assign_role(s, Role.ONCALL_PRIMARY, primary, acker,
                                                  whole(first)))
    others = [p for p in ROTATION if p not in (acker, primary)]
    rng.shuffle(others)
    if severity.rank >= 4 and rng.random() < 0.6:
        return
    ic = TEAM_LEAD if severity == Severity.SEV1 and rng.random() < 0.5 else acker
    plan.at(after_ack(0.03), lambda s: commands.assign_role(
        s, Role.INCIDENT_COMMANDER, ic, acker, whole(after_ack(0.03))))
    if severity.rank <= 3:
        tech = others[0]
        plan.at(after_ack(0.05), lambda s: commands.assign_role(
            s, Role.TECH_LEAD, tech, ic, whole(after_ack(0.05))))
    if severity.rank <= 2:
        comms = others[1]
        plan.at(after_ack(0.06), lambda s: commands.assign_role(
            s, Role.COMMUNICATIONS_LEAD, comms, ic, whole(after_ack(0.06))))
    if severity == Severity.SEV1:
        scribe = others[2]
        plan.at(after_ack(0.07), lambda s: commands.assign_role(
            s, Role.SCRIBE, scribe, ic, whole(after_ack(0.07))))
        if ic != TEAM_LEAD and rng.random() < 0.5:  # a long SEV-1: the IC hands over
            plan.at(after_ack(0.55), lambda s: commands.assign_role(
                s, Role.INCIDENT_COMMANDER, TEAM_LEAD, ic, whole(after_ack(0.55))))


def _work(rng: random.Random, plan: Plan, severity: Severity, acker: str,
          after_ack: Callable[[float], datetime], resolve_at: datetime) -> None:
    people = [acker, *rng.sample(ROTATION, 2)]
    for text in rng.sample(NOTES, rng.randint(1, 4 if severity.rank <= 2 else 2)):
        when = after_ack(rng.uniform(0.1, 0.9))
        who = rng.choice(people)
        plan.at(when, lambda s, text=text, when=when, who=who: commands.add_note(
            s, text, who, whole(when)))
    if severity.rank <= 2:
        for text in rng.sample(DECISIONS, rng.randint(1, 2)):
            when = after_ack(rng.uniform(0.3, 0.7))
            plan.at(when, lambda s, text=text, when=when: commands.add_note(
                s, text, acker, whole(when), kind="decision"))
    if severity.rank <= 3:
        count = rng.randint(1, 3) if severity.rank <= 2 else rng.randint(0, 1)
        for text in rng.sample(ACTIONS, count):
            when = after_ack(rng.uniform(0.5, 0.95))
            owner = rng.choice(ROTATION)
            plan.at(when, lambda s, text=text, when=when, owner=owner: commands.add_note(
                s, text, acker, whole(when), kind="action", owner=owner))
            if rng.random() < 0.6:  # follow-ups done in the days after
                done = resolve_at + timedelta(days=rng.uniform(1, 20))
                plan.at(done, lambda s, text=text, done=done, owner=owner: commands.complete_action(
                    s, next(a.id for a in s.action_items if a.text == text), owner, whole(done)))


def _statuses(rng: random.Random, plan: Plan, acker: str,
              after_ack: Callable[[float], datetime], resolve_at: datetime) -> None:
    def move(to: Status, when: datetime, reason: str | None = None) -> None:
        plan.at(when, lambda s: commands.change_status(s, to, acker, whole(when), reason))

    shape = rng.random()
    if shape < 0.08:  # a false alarm or a transient blip
        move(Status.RESOLVED, resolve_at, "no customer impact found")
    elif shape < 0.2:  # straight to a rollback
        move(Status.MONITORING, after_ack(rng.uniform(0.3, 0.6)), "rolled back")
        move(Status.RESOLVED, resolve_at)
    elif shape < 0.26:  # the first fix does not hold
        move(Status.IDENTIFIED, after_ack(0.2))
        move(Status.MONITORING, after_ack(0.35))
        move(Status.INVESTIGATING, after_ack(0.5), "fix failed: errors are back")
        move(Status.IDENTIFIED, after_ack(0.65))
        move(Status.MONITORING, after_ack(0.8))
        move(Status.RESOLVED, resolve_at)
    else:
        move(Status.IDENTIFIED, after_ack(rng.uniform(0.25, 0.55)))
        move(Status.MONITORING, after_ack(rng.uniform(0.6, 0.85)))
        move(Status.RESOLVED, resolve_at)
    if rng.random() < 0.04:  # reopened hours later; MTTR keeps the first resolution
        back = resolve_at + timedelta(hours=rng.uniform(1, 8))
        move(Status.INVESTIGATING, back, "reopened: the problem is back")
        move(Status.MONITORING, back + timedelta(minutes=rng.uniform(20, 90)))
        move(Status.RESOLVED, back + timedelta(minutes=rng.uniform(100, 180)))


def _comms(rng: random.Random, plan: Plan, severity: Severity, acker: str, t: datetime,
           resolve_at: datetime) -> None:
    def send(when: datetime, template: str, audience: str, channel: str, text: str) -> None:
        plan.at(when, lambda s: commands.record_communication(
            s, template, audience,
            s.holder(Role.COMMUNICATIONS_LEAD) or s.holder(Role.INCIDENT_COMMANDER) or acker,
            whole(when), text=text, channel=channel))

    first = t + min(timedelta(minutes=rng.uniform(8, 28)), (resolve_at - t) * 0.5)
    send(first, "initial", "customers", "status page", STATUS_TEXT[Status.INVESTIGATING])
    if severity == Severity.SEV1:
        send(first + timedelta(minutes=2), "initial", "leadership", "email",
             "SEV-1 declared: CEO and VP informed")
    every = timedelta(minutes=15 if severity == Severity.SEV1 else 30)
    when, sent = first + every, 0
    while when < resolve_at and sent < 8:
        send(when, "update", "customers", "status page", "Update: still working on a fix")
        when, sent = when + every, sent + 1
    send(resolve_at + timedelta(minutes=rng.uniform(3, 10)), "resolution", "customers",
         "status page", STATUS_TEXT[Status.RESOLVED])
    if severity == Severity.SEV1:
        send(resolve_at + timedelta(hours=rng.uniform(20, 46)), "rca", "customers", "email",
             "Root cause analysis published")


# ---- the whole history -------------------------------------------------------------------------


def _commit(incident_id: str, state: IncidentState | None, new: list[NewEvent],
            events: list[Event]) -> IncidentState:
    for n in new:
        version = len(events) + 1
        assert n.at is not None, "every sample event carries its time"
        e = Event(
            seq=version, event_id=idempotent_id(f"{ID_NAMESPACE}:{incident_id}:{version}"),
            incident_id=incident_id, version=version, kind=n.kind, actor=n.actor, at=n.at,
            recorded_at=n.at, data=n.data,
        )
        events.append(e)
        state = apply(state, e)
    assert state is not None
    return state


def generate(seed: int = SEED) -> list[Event]:
    """Every event of the history, incidents in detection order, each in version order."""
    rng = random.Random(seed)
    out: list[Event] = []
    for number, arrival in enumerate(arrivals(rng), start=1):
        incident_id = f"INC-{number}"
        declared, plan = plan_incident(rng, arrival)
        events: list[Event] = []
        state = _commit(incident_id, None, declared, events)
        for when, _, decide in sorted(plan.steps, key=lambda s: (s[0], s[1])):
            if when >= ANCHOR:
                continue  # not happened yet at the anchor: the incident stays as it is
            state = _commit(incident_id, state, decide(state), events)
        out.extend(events)
    return out


def event_line(e: Event) -> str:
    return json.dumps({
        "incident_id": e.incident_id, "version": e.version, "event_id": e.event_id,
        "kind": e.kind, "actor": e.actor, "at": iso(e.at), "data": e.data,
    }, ensure_ascii=False, separators=(",", ":"))


def render(events: list[Event]) -> str:
    return "".join(event_line(e) + "\n" for e in events)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true",
                    help="do not write: exit 1 if the file differs from what would be written")
    args = ap.parse_args(argv)
    text = render(generate())
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from the generator'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    lines = text.count("\n")
    incidents = len({json.loads(x)["incident_id"] for x in text.splitlines()})
    print(f"wrote {args.out}: {incidents} incidents, {lines} events, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
