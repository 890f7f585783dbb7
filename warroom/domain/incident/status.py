"""The status workflow and the lifecycle phase kept alongside it.

The allowed moves live in the one ALLOWED_MOVES table; the dashboard's menu, the CLI's refusal
message and the validation all read it.
"""

from __future__ import annotations

from enum import StrEnum

from warroom.domain.common.errors import InvalidInput, TransitionRefused


class Status(StrEnum):
    INVESTIGATING = "Investigating"
    IDENTIFIED = "Identified"
    MONITORING = "Monitoring"
    RESOLVED = "Resolved"

    @classmethod
    def parse(cls, text: str) -> Status:
        t = text.strip().lower()
        for s in cls:
            if s.value.lower() == t or (len(t) >= 3 and s.value.lower().startswith(t)):
                return s
        raise InvalidInput(
            f"unknown status {text!r}: use one of " + ", ".join(s.value for s in cls)
        )


# Forward steps (skipping ahead is allowed: a rollback can go straight to Monitoring, a false
# alarm straight to Resolved), Monitoring back to Investigating when a fix fails, and a resolved
# incident reopened. Nothing else.
ALLOWED_MOVES: dict[Status, tuple[Status, ...]] = {
    Status.INVESTIGATING: (Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED),
    Status.IDENTIFIED: (Status.MONITORING, Status.RESOLVED),
    Status.MONITORING: (Status.RESOLVED, Status.INVESTIGATING),
    Status.RESOLVED: (Status.INVESTIGATING,),
}

MOVE_LABELS: dict[tuple[Status, Status], str] = {
    (Status.MONITORING, Status.INVESTIGATING): "fix failed",
    (Status.RESOLVED, Status.INVESTIGATING): "reopen",
}

CUSTOMER_MESSAGES: dict[Status, str] = {
    Status.INVESTIGATING: "We're investigating the issue",
    Status.IDENTIFIED: "We've identified the problem",
    Status.MONITORING: "A fix has been implemented",
    Status.RESOLVED: "The issue has been resolved",
}

INTERNAL_ACTIONS: dict[Status, str] = {
    Status.INVESTIGATING: "All hands debugging",
    Status.IDENTIFIED: "Working on fix",
    Status.MONITORING: "Watching metrics",
    Status.RESOLVED: "Start postmortem",
}


def allowed_moves(current: Status) -> tuple[Status, ...]:
    return ALLOWED_MOVES[current]


def check_move(current: Status, target: Status) -> None:
    """Raise TransitionRefused naming the allowed moves when current -> target is not one."""
    allowed = ALLOWED_MOVES[current]
    if target in allowed:
        return
    names = ", ".join(s.value for s in allowed)
    if target == current:
        raise TransitionRefused(f"already {current.value}; allowed moves: {names}")
    raise TransitionRefused(
        f"cannot move from {current.value} to {target.value}; allowed moves: {names}"
    )


class Phase(StrEnum):
    DETECTION = "Detection"
    TRIAGE = "Triage"
    RESPONSE = "Response"
    RECOVERY = "Recovery"
    ANALYSIS = "Analysis"
    IMPROVEMENT = "Improvement"

    @classmethod
    def parse(cls, text: str) -> Phase:
        t = text.strip().lower()
        for p in cls:
            if p.value.lower() == t or (len(t) >= 3 and p.value.lower().startswith(t)):
                return p
        raise InvalidInput(f"unknown phase {text!r}: use one of " + ", ".join(p.value for p in cls))


# The phase a status move brings the incident to. Detection -> Triage happens on acknowledgement
# and Triage -> Response once the severity is assessed or the commander takes over (see fold).
PHASE_FOR_STATUS: dict[Status, Phase] = {
    Status.INVESTIGATING: Phase.RESPONSE,
    Status.IDENTIFIED: Phase.RESPONSE,
    Status.MONITORING: Phase.RECOVERY,
    Status.RESOLVED: Phase.ANALYSIS,
}
