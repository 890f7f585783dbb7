"""The parts of an incident's state that alert routing and the escalation hold add.

Kept apart from incident.py so that the fold's own module only names them; the events that set
them live with their owners (escalation.py for the hold, alerts.py for the routing).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Deferred(BaseModel):
    """Built on first use, not at import: a command that never validates a state (`warroom
    list` reads summary rows) does not pay for building these models (issue 15)."""

    model_config = ConfigDict(defer_build=True)


class LadderHold(_Deferred):
    """The escalation ladder waits until `until` before its first level (see escalation.py).

    It stops counting once any level fires after it was set (a human pressed "escalate now",
    or the hold ran out and L1 fired): from then on the usual gaps between levels apply.
    """

    until: datetime
    reason: str
    cause: str = "manual"  # remediation | queued | notify | manual
    at: datetime
    actor: str


class AlertRoute(_Deferred):
    """How the alert receiver routed an incident it opened (warroom/domain/alerts/automation.py)."""

    route: str  # page | notify | queue | remediate
    dedup_key: str
    remediation_until: datetime | None = None  # the auto-remediation window closes then
    remediation_command: str | None = None
    auto_resolve: bool = False
    # If the remediation fails, the hold the rest of the decision tree asked for (None: page).
    fallback_until: datetime | None = None
    fallback_reason: str | None = None
    fallback_cause: str | None = None
    # Every alert of the incident resolved at this time (None while one fires): the dashboard
    # suggests Monitoring (see alerts.suggest_monitoring).
    alerts_cleared_at: datetime | None = None
