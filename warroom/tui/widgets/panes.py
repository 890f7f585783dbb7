"""The dashboard's panes: each a widget that renders itself from its inputs.

A pane's inputs are its reactives, bound to the dashboard screen's (`data_bind`). When one
changes, the pane builds its text again through the pure renderers (`tui/render.py`) and
repaints only if the text differs from what it shows: a note changes the timeline, not the
roster; a tick changes the clocks, not the metrics (docs/benchmarks-dashboard.md: every
repaint and re-layout is paid for on the key press that caused it). Static keeps the text, so a
repaint for another reason (a dialog closing over the dashboard) does not build it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.reactive import Reactive, var
from textual.widgets import Static

from warroom.domain.alerts.automation import suggest_monitoring
from warroom.domain.common.errors import DomainError
from warroom.domain.config.model import Config
from warroom.domain.incident.clocks import response_clocks, update_clock
from warroom.domain.incident.roles import Role
from warroom.domain.incident.state import IncidentState
from warroom.domain.oncall.escalation import escalation_view_for
from warroom.domain.oncall.rotation import who_is_on_call
from warroom.tui import render

if TYPE_CHECKING:  # annotations only: not imported before the first paint
    from warroom.domain.metrics.report import MetricsReport
    from warroom.domain.oncall.load import PersonMonthLoad

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Pane(Static):
    """Every reactive a subclass declares is an input; `build` turns them into the text."""

    INPUTS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.INPUTS = cls.INPUTS + tuple(name for name, value in vars(cls).items()
                                        if isinstance(value, Reactive))

    def __init__(self, title: str | None = None, *, id: str, classes: str | None = "pane",
                 ) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        if title is not None:
            self.border_title = title
        self._shown: Text | None = None
        for name in self.INPUTS:
            self.watch(self, name, self._inputs_changed, init=False)

    def build(self) -> Text:
        raise NotImplementedError

    def _inputs_changed(self) -> None:
        text = self.build()
        if text == self._shown:
            return
        self._shown = text
        self._show(text)

    def _show(self, text: Text) -> None:
        """Repaint the pane; lay the screen out again only if its height changed. A layout
        pass re-arranges and repaints the whole screen (and the dimmed copy behind an open
        dialog): paid on every tick and every batch, it was most of a frame's time, while the
        panes' widths come from the stylesheet and their text rarely changes its line count."""
        width = self.content_size.width
        if not self.is_mounted or width <= 0:
            self.update(text)
            return
        nowhere = Size(0, 0)  # a Static's height depends on its width alone
        before = self.get_content_height(nowhere, nowhere, width)
        self.update(text, layout=False)
        if self.get_content_height(nowhere, nowhere, width) != before:
            self.refresh(layout=True)


class HeaderPane(Pane):
    """The followed incident in two lines, the clock in UTC and local time, who you are."""

    state: var[IncidentState | None] = var(None, init=False)
    now: var[datetime] = var(EPOCH, init=False)
    open_count: var[int] = var(0, init=False)
    clock_note: var[str | None] = var(None, init=False)
    width: var[int] = var(80, init=False)
    drill: var[bool] = var(False, init=False)  # the room is a drill (its own marker)

    def __init__(self, *, actor: str, local_tz: tzinfo, spectator: bool, id: str,
                 declare_key: str = "D") -> None:
        self.actor = actor
        self.local_tz = local_tz
        self.spectator = spectator
        self.declare_key = declare_key  # as warroom.toml's [keys] maps it
        super().__init__(id=id, classes=None)

    def on_mount(self) -> None:
        self.run_worker(self._ask_drill(), exit_on_error=False)

    async def _ask_drill(self) -> None:
        """Every screen on a drill room says DRILL, spectators' too: the room says so."""
        store = getattr(self.app, "_store", None)
        if store is not None:
            self.drill = await store.is_drill()

    def build(self) -> Text:
        t = render.header(self.state, now=self.now, local_tz=self.local_tz,
                          actor=self.actor, spectator=self.spectator, width=self.width,
                          open_count=self.open_count, clock_offset=self.clock_note,
                          declare_key=self.declare_key)
        if not self.drill:
            return t
        badged = Text(" DRILL ", style="bold reverse magenta", no_wrap=True,
                      overflow="ellipsis")
        badged.append(" ")
        badged.append_text(t)
        return badged


