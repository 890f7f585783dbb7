"""The HTTP receiver (`warroom serve`): alerts in, the escalation engine alongside."""
