"""`warroom demo`: a room with a year of history and an ongoing SEV-1, shared by terminals."""

from __future__ import annotations

from pathlib import Path

from .conftest import cli_env, run_cli


def test_demo_room_is_built_once_and_reused(tmp_path: Path) -> None:
    demo = tmp_path / "demo" / "demo.db"
    env = cli_env(tmp_path / "mine.db")
    first = run_cli(demo, "demo", "--path", str(demo), "--build-only", "--json", env=env)
    assert first.code == 0, first.err
    assert first.json() == {"db": str(demo), "built": True}
    again = run_cli(demo, "demo", "--path", str(demo), "--build-only", "--json", env=env)
    assert again.json() == {"db": str(demo), "built": False}  # a second terminal joins it
    assert not (tmp_path / "mine.db").exists()  # your own room is never touched

    open_rows = run_cli(demo, "list", "--json", "--db", str(demo), env=env).json()
    sev1 = [r for r in open_rows if r["severity"] == "SEV-1"]  # type: ignore[union-attr,index]
    assert sev1 and sev1[0]["status"] == "Identified"  # type: ignore[index]
    history = run_cli(demo, "list", "--all", "--json", "--db", str(demo), env=env).json()
    assert len(history) >= 150  # type: ignore[arg-type]

    # The demo's configuration and runbooks came along: every command on it uses them.
    incident = sev1[0]["id"]  # type: ignore[index]
    book = run_cli(demo, "runbook", incident, "--db", str(demo), env=env)
    assert book.code == 0, book.err
    assert "Emergency Procedures" in book.out
    oncall = run_cli(demo, "oncall", "--json", "--db", str(demo), env=env)
    assert oncall.code == 0 and "sre" in oncall.out

    rebuilt = run_cli(demo, "demo", "--path", str(demo), "--build-only", "--reset", "--json",
                      env=env)
    assert rebuilt.json()["built"] is True  # type: ignore[index]


def test_opening_the_demo_pages_nobody_for_its_history(tmp_path: Path) -> None:
    """The history's week-old open incidents are not paged when a terminal opens the demo
    (each writing terminal runs the engine): no L1 for an 8-day-old SEV-4, no CTO and CEO."""
    demo = tmp_path / "demo" / "demo.db"
    env = cli_env(tmp_path / "mine.db")
    built = run_cli(demo, "demo", "--path", str(demo), "--build-only", env=env)
    assert built.code == 0, built.err
    for _ in range(2):  # and not a quarter of an hour later either
        r = run_cli(demo, "engine", "--once", "--no-deliver", "--db", str(demo), env=env)
        assert r.code == 0, r.err
        assert "fired" not in r.out, r.out
    r = run_cli(demo, "engine", "--once", "--no-deliver", "--now", "+20m", "--db", str(demo),
                env=env)
    assert r.code == 0, r.err
    assert "fired" not in r.out, r.out


def test_the_demo_reads_as_it_happened(tmp_path: Path) -> None:
    """Its history and its ongoing incidents were recorded as they happened: no row of the
    demo says "recorded 03:30" (the time the demo was built), and `show` marks none."""
    demo = tmp_path / "demo" / "demo.db"
    env = cli_env(tmp_path / "mine.db")
    assert run_cli(demo, "demo", "--path", str(demo), "--build-only", env=env).code == 0
    rows = run_cli(demo, "list", "--all", "--json", "--db", str(demo), env=env).json()
    for row in rows[:3] + rows[-2:]:  # type: ignore[operator]
        shown = run_cli(demo, "show", row["id"], "--db", str(demo), env=env)  # type: ignore[index]
        assert shown.code == 0, shown.err
        assert "recorded " not in shown.out, shown.out


def test_the_demo_never_touches_the_default_rooms_configuration(tmp_path: Path) -> None:
    """The demo copies its warroom.toml beside its database; kept beside the default room,
    that copy replaced the room's own configuration."""
    data = tmp_path / "data"
    env = cli_env(tmp_path / "unused.db")
    env.pop("WARROOM_DB", None)
    env["XDG_DATA_HOME"] = str(data)
    room_dir = data / "warroom"
    room_dir.mkdir(parents=True)
    mine = room_dir / "warroom.toml"
    mine.write_text('[org]\nname = "ours"\n', encoding="utf-8")
    r = run_cli("", "demo", "--build-only", "--json", env=env)
    assert r.code == 0, r.err
    assert mine.read_text(encoding="utf-8") == '[org]\nname = "ours"\n'
    assert r.json()["db"] == str(room_dir / "demo" / "demo.db")  # type: ignore[index]
