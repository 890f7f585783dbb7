"""The room's configuration: people, teams, services, rotations, escalation policies, paging.

Pure pydantic models (no file reading here: see warroom/config_file.py; the value types such as
durations and weekdays are in config_types.py). Every mistake is
reported with its key path and what was expected, all at once, so that a broken file is fixed in
one go and nothing runs on a half-understood configuration. Unknown keys are errors: a typo in
`escalation_polcy` must not silently fall back to the default ladder at 3 a.m.

Extension points for later issues: alert routing (issue 6) adds fields to `Service` (and a
section to `Config`); metric targets (issue 7) add a `metrics` section to `Config`. Each is a new
optional sub-model with defaults, so existing files stay valid.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from warroom.domain.common.timefmt import AHEAD, EARLIEST, TimeWindow, as_utc_datetime
from warroom.domain.config.fields import (
    HANDLE_CHARS,
    WEEKDAY_TITLES,
    Command,
    ConfigError,
    Duration,
    Handle,
    KeyList,
    KeyPath,
    Problem,
    SeverityName,
    TimeOfDay,
    WebhookURL,
    Weekday,
    ZoneName,
    _problems,
    duration_text,
    format_path,
    zone,
)
from warroom.domain.incident.severity import Severity
from warroom.domain.metrics.targets import MetricTargets


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# ---- people, teams, org ------------------------------------------------------------------------


class Notify(_Model):
    """Where pages go: an HTTP webhook (POST JSON) and/or a command (the page as JSON on stdin)."""

    webhook: WebhookURL | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    command: Command | None = None

    @property
    def channels(self) -> list[str]:
        return [c for c, v in (("webhook", self.webhook), ("command", self.command)) if v]


class Person(Notify):
    handle: str = ""  # filled in from the key under [people]
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    team: str | None = None
    # Where the person lives, for "night" and "outside business hours" in the on-call load;
    # defaults to their team's zone.
    timezone: ZoneName | None = None


class BusinessHours(_Model):
    start: TimeOfDay = time(9, 0)
    end: TimeOfDay = time(18, 0)
    days: list[Weekday] = Field(default_factory=lambda: ["monday", "tuesday", "wednesday",
                                                          "thursday", "friday"])

    def contains(self, at: datetime, tz: tzinfo) -> bool:
        local = at.astimezone(tz)
        return local.weekday() in self.days and self.start <= local.time() < self.end


class Team(_Model):
    name: str | None = None
    timezone: ZoneName = "UTC"
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    lead: str | None = None
    director: str | None = None
    vp: str | None = None
    members: list[str] = Field(default_factory=list)
    rotation: str | None = None
    escalation_policy: str | None = None

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    def in_business_hours(self, at: datetime) -> bool:
        return self.business_hours.contains(at, self.tz)


class Org(_Model):
    cto: str | None = None
    ceo: str | None = None


class Remediation(_Model):
    """An automatic fix tried once per alert before anyone is paged (the seed's decision tree):
    `command` gets the alert as JSON on stdin; if the alert resolves within `window` the
    incident is closed as auto-remediated, else paging proceeds."""

    command: Command
    window: Duration = timedelta(minutes=5)
    timeout: Duration = timedelta(seconds=30)


class ServiceAlerts(_Model):
    """How alerts for one service are routed (see docs/alerts.md)."""

    # The alert's severity word (critical, warning...) -> SEV-n, before the room-wide mapping.
    severity: dict[str, SeverityName] = Field(default_factory=dict)
    # Close the incident when every alert of it resolved (else the dashboard suggests
    # Monitoring and a person decides); None: the room's [alerts].auto_resolve.
    auto_resolve: bool | None = None
    # Outside business hours, hold the pages until the next business morning (a non-critical
    # service); an alert's `can_wait` label overrides this either way.
    can_wait: bool = False
    # In business hours a non-critical service's team is notified first; the on-call is paged
    # if nobody acknowledged after this long (None: the severity's response time).
    notify_window: Duration | None = None
    remediation: Remediation | None = None


class Service(_Model):
    team: str | None = None
    escalation_policy: str | None = None
    rotation: str | None = None
    runbook: str | None = None
    critical: bool = False
    description: str | None = None
    alerts: ServiceAlerts = Field(default_factory=ServiceAlerts)


# ---- rotations ---------------------------------------------------------------------------------

Slot = Literal["primary", "secondary"]


class Override(_Model):
    """Someone covers a slot from `start` to `end` (end excluded). A time without an offset is
    the rotation's local time."""

    slot: Slot = "primary"
    person: str
    start: datetime
    end: datetime
    reason: str | None = None


class Handoff(_Model):
    weekday: Weekday = "monday"  # type: ignore[assignment]
    time: TimeOfDay = time(9, 0)


class Rotation(_Model):
    """A weekly rotation: the primary is members[week % n], the secondary the member
    `secondary_offset` places after (none with a single member or an offset of 0).

    `start` is the first shift's start (a handoff); a time without an offset is local time in
    `timezone`. Handoffs happen at the same local time every week, daylight saving or not.
    """

    name: str = ""  # filled in from the key under [rotations]
    timezone: ZoneName
    handoff: Handoff = Field(default_factory=Handoff)
    start: datetime
    members: list[str] = Field(min_length=1)
    secondary_offset: int = Field(default=1, ge=0)
    overrides: list[Override] = Field(default_factory=list)

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @model_validator(mode="after")
    def _localise(self) -> Rotation:
        tz = self.tz
        self.start = _aware(self.start, tz)
        for o in self.overrides:
            o.start, o.end = _aware(o.start, tz), _aware(o.end, tz)
        problems: list[Problem] = []
        local = self.start.astimezone(tz)
        if local.weekday() != self.handoff.weekday or local.time() != self.handoff.time:
            problems.append((("start",),
                             f"the first shift must start at a handoff ("
                             f"{WEEKDAY_TITLES[self.handoff.weekday]} "
                             f"{self.handoff.time:%H:%M} {self.timezone}), got "
                             f"{WEEKDAY_TITLES[local.weekday()]} {local:%Y-%m-%d %H:%M}"))
        seen: set[str] = set()
        for i, m in enumerate(self.members):
            if m in seen:
                problems.append((("members", i), f"{m!r} is listed twice"))
            seen.add(m)
        for i, o in enumerate(self.overrides):
            if o.end <= o.start:
                problems.append((("overrides", i, "end"), "an override must end after it starts"))
        if problems:
            raise _problems(problems)
        return self


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt


# ---- escalation policies -----------------------------------------------------------------------

ROLE_TARGETS = ("team_lead", "director", "vp", "cto", "ceo")
_ROLE_ALIASES = {"lead": "team_lead", "teamlead": "team_lead", "vp_engineering": "vp"}
TARGET_HELP = ("primary, secondary, primary:ROTATION, secondary:ROTATION, team_lead, director, "
               "vp, cto, ceo, or a person's handle (person:HANDLE)")


class Target(BaseModel):
    """Who a level pages: a rotation's slot, a named role, or a person.

    Written as text in the file: "primary", "secondary:sre", "team_lead", "person:alice", "alice".
    An empty rotation name means the incident's own rotation (its service's, its team's...).
    """

    model_config = ConfigDict(frozen=True)
    kind: Literal["rotation", "role", "person"]
    name: str = ""
    slot: Slot | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        t = text.strip()
        low = t.lower().replace("-", "_").replace(" ", "_")
        head, _, rest = low.partition(":")
        if head in ("primary", "secondary"):
            return cls(kind="rotation", slot=head, name=t.partition(":")[2].strip())  # type: ignore[arg-type]
        if head == "person" and rest:
            return cls(kind="person", name=t.partition(":")[2].strip())
        if head == "role" and rest:
            low = rest
        low = _ROLE_ALIASES.get(low, low)
        if low in ROLE_TARGETS:
            return cls(kind="role", name=low)
        if not t or ":" in t or not set(t.lower()) <= HANDLE_CHARS:
            raise ValueError(f"unknown escalation target {text!r}: use {TARGET_HELP}")
        return cls(kind="person", name=t)

    def __str__(self) -> str:
        if self.kind == "rotation":
            return f"{self.slot}:{self.name}" if self.name else str(self.slot)
        if self.kind == "person":
            return f"person:{self.name}"
        return self.name

    @property
    def label(self) -> str:
        """For people: "primary", "secondary (sre)", "team lead", "alice"."""
        if self.kind == "rotation":
            return f"{self.slot} ({self.name})" if self.name else str(self.slot)
        if self.kind == "role":
            return ROLE_LABELS[self.name]
        return self.name


ROLE_LABELS = {"team_lead": "team lead", "director": "director", "vp": "VP Engineering",
               "cto": "CTO", "ceo": "CEO"}


def _target(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Target.parse(value)
        except ValueError as e:
            raise PydanticCustomError("target", "{why}", {"why": str(e)}) from None
    return value


TargetSpec = Annotated[Target, BeforeValidator(_target),
                       PlainSerializer(str, when_used="json")]


class Level(_Model):
    """One step of the ladder: `after` is measured from detection (see escalation.py)."""

    after: Duration
    targets: list[TargetSpec] = Field(min_length=1)
    # Only for these severities (all when absent): e.g. no CEO page for a SEV-4. An empty list
    # would be a level that never fires: refused, as is a severity named twice.
    severities: list[SeverityName] | None = Field(default=None, min_length=1)

    @field_validator("severities")
    @classmethod
    def _distinct(cls, v: list[Any] | None) -> list[Any] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a severity is listed twice")
        return v

    def applies_to(self, severity: Severity) -> bool:
        return self.severities is None or severity in self.severities


class Policy(_Model):
    """An ordered ladder. `repeat` runs the whole ladder again that many times, `repeat_after`
    after the previous pass's last level fired, until someone acknowledges."""

    description: str | None = None
    rotation: str | None = None  # what bare "primary"/"secondary" mean, if the service says not
    levels: list[Level] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=20)
    repeat_after: Duration = timedelta(minutes=5)
    notify: Notify = Field(default_factory=Notify)

    @model_validator(mode="after")
    def _ordered(self) -> Policy:
        problems: list[Problem] = []
        for i in range(1, len(self.levels)):
            prev, cur = self.levels[i - 1].after, self.levels[i].after
            if cur < prev:
                problems.append((("levels", i, "after"),
                                 f"L{i + 1} at {duration_text(cur)} comes before L{i} at "
                                 f"{duration_text(prev)}: list levels in the order they fire"))
        if problems:
            raise _problems(problems)
        return self


def default_policy() -> Policy:
    """The seed's ladder: primary at T+0, secondary + team lead at T+5 min, director + VP at
    T+10, CTO + CEO at T+15, climbed whole by a SEV-1 or SEV-2; a SEV-3 stops at L2 and a
    SEV-4 pages L1 only (nobody wakes leadership for a minor incident)."""
    return Policy.model_validate({
        "description": "the seed's escalation ladder",
        "levels": [
            {"after": "0s", "targets": ["primary"]},
            {"after": "5m", "targets": ["secondary", "team_lead"],
             "severities": ["SEV-1", "SEV-2", "SEV-3"]},
            {"after": "10m", "targets": ["director", "vp"], "severities": ["SEV-1", "SEV-2"]},
            {"after": "15m", "targets": ["cto", "ceo"], "severities": ["SEV-1", "SEV-2"]},
        ],
    })


# ---- paging and defaults -----------------------------------------------------------------------


class NotifierSettings(_Model):
    """Delivery of pages: every attempt has `timeout`; failures are retried up to `attempts`
    times in all, waiting `backoff`, then twice as long each time, at most `backoff_max`."""

    enabled: bool = True
    timeout: Duration = timedelta(seconds=10)
    attempts: int = Field(default=5, ge=1, le=20)
    backoff: Duration = timedelta(seconds=2)
    backoff_max: Duration = timedelta(minutes=2)
    # A page nobody has delivered or retried for this long (its engine died) is taken over by
    # another engine.
    stall_after: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _stall_after_timeout(self) -> NotifierSettings:
        if self.stall_after <= self.timeout:
            raise _problems([(("stall_after",),
                              f"must be longer than timeout ({duration_text(self.timeout)}), or "
                              "a page being delivered would be taken over while in flight")])
        return self

    def delay_before(self, attempt: int) -> timedelta:
        """How long to wait before attempt number `attempt` (2, 3, ...)."""
        return min(self.backoff * (2 ** max(0, attempt - 2)), self.backoff_max)


def _default_severity_map() -> dict[str, Severity]:
    return {"critical": Severity.SEV2, "error": Severity.SEV3, "warning": Severity.SEV3,
            "info": Severity.SEV4}


class AlertSettings(_Model):
    """The alert receiver (`warroom serve`, `warroom ingest`): see docs/alerts.md."""

    # Every post must carry it (Authorization: Bearer, or a PagerDuty routing/service key);
    # $WARROOM_TOKEN wins over this. `warroom serve` refuses to start without one.
    token: str | None = None
    listen: str = "127.0.0.1:9095"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Labels (or PagerDuty fields: component, group, class, source, custom_details keys)
    # naming the service, first found wins; else default_service.
    service_labels: list[str] = Field(default_factory=lambda: ["service", "app", "component"])
    default_service: str | None = None
    severity_labels: list[str] = Field(default_factory=lambda: ["severity"])
    severity: dict[str, SeverityName] = Field(default_factory=_default_severity_map)
    # Applied to critical services before `severity` (critical alerts on them are SEV-1).
    critical_service_severity: dict[str, SeverityName] = Field(
        default_factory=lambda: {"critical": Severity.SEV1})
    default_severity: SeverityName = Severity.SEV3
    can_wait_label: str = "can_wait"
    auto_resolve: bool = False
    # Detection is the alert's start time, but never earlier than this before it arrived.
    max_detection_lag: Duration = timedelta(minutes=15)
    payload_bytes: int = Field(default=16 * 1024, ge=256, le=1024 * 1024)
    payloads_per_alert: int = Field(default=10, ge=1, le=1000)
    remediation_output_bytes: int = Field(default=4096, ge=0, le=1024 * 1024)
    actor: str = "alerts"
    # `warroom serve`'s edges (README "Limits"). Tokens travel in headers: beyond loopback,
    # HTTPS (a PEM certificate chain and its key; relative paths are read from the
    # configuration file's folder), or plain HTTP only when allow_plain_http says so.
    tls_cert: str | None = None
    tls_key: str | None = None
    allow_plain_http: bool = False
    # A client must send its request's headers (and finish a TLS handshake) within
    # header_timeout of connecting, or of its previous answer; its body within body_timeout.
    header_timeout: Duration = timedelta(seconds=5)
    body_timeout: Duration = timedelta(seconds=10)
    # Open connections at most (and always some way below the process's descriptor limit).
    max_connections: int = Field(default=512, ge=4, le=65536)

    @model_validator(mode="after")
    def _serve_edges(self) -> AlertSettings:
        problems: list[Problem] = []
        if bool(self.tls_cert) != bool(self.tls_key):
            missing = "tls_key" if self.tls_cert else "tls_cert"
            problems.append(((missing,), "tls_cert and tls_key go together: set both, or "
                                         "neither"))
        for name in ("header_timeout", "body_timeout"):
            value: timedelta = getattr(self, name)
            if not timedelta(milliseconds=100) <= value <= timedelta(minutes=5):
                problems.append(((name,), f"expected 100ms to 5m, got {duration_text(value)}"))
        if problems:
            raise _problems(problems)
        return self


SPECTATOR_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
MIN_SPECTATOR_TOKEN = 16  # a guessable token opens the room to whoever guesses it


class SpectatorsConfig(_Model):
    """Who may watch the room through `warroom serve` (docs/spectators.md): each token has a
    name, shown on the roster as "watching: NAME (n)". The server re-reads this table when
    the file changes, so deleting a line revokes that token without a restart."""

    max: int = Field(default=50, ge=1, le=10000)  # concurrent feed connections
    max_browsers: int = Field(default=4, ge=0, le=1000)  # concurrent /watch browser sessions
    tokens: dict[str, str] = Field(default_factory=dict)  # name -> token

    @model_validator(mode="after")
    def _tokens(self) -> SpectatorsConfig:
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        for name, token in self.tokens.items():
            if not name or len(name) > 32 or any(c not in SPECTATOR_NAME_CHARS for c in name):
                problems.append(((name,), "a spectator's name is 1 to 32 letters, digits, "
                                          "'_', '.' or '-' (it is shown on the roster)"))
            if len(token) < MIN_SPECTATOR_TOKEN or token != token.strip():
                problems.append(((name,), f"expected a token of at least "
                                          f"{MIN_SPECTATOR_TOKEN} characters, no surrounding "
                                          "spaces (a long random one)"))
            if token in seen:
                problems.append(((name,), f"the same token as {seen[token]!r}: each name "
                                          "needs its own (the roster tells them apart)"))
            seen.setdefault(token, name)
        if problems:
            raise _problems([(("tokens", *rel), msg) for rel, msg in problems])
        return self


class Defaults(_Model):
    escalation_policy: str = "default"
    rotation: str | None = None
    team: str | None = None  # for incidents whose service is unknown


class Content(_Model):
    """Where the team keeps its own message templates and runbooks (relative paths are read
    from the configuration file's folder); unset: the shipped ones."""

    templates: str | None = None
    runbooks: str | None = None


def _instant(value: Any) -> Any:
    from datetime import date

    if isinstance(value, date):  # TOML's bare day (2000-01-01) or a date-time
        return as_utc_datetime(value)
    return value


Instant = Annotated[datetime, BeforeValidator(_instant),
                    PlainSerializer(lambda d: d.isoformat(), when_used="json")]


class Times(_Model):
    """Which times a person (`--at`, `--now`, `--since`...) or an alert sender (`startsAt`,
    PagerDuty `timestamp`) may give: from `earliest` to `ahead` after the room's clock. The CLI
    refuses a time outside it; an alert's is replaced by the time it arrived."""

    earliest: Instant = EARLIEST
    ahead: Duration = AHEAD

    @model_validator(mode="after")
    def _aware(self) -> Times:
        if self.earliest.tzinfo is None:
            self.earliest = self.earliest.replace(tzinfo=UTC)
        return self

    def window(self) -> TimeWindow:
        return TimeWindow(self.earliest, self.ahead)


# ---- the public status page ---------------------------------------------------------------

ComponentState = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]


