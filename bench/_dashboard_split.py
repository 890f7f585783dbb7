"""Where the first paint's time goes: one fresh process doing what `python -m warroom --db ROOM`
does, with a clock between the steps, on Textual's headless driver.

    python bench/_dashboard_split.py ROOM WIDTH HEIGHT

Prints one JSON object: time.monotonic() marks (comparable with the parent's: one clock per
host), VmRSS after each step, and the time spent in the store calls and the app's methods the
first paint waits on. Run by dashboard_first_paint.py and dashboard_big_timeline.py; the
imports come first and nothing else is imported before them, so their time is the real one.
"""

from __future__ import annotations

import sys
import time

STARTED = time.monotonic()


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    db, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    marks: dict[str, float] = {"started": STARTED}
    rss: dict[str, int] = {"started": _rss_kib()}

    import warroom.cli.main as cli_main  # what `python -m warroom` runs first

    cli_main.build_parser()  # imports every command module, as main() does
    # What main() imports after parsing, before it hands over to the dashboard's handler.
    import warroom.cli.context
    import warroom.cli.room
    import warroom.domain.common.errors
    import warroom.settings
    import warroom.store.errors

    marks["cli_imported"] = time.monotonic()
    from warroom.tui.run import collector_paused  # the dashboard handler's import

    # run_dashboard pauses the collector before it imports the dashboard, until the screen
    # has settled (or the process ends: this one exits with it paused).
    collector_paused().__enter__()
    import warroom.tui.app  # noqa: F401  (textual, rich and the dashboard)

    marks["tui_imported"] = time.monotonic()
    rss["imported"] = _rss_kib()

    import asyncio
    import json
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _dashboard import ScreenProbe, app_as_shipped

    from warroom.store import open_store
    from warroom.tui.widgets.timeline import TimelineView

    spent: dict[str, float] = {}

    def timed(owner: object, name: str, label: str) -> None:
        """Add the time of every call of owner.name (sync or async) to spent[label]."""
        original = getattr(owner, name)
        if asyncio.iscoroutinefunction(original):
            async def wrapper_async(*args: object, **kwargs: object) -> object:
                t0 = time.monotonic()
                try:
                    return await original(*args, **kwargs)
                finally:
                    spent[label] = spent.get(label, 0.0) + time.monotonic() - t0

            setattr(owner, name, wrapper_async)
        else:
            def wrapper(*args: object, **kwargs: object) -> object:
                t0 = time.monotonic()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[label] = spent.get(label, 0.0) + time.monotonic() - t0

            setattr(owner, name, wrapper)

    # Class-level wrappers in this probe process only: the first reads start when the screen
    # is made, before any instance can be reached from outside. The panes build their text
    # when their inputs change (what refresh_panes did before the dashboard refactor).
    from warroom.tui.dashboard import DashboardScreen
    from warroom.tui.widgets.panes import Pane

    timed(DashboardScreen, "_first_reads", "first_reads")
    for pane in Pane.__subclasses__():
        timed(pane, "build", "panes_build")
    timed(TimelineView, "set_events", "timeline_set_events")

    async def queries_alone(incident_id: str) -> dict[str, float]:
        """The same reads again, one after the other with nothing else on the loop (the app's
        own are interleaved with Textual's start-up, so their wall time is not theirs alone).
        Warm: the app just read the same pages."""
        from warroom.domain.incident.fold import apply

        out: dict[str, float] = {}
        t0 = time.monotonic()
        s = await open_store(db, readonly=True, create=False)
        out["open"] = time.monotonic() - t0
        try:
            for name, call in (("last_seq", s.last_seq), ("summaries", s.summaries)):
                t0 = time.monotonic()
                await call()
                out[name] = time.monotonic() - t0
            before = _rss_kib()
            t0 = time.monotonic()
            events = await s.events(incident_id)
            out["events"] = time.monotonic() - t0
            out["events_rss_kib"] = _rss_kib() - before
            t0 = time.monotonic()
            state = None
            for e in events:
                state = apply(state, e)
            out["fold"] = time.monotonic() - t0
        finally:
            await s.close()
        return out

    async def run() -> None:
        store = await open_store(db, readonly=False, create=True, lock_timeout=10.0)
        marks["store_opened"] = time.monotonic()
        rss["store_opened"] = _rss_kib()
        for name in ("last_seq", "summaries", "events"):
            timed(store, name, f"store_{name}")
        app = app_as_shipped(store, "bench")
        probe = ScreenProbe(app)
        painted = probe.expect(lambda: app.dashboard.state is not None and bool(app.query_one(
            TimelineView).row_count), timeline=False)
        try:
            async with app.run_test(size=(width, height)):
                await probe.wait(painted, 120)
                marks["painted"] = painted.done_at or time.monotonic()
                rss["painted"] = _rss_kib()
                metrics = probe.expect(lambda: app.dashboard.metrics_report is not None,
                                       timeline=False)
                await probe.wait(metrics, 120)
                marks["metrics_painted"] = metrics.done_at or time.monotonic()
                rss["metrics_painted"] = _rss_kib()
                state = app.dashboard.state
                assert state is not None
                follow_id, version = state.id, state.version
                rows = app.query_one(TimelineView).row_count
                summaries = len(app.dashboard.summaries)
        finally:
            await store.close()
        alone = await queries_alone(follow_id)
        print(json.dumps({
            "queries_alone_s": alone,
            "marks": marks, "rss_kib": rss, "spent_s": spent, "followed": follow_id,
            "version": version, "timeline_rows": rows, "summaries": summaries,
            "updates_until_metrics": probe.updates,
        }))

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
