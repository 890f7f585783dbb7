"""The small modal screens behind each key: pick one, type one line, confirm, or fill a form.

Each is reachable and finishable from the keyboard alone, in as few keys as possible: choices
answer to their number or first letter, Enter accepts, Escape cancels and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.input import Selection
from textual.widgets.option_list import Option

T = TypeVar("T")


@dataclass(frozen=True)
class Choice(Generic[T]):
    key: str  # a single key that picks it at once
    label: str
    value: T
    enabled: bool = True


class Dialog(ModalScreen[T]):
    """A modal that says when it is answered, before it closes: whoever asked may hold the
    screen's frames until what the answer does is ready to show with the closing (the
    dashboard: the dialog closes in the frame that shows the change it wrote)."""

    answered: Callable[[Any], None] | None = None

    def dismiss(self, result: T | None = None) -> AwaitComplete:
        if self.answered is not None:
            self.answered(result)
        return super().dismiss(result)


class ChoiceScreen(Dialog[Any]):
    """Pick one of a few options: its key picks it at once; arrows then Enter work too."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: Sequence[Choice[Any]], hint: str | Text = "") -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.choices = list(choices)
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            options = [
                Option(Text(f"{c.key}  {c.label}"), id=f"c{i}", disabled=not c.enabled)
                for i, c in enumerate(self.choices)
            ]
            yield OptionList(*options, id="choices")
            if self.hint:
                hint = self.hint if isinstance(self.hint, Text) else Text(self.hint)
                yield Static(hint, classes="dialog-hint")

    def update(self, title: str, choices: Sequence[Choice[Any]], hint: str | Text = "") -> None:
        """Show fresh choices in place (the incident changed under the open dialog)."""
        self.title_text, self.choices, self.hint = title, list(choices), hint
        self.query_one(".dialog-title", Label).update(Text(title))
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(Text(f"{c.key}  {c.label}"), id=f"c{i}",
                                    disabled=not c.enabled)
                             for i, c in enumerate(self.choices)])
        options.highlighted = None
        for static in self.query(".dialog-hint").results(Static):
            static.update(hint if isinstance(hint, Text) else Text(hint))

    def on_mount(self) -> None:
        # Nothing is highlighted until the person moves there: a bare Enter (say, the end of a
        # name typed while no dialog was open) must never pick the first choice by itself.
        self.query_one(OptionList).highlighted = None

    def on_key(self, event: Any) -> None:
        for c in self.choices:
            if c.enabled and event.character is not None and event.character == c.key:
                event.stop()
                self.dismiss(c.value)
                return

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        index = int((event.option.id or "c0")[1:])
        self.dismiss(self.choices[index].value)

    def action_cancel(self) -> None:
        self.dismiss(None)


TEXT_HINT = "Enter to save · Esc to cancel"


class TextPrompt(Dialog[str | None]):
    """One line of text: Enter submits, Escape cancels. With `allow_empty`, Enter on an empty
    line answers "" (skip this step) and only Escape cancels: an optional fact must never cost
    the move it belongs to."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "",
                 hint: str = "", *, allow_empty: bool = False) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.hint = hint
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="text")
            yield Static(Text(self.hint or TEXT_HINT), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    # A prompt built once and asked again (`take`): composing and mounting a fresh one was
    # half of the time of the key that opens it (`n`), and removing it laid the dashboard out.
    resting = False  # closed and put away: it may be asked again

    def take(self, other: TextPrompt) -> None:
        """Ask what `other` asks, here, as `other` would show it when opened. A title or hint
        that did not change is left as it is (updating one lays the dialog out again)."""
        title, hint = self.title_text, self.hint
        self.title_text, self.placeholder, self.value = other.title_text, other.placeholder, \
            other.value
        self.hint, self.allow_empty = other.hint, other.allow_empty
        self.resting = False
        if not self.is_mounted:
            return
        if self.title_text != title:
            self.query_one(".dialog-title", Label).update(Text(self.title_text))
        if (self.hint or TEXT_HINT) != (hint or TEXT_HINT):
            self.query_one(".dialog-hint", Static).update(Text(self.hint or TEXT_HINT))
        field = self.query_one(Input)  # focused still: as focusing a fresh one leaves it,
        field.placeholder = self.placeholder  # a value offered is selected whole
        field.value = self.value
        field.cursor_position = len(self.value)
        if field.select_on_focus and self.value:
            field.selection = Selection(0, len(self.value))

    def on_screen_suspend(self) -> None:
        self.resting = True

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value if value or self.allow_empty else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(Dialog[bool]):
    """For the alarming and the irreversible: y or Enter confirms, n or Escape does not."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str | Text) -> None:
        super().__init__(classes="modal")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            question = self.question
            yield Label(question if isinstance(question, Text) else Text(question),
                        classes="dialog-title")
            yield Static(Text("y / Enter: yes · n / Esc: no"), classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


Validate = Callable[[dict[str, str]], dict[str, str]]


class FormScreen(Dialog[dict[str, str] | None]):
    """A few labelled lines (declare an incident, assess severity): Enter on the last submits,
    Tab and Enter move on, Escape cancels. `preview` shows a live consequence of the values,
    right under the title so a short terminal still shows it. `validate` answers {field: error}
    on submit: the form stays open with what was typed and each error under its field (losing
    a typed title to a mistyped severity is how a declaration gets abandoned)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, fields: Sequence[tuple[str, str, str]],
                 preview: Callable[[dict[str, str]], Text] | None = None,
                 hint: str = "", *, validate: Validate | None = None,
                 values: dict[str, str] | None = None) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.fields = list(fields)  # (name, label, placeholder)
        self.preview = preview
        self.hint = hint
        self.validate = validate
        self.initial = dict(values or {})
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label(Text(self.title_text), classes="dialog-title")
            if self.preview is not None:
                yield Static(id="preview", classes="dialog-preview")
            for name, label, placeholder in self.fields:
                # A Static, not a Label: an error appended to it wraps instead of being cut.
                yield Static(Text(label), classes="field-label", id=f"l-{name}")
                yield Input(value=self.initial.get(name, ""), placeholder=placeholder,
                            id=f"f-{name}")
            yield Static(Text(self.hint or "Enter: next / submit · Esc: cancel"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        self.query(Input).first().focus()
        self._refresh_preview()

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#f-{name}", Input).value.strip()
                for name, _, _ in self.fields}

    def _refresh_preview(self) -> None:
        if self.preview is not None:
            self.query_one("#preview", Static).update(self.preview(self.values()))

    def show_errors(self, errors: dict[str, str]) -> None:
        """Each error in its field's label, right above what was typed (no line is added, so
        a short terminal shows it as surely as the field); focus goes to the first."""
        self.errors = dict(errors)
        for name, label, _ in self.fields:
            text = Text(label)
            if name in errors:
                text.append(f": {errors[name]}", style="bold red")
            self.query_one(f"#l-{name}", Static).update(text)
        first = next((name for name, _, _ in self.fields if name in errors), None)
        if first is not None:
            self.query_one(f"#f-{first}", Input).focus()

    @on(Input.Changed)
    def _changed(self) -> None:
        self._refresh_preview()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index < len(inputs) - 1:
            inputs[index + 1].focus()
            return
        values = self.values()
        errors = self.validate(values) if self.validate is not None else {}
        if errors:
            self.show_errors(errors)
        else:
            self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class InfoScreen(Dialog[None]):
    """A read-only panel (help, payloads): any of Escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog info"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(self.body, classes="info-body")
            yield Static(Text("Esc to close"), classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
