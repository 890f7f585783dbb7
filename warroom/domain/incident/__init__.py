"""The incident itself: events and their kinds (one class each, in kinds/), the fold, the
timeline's rows, commands, status, severity, roles, checklist, clocks and facts."""
