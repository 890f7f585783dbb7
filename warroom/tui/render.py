"""What each pane shows, as Rich Text built from the domain's view of the incident.

Every piece of untrusted text goes through `printable` and into Text objects, never into markup.
Overdue clocks say OVERDUE in words and vacant roles say VACANT, so the screen reads the same
with NO_COLOR or in 16 colours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from rich.text import Text

from warroom.domain.common.text import printable, truncate
from warroom.domain.common.timefmt import format_clock, format_duration
from warroom.domain.incident.clocks import Clock
from warroom.domain.incident.clocks import severity_profile as profile_of
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import SEVERITIES, Severity
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Phase, Status, allowed_moves
from warroom.store.base import WATCHING

if TYPE_CHECKING:  # annotations only: not imported before the first paint
    from warroom.domain.metrics.report import MetricsReport
    from warroom.domain.oncall.escalation import EscalationView
    from warroom.domain.oncall.load import PersonMonthLoad

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
           clock_offset: str | None = None, declare_key: str = "D") -> Text:
    """The followed incident, the clock (local time only where it is not UTC), who you are.
    An empty room says how to start, with the key this terminal declares with."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if state is None:
        t.append(" warroom ", style="bold reverse")
        t.append("\n")
        t.append("No open incident: ", style="bold")
        if spectator:
            t.append("alerts open incidents by themselves; this terminal only watches")
        else:
            t.append(f"{declare_key} declares one; alerts open incidents by themselves")
    else:
        t.append(f" {state.id} ", style="bold reverse")
        t.append(" ")
        t.append_text(severity_badge(state.severity.value))
        t.append(" ")
        t.append(state.status.value.upper(), style=STATUS_STYLE[state.status.value])
        if not state.acknowledged and state.is_open:
            t.append(" ")
            t.append(" UNACKED ", style="bold reverse red")
        t.append(" · ")
        if state.is_open:
            t.append(f"{format_clock(now - state.detected_at)} since detection", style="bold")
        else:
            end = state.resolved_at or now
            t.append(f"resolved after {format_duration(end - state.detected_at)}", style="bold")
        t.append(f" · {state.phase.value}")
        t.append("\n")
        t.append(safe(state.title, max(10, width - 2)), style="bold")
    t.append("\n")
    local = now.astimezone(local_tz)
    t.append(f"{now:%H:%M:%S} UTC", style="bold")
    if local.utcoffset() != timedelta(0):  # the same time twice says nothing
        t.append(f" · {local:%H:%M:%S} {local.tzname() or local.strftime('%z')}")
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
    elif open_count == 0 and state is not None and not spectator:
        t.append(f" · no open incident ({declare_key} declares one)")
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
    watching = [p for p in present if p.startswith(WATCHING)]
    present = [p for p in present if not p.startswith(WATCHING)]
    t.append("In the room: " if not compact else "room: ", style="bold")
    t.append(f"{', '.join(safe(p, 16) for p in present)} ({len(present)})" if present
             else "nobody (writing terminals announce themselves)")
    for w in watching:
        t.append(" · ")
        t.append(safe(w, 40), style="dim")
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
    moves = ", ".join(m.value for m in allowed_moves(state.status))
    t.append(" · next (s): " if compact else "\nnext (s): ", style="bold")
    t.append(moves)
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


# ---- status workflow + response clocks -----------------------------------------------------

CLOCK_STYLE: dict[str, str] = {
    "done": "green",
    "done_late": "yellow",
    "running": "bold",
    "overdue": "bold reverse red",
    "waiting": "dim",
    "missed": "bold red",
    "no_target": "dim",
    "stopped": "dim",
}


