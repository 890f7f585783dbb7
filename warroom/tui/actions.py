"""Every dashboard action in one table: the bindings, the key bar, `?` help, the command palette
and the spectator's refusals all read it, so a key can never be hidden in one place and live in
another. Each action's binding id is its name: a `[keys]` table in warroom.toml gives it other
keys through Textual's keymap, and everything that shows a key asks `ActionKeys` which it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import Keys, format_key

from warroom.config_file import LoadedConfig
from warroom.domain.config.model import ConfigError


@dataclass(frozen=True)
class ActionSpec:
    key: str  # the default key; warroom.toml's [keys] may give another
    action: str  # the screen's action_<name>, and the binding id
    label: str  # short, for the key bar
    description: str  # for help and the command palette
    mutating: bool  # changes the room: absent for spectators
    needs_incident: bool = True
    footer: bool = True


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("a", "ack", "Ack", "Acknowledge the incident (stops escalation)", True),
    ActionSpec("s", "status", "Status", "Move the status along the workflow", True),
    ActionSpec("v", "severity", "Severity", "Change or confirm severity (with the assessment "
               "matrix)", True),
    ActionSpec("r", "role", "Role", "Assign or hand off a role", True),
    ActionSpec("n", "note", "Note", "Add a note to the timeline", True),
    ActionSpec("d", "decision", "Decision", "Record a decision", True),
    ActionSpec("t", "action_item", "Action", "Add an action item (text @owner)", True),
    ActionSpec("f", "fact", "Fact", "Record a fact: impact, root cause, ETA, lessons", True,
               footer=False),
    ActionSpec("e", "escalate", "Escalate", "Escalate to the next level now", True),
    ActionSpec("i", "switch", "Incidents", "Switch to another open incident", False,
               needs_incident=False),
    ActionSpec("D", "declare", "Declare", "Declare a new incident", True, needs_incident=False),
    ActionSpec("k", "checklist", "Checklist", "Mark a response-checklist item done", True,
               footer=False),
    ActionSpec("S", "service", "Service", "Change the incident's service (the configured "
               "ones, or a name)", True, footer=False),
    ActionSpec("p", "phase", "Phase", "Set the lifecycle phase", True, footer=False),
    ActionSpec("x", "complete_action", "Done", "Mark an action item done", True, footer=False),
    ActionSpec("T", "retitle", "Retitle", "Change the incident's title", True, footer=False),
    ActionSpec("N", "backdate", "Backdate", "Add a note, decision or action item that happened "
               "earlier (22:45, -15m)", True, footer=False),
    ActionSpec("M", "schedule_postmortem", "Schedule PM", "Schedule the postmortem meeting",
               True, footer=False),
    ActionSpec("E", "edit_entry", "Edit", "Correct the selected timeline entry (scribe)", True,
               footer=False),
    ActionSpec("c", "comms", "Comms", "Communications: preview, edit, copy, mark sent", False),
    ActionSpec("b", "runbook", "Runbook", "Open the service's runbook", False, footer=False),
    ActionSpec("P", "postmortem", "Postmortem", "Show (and save) the postmortem", False,
               footer=False),
    ActionSpec("l", "payloads", "Payloads", "The alert payloads of this incident and how "
               "each was mapped", False, footer=False),
    ActionSpec("m", "metrics_mode", "Metrics/load", "Switch the metrics pane to on-call load "
               "and back", False, needs_incident=False, footer=False),
    ActionSpec("left_square_bracket", "time_back", "Back in time", "Time travel: step back "
               "through the incident's events (every pane as of that event)", False,
               footer=False),
    ActionSpec("right_square_bracket", "time_forward", "Forward in time", "Time travel: step "
               "forward (past the newest event: live)", False, footer=False),
    ActionSpec("escape", "time_live", "Live", "Time travel: back to live", False,
               footer=False),
    ActionSpec("question_mark", "help", "Help", "Show every key", False, needs_incident=False),
    ActionSpec("q", "quit", "Quit", "Quit warroom", False, needs_incident=False),
)

BY_ACTION: dict[str, ActionSpec] = {a.action: a for a in ACTIONS}

# Keys the dashboard needs for itself: a [keys] table may not take them.
RESERVED_KEYS: dict[str, str] = {
    "tab": "focusing the timeline", "shift+tab": "focusing the timeline",
    "ctrl+p": "the command palette", "ctrl+q": "quitting", "ctrl+c": "quitting",
}
_KEY_NAMES = frozenset(k.value for k in Keys)


def bindings() -> list[Binding]:
    """The dashboard's bindings, one per action, each with its id so a keymap can move it."""
    return [Binding(spec.key, spec.action, spec.label, show=spec.footer,
                    key_display=key_label(spec.key), id=spec.action)
            for spec in ACTIONS]


def key_label(keys: str) -> str:
    """How a key (or a comma-separated list) is shown: "?" for question_mark, "^n" for ctrl+n."""
    return "/".join(_label(key.strip()) for key in keys.split(","))


def _label(key: str) -> str:
    if len(key) == 1:
        return key
    *modifiers, name = key.split("+")
    name = format_key(name)
    if "ctrl" in modifiers:
        modifiers.remove("ctrl")
        name = f"^{name}"
    return "+".join([*modifiers, name])


def _known(key: str) -> bool:
    name = key.rsplit("+", 1)[-1]
    return len(name) == 1 or name in _KEY_NAMES or format_key(name) != name


@dataclass(frozen=True)
class ActionKeys:
    """The key of every action in this terminal: the registry's, or the one warroom.toml gives."""

    keymap: Mapping[str, str]

    def keys(self, action: str) -> str:
        return self.keymap.get(action) or BY_ACTION[action].key

    def label(self, action: str) -> str:
        return key_label(self.keys(action))

    @classmethod
    def load(cls, loaded: LoadedConfig) -> ActionKeys:
        """The [keys] table, refused (ConfigError, key path first) if a key is not one Textual
        knows, is taken by another action or by the dashboard itself: a remapped key must never
        silently take an action's key away."""
        keymap = dict(loaded.config.keys)
        problems: list[str] = []
        owners: dict[str, list[str]] = {}
        for spec in ACTIONS:
            for key in (keymap.get(spec.action) or spec.key).split(","):
                owners.setdefault(_label(key), []).append(spec.action)
        for action, keys in keymap.items():
            for key in keys.split(","):
                others = [a for a in owners.get(_label(key), []) if a != action]
                if not _known(key):
                    problems.append(f"keys.{action}: {key!r} is not a key Textual knows (e.g. "
                                    "\"n\", \"N\", \"?\", \"f2\", \"ctrl+n\", \"question_mark\")")
                elif key in RESERVED_KEYS:
                    problems.append(f"keys.{action}: {key!r} is the dashboard's own key for "
                                    f"{RESERVED_KEYS[key]}")
                elif others:
                    problems.append(f"keys.{action}: {key!r} is also the key of "
                                    f"{', '.join(others)}: give "
                                    f"{'them' if len(others) > 1 else 'it'} another key too")
        if problems:
            raise ConfigError(loaded.source, problems)
        return cls(keymap)
