"""Every dashboard action in one table: the footer, `?` help, the command palette and the
spectator's refusals all read it, so a key can never be hidden in one place and live in another.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    key: str
    action: str  # the App's action_<name>
    label: str  # short, for the footer
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
    ActionSpec("e", "escalate", "Escalate", "Escalate to the next level now", True),
    ActionSpec("i", "switch", "Incidents", "Switch to another open incident", False,
               needs_incident=False),
    ActionSpec("D", "declare", "Declare", "Declare a new incident", True, needs_incident=False),
    ActionSpec("k", "checklist", "Checklist", "Mark a response-checklist item done", True,
               footer=False),
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
    ActionSpec("question_mark", "help", "Help", "Show every key", False, needs_incident=False),
    ActionSpec("q", "quit", "Quit", "Quit warroom", False, needs_incident=False),
)

BY_ACTION: dict[str, ActionSpec] = {a.action: a for a in ACTIONS}


def key_label(key: str) -> str:
    return {"question_mark": "?"}.get(key, key)