def clocks(items: list[Clock], update: Clock, *, compact: bool = False,
           width: int = 0, postmortem: Text | None = None) -> Text:
    """The response checklist with each item's owner (and who holds that role now), target
    and clock, and the customer-update clock. Under 80 columns the Target column goes (the
    clock already says "left" or "OVERDUE"); the owner stays, as it is whom to ask. Compact
    mode keeps the count, the postmortem, the two most urgent items with their owners and
    the update clock."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if compact:
        done = sum(1 for c in items if c.state.value in ("done", "done_late"))
        t.append(f"checklist {done}/{len(items)}", style="bold")
        if postmortem is not None:
            t.append(" · ")
            t.append_text(postmortem)
        urgent = [c for c in items if c.state.value in ("overdue", "running")]
        urgent.sort(key=lambda c: (c.state.value != "overdue", c.due_at or c.anchor_at))
        for c in urgent[:2]:
            t.append(" · ")
            t.append(f"{c.label} ({_owner(c)}) ")
            t.append(c.text(), style=CLOCK_STYLE[c.state.value])
        t.append(" · update: ", style="bold")
        t.append(_update_text(update), style=CLOCK_STYLE[update.state.value])
        return t
    for c in items:
        mark = "[x]" if c.done_at is not None else "[ ]"
        t.append(f"{mark} {c.label:<21} ")
        t.append_text(_owner_cell(c))
        if width >= 80:
            t.append(f"{c.target_text:<18} ")
        t.append(c.text(), style=CLOCK_STYLE[c.state.value])
        t.append("\n")
    t.append("Next customer update: ", style="bold")
    t.append(_update_text(update), style=CLOCK_STYLE[update.state.value])
    t.append(f"  ({update.target_text})", style="dim")
    return t


def _owner(c: Clock) -> str:
    """'IC carol', 'On-call VACANT', 'Dev Team': the seed's Owner and who holds it now."""
    if c.owner_text() == c.owner:  # a team, not a role
        return c.owner
    return f"{c.owner} {safe(c.holder or 'VACANT', 12)}"


def _owner_cell(c: Clock) -> Text:
    """The owner column, 18 wide; a vacant role that still has work to do is said loudly."""
    cell = Text(f"{_owner(c)[:17]:<17} ")
    if c.done_at is not None:
        cell.stylize("dim")
    elif c.holder is None and c.owner_text() != c.owner:
        cell.stylize("bold red", len(c.owner) + 1, min(len(_owner(c)), 17))
    return cell


def severity_profile(state: IncidentState, *, compact: bool = False, width: int = 0) -> Text:
    """What the severity asks of the room (the seed's levels table and response flow): the
    response time, whether a war room is mandatory, and how the team meets. Compact mode
    keeps the response time and the war room and drops the response mode."""
    p = profile_of(state.severity)
    war_style = "bold" if p.war_room == "mandatory" else ""
    t = Text(no_wrap=True, overflow="ellipsis")
    if compact:
        t.append(f"respond {p.response_time_text}", style="bold")
        t.append(" · war room ")
        t.append(p.war_room, style=war_style)
        return t
    t.append(f"{state.severity.value} respond ", style="bold")
    t.append(p.text())
    t.append("\n" if width < 80 else " · ")
    t.append("war room ", style="bold")
    t.append(p.war_room, style=war_style)
    t.append(f": {p.response_mode}")
    return t


def postmortem_clock(state: IncidentState, now: datetime, *, compact: bool = False,
                     ) -> Text | None:
    """'Postmortem: Tue 14:00 UTC, in 2d03h' once scheduled; 'not scheduled' once resolved
    (the flow's last step is to schedule it); nothing before."""
    at = state.postmortem_at
    if at is None and state.status != Status.RESOLVED:
        return None
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("postmortem " if compact else "Postmortem: ", style="bold")
    if at is None:
        t.append("not scheduled", style="yellow")
        return t
    u = at.astimezone(UTC)
    left = u - now
    when = (f"in {format_duration(left)}" if left.total_seconds() > 0
            else f"{format_duration(-left)} ago")
    t.append(f"{u:%a %H:%M} UTC" if compact else f"{u:%a %d %b %H:%M} UTC")
    t.append(f", {when}" if not compact else f" {when}",
             style="bold" if left.total_seconds() > 0 else "dim")
    return t


def _update_text(update: Clock) -> str:
    if update.state.value == "running" and update.remaining is not None:
        return f"in {format_clock(update.remaining)}"
    return update.text()


# ---- escalation ----------------------------------------------------------------------------

LEVEL_STYLE: dict[str, str] = {
    "fired": "bold red",
    "next": "bold yellow",
    "frozen": "dim",
    "pending": "",
    "skipped": "dim",
    "ended": "dim",
}