def _default_states() -> dict[str, ComponentState]:
    return {"SEV-1": "major_outage", "SEV-2": "partial_outage",
            "SEV-3": "degraded_performance", "SEV-4": "operational",
            "Monitoring": "degraded_performance"}


class Subscriber(_Model):
    """Told of every update on the status page: the update as JSON, POSTed (retried and
    recorded like a page)."""

    webhook: WebhookURL
    headers: dict[str, str] = Field(default_factory=dict)


class StatusPageConfig(_Model):
    """The public status page (docs/statuspage.md): one component per configured service.

    `states` maps an open incident on a service to the component's state: by severity
    ("SEV-1".."SEV-4"), and "Monitoring" caps the state of an incident whose fix is out (the
    worst open incident wins). `auto_publish`: an alert that opens a SEV-1/SEV-2 incident
    also publishes the initial template's message to customers (off: a person decides)."""

    name: str = Field(default="Status", min_length=1, max_length=100)
    url: str | None = None  # where the page is published (links in the JSON and the feed)
    group_by_team: bool = True
    auto_publish: bool = False
    states: dict[str, ComponentState] = Field(default_factory=_default_states)
    subscribers: dict[str, Subscriber] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_states(self) -> StatusPageConfig:
        allowed = {"SEV-1", "SEV-2", "SEV-3", "SEV-4", "Monitoring"}
        problems: list[Problem] = [((("states", k)), "expected SEV-1, SEV-2, SEV-3, SEV-4 or "
                                                     "Monitoring")
                                   for k in self.states if k not in allowed]
        if problems:
            raise _problems(problems)
        self.states = {**_default_states(), **self.states}
        return self


