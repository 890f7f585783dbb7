"""The configuration: the sample validates, the defaults are the seed's, mistakes are reported
with their key paths, and the file is found where the docs say."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from warroom.config_file import load_config
from warroom.domain.common.timefmt import parse_duration
from warroom.domain.config.model import (
    ConfigError,
    Target,
    default_config,
    duration_text,
    parse_config,
)

from .conftest import cli_env, run_cli
from .escalation_support import SAMPLE, demo_config, write


def _sample() -> dict:
    return tomllib.loads(SAMPLE.read_text())


def _problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(data, "t.toml")
    return e.value.problems


def test_sample_describes_the_demo_world() -> None:
    c = demo_config()
    assert set(c.services) == {"payments", "checkout", "auth", "search", "notifications",
                               "pipeline"}
    assert {s for s, v in c.services.items() if v.critical} == {"payments", "checkout", "auth"}
    assert {t: v.timezone for t, v in c.teams.items()} == {
        "payments": "Europe/London", "platform": "America/New_York", "data": "Europe/Berlin"}
    assert {s: v.team for s, v in c.services.items()} == {
        "payments": "payments", "checkout": "payments", "auth": "platform",
        "notifications": "platform", "search": "data", "pipeline": "data"}
    sre = c.rotations["sre"]
    assert sre.members == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert sre.timezone == "Europe/London" and sre.handoff.weekday == 0
    assert sre.start.isoformat() == "2025-01-06T09:00:00+00:00"
    assert (c.org.cto, c.org.ceo) == ("judy", "ken")
    assert all((t.lead, t.director, t.vp) == ("grace", "heidi", "ivan")
               for t in c.teams.values())
    name, policy = c.policy_for("payments")
    assert name == "default" and [lv.after for lv in policy.levels] == [
        timedelta(0), timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=15)]


def test_every_sample_key_is_commented() -> None:
    """Each table of the sample is preceded by comment lines that document its keys."""
    text = SAMPLE.read_text()
    for key in ("webhook", "command", "headers", "timezone", "business_hours", "handoff",
                "secondary_offset", "overrides", "repeat_after", "severities", "stall_after",
                "backoff_max", "runbook", "critical", "escalation_policy"):
        assert any(line.lstrip().startswith("#") and key in line
                   for line in text.splitlines()), key


def test_built_in_defaults_are_the_seed_ladder() -> None:
    c = default_config()
    assert not c.people and not c.rotations
    _, policy = c.policy_for(None)
    assert [(duration_text(lv.after), [str(t) for t in lv.targets]) for lv in policy.levels] == [
        ("0s", ["primary"]), ("5m", ["secondary", "team_lead"]),
        ("10m", ["director", "vp"]), ("15m", ["cto", "ceo"])]


def test_weekday_typo_names_its_key_path() -> None:
    data = _sample()
    data["rotations"]["sre"]["handoff"]["weekday"] = "Mondy"
    assert _problems(data) == [
        "rotations.sre.handoff.weekday: expected a weekday name, got 'Mondy'"]


def test_every_structural_problem_is_listed_at_once() -> None:
    data = _sample()
    data["rotations"]["sre"]["timezon"] = "Europe/London"
    data["teams"]["data"]["timezone"] = "Europe/Berlinn"
    data["escalation_policies"]["default"]["levels"][1]["after"] = 300
    data["notifier"]["attempts"] = 0
    data["people"]["alice"]["webhook"] = "ftp://example.com"
    problems = _problems(data)
    assert len(problems) == 5
    assert ("rotations.sre.timezon: unknown key (did you mean 'timezone'?); expected one of: "
            "handoff, members, overrides, secondary_offset, start, timezone") in problems
    assert ("teams.data.timezone: unknown time zone 'Europe/Berlinn': use an IANA name such "
            "as Europe/London") in problems
    assert ('escalation_policies.default.levels[1].after: expected a duration such as "30s", '
            '"5m" or "2h", got 300') in problems
    assert any(p.startswith("notifier.attempts: ") and "got 0" in p for p in problems)
    assert any(p.startswith("people.alice.webhook: expected an http:// or https:// URL")
               for p in problems)


def test_references_are_checked_with_paths() -> None:
    data = _sample()
    data["teams"]["data"]["lead"] = "graec"
    data["escalation_policies"]["default"]["levels"][2]["targets"] = ["dirctor", "vp"]
    data["services"]["search"]["team"] = "dta"
    data["rotations"]["sre"]["members"][5] = "frnak"
    problems = _problems(data)
    assert "teams.data.lead: unknown person 'graec' (did you mean 'grace'?)" in problems
    assert any(p.startswith("escalation_policies.default.levels[2].targets[0]: unknown person "
                            "'dirctor' (did you mean 'director'?)") for p in problems)
    assert any(p.startswith("services.search.team: unknown team 'dta' (did you mean 'data'?)")
               for p in problems)
    assert any(p.startswith("rotations.sre.members[5]: unknown person 'frnak'")
               for p in problems)


def test_rotation_and_policy_shape_problems() -> None:
    data = _sample()
    data["rotations"]["sre"]["start"] = "2025-01-07T09:00:00"
    data["rotations"]["sre"]["overrides"][0]["end"] = "2025-02-20T09:00:00"
    data["escalation_policies"]["default"]["levels"][1]["after"] = "20m"
    problems = _problems(data)
    assert ("rotations.sre.start: the first shift must start at a handoff (Monday 09:00 "
            "Europe/London), got Tuesday 2025-01-07 09:00") in problems
    assert "rotations.sre.overrides[0].end: an override must end after it starts" in problems
    assert ("escalation_policies.default.levels[2].after: L3 at 10m comes before L2 at 20m: "
            "list levels in the order they fire") in problems


def test_targets_parse_from_text() -> None:
    assert str(Target.parse("primary")) == "primary"
    assert Target.parse("secondary:sre").name == "sre"
    assert Target.parse("Team Lead").name == "team_lead"
    assert Target.parse("lead").name == "team_lead"
    assert Target.parse("person:vp") == Target(kind="person", name="vp")
    assert Target.parse("alice") == Target(kind="person", name="alice")
    with pytest.raises(ValueError, match="unknown escalation target"):
        Target.parse("rot:x:y")


def test_durations_round_trip() -> None:
    for text in ("0s", "30s", "5m", "2h", "1h30m", "1d2h"):
        assert duration_text(parse_duration(text)) == text


def test_loader_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARROOM_CONFIG", raising=False)
    db = tmp_path / "room" / "warroom.db"
    db.parent.mkdir()
    assert load_config(None, str(db)).source == "built-in defaults"
    beside = write(db.parent / "warroom.toml", SAMPLE.read_text())
    assert load_config(None, str(db)).path == beside
    env = write(tmp_path / "env.toml", "[org]\ncto = 'x'\n[people.x]\n")
    monkeypatch.setenv("WARROOM_CONFIG", str(env))
    assert load_config(None, str(db)).config.org.cto == "x"
    flag = write(tmp_path / "flag.toml", "")
    assert load_config(str(flag), str(db)).path == flag
    with pytest.raises(ConfigError, match="no such file"):
        load_config(str(tmp_path / "missing.toml"), str(db))
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml: cannot read: no such file"):
        load_config(None, str(db))


def test_toml_syntax_error_is_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", "[people.alice\nname = 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(bad))
    assert len(e.value.problems) == 1 and e.value.problems[0].startswith("invalid TOML: ")
    assert "line 1" in e.value.problems[0]


def test_cli_reports_problems_with_exit_2_before_running(tmp_path: Path) -> None:
    data = SAMPLE.read_text().replace('weekday = "Monday"', 'weekday = "Mondy"')
    bad = write(tmp_path / "bad.toml", data)
    db = tmp_path / "room.db"
    r = run_cli(db, "engine", "--once", "--config", str(bad))
    assert r.code == 2
    assert "rotations.sre.handoff.weekday: expected a weekday name, got 'Mondy'" in r.err
    assert "Traceback" not in r.err
    assert not db.exists(), "nothing may run on a broken configuration"
    r = run_cli(db, "config", "check", "--config", str(SAMPLE))
    assert r.code == 0 and "valid" in r.out


def test_cli_finds_the_file_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    write(tmp_path / "warroom.toml", SAMPLE.read_text())
    r = run_cli(db, "config", "check", "--json", env=cli_env(db))
    assert r.code == 0
    assert r.json()["source"] == str(tmp_path / "warroom.toml")
    assert r.json()["rotations"] == 1
    shown = run_cli(db, "config", "show")
    assert shown.json()["config"]["escalation_policies"]["default"]["levels"][1] == {
        "after": "5m", "targets": ["secondary", "team_lead"],
        "severities": ["SEV-1", "SEV-2", "SEV-3"]}


def test_stall_after_must_exceed_the_attempt_timeout() -> None:
    data = _sample()
    data["notifier"]["stall_after"] = "5s"
    assert _problems(data) == [
        "notifier.stall_after: must be longer than timeout (10s), or a page being delivered "
        "would be taken over while in flight"]


def test_metric_targets_and_content_folders(tmp_path: Path) -> None:
    cfg = tmp_path / "warroom.toml"
    cfg.write_text('[metrics]\nmttr = "45m"\nincidents_per_month = 6\n'
                   '[content]\ntemplates = "tpl"\nrunbooks = "/srv/runbooks"\n')
    loaded = load_config(str(cfg))
    assert loaded.config.metrics.mttr == timedelta(minutes=45)
    assert loaded.config.metrics.mtta == timedelta(minutes=5)  # the seed's, where not set
    assert loaded.config.metrics.incidents_per_month == 6
    assert loaded.templates_dir == tmp_path / "tpl"
    assert loaded.runbooks_dir == Path("/srv/runbooks")


def test_bad_metric_target_names_its_key(tmp_path: Path) -> None:
    cfg = tmp_path / "warroom.toml"
    cfg.write_text('[metrics]\nmttr = "soon"\n')
    with pytest.raises(ConfigError, match=r"metrics\.mttr"):
        load_config(str(cfg))


def test_metrics_cli_uses_the_configured_targets(tmp_path: Path) -> None:
    db = tmp_path / "room.db"
    (tmp_path / "warroom.toml").write_text('[metrics]\nmttr = "45m"\n')
    assert run_cli(db, "declare", "--title", "t", "--severity", "2").code == 0
    r = run_cli(db, "metrics", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["metrics"]["mttr"]["target_text"] == "< 45m"
    assert report["targets"]["mttr"] == 45 * 60