class StatusPane(Pane):
    """The workflow and phase, what the severity asks of the room, the response checklist's
    owners and clocks, the next customer update, the postmortem's clock."""

    state: var[IncidentState | None] = var(None, init=False)
    now: var[datetime] = var(EPOCH, init=False)
    compact: var[bool] = var(False, init=False)
    cols: var[int] = var(0, init=False)  # its own width: what fits on a checklist line

    def on_resize(self, event: events.Resize) -> None:
        self.cols = self.content_size.width

    def build(self) -> Text:
        t = render.workflow(self.state, compact=self.compact)
        if self.state is None:
            return t
        profile = render.severity_profile(self.state, compact=self.compact, width=self.cols)
        t.append(" · " if self.compact else "\n")
        t.append_text(profile)
        if suggest_monitoring(self.state):
            t.append("\n")
            t.append(" ALL ALERTS RESOLVED: move to Monitoring? (s, m) ",
                     style="bold reverse green")
        postmortem = render.postmortem_clock(self.state, self.now, compact=self.compact)
        t.append("\n")
        t.append_text(render.clocks(response_clocks(self.state, self.now),
                                    update_clock(self.state, self.now), compact=self.compact,
                                    width=self.cols, postmortem=postmortem))
        if postmortem is not None and not self.compact:
            t.append("\n")
            t.append_text(postmortem)
        return t


class EscalationPane(Pane):
    """The policy's levels: who was paged when, what comes next and when."""

    state: var[IncidentState | None] = var(None, init=False)
    now: var[datetime] = var(EPOCH, init=False)
    compact: var[bool] = var(False, init=False)

    def __init__(self, title: str, *, config: Config, id: str) -> None:
        self.config = config
        super().__init__(title, id=id)

    def build(self) -> Text:
        if self.state is None:
            return Text()
        try:
            view = escalation_view_for(self.config, self.state, self.now)
        except (DomainError, KeyError, ValueError) as e:
            return Text(f"escalation unavailable: {e}", style="bold red")
        return render.escalation(view, now=self.now, compact=self.compact)


class RosterPane(Pane):
    """Who holds each role, who the rotation has on call, who is in the room."""

    state: var[IncidentState | None] = var(None, init=False)
    now: var[datetime] = var(EPOCH, init=False)
    present: var[tuple[str, ...]] = var((), init=False)
    compact: var[bool] = var(False, init=False)

    def __init__(self, title: str, *, config: Config, id: str) -> None:
        self.config = config
        super().__init__(title, id=id)

    def build(self) -> Text:
        return render.roster(self.state, now=self.now, present=list(self.present),
                             oncall=self.oncall(), compact=self.compact)

    def oncall(self) -> dict[str, str | None] | None:
        if self.state is None:
            return None
        try:
            _, policy = self.config.policy_for(self.state.service)
            rotation = self.config.rotation_for(self.state.service, policy)
        except KeyError:
            return None
        if rotation is None:
            return None
        who = who_is_on_call(rotation, self.now)
        return {Role.ONCALL_PRIMARY.value: who.primary,
                Role.ONCALL_SECONDARY.value: who.secondary}


class MetricsPane(Pane):
    """The room's metrics against their targets, or this month's on-call load (`m`)."""

    metrics_report: var[MetricsReport | None] = var(None, init=False)
    metrics_mode: var[str] = var("metrics", init=False)  # or "oncall"
    oncall_rows: var[list[PersonMonthLoad] | None] = var(None, init=False)
    oncall_month: var[str] = var("", init=False)
    compact: var[bool] = var(False, init=False)

    def build(self) -> Text:
        if self.metrics_mode == "oncall":
            self.border_title = "On-call load"
            if self.oncall_rows is None:
                return Text("computing…", style="dim")
            return render.oncall_load(self.oncall_rows, self.oncall_month)
        self.border_title = "Metrics (m: on-call load)"
        return render.metrics(self.metrics_report, compact=self.compact)