# ---- the dashboard's keys ---------------------------------------------------------------------

# The binding ids a [keys] table may give other keys: the dashboard's actions. Their default keys,
# labels and help live in the dashboard's action registry (warroom/tui/actions.py), which this
# layer cannot import; a test keeps the two lists the same.
BINDING_IDS = ("ack", "status", "severity", "role", "note", "decision", "action_item",
               "fact", "escalate", "switch", "declare", "checklist", "service", "phase",
               "complete_action", "retitle", "backdate", "schedule_postmortem", "edit_entry",
               "comms", "runbook", "postmortem", "payloads", "metrics_mode", "time_back",
               "time_forward", "time_live", "help", "quit")


class Config(_Model):
    people: dict[Handle, Person] = Field(default_factory=dict)
    teams: dict[str, Team] = Field(default_factory=dict)
    org: Org = Field(default_factory=Org)
    services: dict[str, Service] = Field(default_factory=dict)
    rotations: dict[str, Rotation] = Field(default_factory=dict)
    escalation_policies: dict[str, Policy] = Field(default_factory=dict)
    notifier: NotifierSettings = Field(default_factory=NotifierSettings)
    defaults: Defaults = Field(default_factory=Defaults)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    metrics: MetricTargets = Field(default_factory=MetricTargets)
    content: Content = Field(default_factory=Content)
    times: Times = Field(default_factory=Times)
    spectators: SpectatorsConfig = Field(default_factory=SpectatorsConfig)
    statuspage: StatusPageConfig = Field(default_factory=StatusPageConfig)
    # binding id -> key(s): the dashboard's keys, remapped (README "Remapping keys").
    keys: dict[str, KeyList] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        for handle, person in self.people.items():
            person.handle = handle
        for name, rotation in self.rotations.items():
            rotation.name = name
        if (self.defaults.escalation_policy == "default"
                and "default" not in self.escalation_policies):
            self.escalation_policies["default"] = default_policy()
        problems = _reference_problems(self)
        if problems:
            raise _problems(problems)
        return self

    # ---- look-ups ----

    def service(self, name: str | None) -> Service | None:
        return self.services.get(name) if name else None

    def unknown_service(self, name: str | None, incident_id: str = "ID", *,
                        fix: bool = True) -> str | None:
        """A warning for a service name the room does not know, naming the nearest configured
        ones, or None (known, none given, or a room that configures no services at all).
        A typo silently accepted leaves the incident with no runbook, team or policy.
        `fix`: end with the command that corrects it (the dashboard offers choices instead)."""
        if not name or not self.services or name in self.services:
            return None
        names = sorted(self.services)
        near = self.nearest_services(name)
        hint = (f"did you mean {' or '.join(near)}?" if near
                else "configured: " + ", ".join(names[:12]) + (", ..." if len(names) > 12 else ""))
        return (f"service {name!r} is not configured ({hint}); it has no runbook, team or "
                "escalation policy of its own."
                + (f" Fix it: warroom service {incident_id} NAME" if fix else ""))

    def nearest_services(self, name: str) -> list[str]:
        """The configured services a typed name most likely meant (the same name in another
        case first), best first: the CLI's warning and the dashboard's choices name them."""
        import difflib

        names = sorted(self.services)
        return [n for n in names if n.lower() == name.lower()] or difflib.get_close_matches(
            name, names, n=3, cutoff=0.6)

    def team_for(self, service: str | None) -> tuple[str | None, Team | None]:
        svc = self.service(service)
        name = (svc.team if svc else None) or self.defaults.team
        return name, (self.teams.get(name) if name else None)

    def policy_for(self, service: str | None) -> tuple[str, Policy]:
        svc = self.service(service)
        _, team = self.team_for(service)
        name = ((svc.escalation_policy if svc else None)
                or (team.escalation_policy if team else None)
                or self.defaults.escalation_policy)
        return name, self.escalation_policies[name]

    def rotation_for(self, service: str | None, policy: Policy | None = None) -> Rotation | None:
        """The rotation that bare "primary"/"secondary" mean for an incident on `service`."""
        svc = self.service(service)
        _, team = self.team_for(service)
        for name in ((svc.rotation if svc else None), (team.rotation if team else None),
                     (policy.rotation if policy else None), self.defaults.rotation):
            if name:
                return self.rotations[name]
        if len(self.rotations) == 1:
            return next(iter(self.rotations.values()))
        return None

    def person_zone(self, handle: str) -> tzinfo:
        """Where a person's day and night are: their own zone, their team's, their first
        rotation's, else UTC."""
        person = self.people.get(handle)
        if person and person.timezone:
            return zone(person.timezone)
        team = self.person_team(handle)
        if team is not None:
            return team.tz
        for rotation in self.rotations.values():
            if handle in rotation.members:
                return rotation.tz
        return zone("UTC")

    def person_team(self, handle: str) -> Team | None:
        person = self.people.get(handle)
        if person and person.team and person.team in self.teams:
            return self.teams[person.team]
        for team in self.teams.values():
            if handle in team.members or handle in (team.lead,):
                return team
        for rotation_name, rotation in self.rotations.items():
            if handle in rotation.members:
                for team in self.teams.values():
                    if team.rotation == rotation_name:
                        return team
        return None


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _reference_problems(c: Config) -> list[Problem]:
    people = list(c.people)
    problems: list[Problem] = []

    def person(path: KeyPath, handle: str | None) -> None:
        if handle is not None and handle not in c.people:
            problems.append((path, f"unknown person {handle!r}" + _suggest(handle, people)
                             + ("" if people else ": add them under [people]")))

    def ref(path: KeyPath, name: str | None, table: dict[str, Any], what: str) -> None:
        if name is not None and name not in table:
            known = ", ".join(sorted(table)) or "none defined"
            problems.append((path, f"unknown {what} {name!r}" + _suggest(name, list(table))
                             + f"; known: {known}"))

    for h, p in c.people.items():
        ref(("people", h, "team"), p.team, c.teams, "team")
    for t, team in c.teams.items():
        for key in ("lead", "director", "vp"):
            person(("teams", t, key), getattr(team, key))
        for i, m in enumerate(team.members):
            person(("teams", t, "members", i), m)
        ref(("teams", t, "rotation"), team.rotation, c.rotations, "rotation")
        ref(("teams", t, "escalation_policy"), team.escalation_policy, c.escalation_policies,
            "escalation policy")
    person(("org", "cto"), c.org.cto)
    person(("org", "ceo"), c.org.ceo)
    for s, svc in c.services.items():
        ref(("services", s, "team"), svc.team, c.teams, "team")
        ref(("services", s, "escalation_policy"), svc.escalation_policy, c.escalation_policies,
            "escalation policy")
        ref(("services", s, "rotation"), svc.rotation, c.rotations, "rotation")
    for r, rot in c.rotations.items():
        for i, m in enumerate(rot.members):
            person(("rotations", r, "members", i), m)
        for i, o in enumerate(rot.overrides):
            person(("rotations", r, "overrides", i, "person"), o.person)
    for name, pol in c.escalation_policies.items():
        ref(("escalation_policies", name, "rotation"), pol.rotation, c.rotations, "rotation")
        for i, level in enumerate(pol.levels):
            for j, target in enumerate(level.targets):
                path: KeyPath = ("escalation_policies", name, "levels", i, "targets", j)
                if target.kind == "person" and target.name not in c.people:
                    hint = _suggest(target.name, people + list(ROLE_TARGETS))
                    problems.append((path, f"unknown person {target.name!r}{hint}; a target is "
                                           f"one of {TARGET_HELP}"))
                elif target.kind == "rotation" and target.name:
                    ref(path, target.name, c.rotations, "rotation")
    ref(("defaults", "escalation_policy"), c.defaults.escalation_policy, c.escalation_policies,
        "escalation policy")
    ref(("defaults", "rotation"), c.defaults.rotation, c.rotations, "rotation")
    ref(("defaults", "team"), c.defaults.team, c.teams, "team")
    for binding in c.keys:
        if binding not in BINDING_IDS:
            hint = _suggest(binding, list(BINDING_IDS))
            problems.append((("keys", binding), f"unknown binding id {binding!r}{hint}; "
                                                f"known: {', '.join(sorted(BINDING_IDS))}"))
    return problems


