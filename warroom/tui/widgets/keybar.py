"""The footer: every key this terminal may press now, in one line, as warroom.toml maps it.

One Static repainted only when what is allowed changes (an incident appears, spectator mode),
instead of Textual's Footer, which rebuilds a widget per key on every binding change and, in
Textual 8.2.8, keeps each removed key alive: a leak that grew the heap with every event shown
and every dialog opened, and with it the garbage collector's pauses (docs/benchmarks-dashboard.md).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from warroom.tui.actions import ACTIONS


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, allowed: Callable[[str], bool | None], label: Callable[[str], str], *,
                 id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._allowed = allowed
        self._label = label  # an action's key, as shown
        self._shown: tuple[tuple[str, bool | None], ...] | None = None

    def refresh_keys(self) -> None:
        """Repaint if, and only if, the set of keys or their enabled state changed."""
        shown = tuple((spec.action, self._allowed(spec.action)) for spec in ACTIONS
                      if spec.footer)
        if shown == self._shown:
            return
        self._shown = shown
        t = Text(no_wrap=True, overflow="ellipsis")
        for spec in ACTIONS:
            if not spec.footer:
                continue
            state = self._allowed(spec.action)
            if state is False:
                continue  # absent, not greyed: spectators never see changing keys
            style = "bold" if state else "dim"
            t.append(f" {self._label(spec.action)} ", style=f"{style} reverse")
            t.append(f"{spec.label} ", style="" if state else "dim")
        t.append(" ^p ", style="bold reverse")
        t.append("palette")
        self.update(t)

    def enabled_keys(self) -> list[str]:
        """The footer's keys that can be pressed now (for tests)."""
        return [a for a, state in (self._shown or ()) if state]
