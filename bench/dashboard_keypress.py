"""Keypress to updated screen in the same terminal, p95. Target: <= 50 ms.

In-process, on Textual's Pilot (headless driver), with the app built as `warroom` builds it
(escalation engine, presence, 1 s tick) on a copy of bench/metrics.py's room (10,000
incidents), following its default incident. Four kinds of key, round robin in a shuffled
order, with a random 30-120 ms pause between samples (so they do not lock onto the 1 s tick,
the 50 ms poll or the screen's refresh timer):

  note    `n` and the text put in the prompt (untimed), then Enter is timed: until the new
          note's row is drawn on the timeline and that screen update went out
  status  `s` and the move's key (untimed: Investigating -> Identified -> Monitoring ->
          Investigating, round and round), then the Enter that closes the move's prompt (the
          cause, or why: left empty) is timed: until the status row is drawn
  ack     the dashboard follows a fresh unacknowledged incident (untimed), `a` is timed: until
          the acknowledgement's row is drawn
  prompt  `n` is timed until the note prompt is on screen (then Escape)

The clock starts right before Pilot delivers the key and stops inside the app, at the screen
update (App._display) that carried the change (bench/_dashboard.py: ScreenProbe). For the
three that write, the path is key -> action -> domain command -> store.append -> this
process's own feed wakes (no poll wait: append bumps the signal) -> events_since -> message ->
fold -> panes re-render; each sample is split into key-to-append, append (the SQLite
transaction and its fsync), feed (append returned -> the event reached the timeline) and render
(-> the screen update went out).

Then a cross-check in a real terminal: the real `warroom` in tmux (same room), `tmux send-keys`
and capture-pane polled every ~1 ms; those figures include tmux's own latency (send-keys to the
pty, the program's output parsed by tmux) and the poll resolution.

    python bench/dashboard_keypress.py                 # 200 samples in-process, 24 in tmux
    python bench/dashboard_keypress.py --samples 400 --tmux-samples 0

Writes bench/results/dashboard_keypress.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, print_table, scratch_dir, summary_ms, write_results
from _dashboard import (
    GcPauses,
    ScreenProbe,
    app_as_shipped,
    copy_room,
    followed_sync,
    incidents_room,
    size_arg,
    wait_quiet,
    wait_until,
)
from _tmux import tmux_available, tmux_server
from dashboard_first_paint import launch_argv, program_env, session_env

NAME = "dashboard_keypress"
TARGET_P95_MS = 50.0
KINDS = ("note", "status", "ack", "prompt")
NEXT_STATUS = {"Investigating": ("d", "Identified"), "Identified": ("m", "Monitoring"),
               "Monitoring": ("i", "Investigating")}


async def add_ack_targets(db: Path, count: int) -> list[str]:
    """Unacknowledged SEV-4 incidents declared now, one per `a` sample."""
    from warroom.domain.incident import commands
    from warroom.domain.incident.severity import Severity
    from warroom.store.sqlite import SQLiteStore

    ids = []
    async with await SQLiteStore.open(db) as store:
        for i in range(count):
            r = await store.append(None, commands.declare(
                f"keypress target {i + 1}", Severity.SEV4, "bench", service="pipeline"))
            ids.append(r.incident_id)
    return ids


# ---- in-process --------------------------------------------------------------------------------


async def in_process(db: Path, main_id: str, ack_ids: list[str], samples: int,
                     size: tuple[int, int], seed: int, limit: float) -> dict[str, Any]:
    from warroom.store import open_store
    from warroom.tui.widgets.timeline import TimelineView

    rng = random.Random(seed)
    store = await open_store(db, readonly=False, create=False)
    app = app_as_shipped(store, "bench", follow=main_id)
    probe = ScreenProbe(app)
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    row_not_visible = [0]
    acks = iter(ack_ids)
    gcp = GcPauses()
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until(lambda: app.dashboard.state is not None, 60, what="first paint")
            probe.attach()
            timeline = app.query_one(TimelineView)
            # The engine pages the fresh incidents as it starts: let that burst pass.
            await wait_quiet(store, quiet=1.5, limit=30)
            await pilot.pause()
            order: list[str] = []
            while len(order) < samples:
                cycle = list(KINDS)
                rng.shuffle(cycle)
                order.extend(cycle)
            with gcp.active():
                await _samples(app, pilot, probe, timeline, order[:samples], rng, acks,
                               main_id, limit, results, errors, row_not_visible, gcp)
    finally:
        await store.close()
    return {"samples": results, "errors": errors, "row_not_visible": row_not_visible[0],
            "screen_updates": probe.updates, "gc": gcp.summary()}


async def _samples(app: Any, pilot: Any, probe: ScreenProbe, timeline: Any, order: list[str],
                   rng: random.Random, acks: Any, main_id: str, timeout: float,  # noqa: ASYNC109
                   results: list[dict[str, Any]], errors: list[str], row_not_visible: list[int],
                   gcp: GcPauses) -> None:
    from textual.widgets import Input

    from warroom.domain.incident.status import Status
    from warroom.tui.screens import ChoiceScreen, TextPrompt

    for n, kind in enumerate(order):
        await asyncio.sleep(rng.uniform(0.03, 0.12))
        state = app.dashboard.state
        assert state is not None
        error_before = app.dashboard.last_error
        if kind == "ack":
            target = next(acks)
            await app.dashboard.follow(target)
            await wait_until(lambda t=target: app.dashboard.state is not None
                             and app.dashboard.state.id == t, timeout, what="follow")
            await pilot.pause()
            key = "a"
            exp = probe.expect(lambda t=target: app.dashboard.state is not None
                               and app.dashboard.state.id == t and app.dashboard.state.acknowledged,
                               row=lambda e: e.kind == "acknowledged")
        elif kind == "note":
            text = f"kp {n:03d}"
            await pilot.press("n")
            await wait_until(lambda: isinstance(app.screen, TextPrompt), timeout,
                             what="note prompt")
            app.screen.query_one(Input).value = text  # typing is not what is timed
            await pilot.pause()
            key = "enter"
            exp = probe.expect(
                lambda t=text: bool(timeline.row_count)
                and timeline.rows()[-1].event.data.get("text") == t,
                row=lambda e, t=text: e.data.get("text") == t)
        elif kind == "status":
            move, to = NEXT_STATUS.get(state.status.value, ("i", "Investigating"))
            await pilot.press("s")
            await wait_until(lambda: isinstance(app.screen, ChoiceScreen), timeout,
                             what="status choices")
            await pilot.press(move)
            await wait_until(lambda: isinstance(app.screen, TextPrompt), timeout,
                             what="the move's prompt")
            key = "enter"
            want = Status(to)
            exp = probe.expect(lambda w=want: app.dashboard.state is not None
                               and app.dashboard.state.status == w,
                               row=lambda e, t=to: e.kind == "status_changed"
                               and e.data.get("to_status") == t)
        else:  # prompt
            key = "n"
            exp = probe.expect(lambda: isinstance(app.screen, TextPrompt),
                               timeline=False)
        appends_before = len(probe.appends)
        t0 = time.monotonic()
        await pilot.press(key)
        try:
            done_at = await probe.wait(exp, timeout)
        except TimeoutError:
            errors.append(f"{kind}: no screen update in {timeout:.0f} s "
                          f"(last error: {app.dashboard.last_error})")
            await _back_to_dashboard(pilot, app)
            continue
        if app.dashboard.last_error != error_before:
            errors.append(f"{kind}: {app.dashboard.last_error}")
        sample: dict[str, Any] = {"kind": kind, "ms": (done_at - t0) * 1000,
                                  "gc_full_ms": gcp.within(t0, done_at) * 1000}
        if exp.row is not None:
            if not exp.row_drawn:
                row_not_visible[0] += 1
            sample.update(_split(probe, appends_before, t0, done_at, exp.row,
                                 timeline))
        results.append(sample)
        if kind == "prompt":
            await pilot.press("escape")
            await wait_until(lambda: not isinstance(app.screen, TextPrompt), timeout,
                             what="prompt closed")
        if kind == "ack":
            await app.dashboard.follow(main_id)
            await pilot.pause()


def _split(probe: ScreenProbe, appends_before: int, t0: float, done_at: float,
           row: Any, timeline: Any) -> dict[str, float]:
    """key -> append start -> append end -> reached the timeline -> screen update out."""
    out: dict[str, float] = {}
    mine = probe.appends[appends_before:]
    if mine:
        start, end = mine[0]
        out["key_to_append_ms"] = (start - t0) * 1000
        out["append_ms"] = (end - start) * 1000
        event = next((r.event for r in reversed(timeline.rows()) if row(r.event)), None)
        reached = probe.reached_at.get(event.event_id) if event is not None else None
        if reached is not None:
            out["feed_ms"] = (reached - end) * 1000
            out["render_ms"] = (done_at - reached) * 1000
    return out


async def _back_to_dashboard(pilot: Any, app: Any) -> None:
    for _ in range(3):
        if app.screen is app.dashboard:
            return
        await pilot.press("escape")


def summarise(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for kind in ("all", *KINDS):
        chosen = [s for s in samples if kind == "all" or s["kind"] == kind]
        if not chosen:
            continue
        row: dict[str, Any] = {"kind": kind, "samples": len(chosen),
                               **summary_ms(s["ms"] / 1000 for s in chosen)}
        row["with_full_gc"] = sum(1 for s in chosen if s.get("gc_full_ms", 0) > 0)
        slow = [s for s in chosen if s["ms"] > 100]
        row["over_100ms"] = len(slow)
        row["over_100ms_with_full_gc"] = sum(1 for s in slow if s.get("gc_full_ms", 0) > 0)
        for part in ("key_to_append_ms", "append_ms", "feed_ms", "render_ms"):
            values = [s[part] for s in chosen if part in s]
            if values:
                row[f"{part[:-3]}_median_ms"] = round(statistics.median(values), 2)
        rows.append(row)
    return rows


# ---- real terminal -----------------------------------------------------------------------------


def in_tmux(db: Path, size: tuple[int, int], samples: int, seed: int,
            timeout: float) -> dict[str, Any]:
    """note (Enter), status (the move's key) and prompt (`n`) through tmux send-keys."""
    rng = random.Random(seed)
    want = followed_sync(db)
    env = program_env(db)
    results: list[dict[str, Any]] = []
    with tmux_server(env) as tmux:
        tmux.start("kp", size[0], size[1], launch_argv(db), env=session_env(env))
        pid = tmux.pane_pid("kp")
        try:
            tmux.wait_for("kp", want.painted, 60)
            tmux.wait_for("kp", lambda s: "MTTD" in s, 60)
            n = 0
            while len(results) < samples:
                n += 1
                time.sleep(rng.uniform(0.03, 0.12))
                # prompt: `n` until the prompt is on screen
                t0 = time.monotonic()
                tmux.keys("kp", "n")
                at, _ = tmux.wait_for("kp", lambda s: "Add a note" in s, timeout, every=0.001)
                results.append({"kind": "prompt", "ms": (at - t0) * 1000})
                text = f"tm {n:03d}"
                tmux.keys("kp", text, literal=True)
                tmux.wait_for("kp", lambda s, t=text: t in s, timeout)
                time.sleep(rng.uniform(0.03, 0.12))
                t0 = time.monotonic()
                tmux.keys("kp", "Enter")
                at, _ = tmux.wait_for(
                    "kp", lambda s, t=text: "Add a note" not in s and f"bench      {t}" in s,
                    timeout, every=0.001)
                results.append({"kind": "note", "ms": (at - t0) * 1000})
                time.sleep(rng.uniform(0.03, 0.12))
                tmux.keys("kp", "s")
                _, screen = tmux.wait_for("kp", lambda s: "Move " in s, timeout)
                current = screen.splitlines()[0].split()
                now = next((w for w in current if w.title() in NEXT_STATUS), "MONITORING")
                key, to = NEXT_STATUS[now.title()]
                tmux.keys("kp", key)
                tmux.wait_for("kp", lambda s: "optional" in s, timeout)  # the move's prompt
                time.sleep(rng.uniform(0.03, 0.12))
                t0 = time.monotonic()
                tmux.keys("kp", "Enter")
                shown = to.upper()
                at, _ = tmux.wait_for(
                    "kp", lambda s, t=shown: "optional" not in s and t in s.splitlines()[0],
                    timeout, every=0.001)
                results.append({"kind": "status", "ms": (at - t0) * 1000})
        finally:
            tmux.stop("kp", pid)
    return {"samples": results[:samples]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=200, help="in-process samples (default 200)")
    p.add_argument("--tmux-samples", type=int, default=24,
                   help="real-terminal samples through tmux (default 24; 0 skips)")
    p.add_argument("--size", default="120x40", help="terminal size (default 120x40)")
    p.add_argument("--incidents", type=int, default=10_000,
                   help="room size; 10000 is bench/metrics.py's cached room (default)")
    p.add_argument("--timeout", type=float, default=10.0, help="per sample (default 10 s)")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--dir", help="scratch folder (default: a fresh temp folder)")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    opts = p.parse_args(argv)
    size = size_arg(opts.size)

    with scratch_dir(opts.dir) as work:
        source, how = incidents_room(opts.incidents, work)
        db = copy_room(source, work / "keypress.db")
        main_id = followed_sync(db).incident_id
        ack_ids = asyncio.run(add_ack_targets(db, -(-opts.samples // len(KINDS)) + 1))
        print(f"room: {opts.incidents} incidents ({how}) + {len(ack_ids)} to acknowledge; "
              f"follows {main_id}; {datetime.now(UTC):%H:%M:%S}Z", flush=True)
        got = asyncio.run(in_process(db, main_id, ack_ids, opts.samples, size, opts.seed,
                                     opts.timeout))
        table = summarise(got["samples"])
        print("in-process (Pilot, headless):")
        print_table(table, ["kind", "samples", "p50_ms", "p95_ms", "p99_ms", "max_ms",
                            "key_to_append_median_ms", "append_median_ms", "feed_median_ms",
                            "render_median_ms"])
        gen2 = got["gc"]["gen2"]
        print(f"full garbage collections while sampling: {gen2['count']}, "
              f"{gen2['total_ms']:.0f} ms in all, the longest {gen2['max_ms']:.0f} ms; "
              f"samples over 100 ms: {table[0]['over_100ms'] if table else 0}, "
              f"of which with a full collection inside: "
              f"{table[0]['over_100ms_with_full_gc'] if table else 0}")
        for e in got["errors"]:
            print(f"error: {e}")
        tmux_part: dict[str, Any]
        if opts.tmux_samples <= 0:
            tmux_part = {"skipped": "--tmux-samples 0"}
        elif not tmux_available():
            tmux_part = {"skipped": "tmux is not installed"}
        else:
            real = in_tmux(db, size, opts.tmux_samples, opts.seed, max(opts.timeout, 30))
            tmux_part = {"samples": len(real["samples"]), "by_kind": summarise(real["samples"]),
                         "raw_ms": [round(s["ms"], 2) for s in real["samples"]],
                         "raw_kinds": [s["kind"] for s in real["samples"]]}
            print("real terminal (tmux send-keys -> capture-pane; includes tmux's latency):")
            print_table(tmux_part["by_kind"], ["kind", "samples", "p50_ms", "p95_ms", "p99_ms",
                                               "max_ms"])
        if tmux_part.get("skipped"):
            print(f"real terminal: skipped ({tmux_part['skipped']})")
    overall = table[0] if table else {}
    path = write_results(NAME, table, {
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": bool(overall) and overall["p95_ms"] <= TARGET_P95_MS,
        "size": opts.size,
        "room": {"incidents": opts.incidents, "followed": main_id, "ack_targets": len(ack_ids)},
        "samples": len(got["samples"]),
        "errors": got["errors"],
        "row_not_visible": got["row_not_visible"],
        "gc": got["gc"],
        "raw_ms": [round(s["ms"], 2) for s in got["samples"]],
        "raw_kinds": [s["kind"] for s in got["samples"]],
        "tmux": tmux_part,
    }, opts.out_dir)
    print(f"written to {path}")
    return 0 if not got["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
