"""Running drills: reading scenario files, marking a room as a drill, feeding a scenario into it
on the drill clock (alerts through the real receiver, the escalation engine on the drill
clock), replaying a past incident. The pure parts are in warroom/domain/drills/."""
