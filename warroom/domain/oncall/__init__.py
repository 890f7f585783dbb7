"""On-call: rotations, the escalation ladder and clock, paging, on-call load."""
