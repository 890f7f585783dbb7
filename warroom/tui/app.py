"""The war-room dashboard: five live panes on the followed incident, one key per action.

Every change reaches the screen through the store's change feed, this terminal's own writes
included: a key press appends events, the feed delivers them, the panes re-render. A write
carries the version the screen showed, so a change made from a stale screen is refused and
the notification says who changed what first.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from warroom.config_file import LoadedConfig
from warroom.domain.common.errors import DomainError
from warroom.domain.config.model import Config, default_config
from warroom.domain.incident.clocks import response_clocks, update_clock
from warroom.domain.incident.events import Event, NewEvent
from warroom.domain.incident.fold import apply
from warroom.domain.incident.roles import Role
from warroom.domain.incident.state import IncidentState
from warroom.domain.metrics.report import MetricsReport, metrics_report
from warroom.domain.oncall.escalation import escalation_view_for
from warroom.domain.oncall.paging import page_alert
from warroom.domain.oncall.rotation import who_is_on_call
from warroom.resources import styles_dir
from warroom.store.base import IncidentSummary, Presence, Store, summary_of
from warroom.store.errors import Conflict, StoreError
from warroom.tui import render
from warroom.tui.actions import ACTIONS, BY_ACTION, key_label
from warroom.tui.document_actions import DocumentActions
from warroom.tui.incident_actions import IncidentActions, sort_open
from warroom.tui.screens import (
    InfoScreen,
)
from warroom.tui.widgets.keybar import KeyBar
from warroom.tui.widgets.timeline import TimelineView

if TYPE_CHECKING:
    from warroom.escalation.engine import Engine

Clock = Callable[[], datetime]

COMPACT_WIDTH = 120
COMPACT_HEIGHT = 36
PRESENCE_EVERY = 5.0  # seconds between a writer's announcements
PRESENCE_TIMEOUT = timedelta(seconds=16)  # three missed announcements: gone
METRICS_EVERY = timedelta(seconds=60)  # the 30-day window slides even when nothing changes
# The summary fields metrics read: a change elsewhere (a note, a role) does not recompute them.
METRIC_FIELDS = ("severity", "service", "status", "started_at", "detected_at",
                 "acknowledged_at", "first_resolved_at", "resolved_at")
CLOCK_CHECK_EVERY = 60.0  # seconds between checks of this machine's clock against the store's


def _settle_heap() -> None:
    """Move what start-up built (10,000 summaries, a long timeline, Textual's own widgets) out
    of the collector's reach: it lives as long as the screen does, and every full collection
    would otherwise walk all of it again, a pause that grew into the keypress latency."""
    gc.collect()
    gc.freeze()
    # Textual allocates a great deal per frame; collecting the young generation every 700
    # allocations (the default) turned into a full collection every few key presses.
    gc.set_threshold(10_000, 10, 10)


class EventsArrived(Message):
    def __init__(self, batch: list[Event]) -> None:
        self.batch = batch
        super().__init__()


class Pane(Static):
    """A bordered pane whose title says what it holds."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id, classes="pane", markup=False)
        self.border_title = title


class WarroomApp(IncidentActions, DocumentActions, App[int]):
    CSS_PATH = str(styles_dir() / "warroom.tcss")
    TITLE = "warroom"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding(spec.key, spec.action, spec.label, show=spec.footer,
                key_display=key_label(spec.key))
        for spec in ACTIONS
    ]

    def __init__(self, store: Store | None = None, *, actor: str, clock: Clock | None = None,
                 local_tz: tzinfo | None = None, follow: str | None = None,
                 tick: float | None = 1.0, presence: bool = True,
                 open_store: Callable[[], Awaitable[Store]] | None = None,
                 spectator: bool = False, config: Config | None = None,
                 loaded_config: LoadedConfig | None = None, engine: bool = True) -> None:
        """`store` is an open store the caller closes; `open_store` lets the app open (and
        close) its own, on its own event loop (snapshot tests run the app on theirs)."""
        super().__init__()
        if store is None and open_store is None:
            raise ValueError("give a store or a way to open one")
        self._store = store
        self._open_store = open_store
        self.actor = actor
        self.spectator = store.readonly if store is not None else spectator
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.local_tz = local_tz or datetime.now().astimezone().tzinfo or UTC
        self.follow_id = follow
        self.tick_every = tick
        self.announce = presence
        self.state: IncidentState | None = None
        self._summaries: dict[str, IncidentSummary] = {}
        self._summary_list: list[IncidentSummary] | None = []
        self._metrics_at: datetime | None = None
        self.present: list[str] = []
        self.session = uuid.uuid4().hex
        self.started_at = self.clock()
        self.last_error: str | None = None
        self.loaded = loaded_config or LoadedConfig(config or default_config(),
                                                    "built-in defaults", None)
        self.config = self.loaded.config
        self.config_dir = self.loaded.base_dir
        self.run_engine = engine
        self.engine: Engine | None = None
        self._engine_stop = asyncio.Event()
        self.metrics_report: MetricsReport | None = None
        self.metrics_mode = "metrics"  # or "oncall"
        self.oncall_rows: list[Any] | None = None
        self.alarms: list[str] = []
        self.clock_note: str | None = None
        self._shown: dict[str, Text] = {}
        self._metrics_dirty = True
        self._cursor = 0

    # ---- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header", markup=False)
        with Horizontal(id="body"):
            with Vertical(id="left"):
                timeline = TimelineView(id="timeline")
                timeline.border_title = "Timeline"
                yield timeline
            with Vertical(id="right"):
                yield Pane("Status", id="status-pane")
                yield Pane("Escalation", id="escalation-pane")
                yield Pane("Roles", id="roster-pane")
                yield Pane("Metrics", id="metrics-pane")
        yield KeyBar(lambda action: self.check_action(action, ()), id="keys")

    @property
    def compact(self) -> bool:
        return self.size.width < COMPACT_WIDTH or self.size.height < COMPACT_HEIGHT

    def on_resize(self) -> None:
        self.screen.set_class(self.compact, "-compact")
        self.refresh_panes()

    # ---- start ------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        assert self._store is not None, "the store opens when the app mounts"
        return self._store

    async def on_mount(self) -> None:
        if self._store is None and self._open_store is not None:
            self._store = await self._open_store()
        self.spectator = self.store.readonly
        self.announce = self.announce and not self.spectator
        self.screen.set_class(self.compact, "-compact")
        self._cursor = await self.store.last_seq()
        await self._load_summaries()
        target = self.follow_id or self._default_incident()
        if target:
            await self.follow(target)
        else:
            self.refresh_panes()
        self._follow_feed()
        if self.tick_every:
            self.set_interval(self.tick_every, self._tick)
        if self.announce:
            self._announce()
        else:
            self._watch_room()
        self._compute_metrics()
        self._watch_clock()
        if self.run_engine and not self.spectator:
            self._run_engine()
        self.call_after_refresh(_settle_heap)

    def _default_incident(self) -> str | None:
        open_rows = sort_open([s for s in self.summaries if s.is_open])
        if open_rows:
            return open_rows[0].id
        return self.summaries[0].id if self.summaries else None

    @property
    def summaries(self) -> list[IncidentSummary]:
        """Every incident, newest first (kept by id; sorted again only after a change)."""
        if self._summary_list is None:
            self._summary_list = sorted(self._summaries.values(), key=lambda s: -s.number)
        return self._summary_list

    async def _load_summaries(self) -> None:
        self._summaries = {s.id: s for s in await self.store.summaries()}
        self._summary_list = None
        self._metrics_dirty = True

    async def _refresh_summaries(self, incident_ids: set[str]) -> None:
        """Re-read only the incidents a batch touched: a storm must not re-read 10,000 rows.
        Metrics are recomputed only if something they read changed (a note changes nothing)."""
        for incident_id in incident_ids:
            if incident_id == self.follow_id and self.state is not None:
                fresh = summary_of(self.state)
            else:
                fresh = summary_of(await self.store.get(incident_id))
            old = self._summaries.get(incident_id)
            self._summaries[incident_id] = fresh
            self._summary_list = None
            if old is None or any(getattr(old, f) != getattr(fresh, f) for f in METRIC_FIELDS):
                self._metrics_dirty = True

    async def follow(self, incident_id: str) -> None:
        """Show another incident: its state and its whole timeline."""
        events = await self.store.events(incident_id)
        # The cached state (one row) instead of folding every event again; the two reads may
        # straddle a commit, so bring whichever is behind up to the other.
        state: IncidentState = await self.store.get(incident_id)
        last = events[-1].version if events else 0
        if state.version < last:
            for e in events[state.version:]:
                state = apply(state, e)
        elif state.version > last:
            events += await self.store.events(incident_id, after_version=last)
        self.state = state
        self.follow_id = incident_id
        self.query_one(TimelineView).set_events(events)
        self.refresh_panes()

    # ---- the change feed --------------------------------------------------------------------

    @work(exclusive=True, group="feed")
    async def _follow_feed(self) -> None:
        try:
            async for batch in self.store.subscribe(self._cursor):
                self.post_message(EventsArrived(batch))
        except StoreError as e:  # the room's files were replaced (store.fault): say so, stay up
            self.last_error = str(e)
            self.notify(str(e), title="The room stopped", severity="error", markup=False,
                        timeout=24 * 3600)

    async def on_events_arrived(self, message: EventsArrived) -> None:
        batch = message.batch
        if not batch or batch[-1].seq <= self._cursor:
            return
        batch = [e for e in batch if e.seq > self._cursor]
        self._cursor = batch[-1].seq
        mine = [e for e in batch if e.incident_id == self.follow_id]
        if mine and self.state is not None:
            fresh: list[Event] = []
            for e in mine:
                if e.version == self.state.version + 1:
                    self.state = apply(self.state, e)
                    fresh.append(e)
                elif e.version > self.state.version + 1:
                    await self.follow(e.incident_id)  # a gap: reload everything
                    fresh = []
                    break
            if fresh:
                self.query_one(TimelineView).add_events(fresh)
        alerts = [a for a in (page_alert(e) for e in batch) if a is not None]
        if alerts:
            self._alarm([a.text for a in alerts])
        await self._refresh_summaries({e.incident_id for e in batch})
        if self.state is None and self.follow_id is None:
            target = self._default_incident()
            if target:
                await self.follow(target)
                return
        self.refresh_panes()

    def _keys_changed(self) -> None:
        """What may be pressed depends on spectator mode and on there being an incident: the
        key bar compares and repaints only when that changed (never on every event)."""
        self.query_one(KeyBar).refresh_keys()

    def _alarm(self, texts: list[str]) -> None:
        """A page went out (or could not): ring the bell and flash, in every terminal."""
        self.alarms.extend(texts)
        self.bell()
        screen = self.screen
        screen.add_class("-flash")
        self.set_timer(0.6, lambda: screen.remove_class("-flash"))
        for text in texts[-3:]:
            self.notify(text, severity="warning", markup=False, timeout=6)

    # ---- time -------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.refresh_panes(time_only=True)
        stale = self._metrics_at is None or self.now() - self._metrics_at > METRICS_EVERY
        if self._metrics_dirty or stale:
            self._compute_metrics()

    @work(exclusive=True, group="metrics")
    async def _compute_metrics(self) -> None:
        """Off the event loop: 10,000 incidents take tens of milliseconds to summarise."""
        self._metrics_dirty = False
        rows, now = list(self.summaries), self.now()
        self._metrics_at = now
        self.metrics_report = await asyncio.to_thread(
            metrics_report, rows, now=now, targets=self.config.metrics)
        if self.metrics_mode == "oncall":
            await self._compute_oncall_load()
        self.refresh_panes()

    async def _compute_oncall_load(self) -> None:
        from warroom.domain.oncall.load import oncall_load

        now = self.now()
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        recent = [s for s in self.summaries if s.detected_at >= month_start]
        states = [await self.store.get(s.id) for s in recent]
        rows = await asyncio.to_thread(oncall_load, self.config, states, month_start, now)
        self.oncall_rows = sorted(rows, key=lambda r: (-r.pages, r.person))

    # ---- the escalation engine, in every terminal that can write ----------------------------

    @work(exclusive=True, group="engine")
    async def _run_engine(self) -> None:
        from warroom.escalation.engine import Engine

        self.engine = Engine(self.store, self.config, clock=self.clock, actor="engine",
                             base_dir=self.config_dir)
        try:
            await self.engine.run(self._engine_stop)
        finally:
            await self.engine.close()

    def now(self) -> datetime:
        return self.clock()

    @work(exclusive=True, group="clock")
    async def _watch_clock(self) -> None:
        """Rooms on PostgreSQL record the server's time: say so when this machine disagrees."""
        from warroom.store.clock import clock_offset_note

        while True:
            try:
                note = clock_offset_note(await self.store.clock_offset())
            except StoreError:
                note = None
            if note != self.clock_note:
                self.clock_note = note
                self.refresh_panes(time_only=True)
            await asyncio.sleep(CLOCK_CHECK_EVERY)

    # ---- presence ---------------------------------------------------------------------------

    @work(exclusive=True, group="presence")
    async def _announce(self) -> None:
        """A writing terminal says it is in the room every few seconds, then looks who else is."""
        while True:
            try:
                await self.store.heartbeat(Presence(
                    self.session, self.actor, socket.gethostname(), os.getpid(),
                    self.started_at, self.now(), self.follow_id))
            except StoreError:
                pass  # presence is best effort; the feed and writes report real trouble
            await self._read_room()
            await asyncio.sleep(PRESENCE_EVERY)

    @work(exclusive=True, group="room")
    async def _watch_room(self) -> None:
        """A spectator does not announce itself, but sees who is in the room."""
        while True:
            await self._read_room()
            await asyncio.sleep(PRESENCE_EVERY)

    async def _read_room(self) -> None:
        try:
            rows = await self.store.present(self.now() - PRESENCE_TIMEOUT)
        except StoreError:
            return
        people = sorted({p.person for p in rows})
        if people != self.present:
            self.present = people
            self.refresh_panes()

    async def on_unmount(self) -> None:
        self._engine_stop.set()
        if self._store is None:
            return
        if self.announce:
            try:
                await self.store.leave(self.session)
            except StoreError:
                pass
        if self._open_store is not None:
            await self._store.close()

    # ---- rendering --------------------------------------------------------------------------

    def refresh_panes(self, time_only: bool = False) -> None:
        if not self.is_mounted:
            return
        now = self.now()
        compact = self.compact
        open_count = sum(1 for s in self.summaries if s.is_open)
        self._show("#header", render.header(
            self.state, now=now, local_tz=self.local_tz, actor=self.actor,
            spectator=self.spectator, width=self.size.width, open_count=open_count,
            clock_offset=self.clock_note))
        self._show("#status-pane", self.status_text(now, compact))
        self._show("#escalation-pane", self.escalation_text(now, compact))
        if time_only:
            return
        timeline = self.query_one(TimelineView)
        title = f"Timeline · {timeline.row_count} events" if self.state else "Timeline"
        if timeline.border_title != title:
            timeline.border_title = title
        self._show("#roster-pane", render.roster(
            self.state, now=now, present=self.present, oncall=self.oncall(now),
            compact=compact))
        self._show("#metrics-pane", self.metrics_text(now, compact))
        self._keys_changed()

    def _show(self, selector: str, text: Text) -> None:
        """Update a pane only if what it shows changed: an unchanged pane is not re-laid out
        or repainted (a note changes the timeline, not the roster)."""
        if self._shown.get(selector) == text:
            return
        self._shown[selector] = text
        self.query_one(selector, Static).update(text)

    def status_text(self, now: datetime, compact: bool) -> Text:
        from warroom.domain.alerts.automation import suggest_monitoring

        t = render.workflow(self.state, compact=compact)
        if self.state is None:
            return t
        if suggest_monitoring(self.state):
            t.append("\n")
            t.append(" ALL ALERTS RESOLVED: move to Monitoring? (s, m) ",
                     style="bold reverse green")
        t.append("\n")
        t.append_text(render.clocks(response_clocks(self.state, now),
                                    update_clock(self.state, now), compact=compact))
        return t

    def escalation_text(self, now: datetime, compact: bool) -> Text:
        if self.state is None:
            return Text()
        try:
            view = escalation_view_for(self.config, self.state, now)
        except (DomainError, KeyError, ValueError) as e:
            return Text(f"escalation unavailable: {e}", style="bold red")
        return render.escalation(view, now=now, compact=compact)

    def oncall(self, now: datetime) -> dict[str, str | None] | None:
        if self.state is None:
            return None
        try:
            _, policy = self.config.policy_for(self.state.service)
            rotation = self.config.rotation_for(self.state.service, policy)
        except KeyError:
            return None
        if rotation is None:
            return None
        who = who_is_on_call(rotation, now)
        return {Role.ONCALL_PRIMARY.value: who.primary,
                Role.ONCALL_SECONDARY.value: who.secondary}

    def metrics_text(self, now: datetime, compact: bool) -> Text:
        pane = self.query_one("#metrics-pane", Static)
        if self.metrics_mode == "oncall":
            pane.border_title = "On-call load"
            if self.oncall_rows is None:
                return Text("computing…", style="dim")
            return render.oncall_load(self.oncall_rows, f"{now:%Y-%m}")
        pane.border_title = "Metrics (m: on-call load)"
        return render.metrics(self.metrics_report, compact=compact)

    # ---- actions: the registry decides what exists ------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = BY_ACTION.get(action)
        if spec is None:
            return True
        if spec.mutating and self.spectator:
            return False
        if spec.needs_incident and self.state is None:
            return None
        return True

    def get_system_commands(self, screen: Screen) -> Any:
        for spec in ACTIONS:
            if spec.action == "quit" or self.check_action(spec.action, ()) is not True:
                continue
            yield SystemCommand(f"{spec.label} ({key_label(spec.key)})", spec.description,
                                getattr(self, f"action_{spec.action}"))
        yield from super().get_system_commands(screen)

    def notify_error(self, message: str) -> None:
        self.last_error = message
        self.notify(message, severity="error", markup=False, timeout=8)

    @work(group="write")
    async def run_command(self, decide: Callable[[IncidentState], list[NewEvent]],
                          done: str | None = None) -> None:
        """Decide on the state this screen shows, and append at its version."""
        state = self.state
        if state is None:
            return
        try:
            events = decide(state)
            await self.store.append(state.id, events, expected_version=state.version)
        except Conflict as e:
            self.notify_error(e.describe(self.now()))
        except (DomainError, StoreError) as e:
            self.notify_error(str(e))
        else:
            if done:
                self.notify(done, markup=False, timeout=3)

    def action_metrics_mode(self) -> None:
        self.metrics_mode = "oncall" if self.metrics_mode == "metrics" else "metrics"
        self.oncall_rows = None
        self._compute_metrics()
        self.refresh_panes()

    def action_help(self) -> None:
        t = Text()
        for spec in ACTIONS:
            if self.check_action(spec.action, ()) is False:
                continue
            t.append(f"{key_label(spec.key):>8}  ", style="bold")
            t.append(f"{spec.description}\n")
        t.append(f"{'ctrl+p':>8}  ", style="bold")
        t.append("Command palette: every action by name\n")
        t.append(f"{'tab':>8}  ", style="bold")
        t.append("Focus the timeline; up/down select an entry, E corrects it\n")
        if self.spectator:
            t.append("\nSpectator mode: read-only. Nothing you press changes the room.",
                     style="bold")
        self.push_screen(InfoScreen("Keys", t))

    async def action_quit(self) -> None:
        self.exit(0)
