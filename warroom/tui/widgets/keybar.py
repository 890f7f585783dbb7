"""The footer: the keys this terminal may press now, in one line, as warroom.toml maps it.

One Static repainted only when what is allowed changes (an incident appears, spectator mode)
or its width does, instead of Textual's Footer, which rebuilds a widget per key on every binding
change and, in Textual 8.2.8, keeps each removed key alive: a leak that grew the heap with every
event shown and every dialog opened, and with it the garbage collector's pauses
(docs/benchmarks-dashboard.md).

When every key does not fit (80 columns hold about seven), the least needed keys give way, the
ones that cannot be pressed now first, and `?` stays, saying how many it lists that the bar does
not show: a key is never cut in half at the edge, and one key always leads to all the others.
Words are kept whole rather than abbreviated: a newcomer reads "Escalate", not "Esc".
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.widgets import Static

from warroom.tui.actions import ACTIONS

# Which keys stay longest on a narrow bar: what a commander presses most during an incident
# first. A footer action not named here (a new one) gives way before all of these.
PRIORITY: tuple[str, ...] = ("ack", "status", "note", "severity", "role", "escalate", "comms",
                             "declare", "decision", "switch", "action_item", "quit")
ALWAYS = "help"
PALETTE = (" ^p ", "palette")


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
        self._fitted: tuple[tuple[tuple[str, bool | None], ...], int] | None = None
        self.hidden: list[str] = []  # the footer actions that did not fit (for tests)

    def refresh_keys(self) -> None:
        """Repaint if, and only if, the set of keys, their enabled state or the width changed."""
        shown = tuple((spec.action, self._allowed(spec.action)) for spec in ACTIONS
                      if spec.footer)
        width = self.size.width or self.app.size.width
        if (shown, width) == self._fitted:
            return
        self._shown = shown
        self._fitted = (shown, width)
        self.update(self._build(shown, width))

    def on_resize(self, event: events.Resize) -> None:
        self.refresh_keys()

    def _entry(self, action: str, label: str, state: bool | None) -> list[tuple[str, str]]:
        style = "bold" if state else "dim"
        return [(f" {self._label(action)} ", f"{style} reverse"),
                (f"{label} ", "" if state else "dim")]

    def _build(self, shown: tuple[tuple[str, bool | None], ...], width: int) -> Text:
        labels = {spec.action: spec.label for spec in ACTIONS}
        visible = [(a, s) for a, s in shown if s is not False]  # absent, not greyed: spectators
        keep = {a for a, _ in visible}                            # never see changing keys

        def length(actions: set[str], hidden: int) -> int:
            n = 0
            for a, s in visible:
                if a in actions:
                    label = labels[a] if not (a == ALWAYS and hidden) else f"{labels[a]} +{hidden}"
                    n += sum(len(text) for text, _ in self._entry(a, label, s))
            return n

        # Give way: first what cannot be pressed now, then by PRIORITY from its end.
        order = sorted((a for a, _ in visible if a != ALWAYS),
                       key=lambda a: (dict(visible)[a] is True,
                                      -PRIORITY.index(a) if a in PRIORITY else -len(PRIORITY)))
        while length(keep, len(visible) - len(keep)) > width and order:
            keep.discard(order.pop(0))
        hidden = [a for a, _ in visible if a not in keep]
        self.hidden = hidden
        t = Text(no_wrap=True, overflow="ellipsis")
        for action, state in visible:
            if action not in keep:
                continue
            label = labels[action]
            if action == ALWAYS and hidden:
                label = f"{label} +{len(hidden)}"
            for text, style in self._entry(action, label, state):
                t.append(text, style=style)
        if t.cell_len + sum(len(p) for p in PALETTE) <= width:
            t.append(PALETTE[0], style="bold reverse")
            t.append(PALETTE[1])
        return t

    def enabled_keys(self) -> list[str]:
        """The footer's keys that can be pressed now (for tests)."""
        return [a for a, state in (self._shown or ()) if state]
