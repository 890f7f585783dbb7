"""Screens for the incident's documents: a message to send, the service's runbook, the
postmortem. Each is generated from the record; nothing here edits the record except marking a
message sent, which goes through the same path as every other change (an event)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static, TextArea

from warroom.domain.common.text import printable


class MessageScreen(ModalScreen[None]):
    """Preview a generated message, edit it, copy it, mark it sent to an audience."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "send", "Mark sent"),
        Binding("ctrl+g", "copy", "Copy all"),
        Binding("f5", "reset", "Reset text"),
    ]

    def __init__(self, title: str, text: str, notes: Text,
                 on_send: Callable[[str], None], on_copy: Callable[[str], None]) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.original = text
        self.notes = notes
        self.on_send = on_send
        self.on_copy = on_copy

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog document"):
            yield Label(Text(self.title_text), classes="dialog-title")
            # The generated text contains the record's untrusted text: a TextArea shows it
            # literally (it never interprets markup); control characters are made visible.
            yield TextArea(printable(self.original, single_line=False), id="message",
                           soft_wrap=True, show_line_numbers=False)
            yield Static(self.notes, classes="dialog-hint")
            yield Static(Text("ctrl+s mark sent · ctrl+g copy · F5 reset · Esc close"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def action_send(self) -> None:
        self.on_send(self.text)

    def action_copy(self) -> None:
        self.on_copy(self.text)

    def action_reset(self) -> None:
        self.query_one(TextArea).text = printable(self.original, single_line=False)

    def action_close(self) -> None:
        self.dismiss(None)


class MarkdownScreen(ModalScreen[None]):
    """A runbook or a postmortem, rendered; `save` (when given) writes the Markdown source."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, title: str, markdown: str, notes: Text | None = None,
                 save_to: Path | None = None, save_base: Path | None = None,
                 on_saved: Callable[[Path], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.markdown = markdown
        self.notes = notes
        self.save_to = save_to  # the default offered
        self.save_base = save_base  # where a relative answer is read from (the room's folder)
        self.on_saved = on_saved
        self.on_error = on_error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog document"):
            yield Label(Text(self.title_text), classes="dialog-title")
            with VerticalScroll(id="doc-scroll"):
                yield Markdown(self.markdown, id="doc")
            if self.notes is not None:
                yield Static(self.notes, classes="dialog-hint")
            keys = "↑/↓ PgUp/PgDn scroll · Esc close"
            if self.save_to is not None:
                keys = "ctrl+s save (asks where) · " + keys
            yield Static(Text(keys), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#doc-scroll").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.save_to is not None
        return True

    @work(exclusive=True, group="save")
    async def action_save(self) -> None:
        """Ask where (the default beside the room, not wherever the process started), create
        the folder, and ask before overwriting a file that is already there."""
        from warroom.tui.screens import ConfirmScreen, TextPrompt

        if self.save_to is None:
            return
        answer = await self.app.push_screen_wait(TextPrompt(
            "Save the postmortem (Markdown) to", value=str(self.save_to),
            hint="Enter saves (the folder is created) · Esc cancels"))
        if not answer:
            return
        path = Path(answer).expanduser()
        if not path.is_absolute():
            path = (self.save_base or self.save_to.parent) / path
        if path.is_dir():
            path = path / self.save_to.name
        if path.exists() and not await self.app.push_screen_wait(ConfirmScreen(
                f"{path} already exists. Overwrite it?")):
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.markdown, encoding="utf-8")
        except OSError as e:
            if self.on_error is not None:
                self.on_error(f"the postmortem was not saved: {e}")
            return
        if self.on_saved is not None:
            self.on_saved(path)

    def action_close(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """Long plain text (alert payloads) in a scrolling view; never interpreted as markup."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog document"):
            yield Label(Text(self.title_text), classes="dialog-title")
            with VerticalScroll(id="doc-scroll"):
                yield Static(self.body, markup=False)
            yield Static(Text("↑/↓ PgUp/PgDn scroll · Esc close"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#doc-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
