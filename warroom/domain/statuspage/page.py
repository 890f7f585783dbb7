"""The public status page, built from the room: only what was sent to customers.

Pure: the incidents' states and events and the configuration in, the page's model out, with
`now` passed in. Renderers (warroom/statuspage/) turn it into HTML, JSON and Atom; they never
see an incident's state, so nothing here can leak what the model leaves out.

What is public, and why:
- An incident is on the page once the room has sent customers a message about it (a
  communication to a customer-facing audience: `CUSTOMER_AUDIENCES`, the checklist's "first
  customer update"). Before that, nothing about it is shown: not its title, not its
  component's state. The room speaks first; the page follows at once.
- An update is such a message's text as sent (a scribe's correction applied), with the
  incident's status word at that moment and the time. Notes, decisions, responders, roles,
  alerts, payloads and internal messages never reach the model.
- A published incident resolved without a resolution message still ends with a "Resolved"
  update at the time it was resolved.
- A component's state is the worst of the published open incidents on its service, mapped by
  severity through `[statuspage].states`; an incident in Monitoring counts at most as the
  "Monitoring" state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from warroom.domain.config.model import Config
from warroom.domain.incident.events import Event
from warroom.domain.incident.facts import timeline
from warroom.domain.incident.kinds.lifecycle import StatusChanged
from warroom.domain.incident.kinds.records import CUSTOMER_AUDIENCES, CommunicationSent
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status

HISTORY_DAYS = 90

COMPONENT_STATES: tuple[str, ...] = (
    "operational", "degraded_performance", "partial_outage", "major_outage",
)
STATE_LABELS: dict[str, str] = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}
# Atlassian Statuspage's incident impact, by severity.
IMPACTS: dict[str, str] = {"SEV-1": "critical", "SEV-2": "major", "SEV-3": "minor",
                           "SEV-4": "none"}
_IMPACT_ORDER = ("none", "minor", "major", "critical")
INDICATOR_TEXT: dict[str, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
RESOLVED_BODY = "This incident has been resolved."


def _worst(states: Sequence[str]) -> str:
    return max(states, key=COMPONENT_STATES.index, default="operational")


@dataclass(frozen=True)
class Update:
    """One message customers were sent (or the closing "Resolved" line)."""

    id: str
    status: str  # investigating | identified | monitoring | resolved
    body: str
    at: datetime

    @property
    def status_word(self) -> str:
        return self.status.capitalize()


@dataclass(frozen=True)
class PageIncident:
    id: str  # the room's id, lower case: inc-42
    name: str
    status: str  # investigating | identified | monitoring | resolved
    impact: str  # none | minor | major | critical
    created_at: datetime  # the first message customers got
    updated_at: datetime
    started_at: datetime
    resolved_at: datetime | None
    components: tuple[str, ...]  # component ids
    updates: tuple[Update, ...]  # newest first, as status pages list them

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def status_word(self) -> str:
        return self.status.capitalize()

    @property
    def path(self) -> str:
        return f"incidents/{self.id}.html"


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    description: str | None
    status: str
    position: int
    group_id: str | None
    updated_at: datetime

    @property
    def status_label(self) -> str:
        return STATE_LABELS[self.status]


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    position: int
    components: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class DayBar:
    day: date
    status: str  # the worst state the component was in that day
    incidents: tuple[str, ...]  # ids of the published incidents touching it that day


@dataclass(frozen=True)
class StatusPage:
    name: str
    url: str | None
    updated_at: datetime  # the latest published change (stable while nothing changes)
    today: date
    indicator: str  # none | minor | major | critical
    components: tuple[Component, ...]
    groups: tuple[Group, ...]
    active: tuple[PageIncident, ...]  # open, newest first
    history: tuple[PageIncident, ...]  # resolved within HISTORY_DAYS, newest first
    bars: dict[str, tuple[DayBar, ...]] = field(default_factory=dict)  # component id -> days

    @property
    def description(self) -> str:
        return INDICATOR_TEXT[self.indicator]

    @property
    def incidents(self) -> tuple[PageIncident, ...]:
        return self.active + self.history

    def link(self, path: str) -> str:
        """An absolute link when the page's address is configured, else a relative one."""
        return f"{self.url.rstrip('/')}/{path}" if self.url else path


def customer_updates(state: IncidentState, events: Sequence[Event]) -> list[Update]:
    """The messages customers were sent about this incident, oldest first, as corrected."""
    out: list[Update] = []
    status = Status.INVESTIGATING
    for item in timeline(events):  # in time order, ties in the order they were recorded
        if item.kind == StatusChanged.kind:
            status = Status(item.data["to_status"])
            continue
        if item.kind != CommunicationSent.kind:
            continue
        if str(item.data.get("audience", "")) not in CUSTOMER_AUDIENCES:
            continue
        body = str(item.data.get("text") or "").strip()
        if not body:  # marked sent without its text: the status word says what we know
            body = status.value
        out.append(Update(item.event.event_id, status.value.lower(), body, item.at))
    return out