def escalation(view: EscalationView | None, *, now: datetime, compact: bool = False) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if view is None:
        return t
    status = view.status_text()
    style = "bold reverse red" if (view.countdown is not None and not view.frozen
                                   and not view.ended and view.countdown.total_seconds() <= 60)\
        else "bold"
    t.append(safe(status), style=style)
    if compact:
        fired = [lv for lv in view.levels if lv.state == "fired"]
        if fired:
            last = fired[-1]
            who = ", ".join(safe(p.handle, 12) for p in last.paged) or "nobody"
            t.append(f" · L{last.level} paged {who}")
        return t
    t.append(f"   policy {safe(view.policy, 20)}" + (
        f", pass {view.cycle + 1}/{view.passes}" if view.passes > 1 else ""), style="dim")
    for lv in view.levels:
        t.append("\n")
        after = format_duration(lv.after) if lv.after.total_seconds() else "0"
        t.append(f"L{lv.level} T+{after:<4} ", style="bold")
        t.append(f"{safe(' + '.join(lv.target_labels), 24):<24} ")
        label = lv.state.upper()
        t.append(f"{label:<8}", style=LEVEL_STYLE.get(lv.state, ""))
        if lv.state == "fired" and lv.fired_at is not None:
            how = " (manual)" if lv.reason == "manual" else ""
            who = ", ".join(safe(p.handle, 12) for p in lv.paged) or "nobody"
            t.append(f" {lv.fired_at:%H:%M:%S}{how} paged {who}")
            problems = [p for p in lv.paged if p.failed]
            if problems:
                t.append(f" · {len(problems)} FAILED", style="bold red")
            if lv.unresolved:
                t.append(f" · unresolved: {safe(', '.join(lv.unresolved), 30)}", style="yellow")
        elif lv.state == "next" and lv.due_at is not None:
            left = lv.due_at - now
            t.append(f" in {format_clock(left)}" if left.total_seconds() > 0 else " due now")
            if lv.would_page:
                t.append(f" → {safe(', '.join(lv.would_page), 30)}", style="dim")
        elif lv.state == "skipped":
            t.append(" (not for this severity)", style="dim")
    return t


# ---- metrics -------------------------------------------------------------------------------

_SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...] | list[float], width: int = 12) -> str:
    vals = list(values)[-width:]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return _SPARK[0] * len(vals)
    return "".join(_SPARK[int((v - lo) / (hi - lo) * (len(_SPARK) - 1))] for v in vals)


def metrics(report: MetricsReport | None, *, compact: bool = False) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if report is None:
        t.append("computing…", style="dim")
        return t
    for i, line in enumerate(report.lines):
        met_style = {"met": "green", "not met": "bold red"}.get(line.status, "dim")
        if compact:
            if i:
                t.append(" · ")
            label = line.label.replace("Incidents/month", "Inc/mo")
            t.append(f"{label} {line.value_text} ", style="bold")
            t.append("✓" if line.met else ("✗" if line.met is False else "-"), style=met_style)
            continue
        t.append(f"{line.label:<16}", style="bold")
        t.append(f"{line.value_text:>8} ")
        t.append(f"target {line.target_text:<7} ")
        t.append(f"{line.status.upper():<8}", style=met_style)
        trend = line.trend
        trend_style = {True: "green", False: "red"}.get(trend.good, "dim")  # type: ignore[arg-type]
        t.append(f" {trend.text or '—':<7}", style=trend_style)
        t.append(f" {sparkline(line.sparkline)}", style="cyan")
        t.append("\n")
    if not compact:
        t.append(f"last {format_duration(report.period)} · {report.incidents} incidents, "
                 f"{report.unresolved} open", style="dim")
    return t


def oncall_load(rows: list[PersonMonthLoad], month: str) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"On-call load {month}  ", style="bold")
    t.append("(m: back to metrics)\n", style="dim")
    t.append(f"{'person':<10}{'hours':>7}{'pages':>7}{'after-h':>8}{'night':>7}{'inc':>5}\n",
             style="bold")
    if not rows:
        t.append("nobody was on call or paged this month", style="dim")
    for r in rows:
        t.append(f"{safe(r.person, 9):<10}{r.oncall_hours:>7.0f}{r.pages:>7}"
                 f"{r.pages_after_hours:>8}{r.pages_night:>7}{r.incidents_handled:>5}\n")
    return t
