"""Drills, pure: the scenario model, the drill clock's arithmetic, replays built from a past
incident's log, and the scorecard. Reading files, sleeping and writing live in warroom/drills/."""
