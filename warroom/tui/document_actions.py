"""The dashboard's document keys: messages (preview, edit, copy, mark sent), the runbook, the
postmortem and the alert payloads. Each is generated from the record when the key is pressed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.screen import ModalScreen

from warroom.domain.common.errors import DomainError
from warroom.domain.common.text import printable
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.state import IncidentState
from warroom.store.errors import StoreError
from warroom.tui import render
from warroom.tui.screens import Choice, ChoiceScreen

if TYPE_CHECKING:
    from warroom.config_file import LoadedConfig
    from warroom.store.base import Store


class DocumentActions:
    """Mixed into WarroomApp; these are the attributes it provides."""

    if TYPE_CHECKING:
        actor: str
        spectator: bool
        state: IncidentState | None
        loaded: LoadedConfig

        @property
        def store(self) -> Store: ...
        @property
        def screen(self) -> Any: ...
        def now(self) -> datetime: ...
        def notify_error(self, message: str) -> None: ...
        def run_command(self, decide: Callable[[IncidentState], list[NewEvent]],
                        done: str | None = None) -> Any: ...
        def push_screen(self, *args: Any, **kwargs: Any) -> Any: ...
        def notify(self, *args: Any, **kwargs: Any) -> None: ...
        def copy_to_clipboard(self, text: str) -> None: ...

    def _templates_dir(self) -> Path | None:
        return self.loaded.templates_dir

    def action_comms(self) -> None:
        state = self.state
        if state is None:
            return
        from warroom.domain.comms.messages import TEMPLATE_NAMES, comms_schedule
        from warroom.domain.comms.stakeholders import stakeholders_for

        now = self.now()
        schedule = {row.template: row for row in comms_schedule(state, now)}
        choices = []
        for i, name in enumerate(TEMPLATE_NAMES):
            row = schedule.get(name)
            note = ""
            if row is not None:
                if row.sent_at is not None:
                    note = f"sent {row.sent_at:%H:%M}Z"
                elif row.due_at is not None:
                    left = row.due_at - now
                    note = (f"OVERDUE {_dur(-left)}" if left.total_seconds() < 0
                            else f"due in {_dur(left)}")
            choices.append(Choice(str(i + 1), f"{name:<11} {note}", name))
        plan = Text(f"Who must be told for {state.severity.value}:\n", style="bold")
        for action in stakeholders_for(state.severity):
            plan.append(f"  {action.label:<13} ", style="bold")
            plan.append(f"{action.what} · {action.how} · {action.when}\n")

        def chosen(name: str | None) -> None:
            if name:
                self._open_message(name)

        self.push_screen(ChoiceScreen(f"Communications · {state.id}", choices, hint=plan),
                         chosen)

    @work(group="documents")
    async def _open_message(self, name: str) -> None:
        from warroom.content.templates import preview_message
        from warroom.tui.documents import MessageScreen

        state = self.state
        if state is None:
            return
        try:
            events = await self.store.events(state.id)
            msg = preview_message(name, state, events, self.now(), self._templates_dir())
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
            self._choose_audience(name, text)

        def copy(text: str) -> None:
            self.copy_to_clipboard(text)
            self.notify("copied to the clipboard (through the terminal)", markup=False)

        self.push_screen(MessageScreen(f"{name} message · {state.id} · {msg.source}",
                                       msg.text, notes, send, copy))

    def _choose_audience(self, template: str, text: str) -> None:
        from warroom.domain.comms.messages import AUDIENCES, mark_sent

        choices = [Choice(str(i + 1), a, a) for i, a in enumerate(AUDIENCES)]

        def chosen(audience: str | None) -> None:
            if not audience:
                return
            self.run_command(
                lambda s: mark_sent(s, template, audience, self.actor, text=text),
                done=f"{template} marked sent to {audience}")
            if isinstance(self.screen, ModalScreen):
                self.screen.dismiss(None)

        self.push_screen(ChoiceScreen("Sent to which audience?", choices), chosen)


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
        self.push_screen(MarkdownScreen(f"Runbook · {render.safe(state.service)}",
                                        book.markdown, notes))

    @work(group="documents")
    async def action_postmortem(self) -> None:
        from warroom.domain.comms.postmortem import render_postmortem
        from warroom.tui.documents import MarkdownScreen

        state = self.state
        if state is None:
            return
        events = await self.store.events(state.id)
        markdown = render_postmortem(state, events, self.now())

        def saved(path: Path) -> None:
            self.notify(f"postmortem saved to {path}", markup=False)

        self.push_screen(MarkdownScreen(f"Postmortem · {state.id}", markdown,
                                        save_to=Path.cwd() / f"{state.id}-postmortem.md",
                                        on_saved=saved))

    @work(group="documents")
    async def action_payloads(self) -> None:
        from warroom.domain.alerts.automation import alert_payloads
        from warroom.tui.documents import TextScreen

        state = self.state
        if state is None:
            return
        views = alert_payloads(await self.store.events(state.id))
        body = Text()
        if not views:
            body.append("No alert payloads on this incident (declared by hand).", style="dim")
        for v in views:
            body.append(f"{v.at:%Y-%m-%d %H:%M:%S}Z  {v.format} {v.version} {v.action}  "
                        f"{v.firing} firing, {v.resolved} resolved  ({v.size} bytes)"
                        f"{'  · ' + v.received() if v.repeats > 1 else ''}\n", style="bold")
            for line in v.mapping_lines():
                body.append(f"  {render.safe(line)}\n", style="cyan")
            body.append(printable(v.text, single_line=False) + "\n\n")
        self.push_screen(TextScreen(f"Alert payloads · {state.id} · {len(views)} kept", body))


def _dur(delta: timedelta) -> str:
    from warroom.domain.common.timefmt import format_duration

    return format_duration(delta)