def _shown_updates(state: IncidentState, events: Sequence[Event]) -> list[Update]:
    """The customer messages, closed by a "Resolved" line when the incident was resolved
    without one."""
    updates = customer_updates(state, events)
    if updates and not state.is_open and state.resolved_at is not None and (
            updates[-1].status != "resolved"):
        updates.append(Update(f"{state.id.lower()}-resolved", "resolved", RESOLVED_BODY,
                              state.resolved_at))
    return updates


def page_incident(state: IncidentState, events: Sequence[Event], config: Config,
                  ) -> PageIncident | None:
    """The incident as customers see it; None while nobody has told them about it."""
    updates = _shown_updates(state, events)
    if not updates:
        return None
    resolved_at = state.resolved_at if not state.is_open else None
    components = (state.service,) if state.service in config.services else ()
    return PageIncident(
        id=state.id.lower(), name=state.title, status=state.status.value.lower(),
        impact=IMPACTS[state.severity.value], created_at=updates[0].at,
        updated_at=max(u.at for u in updates), started_at=state.started_at,
        resolved_at=resolved_at, components=components,
        updates=tuple(sorted(updates, key=lambda u: u.at, reverse=True)),
    )


def _component_state(config: Config, incident: PageIncident, severity: str) -> str:
    states = config.statuspage.states
    mapped = states[severity]
    if incident.status == "monitoring":
        return min(mapped, states["Monitoring"], key=COMPONENT_STATES.index)
    return mapped


def build_page(rooms: Sequence[tuple[IncidentState, Sequence[Event]]], config: Config,
               now: datetime) -> StatusPage:
    """The page at `now` from every incident open now or resolved in the last 90 days."""
    sp = config.statuspage
    since = now - timedelta(days=HISTORY_DAYS)
    published: list[tuple[PageIncident, str]] = []
    for state, events in rooms:
        if not state.is_open and (state.resolved_at is None or state.resolved_at < since):
            continue
        inc = page_incident(state, events, config)
        if inc is not None:
            published.append((inc, state.severity.value))
    published.sort(key=lambda p: (p[0].created_at, p[0].id), reverse=True)

    today = now.date()
    # The latest published change; with none, the day's start: the page's bytes (and its
    # ETag) stay the same until something changes or the day (and its bars) moves on.
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=now.tzinfo)
    updated_at = max((inc.updated_at for inc, _ in published), default=midnight)
    components: list[Component] = []
    groups: dict[str, list[str]] = {}
    group_names: dict[str, str] = {}
    bars: dict[str, tuple[DayBar, ...]] = {}
    for position, (name, service) in enumerate(config.services.items(), start=1):
        mine = [(inc, sev) for inc, sev in published if name in inc.components]
        now_states = [_component_state(config, inc, sev) for inc, sev in mine if inc.is_open]
        group_id = None
        if sp.group_by_team and service.team:
            group_id = f"team-{service.team}"
            team = config.teams.get(service.team)
            group_names[group_id] = (team.name if team and team.name else service.team)
            groups.setdefault(group_id, []).append(name)
        touched = [inc.updated_at for inc, _ in mine]
        components.append(Component(
            id=name, name=name, description=service.description, status=_worst(now_states),
            position=position, group_id=group_id, updated_at=max(touched, default=updated_at),
        ))
        bars[name] = _bars(config, mine, today, now)
    state_of = {c.id: c.status for c in components}
    group_list = tuple(
        Group(gid, group_names[gid], i, tuple(members), _worst([state_of[m] for m in members]))
        for i, (gid, members) in enumerate(groups.items(), start=1))
    active = tuple(inc for inc, _ in published if inc.is_open)
    indicator = max((inc.impact for inc in active), key=_IMPACT_ORDER.index, default="none")
    return StatusPage(
        name=sp.name, url=sp.url, updated_at=updated_at, today=today, indicator=indicator,
        components=tuple(components), groups=group_list, active=active,
        history=tuple(inc for inc, _ in published if not inc.is_open), bars=bars,
    )


def _bars(config: Config, mine: list[tuple[PageIncident, str]], today: date,
          now: datetime) -> tuple[DayBar, ...]:
    days: list[DayBar] = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        touching = [(inc, sev) for inc, sev in mine
                    if inc.started_at.date() <= day <= (inc.resolved_at or now).date()]
        state = _worst([config.statuspage.states[sev] for _, sev in touching])
        days.append(DayBar(day, state, tuple(inc.id for inc, _ in touching)))
    return tuple(days)


def page_version(page: StatusPage) -> tuple[object, ...]:
    """What the page says, for deciding whether it changed (and whom to tell)."""
    return (page.indicator, tuple((c.id, c.status) for c in page.components),
            tuple((i.id, i.status, tuple(u.id for u in i.updates)) for i in page.incidents))


def latest_update(state: IncidentState, events: Sequence[Event]) -> Update | None:
    """What the page says now about this incident (the dashboard's comms dialog)."""
    ups = _shown_updates(state, events)
    return ups[-1] if ups else None
