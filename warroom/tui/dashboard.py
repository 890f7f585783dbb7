"""The dashboard screen: five live panes on the followed incident, one key per action.

Every change reaches the screen through the room's change feed, this terminal's own writes
included: a key press writes through `execute`, the feed delivers the events, the screen's
reactives change and each pane re-renders itself. A write carries the version the screen
showed, so a change made from a stale screen is refused and the notification says who changed
what first.

Each action is a worker that awaits its dialogs in order (`push_screen_wait`), so the flow of
a key reads top to bottom: ask, ask again if needed, write.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from warroom.config_file import LoadedConfig
from warroom.domain.common.errors import DomainError
from warroom.domain.config.model import Config
from warroom.domain.incident import commands
from warroom.domain.incident.events import Event
from warroom.domain.incident.fold import apply
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.kinds.records import FACT_TITLES
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import Assessment, Severity, suggest_severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status
from warroom.domain.oncall.paging import page_alert
from warroom.store.base import IncidentSummary, Store, summary_of
from warroom.store.errors import Conflict, StoreError
from warroom.store.execute import NEVER, Decide, execute
from warroom.tui import render
from warroom.tui.actions import ACTIONS, BY_ACTION, ActionKeys, bindings
from warroom.tui.prompts import (
    ASSESSMENT_FIELDS,
    DECLARE_FIELDS,
    MATRIX,
    RELEASE,
    TYPE_NAME,
    assessment,
    assessment_errors,
    assessment_preview,
    audience_choices,
    change_question,
    checklist_choices,
    comms_choices,
    declare_preview,
    declare_validator,
    escalate_question,
    fact_choices,
    fact_now,
    incident_choices,
    payloads_text,
    people_choices,
    role_choices,
    service_warning,
    severity_choices,
    sort_open,
    status_choices,
)
from warroom.tui.screens import (
    Choice,
    ChoiceScreen,
    ConfirmScreen,
    Dialog,
    FormScreen,
    InfoScreen,
    TextPrompt,
)
from warroom.tui.session import (
    ClockChecked,
    EventsArrived,
    FeedStopped,
    PresenceChanged,
    RoomSession,
)
from warroom.tui.timetravel import ALLOWED as ALLOWED_AS_OF
from warroom.tui.timetravel import AsOfBar, Scrub, banner, refusal, scrub_of
from warroom.tui.widgets.keybar import KeyBar
from warroom.tui.widgets.panes import (
    EPOCH,
    EscalationPane,
    HeaderPane,
    MetricsPane,
    RosterPane,
    StatusPane,
)
from warroom.tui.widgets.timeline import TimelineView, entry_detail

if TYPE_CHECKING:  # the first screen does without them (imported where they are used)
    from warroom.domain.incident.facts import IncidentFacts
    from warroom.domain.metrics.report import MetricsReport
    from warroom.domain.oncall.load import PersonMonthLoad

T = TypeVar("T")
Written = Literal["written", "conflict", "error"]
LiveBuild = Callable[[IncidentState], tuple[str, list[Choice[Any]]]]
FollowRead = tuple[str, list[Event], IncidentState]  # an incident's id, its events, its state

# Below these the panes stack above a full-width timeline: beside it they need about 60 columns
# (#right in warroom.tcss), which at 120 would leave the timeline 54.
COMPACT_WIDTH = 140
COMPACT_HEIGHT = 36
# Between MEDIUM_WIDTH and COMPACT_WIDTH, with the height for it (120x40), the panes still
# stack above the full-width timeline, but in two columns: the status pane whole (the
# checklist with its owners and clocks) beside the other three condensed.
MEDIUM_WIDTH = 100
FIRST_READ_WAIT = 0.05  # seconds the first frame may wait for the room (on_mount)
SHORT_HEIGHT = 30  # dialogs drop their blank lines and input frames below this
FRAME = 1 / 60  # seconds: at most one re-read of the touched summaries per frame
# The longest an answered dialog keeps the previous frame up while what it does gets ready
# (`DashboardScreen._answered`): past it the dialog closes alone and the change follows.
HOLD = 0.05  # seconds
METRICS_EVERY = timedelta(seconds=60)  # the 30-day window slides even when nothing changes
# The summary fields metrics read: a change elsewhere (a note, a role) does not recompute them.
METRIC_FIELDS = ("severity", "service", "status", "started_at", "detected_at",
                 "acknowledged_at", "first_resolved_at", "resolved_at")


def _default_incident(rows: list[IncidentSummary]) -> str | None:
    """The incident to follow when told none: the first open one in the switcher's order, else
    the newest (`rows` newest first)."""
    open_rows = sort_open([s for s in rows if s.is_open])
    if open_rows:
        return open_rows[0].id
    return rows[0].id if rows else None


def _settle_heap() -> None:
    """Move what start-up built (10,000 summaries, a long timeline, Textual's own widgets) out
    of the collector's reach: it lives as long as the screen does, and every full collection
    would otherwise walk all of it again, a pause that grew into the keypress latency.
    The collector may have been paused for start-up (`tui.run`): it resumes here."""
    gc.collect()
    gc.freeze()
    # Textual allocates a great deal per frame; collecting the young generation every 700
    # allocations (the default) turned into a full collection every few key presses.
    gc.set_threshold(10_000, 10, 10)
    gc.enable()


class DashboardScreen(Screen[None]):
    """What this terminal shows of the room, and every key it may press on it."""

    BINDINGS = bindings()

    # What the panes show; each pane binds the ones it renders (compose).
    # The followed incident. The fold brings a state forward in place (the same object), so
    # equality cannot tell a change: every assignment is one (always_update).
    state: var[IncidentState | None] = var(None, init=False, always_update=True)
    now: var[datetime] = var(EPOCH, init=False)  # the clock, as of the last tick
    compact: var[bool] = var(False, init=False)
    status_compact: var[bool] = var(False, init=False)  # the status pane: whole when medium
    width: var[int] = var(80, init=False)
    open_count: var[int] = var(0, init=False)
    clock_note: var[str | None] = var(None, init=False)
    present: var[tuple[str, ...]] = var((), init=False)
    metrics_report: var[MetricsReport | None] = var(None, init=False)
    metrics_mode: var[str] = var("metrics", init=False)  # or "oncall"
    oncall_rows: var[list[PersonMonthLoad] | None] = var(None, init=False)
    oncall_month: var[str] = var("", init=False)

    def __init__(self, session: RoomSession, *, loaded: LoadedConfig, keys: ActionKeys,
                 local_tz: tzinfo, follow: str | None = None, tick: float | None = 1.0,
                 ) -> None:
        super().__init__()
        self.session = session
        self.loaded = loaded
        self.keys = keys
        self.local_tz = local_tz
        self.follow_id = follow
        # The open choice that follows the incident: the dialog, how to build its title and
        # choices from a state, and the version its answer will be written at.
        self._live_choice: tuple[ChoiceScreen, LiveBuild, IncidentState] | None = None
        self.tick_every = tick
        self.alarms: list[str] = []
        self.last_error: str | None = None
        self._summaries: dict[str, IncidentSummary] = {}
        self._summary_list: list[IncidentSummary] | None = []
        self._metrics_at: datetime | None = None
        self._metrics_dirty = True
        self._all_summaries = False  # only the open ones until the first screen is painted
        self._stale_summaries: set[str] = set()  # touched by the feed, not yet re-read
        self._refreshing_summaries = False
        self._summaries_read_at = 0.0  # the event loop's clock
        # From a dialog's answer until what it does is ready to show (`_answered`).
        self._hold: ExitStack | None = None
        self._hold_timer: Timer | None = None
        self._hold_for: tuple[str, int] | None = None  # (incident, version) the hold awaits
        self._prompt: TextPrompt | None = None  # the one-line prompt, built once (`_reused`)
        self.set_reactive(DashboardScreen.now, session.now())
        # Under way from now on: the first screen's reads wait on the store while Textual
        # composes and mounts the panes, instead of after it (_open_room shows what they found).
        self._first_read = asyncio.ensure_future(self._first_reads())

    # ---- what the screen works with ---------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.session.store

    @property
    def actor(self) -> str:
        return self.session.actor

    @property
    def spectator(self) -> bool:
        return self.session.spectator

    @property
    def config(self) -> Config:
        return self.session.config

    # ---- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The layout's classes before the panes exist: set once they are mounted, each class
        # restyled every widget on the screen again (~7 ms of the first paint).
        self._fit()
        screen = DashboardScreen
        yield HeaderPane(actor=self.actor, local_tz=self.local_tz, spectator=self.spectator,
                         id="header", declare_key=self.keys.label("declare")).data_bind(
            screen.state, screen.now, screen.open_count, screen.clock_note, screen.width)
        with Horizontal(id="body"):
            with Vertical(id="left"):
                timeline = TimelineView(id="timeline")
                timeline.border_title = "Timeline"
                yield timeline
            with Vertical(id="right"):
                yield StatusPane("Status", id="status-pane").data_bind(
                    screen.state, screen.now, compact=screen.status_compact)
                yield EscalationPane("Escalation", config=self.config,
                                     id="escalation-pane").data_bind(
                    screen.state, screen.now, screen.compact)
                yield RosterPane("Roles", config=self.config, id="roster-pane").data_bind(
                    screen.state, screen.now, screen.present, screen.compact)
                yield MetricsPane("Metrics", id="metrics-pane").data_bind(
                    screen.metrics_report, screen.metrics_mode, screen.oncall_rows,
                    screen.oncall_month, screen.compact)
        yield KeyBar(lambda action: self.check_action(action, ()), self.keys.label, id="keys")

    def _fit(self) -> None:
        """Everything that depends on the terminal's size, from that size alone, so the layout
        after a live resize is the layout of a fresh start at that size. `app.size` is the
        latest size (a queued resize event may be older than it)."""
        size = self.app.size
        self.compact = size.width < COMPACT_WIDTH or size.height < COMPACT_HEIGHT
        medium = (MEDIUM_WIDTH <= size.width < COMPACT_WIDTH
                  and size.height >= COMPACT_HEIGHT)
        self.status_compact = self.compact and not medium
        self.width = size.width
        self.set_class(self.compact, "-compact")
        self.set_class(medium, "-medium")
        self.app.set_class(size.height < SHORT_HEIGHT, "-short")
        if self.is_mounted:
            self.query_one(KeyBar).refresh_keys()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _on_timer_update(self) -> None:
        """Textual's frame, with one waste taken out: under a dialog, each update of this
        screen that reached the dialog's dimmed copy of it also asked for a full repaint,
        which Textual ran at the next message this screen handled, and that re-asked again:
        the whole dimmed dashboard redrawn for every feed batch and every tick while a
        dialog was open (a storm's main cost with the note prompt up). It repaints whole
        when it is back on top (ScreenResume). Private Textual names, with a fallback: if
        they go, this is Textual's frame unchanged (tests/test_tui_frames.py fails then)."""
        update = getattr(super(), "_on_timer_update", None)
        if update is None:
            return
        update()
        if self.app.screen is not self and hasattr(self, "_repaint_required"):
            self._repaint_required = False

    def on_screen_resume(self) -> None:
        """Back from a dialog: a resize while it was open is applied (once more) here."""
        self._fit()

    # ---- start ------------------------------------------------------------------------------

    async def on_mount(self) -> None:
        """The first frame waits a moment for the first reads (FIRST_READ_WAIT): a frame of
        empty panes drawn just before they arrive costs a whole second frame (~20 ms) before
        the room is on screen. A slow store (a remote room) gets the empty frame at once."""
        self._fit()
        await asyncio.wait([self._first_read], timeout=FIRST_READ_WAIT)
        self._open_room()

    def on_unmount(self) -> None:
        self._first_read.cancel()  # closed before the room answered: nothing to show it on

    @work(exclusive=True, group="open")
    async def _open_room(self) -> None:
        """Show what the first reads found (`_first_reads`, under way since the screen was
        made) and start following the room. A worker: the screen lays itself out and draws
        while a slow store answers."""
        rows, incident = await self._first_read
        self._merge_summaries(rows)
        if incident is not None:
            self._show_incident(*incident)
        self.query_one(KeyBar).refresh_keys()
        self.session.start(self)
        if self.tick_every:
            self.set_interval(self.tick_every, self._tick)
        self.call_after_refresh(self._load_all_summaries)  # once this is on screen
        self.call_after_refresh(self.session.start_background)

    async def _first_reads(self) -> tuple[list[IncidentSummary], FollowRead | None]:
        """What the first screen shows, read while Textual builds the screen (the reads wait
        on the store's thread; composing, mounting and styling the panes take the event loop
        meanwhile): the open incidents (the one to follow, the open count, the switcher's
        list), or the newest one when none is open, and the followed incident. Nothing here
        touches the screen, which is not mounted yet. All 10,000 summaries follow the first
        paint (`_load_all_summaries`), and the metrics wait for them. Reads that need not
        follow each other go together: each answer waits for a turn of a busy event loop."""
        await self.session.open()  # first: where the feed starts
        rows, _ = await asyncio.gather(self._open_summaries(), self.session.read_drill_clock())
        target = self.follow_id or _default_incident(rows)
        return rows, (await self._read_incident(target) if target else None)

    async def _open_summaries(self) -> list[IncidentSummary]:
        rows = await self.store.summaries(open_only=True)
        return rows or await self.store.summaries(limit=1)

    @property
    def summaries(self) -> list[IncidentSummary]:
        """Every incident, newest first (kept by id; sorted again only after a change)."""
        if self._summary_list is None:
            self._summary_list = sorted(self._summaries.values(), key=lambda s: -s.number)
        return self._summary_list

    def _summaries_changed(self) -> None:
        self._summary_list = None
        self.open_count = sum(1 for s in self._summaries.values() if s.is_open)

    @work(exclusive=True, group="summaries-all")
    async def _load_all_summaries(self) -> None:
        """Every incident, for the metrics, once the first screen is painted. A change the
        feed brought meanwhile is kept: the higher version of each incident wins."""
        self._merge_summaries(await self.store.summaries())
        self._all_summaries = True
        self._metrics_dirty = True
        self._compute_metrics()

    def _merge_summaries(self, rows: list[IncidentSummary]) -> None:
        known = self._summaries
        for row in rows:
            old = known.get(row.id)
            if old is None or old.version < row.version:
                known[row.id] = row
        self._summaries_changed()

    def _summaries_soon(self, incident_ids: set[str]) -> None:
        """Re-read the touched incidents' summaries off the screen's message loop, at most
        once a frame: during a storm a batch comes every few milliseconds, and each re-read
        waited on the store while key presses queued behind it."""
        self._stale_summaries |= incident_ids
        if not self._refreshing_summaries:
            self._refreshing_summaries = True
            self._refresh_stale_summaries()

    @work(group="summaries")
    async def _refresh_stale_summaries(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._stale_summaries:
                wait = self._summaries_read_at + FRAME - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                ids, self._stale_summaries = self._stale_summaries, set()
                await self._refresh_summaries(ids)
                self._summaries_read_at = loop.time()
        finally:
            self._refreshing_summaries = False

    async def _refresh_summaries(self, incident_ids: set[str]) -> None:
        """Re-read only the incidents a batch touched: a storm must not re-read 10,000 rows.
        Metrics are recomputed only if something they read changed (a note changes nothing)."""
        followed = self.state if self.follow_id in incident_ids else None
        others = [i for i in incident_ids if followed is None or i != followed.id]
        rows = await self.store.summaries_of(others) if others else []
        if followed is not None:
            rows.append(summary_of(followed))
        for fresh in rows:
            old = self._summaries.get(fresh.id)
            self._summaries[fresh.id] = fresh
            if old is None or any(getattr(old, f) != getattr(fresh, f) for f in METRIC_FIELDS):
                self._metrics_dirty = True
        self._summaries_changed()

    async def follow(self, incident_id: str) -> None:
        """Show another incident: its state and its whole timeline."""
        self._show_incident(*await self._read_incident(incident_id))

    async def _read_incident(self, incident_id: str) -> FollowRead:
        # The cached state (one row) instead of folding every event again; the two reads may
        # straddle a commit, so bring whichever is behind up to the other.
        events, state = await asyncio.gather(self.store.events(incident_id),
                                             self.store.get(incident_id))
        last = events[-1].version if events else 0
        if state.version < last:
            for e in events[state.version:]:
                state = apply(state, e)
        elif state.version > last:
            events += await self.store.events(incident_id, after_version=last)
        return incident_id, events, state

    def _show_incident(self, incident_id: str, events: list[Event],
                       state: IncidentState) -> None:
        self.follow_id = self.session.follow_id = incident_id
        self.query_one(TimelineView).set_events(events)
        self.state = state
        self._title_timeline()

    def _title_timeline(self) -> None:
        timeline = self.query_one(TimelineView)
        title = f"Timeline · {timeline.row_count} events" if self.state else "Timeline"
        if timeline.border_title != title:
            timeline.border_title = title

    def watch_state(self, old: IncidentState | None, new: IncidentState | None) -> None:
        if (old is None) != (new is None):
            self.query_one(KeyBar).refresh_keys()  # the keys that need an incident
        self._refresh_live_choice()

    def _refresh_live_choice(self) -> None:
        """An open choice about the followed incident follows it: its title and choices are
        rebuilt on the new version, which becomes the version its answer is written at, and
        its hint says what changed, so nobody picks from a menu the incident has left."""
        live = self._live_choice
        state = self.state
        if live is None or state is None:
            return
        dialog, build, seen = live
        if state.id != seen.id or state.version == seen.version or not dialog.is_mounted:
            return
        fresh = self.snapshot()
        assert fresh is not None
        self._live_choice = (dialog, build, fresh)
        title, choices = build(fresh)
        dialog.update(title, choices, Text(f"{state.id} changed while this was open: the "
                                           "choices are as of now", style="yellow"))

    async def ask_live(self, seen: IncidentState,
                       build: LiveBuild) -> tuple[Any, IncidentState]:
        """A choice that stays current: the answer, and the version it was given on."""
        title, choices = build(seen)
        dialog = ChoiceScreen(title, choices)
        self._live_choice = (dialog, build, seen)
        try:
            answer = await self.ask(dialog)
            return answer, self._live_choice[2] if self._live_choice else seen
        finally:
            self._live_choice = None

    # ---- what the room says -----------------------------------------------------------------

    async def on_events_arrived(self, message: EventsArrived) -> None:
        """Everything the feed brought since this last ran (the session merges the batches
        that arrive meanwhile): one fold, one timeline append, one repaint."""
        batch = message.take()
        mine = [e for e in batch if e.incident_id == self.follow_id]
        if mine and self.state is not None:
            state, fresh = self.state, []
            for e in mine:
                if e.version == state.version + 1:
                    state = apply(state, e)
                    fresh.append(e)
                elif e.version > state.version + 1:
                    await self.follow(e.incident_id)  # a gap: reload everything
                    fresh = []
                    break
            if fresh:
                self.query_one(TimelineView).add_events(fresh)
                self.state = state
        alerts = [a for a in (page_alert(e) for e in batch) if a is not None]
        if alerts:
            self._alarm([a.text for a in alerts])
        touched = {e.incident_id for e in batch}
        if self.state is None and self.follow_id is None:
            await self._refresh_summaries(touched)  # the room's first incident: show it now
            target = _default_incident(self.summaries)
            if target:
                await self.follow(target)
                return
        else:
            self._summaries_soon(touched)
        self._title_timeline()
        held = self._hold_for
        if held is not None and self.state is not None and self.state.id == held[0] \
                and self.state.version >= held[1]:
            self._release_frames()  # this terminal's change is in: the dialog closes with it

    def on_timeline_view_entry_opened(self, message: TimelineView.EntryOpened) -> None:
        """Enter on the focused timeline: the entry whole, read-only, scrollable; Esc closes."""
        from warroom.tui.documents import TextScreen

        row = message.row
        self.app.push_screen(TextScreen(
            f"{row.label} · #{row.event.seq} · {row.event.incident_id}",
            entry_detail(row, message.amendments, self.local_tz)))

    def on_feed_stopped(self, message: FeedStopped) -> None:
        """The room's files were replaced (store.fault): say so until someone acts; the screen
        stays up with what it last showed."""
        self.last_error = message.error
        self.notify(message.error, title="The room stopped", severity="error", markup=False,
                    timeout=24 * 3600)

    def on_presence_changed(self, message: PresenceChanged) -> None:
        self.present = tuple(message.people)

    def on_clock_checked(self, message: ClockChecked) -> None:
        self.clock_note = message.note

    def _alarm(self, texts: list[str]) -> None:
        """A page went out (or could not): ring the bell and flash, in every terminal."""
        self.alarms.extend(texts)
        self.app.bell()
        self.add_class("-flash")
        self.set_timer(0.6, lambda: self.remove_class("-flash"))
        for text in texts[-3:]:
            self.notify(text, severity="warning", markup=False, timeout=6)

    # ---- time -------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self._scrub is None:  # scrubbing: the clocks stay at the moment shown
            self.now = self.session.now()
        stale = self._metrics_at is None or self.now - self._metrics_at > METRICS_EVERY
        if self._metrics_dirty or stale:
            self._compute_metrics()

    @work(exclusive=True, group="metrics")
    async def _compute_metrics(self) -> None:
        """Off the event loop: 10,000 incidents take tens of milliseconds to summarise. Not
        before every summary is read (after the first paint): the open ones alone would give
        wrong figures."""
        if not self._all_summaries:
            return
        from warroom.domain.metrics.report import metrics_report

        self._metrics_dirty = False
        rows, now = list(self.summaries), self.session.now()
        self._metrics_at = now
        first = self.metrics_report is None
        self.metrics_report = await asyncio.to_thread(
            metrics_report, rows, now=now, targets=self.config.metrics)
        if first:  # start-up is over once the metrics are on screen too
            self.call_after_refresh(_settle_heap)
        if self.metrics_mode == "oncall":
            await self._compute_oncall_load()

    async def _compute_oncall_load(self) -> None:
        from warroom.domain.oncall.load import oncall_load

        now = self.session.now()
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        recent = [s for s in self.summaries if s.detected_at >= month_start]
        states = [await self.store.get(s.id) for s in recent]
        rows = await asyncio.to_thread(oncall_load, self.config, states, month_start, now)
        self.oncall_month = f"{now:%Y-%m}"
        self.oncall_rows = sorted(rows, key=lambda r: (-r.pages, r.person))

    # ---- actions: the registry decides what exists ------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = BY_ACTION.get(action)
        if spec is None:
            return True
        if spec.mutating and self.spectator:
            return False
        if self._scrub is not None and action not in ALLOWED_AS_OF:
            return False  # scrubbing: nothing is changed, nothing acts on the live incident
        if spec.needs_incident and self.state is None:
            return None
        return True

    def system_commands(self) -> Iterator[SystemCommand]:
        """The command palette's entries: every action this terminal may run now."""
        for spec in ACTIONS:
            if spec.action == "quit" or self.check_action(spec.action, ()) is not True:
                continue
            yield SystemCommand(f"{spec.label} ({self.keys.label(spec.action)})",
                                spec.description, getattr(self, f"action_{spec.action}"))

    def notify_error(self, message: str) -> None:
        self.last_error = message
        self.notify(message, severity="error", markup=False, timeout=8)

    def snapshot(self) -> IncidentState | None:
        """The incident as the screen shows it now, kept as it is: the feed's fold brings
        `self.state` forward in place, so a dialog holding that object would see (and write
        at) versions that arrived after it opened."""
        return None if self.state is None else self.state.model_copy(deep=True)

    async def ask(self, dialog: ModalScreen[T]) -> T:
        """Open a dialog and wait for its answer (None or False: the person cancelled)."""
        dialog = self._reused(dialog)
        if isinstance(dialog, Dialog):
            dialog.answered = self._answered
        answer = self.app.push_screen(dialog, wait_for_dismiss=True)
        self._release_frames()  # an answer that opens another dialog: shown with it
        return await answer

    def _reused(self, dialog: ModalScreen[T]) -> ModalScreen[T]:
        """A one-line prompt is the one built the first time, asking what `dialog` asks
        (`TextPrompt.take`), unless that one is still open or not yet put away."""
        if type(dialog) is not TextPrompt:
            return dialog
        kept = self._prompt
        if kept is None:
            self._prompt = dialog
            self.app.install_screen(dialog, name=f"warroom-prompt-{id(self)}")
            return dialog
        if not kept.resting or kept in self.app.screen_stack:
            return dialog
        kept.take(dialog)
        return kept  # type: ignore[return-value]

    def _answered(self, answer: object) -> None:
        """A dialog was answered (not cancelled): hold the screen's frames until what the
        answer leads to is ready to show, the dialog's closing with it: the change it wrote
        reaching this screen through the feed (`on_events_arrived`), the next dialog
        (`ask`), or the end of the action (`on_worker_state_changed`); at most HOLD.
        Textual paints at most 60 frames a second, so a dialog that closed in a frame of its
        own put the change a frame later at least: two frames for every dialog-closing key
        (issue 15, part 3)."""
        if answer is None or answer is False or self._hold is not None:
            return
        hold = ExitStack()
        hold.enter_context(self.app.batch_update())
        self._hold = hold
        self._hold_timer = self.set_timer(HOLD, partial(self._release_frames, timed_out=True))

    def _release_frames(self, *, timed_out: bool = False) -> None:
        hold, self._hold = self._hold, None
        self._hold_for = None
        if hold is None:
            return
        timer, self._hold_timer = self._hold_timer, None
        if timer is not None and not timed_out:
            timer.stop()
        hold.close()
        self.app.screen.check_idle()  # paint what waited, now

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An action that ended without a change of the followed incident to wait for (a
        cancel further on, a refusal, a write elsewhere) lets the screen paint now."""
        if event.worker.group == "actions" and self._hold_for is None and event.state in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._release_frames()

    async def write(self, decide: Decide, done: str | None = None, *,
                    seen: IncidentState | None = None, yours: str = "change") -> Written:
        """Decide on the incident as this screen showed it when the dialog opened (`seen`) and
        write at that version, through the one write path. A person's key press is never
        re-decided: if someone changed the incident while the dialog was open, nothing is
        written and the notification says who did what, when, and which of `yours` was lost."""
        state = seen or self.state
        if state is None:
            return "error"
        try:
            result = await execute(self.store, state.id, decide,
                                   expected_version=state.version, retry=NEVER)
        except Conflict as e:
            self.notify_error(e.describe(self.session.now(), yours=yours))
            self._release_frames()
            return "conflict"
        except (DomainError, StoreError) as e:
            self.notify_error(str(e))
            self._release_frames()
            return "error"
        if done:
            self.notify(done, markup=False, timeout=3)
        shown = self.state
        if self._hold is not None and result.events and result.incident_id == self.follow_id \
                and shown is not None and shown.version < result.version:
            self._hold_for = (result.incident_id, result.version)  # the feed brings it
        else:
            self._release_frames()
        return "written"

    @work(group="actions")
    async def action_ack(self) -> None:
        await self.write(lambda s: commands.acknowledge(s, self.actor))

    async def _facts(self, state: IncidentState) -> IncidentFacts:
        """What the record says now (impact, root cause, ETA, lessons), to prefill a prompt."""
        from warroom.domain.incident.facts import gather_facts

        return gather_facts(state, await self.store.events(state.id), self.session.now())

    @work(group="actions")
    async def action_status(self) -> None:
        """A move asks what the record needs from it: Identified the cause, Resolved the
        impact, any other move why (each optional: Enter skips, Esc cancels the move). A
        SEV-3/SEV-4 resolves at once (two keys); a SEV-1/SEV-2 asks first, its impact prompt
        being the confirmation."""
        state = self.snapshot()
        if state is None:
            return
        to, state = await self.ask_live(state, lambda s: (f"Move {s.status.value} to…",
                                                          status_choices(s)))
        if to is None:
            return
        reason = cause = impact = None
        done: str | None = None
        if to == Status.IDENTIFIED:
            known = (await self._facts(state)).root_cause or ""
            text = await self.ask(TextPrompt(
                f"{state.id} Identified: what was identified? (the root cause, optional)",
                value=known, allow_empty=True,
                hint="Enter records it (empty: skip) · Esc cancels the move"))
            if text is None:
                return
            cause = text if text and text != known else None
        elif to == Status.RESOLVED and state.severity.rank <= 2:
            facts = await self._facts(state)
            known = fact_now(facts, "impact")
            text = await self.ask(TextPrompt(
                f"Resolve {state.id} ({state.severity.value})? This ends escalation and starts "
                "the postmortem clock. Impact, for the record (optional):",
                value=known, allow_empty=True, hint="Enter resolves · Esc: do not resolve"))
            if text is None:
                return
            impact = text if text and text != known else None
        elif to == Status.RESOLVED:  # a minor one: two keys, and the record can follow
            done = f"{state.id} resolved"
            if (await self._facts(state)).impact_source not in ("fact", "note"):
                done += f" · {self.keys.label('fact')} records the impact"
        else:
            text = await self.ask(TextPrompt(f"Move {state.id} to {to.value}: why? (optional)",
                                             allow_empty=True,
                                             hint="Enter moves (empty: no reason) · Esc cancels"))
            if text is None:
                return
            reason = text or None

        def decide(s: IncidentState) -> list[Any]:
            events = commands.change_status(s, to, self.actor, reason=reason)
            if cause:
                events += commands.record_fact(s, "root_cause", cause, self.actor)
            if impact:
                events += commands.record_fact(s, "impact", impact, self.actor)
            return events

        await self.write(decide, done, seen=state, yours=f"move to {to.value}")

    @work(group="actions")
    async def action_severity(self) -> None:
        state = self.snapshot()
        if state is None:
            return
        value, state = await self.ask_live(state, lambda s: ("Severity",
                                                             severity_choices(s.severity)))
        if isinstance(value, Severity):
            await self._change_severity(state, value)
        elif value == "matrix":
            await self._assess(state)

    async def _change_severity(self, seen: IncidentState, to: Severity, *,
                               reason: str | None = None, assessment: Assessment | None = None,
                               yours: str = "severity change") -> None:
        """Show old -> new and why, and write only on yes. Confirming the current level needs
        no question (it changes nothing but the triage item)."""
        def decide(s: IncidentState) -> list[Any]:
            return commands.change_severity(s, to, self.actor, reason=reason,
                                            assessment=assessment)

        if to != seen.severity:
            try:
                events = decide(seen)
            except DomainError as e:
                self.notify_error(str(e))
                return
            suggestion = suggest_severity(assessment) if assessment is not None else None
            if not await self.ask(ConfirmScreen(change_question(seen, events, suggestion))):
                return
        await self.write(decide, seen=seen, yours=f"{yours} to {to.value}")

    async def _assess(self, seen: IncidentState) -> None:
        values = await self.ask(FormScreen(
            f"Severity assessment matrix · {seen.id} is {seen.severity.value}",
            ASSESSMENT_FIELDS, assessment_preview,
            hint="Any subset · Enter on the last line shows the change first · Esc cancels",
            validate=assessment_errors))
        if not values:
            return
        a = assessment(values)
        sev = suggest_severity(a).severity
        await self._change_severity(seen, sev, reason="assessment matrix", assessment=a,
                                    yours="assessment")

    @work(group="actions")
    async def action_role(self) -> None:
        state = self.snapshot()
        if state is None:
            return
        role, state = await self.ask_live(state, lambda s: ("Assign or hand off a role",
                                                            role_choices(s)))
        if role is None:
            return
        person, state = await self.ask_live(state, lambda s: (
            f"{role.title}: who? (now {s.holder(role) or 'vacant'})", self._people(s, role)))
        if person is None:
            return
        holder = state.holder(role)
        if person == TYPE_NAME:
            typed = await self.ask(TextPrompt(f"{role.title}: who?", placeholder=self.actor,
                                              hint="Enter a name · Esc cancels"))
            if not typed:
                return
            person = typed
        if person == RELEASE:
            await self.write(lambda s: commands.release_role(s, role, self.actor),
                             seen=state, yours="release")
        else:
            await self.write(lambda s: commands.assign_role(s, role, person, self.actor),
                             seen=state, yours="handoff" if holder else "assignment")

    def _people(self, state: IncidentState, role: Role) -> list[Choice[str]]:
        return people_choices(state, role, actor=self.actor, present=self.present,
                              oncall=self._on_call(state))

    def _on_call(self, state: IncidentState) -> list[tuple[str, str]]:
        """Who is on call now: the incident's own rotation first, then every other one."""
        from warroom.domain.config.fields import ConfigError
        from warroom.domain.oncall.rotation import who_is_on_call

        try:
            _, policy = self.config.policy_for(state.service)
            own = self.config.rotation_for(state.service, policy)
        except (KeyError, ConfigError):
            own = None
        rotations = ([own] if own else []) + [r for r in self.config.rotations.values()
                                              if r is not own]
        now, people = self.session.now(), []
        for rotation in rotations:
            who = who_is_on_call(rotation, now)
            people += [(p, f"{rotation.name} {slot}") for p, slot in
                       ((who.primary, "primary"), (who.secondary, "secondary")) if p]
        return people

    @work(group="actions")
    async def action_fact(self) -> None:
        """Set a fact for the record directly (`warroom fact`): no magic note prefix needed."""
        state = self.snapshot()
        if state is None:
            return
        facts = await self._facts(state)
        name = await self.ask(ChoiceScreen(f"Record a fact · {state.id}", fact_choices(facts),
                                           hint="The postmortem and the messages state these"))
        if not name:
            return
        known = fact_now(facts, name)
        text = await self.ask(TextPrompt(
            f"{FACT_TITLES[name]} · {state.id}", value=known,
            hint="Enter records it · Esc cancels" + (" · each lesson adds to the list"
                                                      if name == "lessons" else "")))
        if not text or text == known:
            return
        await self.write(lambda s: commands.record_fact(s, name, text, self.actor),
                         f"{FACT_TITLES[name]} recorded", seen=state,
                         yours=FACT_TITLES[name].lower())

    async def _note(self, kind: str, title: str, hint: str = "") -> None:
        """A refused note is not lost: if the incident moved on while it was typed (an engine's
        page, a colleague's change), the prompt comes back with the text, on the new version,
        and the notice says what changed; Enter writes it then, Esc drops it."""
        seen = self.snapshot()
        text: str | None = ""
        while seen is not None:
            text = await self.ask(TextPrompt(title, hint=hint, value=text or ""))
            if not text:
                return
            # An action item's trailing @name is its owner: the domain's add_note reads it.
            written = await self.write(
                lambda s, text=text: commands.add_note(s, text, self.actor, kind=kind),
                seen=seen, yours=kind.replace("_", " "))
            if written != "conflict":
                return
            seen = self.snapshot()
            hint = (f"{seen.id if seen else 'The incident'} changed while you typed (see the "
                    "notice): Enter writes this as it is now · Esc drops it")

    @work(group="actions")
    async def action_note(self) -> None:
        await self._note("note", "Add a note to the timeline")

    @work(group="actions")
    async def action_decision(self) -> None:
        await self._note("decision", "Record a decision")

    @work(group="actions")
    async def action_action_item(self) -> None:
        await self._note("action", "Add an action item",
                         "text @owner · Enter to save · Esc to cancel")

    @work(group="actions")
    async def action_escalate(self) -> None:
        state = self.snapshot()  # escalate as of the version shown when the key was pressed
        if state is None:
            return
        question = escalate_question(self.config, state, self.session.now())
        if not await self.ask(ConfirmScreen(question)):
            return
        engine = self.session.engine
        if engine is None:  # a terminal without the engine: the same command, no pages sent
            from warroom.domain.oncall.escalation import escalate_now

            await self.write(lambda s: escalate_now(s, self.config, self.actor,
                                                    self.session.now()), seen=state)
            return
        try:
            await engine.escalate_now(state.id, self.actor, expected_version=state.version)
        except Conflict as e:
            self.notify_error(e.describe(self.session.now()))
        except (DomainError, StoreError) as e:
            self.notify_error(str(e))

    @work(group="actions")
    async def action_checklist(self) -> None:
        seen = self.snapshot()
        if seen is None:
            return
        key, seen = await self.ask_live(seen, lambda s: ("Mark a checklist item done",
                                                         checklist_choices(s)))
        if key:
            await self.write(lambda s: commands.complete_checklist(s, key, self.actor),
                             seen=seen, yours="checklist mark")

    @work(group="actions")
    async def action_edit_entry(self) -> None:
        seen = self.snapshot()
        event = self.query_one(TimelineView).selected_event()
        if event is None or seen is None:
            return
        current = event.data.get("text") if isinstance(event.data.get("text"), str) else ""
        text = await self.ask(TextPrompt(f"Correct #{event.seq}: {describe(event)[:60]}",
                                         value=current or ""))
        if text and text != current:
            await self.write(lambda s: commands.amend(s, event.event_id, self.actor, text),
                             seen=seen, yours="correction")

    @work(group="actions")
    async def action_switch(self) -> None:
        rows = sort_open([s for s in self.summaries if s.is_open])
        if not rows:
            self.notify("no open incidents", markup=False)
            return
        incident_id = await self.ask(ChoiceScreen("Open incidents (most severe, then oldest)",
                                                  incident_choices(rows, self.session.now())))
        if incident_id:
            self.call_later(self.follow, incident_id)  # in turn with the feed's batches

    @work(group="actions")
    async def action_declare(self) -> None:
        """The form stays open on a mistake, with what was typed; `m` as the severity opens
        the matrix and comes back with its suggestion filled in."""
        values: dict[str, str] = {}
        note = ""
        validate = declare_validator(self.config)
        while True:
            answer = await self.ask(FormScreen(
                "Declare an incident", DECLARE_FIELDS,
                partial(declare_preview, note=note),
                "Enter: next / declare · Esc: cancel", validate=validate, values=values))
            if not answer:
                return
            values = answer
            if values["severity"].lower() != MATRIX:
                break
            assessed = await self.ask(FormScreen(
                "Severity assessment matrix · for the declaration", ASSESSMENT_FIELDS,
                assessment_preview, hint="Any subset · Enter on the last line takes the "
                "suggestion back to the declaration · Esc: back", validate=assessment_errors))
            values["severity"] = ""
            if assessed:
                s = suggest_severity(assessment(assessed))
                values["severity"] = str(s.severity.rank)
                note = f"matrix: {s.explain()}"
        sev = Severity.parse(values["severity"])
        title, service = values["title"], values["service"] or None
        try:
            result = await execute(self.store, None, lambda _: commands.declare(
                title, sev, self.actor, service=service, source="tui"), retry=NEVER)
        except (DomainError, StoreError) as e:
            self.notify_error(str(e))
            return
        warning = service_warning(self.config, service, result.incident_id)
        if warning:  # declared all the same, as the CLI does: say how to fix it
            self.notify(warning, severity="warning", markup=False, timeout=8)
        self.call_later(self.follow, result.incident_id)

    # ---- the incident's documents -----------------------------------------------------------

    @work(group="actions")
    async def action_comms(self) -> None:
        state = self.snapshot()
        if state is None:
            return
        from warroom.domain.statuspage.page import latest_update

        try:  # what the status page says now about it (its latest customer message)
            on_page = latest_update(state, await self.store.events(state.id))
        except StoreError:
            on_page = None
        choices, plan = comms_choices(state, self.session.now(), on_page)
        name = await self.ask(ChoiceScreen(f"Communications · {state.id}", choices, hint=plan))
        if not name:
            return
        from warroom.content.templates import preview_message
        from warroom.tui.documents import MessageScreen

        state = self.snapshot() or state  # built on, and marked sent at, this version
        try:
            events = await self.store.events(state.id)
            msg = preview_message(name, state, events, self.session.now(),
                                  self.loaded.templates_dir, drill=await self.store.is_drill())
        except (DomainError, StoreError) as e:
            self.notify_error(str(e))
            return
        notes = Text()
        if msg.missing:
            notes.append("Not yet in the record: " + ", ".join(msg.missing), style="yellow")
        if self.spectator:
            notes.append("  (spectator: you can copy, not mark sent)", style="dim")

        def send(text: str) -> None:
            if self.spectator:
                self.notify_error("spectator mode: nothing can be marked sent from here")
                return
            self._mark_sent(name, text, state)

        def copy(text: str) -> None:
            self.app.copy_to_clipboard(text)
            self.notify("copied to the clipboard (through the terminal)", markup=False)

        self.app.push_screen(MessageScreen(f"{name} message · {state.id} · {msg.source}",
                                           msg.text, notes, send, copy))

    @work(group="actions")
    async def _mark_sent(self, template: str, text: str, seen: IncidentState) -> None:
        from warroom.domain.comms.messages import mark_sent

        audience = await self.ask(ChoiceScreen("Sent to which audience?", audience_choices()))
        if not audience:
            return
        message = self.app.screen
        if isinstance(message, ModalScreen):
            message.dismiss(None)  # the message went out: close it
        await self.write(lambda s: mark_sent(s, template, audience, self.actor, text=text),
                         done=f"{template} marked sent to {audience}", seen=seen,
                         yours=f"{template} mark-sent")

    def action_runbook(self) -> None:
        from warroom.content.runbooks import load_runbook
        from warroom.tui.documents import MarkdownScreen

        state = self.state
        if state is None:
            return
        if not state.service:
            self.notify_error(f"{state.id} has no service, so no runbook")
            return
        try:
            book = load_runbook(state.service, self.loaded.runbooks_dir,
                                self.loaded.runbook_mapping())
        except DomainError as e:
            self.notify_error(str(e))
            return
        notes = Text("\n".join(f"warning: {w}" for w in book.warnings), style="yellow") \
            if book.warnings else None
        self.app.push_screen(MarkdownScreen(f"Runbook · {render.safe(state.service)}",
                                            book.markdown, notes))

    @work(group="actions")
    async def action_postmortem(self) -> None:
        from warroom.domain.comms.postmortem import render_postmortem
        from warroom.tui.documents import MarkdownScreen

        state = self.state
        if state is None:
            return
        events = await self.store.events(state.id)
        markdown = render_postmortem(state, events, self.session.now())

        def saved(path: Path) -> None:
            self.notify(f"postmortem saved to {path}", markup=False)

        self.app.push_screen(MarkdownScreen(f"Postmortem · {state.id}", markdown,
                                            save_to=self.room_dir() / "postmortems"
                                            / f"{state.id}-postmortem.md",
                                            save_base=self.room_dir(), on_saved=saved,
                                            on_error=self.notify_error))

    def room_dir(self) -> Path:
        """Where the room's files live: beside its database (SQLite), else beside its
        configuration file, else where the process started."""
        path = getattr(self.store, "path", None)
        if isinstance(path, Path):
            return path.expanduser().absolute().parent
        return self.loaded.base_dir or Path.cwd()

    @work(group="actions")
    async def action_payloads(self) -> None:
        from warroom.domain.alerts.automation import alert_payloads
        from warroom.tui.documents import TextScreen

        state = self.state
        if state is None:
            return
        views = alert_payloads(await self.store.events(state.id))
        self.app.push_screen(TextScreen(f"Alert payloads · {state.id} · {len(views)} kept",
                                        payloads_text(views)))

    # ---- the screen itself ------------------------------------------------------------------

    def action_metrics_mode(self) -> None:
        self.oncall_rows = None
        self.metrics_mode = "oncall" if self.metrics_mode == "metrics" else "metrics"
        self._compute_metrics()

    def action_help(self) -> None:
        t = Text()
        for spec in ACTIONS:
            if self.check_action(spec.action, ()) is False:
                continue
            t.append(f"{self.keys.label(spec.action):>8}  ", style="bold")
            t.append(f"{spec.description}\n")
        t.append(f"{'ctrl+p':>8}  ", style="bold")
        t.append("Command palette: every action by name\n")
        t.append(f"{'tab':>8}  ", style="bold")
        t.append(f"Focus the timeline; up/down select an entry, Enter opens it whole, "
                 f"{self.keys.label('edit_entry')} corrects it\n")
        if self.spectator:
            t.append("\nSpectator mode: read-only. Nothing you press changes the room.",
                     style="bold")
        self.app.push_screen(InfoScreen("Keys", t))

    def action_quit(self) -> None:
        self.app.exit(0)

    # ---- parity with the CLI and the seed's procedure (issue 12) ---------------------------
    # Each writes at the version its dialog opened on (or, for a choice, the version the choice
    # was last rebuilt on): a colleague's change in between refuses it with who did what.

    @work(group="actions")
    async def action_service(self) -> None:
        """The configured services with their teams, a typed name (an unknown one is checked
        against the nearest configured names, as `warroom service` warns), or none."""
        from warroom.tui.prompts import near_service_choices, service_choices

        seen = self.snapshot()
        if seen is None:
            return
        picked, seen = await self.ask_live(seen, lambda s: (
            f"Service of {s.id} (now {render.safe(s.service or 'none', 30)})",
            service_choices(s, self.config)))
        if picked is None:
            return
        how, name = picked
        if how == "type":
            typed = await self.ask(TextPrompt(
                f"Service of {seen.id}: which name?", value=render.safe(seen.service or ""),
                hint="A configured name has a runbook, team and policy · Esc cancels"))
            if not typed:
                return
            name = typed
            warning = self.config.unknown_service(name, seen.id, fix=False)
            if warning:
                name = await self.ask(ChoiceScreen(
                    f"{render.safe(name, 40)!r} is not a configured service",
                    near_service_choices(name, self.config),
                    hint=Text(f"warning: {render.safe(warning)}", style="yellow")))
                if not name:
                    return
        service = name if how != "none" else None
        await self.write(lambda s: commands.change_service(s, service, self.actor), seen=seen,
                         yours="service change")

    @work(group="actions")
    async def action_phase(self) -> None:
        from warroom.tui.prompts import phase_choices

        seen = self.snapshot()
        if seen is None:
            return
        phase, seen = await self.ask_live(seen, lambda s: (
            f"Phase of {s.id} (now {s.phase.value})", phase_choices(s)))
        if phase is None:
            return
        await self.write(lambda s: commands.change_phase(s, phase, self.actor), seen=seen,
                         yours=f"move to {phase.value}")

    @work(group="actions")
    async def action_complete_action(self) -> None:
        from warroom.tui.prompts import action_item_choices

        seen = self.snapshot()
        if seen is None:
            return
        if not seen.action_items:
            self.notify(f"{seen.id} has no action items yet ({self.keys.label('action_item')} "
                        "adds one)", markup=False)
            return
        item, seen = await self.ask_live(seen, lambda s: (
            f"Mark an action item of {s.id} done", action_item_choices(s)))
        if item is None:
            return
        await self.write(lambda s: commands.complete_action(s, item, self.actor), seen=seen,
                         yours="action item done")

    @work(group="actions")
    async def action_retitle(self) -> None:
        seen = self.snapshot()
        if seen is None:
            return
        shown = render.safe(seen.title)  # control characters as text, never to the terminal
        title = await self.ask(TextPrompt(f"Title of {seen.id}", value=shown,
                                          hint="Enter to save · Esc to cancel"))
        if not title or title == shown:
            return
        await self.write(lambda s: commands.retitle(s, title, self.actor), seen=seen,
                         yours="retitle")

    async def _ask_time_form(self, title: str, fields: list[tuple[str, str, str]],
                             preview: Callable[[dict[str, str]], Text],
                             read: Callable[[dict[str, str]], T]) -> T | None:
        """A form whose answer holds a time: until it reads (or Esc), the form comes back with
        what was typed and the reason beside it."""
        values: dict[str, str] | None = None
        while True:
            values = await self.ask(FormScreen(
                title, fields, preview, values=values,
                hint=f"Times in your zone ({self._zone_name()}) · Enter: next / save · "
                     "Esc: cancel"))
            if not values:
                return None
            try:
                return read(values)
            except DomainError as e:
                self.notify_error(str(e))

    def _zone_name(self) -> str:
        return self.session.now().astimezone(self.local_tz).tzname() or "local"

    @work(group="actions")
    async def action_backdate(self) -> None:
        """A note, decision or action item that happened earlier, at the time it happened
        (read as the CLI's `note --at` reads it, in this terminal's zone)."""
        from warroom.tui.prompts import BACKDATE_FIELDS, backdate_preview, read_backdate

        seen = self.snapshot()
        if seen is None:
            return
        window = self.config.times.window()
        answer = await self._ask_time_form(
            f"Add an earlier entry to {seen.id}", BACKDATE_FIELDS,
            backdate_preview(self.session.now, self.local_tz, window),
            lambda v: read_backdate(v, self.session.now(), self.local_tz, window))
        if answer is None:
            return
        at, text, kind = answer
        await self.write(lambda s: commands.add_note(s, text, self.actor, at=at, kind=kind),
                         seen=seen, yours=f"backdated {kind}")

    @work(group="actions")
    async def action_schedule_postmortem(self) -> None:
        from warroom.tui.prompts import MEETING_FIELDS, meeting_preview, meeting_time

        seen = self.snapshot()
        if seen is None:
            return
        window = self.config.times.window()
        meets_at = await self._ask_time_form(
            f"Schedule the postmortem of {seen.id}", MEETING_FIELDS,
            meeting_preview(self.session.now, self.local_tz, window),
            lambda v: meeting_time(v.get("when", ""), self.session.now(), self.local_tz,
                                   window))
        if meets_at is None:
            return
        await self.write(lambda s: commands.schedule_postmortem(s, meets_at, self.actor),
                         seen=seen, yours="postmortem schedule")

    # ---- time travel (issue 17.4: warroom/tui/timetravel.py) ------------------------------

    _scrub: Scrub | None = None  # set while `[`/`]` show the incident as of one of its events

    def action_time_back(self) -> None:
        scrub = self._scrub
        if scrub is None:
            state = self.state
            if state is None:
                return
            scrub = scrub_of(state, [r.event for r in self.query_one(TimelineView).rows()])
            if scrub is None:
                self.notify_error(f"{state.id}: its timeline is still loading; try again")
                return
            self._start_scrub(scrub)
        elif scrub.version == 1:
            self.notify(f"{scrub.incident_id}'s declaration: nothing earlier", markup=False,
                        timeout=3)
            return
        else:
            scrub.version -= 1
        self._show_scrub(scrub)

    def action_time_forward(self) -> None:
        scrub = self._scrub
        if scrub is None:
            self.notify("live already: nothing newer to step to", markup=False, timeout=3)
        elif scrub.version >= scrub.last:
            self.action_time_live()
        else:
            scrub.version += 1
            self._show_scrub(scrub)

    def action_time_live(self) -> None:
        """Back to live: the incident read again whole, in turn with the feed's batches, so
        what arrived meanwhile is on screen and nothing is applied twice."""
        scrub = self._scrub
        if scrub is None:
            return
        self.call_later(self._end_scrub, scrub.incident_id)

    def _start_scrub(self, scrub: Scrub) -> None:
        # Synchronous with the feed's handler (no await between the two assignments): from
        # here the feed brings this incident's events to the store only, until Esc.
        self._scrub = scrub
        self.follow_id = None
        self.mount(AsOfBar(banner(scrub, self.local_tz)), before=self.query_one("#body"))
        self.query_one(KeyBar).refresh_keys()

    def _show_scrub(self, scrub: Scrub) -> None:
        self.state = scrub.state()
        self.now = scrub.at
        timeline = self.query_one(TimelineView)
        timeline.set_events(scrub.events[:scrub.version])
        event_id = scrub.event.event_id
        row = next((i for i, r in enumerate(timeline.rows()) if r.event.event_id == event_id),
                   timeline.row_count - 1)
        timeline.cursor = row
        timeline.call_after_refresh(timeline.scroll_to_region_of, row)
        self._title_timeline()
        for bar in self.query(AsOfBar):
            bar.update(banner(scrub, self.local_tz))

    async def _end_scrub(self, incident_id: str) -> None:
        if self._scrub is None:
            return
        await self.follow(incident_id)
        self._scrub = None
        self.now = self.session.now()
        await self.query(AsOfBar).remove()
        self.query_one(KeyBar).refresh_keys()

    def on_key(self, event: events.Key) -> None:
        """While scrubbing, a key of a withheld action says why nothing happens (the binding
        itself is off: `check_action`)."""
        scrub = self._scrub
        if scrub is None:
            return
        for spec in ACTIONS:
            if spec.action in ALLOWED_AS_OF:
                continue
            keys = {k.strip() for k in self.keys.keys(spec.action).split(",")}
            if event.key in keys or (event.character is not None and event.character in keys):
                event.stop()
                event.prevent_default()
                self.notify(refusal(scrub, spec.action, self.local_tz), severity="warning",
                            markup=False, timeout=4)
                return
