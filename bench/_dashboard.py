"""The dashboard benchmarks' shared pieces: rooms, the app as `warroom` builds it, and a probe
that says when something reached the app's screen.

The probe wraps two bound methods of ONE app instance (nothing in warroom/ is changed):

- `App._display(screen, update)`: Textual calls it with each compositor update, right after
  the screen was composed. With the headless driver the update is then dropped instead of being
  written to a terminal, so "displayed" here means "composed and handed to the driver": what a
  real terminal adds (escape codes written to a pty, the terminal drawing them) is what the
  tmux measurements show on top.
- `TimelineView.render_line(y)`: which timeline rows were drawn in that update.

A timeline row counts as shown at the first `_display` after it was drawn. Conditions are
evaluated when the screen goes out, so "the app's state has the change and the screen that
shows it went out" is one observation, never a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import RESULTS_DIR

from warroom.domain.common.text import printable
from warroom.domain.incident.events import Event
from warroom.domain.incident.kinds import kind_label

if TYPE_CHECKING:
    from warroom.store import Store
    from warroom.tui.app import WarroomApp

ROOM_10K = RESULTS_DIR / "metrics-10k-v1.db"  # bench/metrics.py builds and owns this room


# ---- rooms -----------------------------------------------------------------------------------


def incidents_room(incidents: int, scratch: Path) -> tuple[Path, str]:
    """bench/metrics.py's room (10,000 incidents of 10 events: cached in bench/results/ and
    reused), or a smaller one of the same shape in `scratch`; returns (path, how it was got)."""
    import metrics  # bench/metrics.py: the one builder of this room

    path = metrics.DB if incidents == metrics.INCIDENTS else scratch / f"room-{incidents}.db"
    built = asyncio.run(metrics.ensure_db(False, path=path, incidents=incidents))
    return path, ("reused" if built is None else f"built in {built:.1f} s")


def copy_room(src: Path, dst: Path) -> Path:
    """A private copy: the dashboard writes (presence, the escalation engine's events), and a
    cached room must stay exactly as built. The copy is fresh in the page cache: every figure
    here is a warm-cache figure."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    wal = Path(f"{src}-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{dst}-wal"))
    return dst


def default_incident(summaries: list[Any]) -> str | None:
    """The incident the dashboard follows when told none: the app's own rule."""
    from warroom.tui.prompts import sort_open

    open_rows = sort_open([s for s in summaries if s.is_open])
    if open_rows:
        return str(open_rows[0].id)
    return str(summaries[0].id) if summaries else None


def row_prefix(event: Event) -> str:
    """The start of the event's timeline row as the screen shows it: time, kind, actor."""
    at = event.at.astimezone(UTC).strftime("%H:%M:%S")
    return f"{at} {kind_label(event.kind)[:8]:<8} {printable(event.actor)[:10]}"


@dataclass(frozen=True)
class Followed:
    """What the screen must show once the followed incident is painted."""

    incident_id: str
    events: int
    oldest_rows: tuple[str, ...]  # row prefixes of its first events
    newest_row: str

    @property
    def title(self) -> str:
        return f"Timeline · {self.events} events"

    def header_shown(self, screen: str) -> bool:
        return any(f" {self.incident_id} " in line for line in screen.splitlines()[:2])

    def painted(self, screen: str) -> bool:
        """Header and timeline of this incident: its id on top, its event count on the
        timeline's border, and at least one of its rows (the newest, or the oldest ones when
        the timeline opens at the top)."""
        return (self.header_shown(screen) and self.title in screen
                and (self.newest_row in screen or any(r in screen for r in self.oldest_rows)))

    def newest_shown(self, screen: str) -> bool:
        return self.header_shown(screen) and self.newest_row in screen


async def followed(store: Store, incident_id: str | None = None) -> Followed:
    """The incident `warroom` opens on (the app's rule) and what its painted screen holds."""
    target = incident_id or default_incident(await store.summaries())
    if target is None:
        raise SystemExit("the room has no incident to follow")
    events = await store.events(target)
    return Followed(target, len(events), tuple(row_prefix(e) for e in events[:3]),
                    row_prefix(events[-1]))


def followed_sync(db: Path, incident_id: str | None = None) -> Followed:
    async def read() -> Followed:
        from warroom.store.sqlite import SQLiteStore

        async with await SQLiteStore.open(db, readonly=True) as store:
            return await followed(store, incident_id)

    return asyncio.run(read())


# ---- the app, as `warroom` builds it ----------------------------------------------------------


def app_as_shipped(store: Store, actor: str, follow: str | None = None) -> WarroomApp:
    """What warroom/tui/run.py builds for `warroom --db ROOM` with no configuration file: the
    escalation engine, presence and the 1 s clock tick all on."""
    from warroom.domain.config.model import default_config
    from warroom.tui.app import WarroomApp

    return WarroomApp(store, actor=actor, follow=follow, config=default_config())


# ---- the probe ---------------------------------------------------------------------------------


@dataclass
class Expectation:
    """One thing awaited on the screen: `condition` true when an update goes out, and (if
    `timeline`) the timeline redrawn since the condition became true."""

    condition: Callable[[], bool]
    timeline: bool
    row: Callable[[Event], bool] | None = None
    timeline_drawn: bool = False
    row_drawn: bool = False
    done_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ScreenProbe:
    def __init__(self, app: WarroomApp) -> None:
        self.app = app
        self.updates = 0
        self.expectation: Expectation | None = None
        self.track: Callable[[Event], bool] | None = None  # rows to time as they appear
        self.drawn_at: dict[str, float] = {}  # event id -> first drawn (render_line)
        self.shown_at: dict[str, float] = {}  # event id -> first update out after drawn
        self.reached_at: dict[str, float] = {}  # event id -> handed to the timeline
        self.appends: list[tuple[float, float]] = []  # (start, end) of this app's appends
        self._pending: list[str] = []
        self._timeline: Any = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None:
                self._went_out(time.monotonic())

        app._display = display  # type: ignore[method-assign]

    def attach(self) -> None:
        """Once mounted: watch the timeline's rows and the store's appends."""
        from warroom.tui.widgets.timeline import TimelineView

        timeline = self.app.query_one(TimelineView)
        self._timeline = timeline
        render_line = timeline.render_line
        add_events = timeline.add_events

        def drawn(y: int) -> Any:
            strip = render_line(y)
            self._drew(int(timeline.scroll_offset.y) + y)
            return strip

        def added(events: list[Event]) -> None:
            now = time.monotonic()
            for e in events:
                self.reached_at.setdefault(e.event_id, now)
            add_events(events)

        timeline.render_line = drawn
        timeline.add_events = added
        store = self.app.store
        append = store.append

        async def timed_append(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return await append(*args, **kwargs)
            finally:
                self.appends.append((start, time.monotonic()))

        store.append = timed_append  # type: ignore[method-assign]

    # ---- hooks ----------------------------------------------------------------------------

    def _drew(self, index: int) -> None:
        rows = self._timeline.rows()
        if not 0 <= index < len(rows):
            return
        event = rows[index].event
        exp = self.expectation
        if exp is not None and exp.done_at is None and exp.condition():
            exp.timeline_drawn = True
            if exp.row is not None and exp.row(event):
                exp.row_drawn = True
        if self.track is not None and event.event_id not in self.drawn_at and self.track(event):
            self.drawn_at[event.event_id] = time.monotonic()
            self._pending.append(event.event_id)

    def _went_out(self, now: float) -> None:
        self.updates += 1
        for event_id in self._pending:
            self.shown_at.setdefault(event_id, now)
        self._pending.clear()
        exp = self.expectation
        if exp is not None and exp.done_at is None and exp.condition() and (
                not exp.timeline or exp.timeline_drawn):
            exp.done_at = now
            exp.done.set()

    # ---- waiting ----------------------------------------------------------------------------

    def expect(self, condition: Callable[[], bool], *, timeline: bool = True,
               row: Callable[[Event], bool] | None = None) -> Expectation:
        self.expectation = Expectation(condition, timeline, row)
        return self.expectation

    async def wait(self, exp: Expectation, limit: float) -> float:
        """When the awaited screen went out (time.monotonic()); TimeoutError after `limit` s."""
        try:
            await asyncio.wait_for(exp.done.wait(), limit)
        finally:
            if self.expectation is exp:
                self.expectation = None
        assert exp.done_at is not None
        return exp.done_at


async def wait_until(condition: Callable[[], bool], limit: float, every: float = 0.005,
                     what: str = "condition") -> None:
    """Untimed preparation: wait on a condition, never a fixed sleep."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached in {limit:.0f} s")
        await asyncio.sleep(every)


async def wait_quiet(store: Store, quiet: float, limit: float) -> int:
    """Until nobody committed for `quiet` seconds (the escalation engine's start-up burst on a
    room full of open incidents); returns the last seq."""
    deadline = time.monotonic() + limit
    last = await store.last_seq()
    since = time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        seq = await store.last_seq()
        if seq != last:
            last, since = seq, time.monotonic()
    return last


class GcPauses:
    """Every garbage collection in this process while active: (start, seconds, generation).

    A full (generation 2) collection walks every live container object: with 10,000 incident
    summaries and the widgets of a screen that is a pause of the event loop, and nothing
    else in the app's profile explains a tail that is sporadic.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, int]] = []
        self.threads: dict[str, int] = {}  # full collections by the thread that ran them
        self._started: float | None = None

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.monotonic()
        elif self._started is not None:
            now = time.monotonic()
            self.pauses.append((self._started, now - self._started, info["generation"]))
            self._started = None
            if info["generation"] == 2:
                name = threading.current_thread().name.split(" ")[0].rstrip("0123456789_-")
                self.threads[name] = self.threads.get(name, 0) + 1

    @contextlib.contextmanager
    def active(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)

    def within(self, start: float, end: float, generation: int = 2) -> float:
        """Seconds of collections of at least `generation` that started in [start, end]."""
        return sum(d for t, d, g in self.pauses if g >= generation and start <= t <= end)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for gen in (0, 1, 2):
            durations = [d for _, d, g in self.pauses if g == gen]
            out[f"gen{gen}"] = {
                "count": len(durations),
                "total_ms": round(sum(durations) * 1000, 1),
                "max_ms": round(max(durations) * 1000, 1) if durations else 0.0,
            }
        out["gen2"]["by_thread"] = dict(self.threads)
        out["gen2"]["durations_ms"] = [round(d * 1000, 1) for _, d, g in self.pauses if g == 2]
        return out


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def size_arg(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)
