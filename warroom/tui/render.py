"""What each pane shows, as Rich Text built from the domain's view of the incident.

Every piece of untrusted text goes through `printable` and into Text objects, never into markup.
Overdue clocks say OVERDUE in words and vacant roles say VACANT, so the screen reads the same
with NO_COLOR or in 16 colours.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text

from warroom.domain.incident import IncidentState
from warroom.domain.roles import Role
from warroom.domain.severity import SEVERITIES, Severity
from warroom.domain.status import Phase, Status, allowed_moves
from warroom.domain.text import printable, truncate
from warroom.domain.timefmt import format_clock, format_duration

SEVERITY_STYLE: dict[str, str] = {
    "SEV-1": "bold white on red",
    "SEV-2": "bold black on yellow",
    "SEV-3": "bold white on blue",
    "SEV-4": "bold black on white",
}
STATUS_STYLE: dict[str, str] = {
    "Investigating": "bold red",
    "Identified": "bold yellow",
    "Monitoring": "bold cyan",
    "Resolved": "bold green",
}


def safe(text: object, width: int | None = None) -> str:
    s = printable(str(text))
    return truncate(s, width) if width is not None else s


def severity_badge(sev: str) -> Text:
    name = SEVERITIES[Severity(sev)].name.upper()
    return Text(f" {sev} {name} ", style=SEVERITY_STYLE.get(sev, "bold"))


def header(state: IncidentState | None, *, now: datetime, local_tz: tzinfo, actor: str,
           spectator: bool, width: int, open_count: int = 0,
           clock_offset: str | None = None) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if state is None:
        t.append(" warroom ", style="bold reverse")
        t.append("  no open incident  ")
    else:
        t.append(f" {state.id} ", style="bold reverse")
        t.append(" ")
        t.append_text(severity_badge(state.severity.value))
        t.append(" ")
        t.append(state.status.value.upper(), style=STATUS_STYLE[state.status.value])
        t.append(f" · {state.phase.value} · ")
        if state.is_open:
            t.append(f"{format_clock(now - state.detected_at)} since detection", style="bold")
        else:
            end = state.resolved_at or now
            t.append(f"resolved after {format_duration(end - state.detected_at)}", style="bold")
        if not state.acknowledged and state.is_open:
            t.append("  UNACKNOWLEDGED", style="bold red blink")
        t.append("\n")
        t.append(safe(state.title, max(10, width - 2)), style="bold")
    t.append("\n")
    local = now.astimezone(local_tz)
    t.append(f"{now:%H:%M:%S} UTC", style="bold")
    t.append(f" · {local:%H:%M:%S} {local.tzname() or ''}".rstrip())
    if clock_offset:
        t.append(f" · {clock_offset}", style="bold yellow")
    who = safe(actor, 20)
    if state is not None:
        mine = state.roles_of(actor)
        if mine:
            who += " (" + ", ".join(r.short.upper() if len(r.short) <= 3 else r.short
                                   for r in mine) + ")"
    t.append(f" · you: {who}")
    if open_count > 1:
        t.append(f" · {open_count} open (i)")
    if spectator:
        t.append("  ")
        t.append(" SPECTATOR · READ-ONLY ", style="bold black on yellow")
    return t


def roster(state: IncidentState | None, *, now: datetime, present: list[str],
           oncall: dict[str, str | None] | None = None, compact: bool = False) -> Text:
    """Who holds each role (VACANT in words), who is scheduled on call, who is in the room."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if state is None:
        t.append("no incident followed")
        return t
    roles = list(Role)
    for i, role in enumerate(roles):
        holder = state.roles.get(role)
        if compact:
            t.append(f"{role.short.upper()} ", style="bold")
        else:
            t.append(f"{role.title:<20}", style="bold")
        if holder is None:
            t.append("VACANT", style="bold reverse red")
        else:
            t.append(safe(holder.person, 16), style="bold green")
            if not compact:
                t.append(f"  for {format_duration(now - holder.since)}", style="dim")
        if oncall and role in (Role.ONCALL_PRIMARY, Role.ONCALL_SECONDARY):
            scheduled = oncall.get(role.value)
            if scheduled and (holder is None or holder.person != scheduled):
                t.append(f" (on call: {safe(scheduled, 12)})", style="dim")
        if compact:
            t.append("\n" if i in (2, 5) else " · ")
        else:
            t.append("\n")
    t.append("In the room: " if not compact else "room: ", style="bold")
    t.append(f"{', '.join(safe(p, 16) for p in present)} ({len(present)})" if present
             else "nobody (writing terminals announce themselves)")
    return t


def workflow(state: IncidentState | None, *, compact: bool = False) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if state is None:
        return t
    for i, s in enumerate(Status):
        if i:
            t.append(" > " if not compact else ">")
        if s == state.status:
            t.append(f"[{s.value}]" if not compact else f"[{s.value[:5]}]",
                     style=STATUS_STYLE[s.value] + " reverse")
        else:
            t.append(s.value if not compact else s.value[:5], style="dim")
    moves = allowed_moves(state.status)
    t.append("\nnext (s): ", style="bold")
    t.append(", ".join(m.value for m in moves))
    t.append("\nphase: ", style="bold")
    for i, p in enumerate(Phase):
        if i:
            t.append(" ")
        if p == state.phase:
            t.append(f"[{p.value}]", style="bold reverse")
        elif not compact:
            t.append(p.value, style="dim")
        else:
            t.append(p.value[:3], style="dim")
    return t