# ---- parsing with readable errors --------------------------------------------------------------


def parse_config(data: dict[str, Any], source: str = "configuration") -> Config:
    """Validate a configuration (the parsed TOML), raising ConfigError with every problem."""
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(source, describe_errors(e)) from None


def describe_errors(error: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"] == "config_problems":
            for rel, msg in err["ctx"]["problems"]:
                lines.append(f"{format_path(loc + tuple(rel)) or '(top level)'}: {msg}")
            continue
        lines.append(f"{format_path(loc) or '(top level)'}: {_message(err, loc)}")
    return lines


_TYPE_WORDS = {
    "string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
    "bool_type": "true or false", "bool_parsing": "true or false", "dict_type": "a table",
    "model_type": "a table", "list_type": "a list", "datetime_type": "a date and time",
    "datetime_parsing": "a date and time such as 2025-01-06T09:00:00",
    "datetime_from_date_parsing": "a date and time such as 2025-01-06T09:00:00",
}


def _message(err: dict[str, Any], loc: KeyPath) -> str:
    kind = err["type"]
    got = err.get("input")
    if kind == "missing":
        return "missing: this key is required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = _suggest(str(loc[-1]), allowed) if allowed else ""
        return (f"unknown key{hint}" + (f"; expected one of: {', '.join(allowed)}"
                                        if allowed else ""))
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {got!r}"
    if kind == "literal_error":
        return f"expected {err['ctx']['expected']}, got {got!r}"
    if kind in ("too_short", "too_long", "greater_than_equal", "less_than_equal"):
        return err["msg"].lower() + (f", got {got!r}" if not isinstance(got, list | dict) else "")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def _allowed_keys(loc: KeyPath) -> list[str]:
    """The keys the model at `loc` accepts, for "did you mean" on an unknown key."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return []
        fields = getattr(model, "model_fields", None)
        if fields is None:
            return []
        if part in fields:
            model = _model_of(fields[part].annotation)
        else:
            # a key of a dict of models (people.alice, rotations.sre...)
            continue
    fields = getattr(model, "model_fields", None)
    if not fields:
        return []
    hidden = {Person: {"handle"}, Rotation: {"name"}}.get(model, set())
    return sorted(f for f in fields if f not in hidden)


def _model_of(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def default_config() -> Config:
    """No file: nobody configured, the seed's ladder as the default policy."""
    return Config()
