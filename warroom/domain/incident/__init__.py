"""The incident itself: events and their kinds, the fold, commands, status, severity, roles,
checklist, clocks and facts."""
