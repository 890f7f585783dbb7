"""The incident timeline as a virtualised view: only the visible rows are ever rendered.

A widget per row would not survive a 100,000-event incident; this keeps the events in a list
and renders a line on demand through Textual's Line API, with a small cache of rendered strips.
New entries keep the view pinned to the bottom unless the reader scrolled up to read history.

Rows are listed by the time things happened, as `warroom show` lists them: a note backdated to
22:45 and recorded at 23:06 sits before the 22:55 entry, marked "recorded 23:06". A row is one
line; Enter on the selected row opens it whole (`EntryOpened`), so no text is ever out of reach.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from warroom.domain.common.text import printable
from warroom.domain.incident.events import Event, Tone
from warroom.domain.incident.kinds import describe, parse_body
from warroom.domain.incident.kinds.records import Amended
from warroom.domain.incident.timeline import TimelineRow, timeline_rows

# The one place a kind's tone becomes a style: each kind names its tone (kinds/).
TONE_STYLES: dict[Tone, Style] = {
    Tone.ALARM: Style.parse("bold red"),
    Tone.GOOD: Style.parse("bold green"),
    Tone.CLEAR: Style.parse("green"),
    Tone.STATUS: Style.parse("bold cyan"),
    Tone.SEVERITY: Style.parse("bold magenta"),
    Tone.PHASE: Style.parse("cyan"),
    Tone.PEOPLE: Style.parse("blue"),
    Tone.DECISION: Style.parse("bold yellow"),
    Tone.ACTION: Style.parse("yellow"),
    Tone.COMMS: Style.parse("green"),
    Tone.ALERT: Style.parse("red"),
    Tone.QUIET: Style(),
}


class TimelineView(ScrollView, can_focus=True):
    """Every event of the followed incident; a cursor picks an entry for the scribe to edit."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("home", "cursor_home", "Oldest", show=False),
        Binding("end", "cursor_end", "Newest", show=False),
        Binding("enter", "open_entry", "Open the entry", show=False),
    ]

    cursor: reactive[int] = reactive(-1, repaint=False)

    class Selected(Message):
        def __init__(self, event: Event) -> None:
            self.event = event
            super().__init__()

    class EntryOpened(Message):
        """Enter on a row: the screen shows the entry whole (it knows the local time zone)."""

        def __init__(self, row: TimelineRow, amendments: list[Event]) -> None:
            self.row = row
            self.amendments = amendments
            super().__init__()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[TimelineRow] = []
        self._cache: LRUCache[tuple[int, int, bool], Strip] = LRUCache(512)
        self._follow = True

    # ---- data -------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def rows(self) -> list[TimelineRow]:
        return self._rows

    def set_events(self, events: list[Event]) -> None:
        self._rows = timeline_rows(events, by_time=True)
        self._cache.clear()
        self._follow = True
        self.cursor = -1
        self._resize()
        self.scroll_end(animate=False, immediate=True, force=True)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)

    def add_events(self, events: list[Event]) -> None:
        """Append a batch; a backdated entry (or a corrected time) lands where it happened.
        The rows are kept sorted, so the common batch (all newer than the last row) is an
        append; otherwise one stable sort of a nearly sorted list, and the cursor stays on the
        entry it was on."""
        at_bottom = self._follow or self.scroll_offset.y >= self.max_scroll_y
        before = len(self._rows)
        selected = self._rows[self.cursor].event.event_id \
            if 0 <= self.cursor < before else None
        rows = timeline_rows(events, self._rows)
        amended = any(e.kind == Amended.kind for e in events)
        if amended or not _in_order(rows, max(0, before - 1)):
            rows.sort(key=lambda r: r.happened_at)
            self._cache.clear()  # rows moved, or an earlier row reads differently now
        self._rows = rows
        if selected is not None:
            at = next((i for i, r in enumerate(rows) if r.event.event_id == selected), -1)
            if at != self.cursor:
                self.set_reactive(TimelineView.cursor, at)
        self._resize()
        if at_bottom:
            self.scroll_end(animate=False, immediate=True, force=True)
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)
        self.refresh()

    def _resize(self) -> None:
        """The scrollable size follows the row count. `virtual_size` is a layout reactive:
        assigned, every appended entry would re-arrange and repaint the whole screen (and the
        dimmed dashboard behind an open dialog), the largest cost of a batch in the profile.
        The view's own size comes from the stylesheet, so once mounted only the scrollbar
        needs updating, which is what a layout pass would do for a ScrollView; showing or
        hiding the scrollbar still lays the screen out (its reactive asks for it)."""
        size = Size(self.size.width or 80, len(self._rows))
        if size == self.virtual_size:
            return
        scroll_update = getattr(self, "_scroll_update", None)  # Textual's, not public
        if not self.is_mounted or not self.container_size or scroll_update is None:
            self.virtual_size = size
            return
        self.set_reactive(TimelineView.virtual_size, size)
        scroll_update(size)
        self.refresh()

    def on_resize(self) -> None:
        self._cache.clear()
        self._resize()
        if self._follow:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, force=True)

    def selected_event(self) -> Event | None:
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor].event
        if self._rows:
            return self._rows[-1].event
        return None

    def selected_row(self) -> TimelineRow | None:
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor]
        return self._rows[-1] if self._rows else None

    def amendments_of(self, event_id: str) -> list[Event]:
        """The scribe's corrections of one entry, oldest first (each is a row of its own)."""
        found = []
        for row in self._rows:
            e = row.event
            if e.kind == Amended.kind:
                body = parse_body(e.kind, e.data)
                if isinstance(body, Amended) and body.target == event_id:
                    found.append(e)
        return sorted(found, key=lambda e: e.seq)

    # ---- keys -------------------------------------------------------------------------------

    def action_open_entry(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.post_message(self.EntryOpened(row, self.amendments_of(row.event.event_id)))

    def action_cursor(self, delta: int) -> None:
        if not self._rows:
            return
        start = self.cursor if self.cursor >= 0 else len(self._rows) - 1
        self.cursor = max(0, min(len(self._rows) - 1, start + delta))
        self._follow = self.cursor == len(self._rows) - 1
        self.scroll_to_region_of(self.cursor)
        self._cache.clear()
        self.refresh()

    def action_cursor_home(self) -> None:
        self.action_cursor(-len(self._rows))

    def action_cursor_end(self) -> None:
        self.action_cursor(len(self._rows))

    def scroll_to_region_of(self, row: int) -> None:
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height or 1
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._follow = new >= self.max_scroll_y

    # ---- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self._rows):
            return Strip.blank(width, base)
        selected = index == self.cursor and self.has_focus
        key = (index, width, selected)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(self._rows[index], width, base, selected)
            self._cache[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)

    def _render_row(self, row: TimelineRow, width: int, base: Style, selected: bool) -> Strip:
        e = row.event
        at = row.happened_at.astimezone(UTC).strftime("%H:%M:%S")
        label = row.label[:8]
        who = 10  # the column tools read (bench/dashboard_keypress.py waits for "bench      ")
        actor = printable(e.actor)[:who]
        text = printable(row.text)
        marks = " (edited)" if row.edited else ""
        if row.recorded_note:
            marks += f" ({row.recorded_note})"
        fixed = 9 + 9 + who + 1
        room = max(0, width - fixed)
        body = (text + marks)
        if len(body) > room:
            body = body[: max(0, room - 1)] + "…"
        row_style = base + Style(reverse=True) if selected else base
        segments = [
            Segment(f"{at} ", row_style + Style(dim=True)),
            Segment(f"{label:<8} ", row_style + TONE_STYLES[row.tone]),
            Segment(f"{actor:<{who}} ", row_style + Style(bold=True)),
            Segment(body, row_style),
        ]
        return Strip(segments).extend_cell_length(width, row_style)

    def watch_cursor(self, old: int, new: int) -> None:
        if 0 <= new < len(self._rows):
            self.post_message(self.Selected(self._rows[new].event))

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()


def _in_order(rows: list[TimelineRow], start: int) -> bool:
    """Whether rows[start:] are in time order (the rows before it already are)."""
    return all(rows[i].happened_at <= rows[i + 1].happened_at
               for i in range(start, len(rows) - 1))


def _when(at: datetime, local_tz: tzinfo) -> str:
    """UTC, and the local time beside it where it differs (not at the calendar's ends)."""
    utc = at.astimezone(UTC)
    text = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    try:
        local = at.astimezone(local_tz)
    except OverflowError:  # year 9999 in a zone east of UTC
        return text
    if local.utcoffset() != utc.utcoffset():
        text += f" ({local:%H:%M:%S} {local.tzname() or ''})".replace(" )", ")")
    return text


def entry_detail(row: TimelineRow, amendments: list[Event], local_tz: tzinfo) -> Text:
    """One timeline entry whole: what, who, when it happened and when it was recorded, the
    full text, and every correction. Untrusted text is shown literally (newlines kept)."""
    e = row.event
    t = Text()
    fields = [
        ("Kind", f"{row.label} ({e.kind})"),
        ("Actor", printable(e.actor)),
        ("Happened", _when(row.happened_at, local_tz)),
        ("Recorded", _when(e.recorded_at, local_tz)
         + ("  (recorded later)" if row.recorded_later else "")),
        ("Entry", f"#{e.seq} · {e.incident_id} v{e.version}"),
    ]
    for name, value in fields:
        t.append(f"{name:<9}", style="bold")
        t.append(value + "\n")
    t.append("\n")
    t.append(printable(row.text, single_line=False), style=TONE_STYLES[row.tone])
    t.append("\n")
    if row.amended_text is not None:
        t.append("\nAs first recorded:\n", style="bold")
        t.append(printable(describe(e), single_line=False) + "\n", style="dim")
    if amendments:
        t.append(f"\nAmendments ({len(amendments)}):\n", style="bold")
        for a in amendments:
            body = parse_body(a.kind, a.data)
            t.append(f"  {_when(a.recorded_at, local_tz)} by {printable(a.actor)}: ")
            if isinstance(body, Amended):
                changes = []
                if body.text is not None:
                    changes.append(f"text -> {body.text}")
                if body.at is not None:
                    changes.append(f"time -> {body.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
                if body.reason:
                    changes.append(f"because {body.reason}")
                t.append(printable("; ".join(changes) or "no change", single_line=False))
            t.append("\n")
    return t
