"""`warroom oncall simulate` (issue 17.5): for an incident declared at each handoff (and a
minute before), override edge and daylight-saving change of a window, and at the hours given,
who each level would page and when, overrides applied. A Europe/Berlin rotation across the
late-March change, with an override over the night of the change."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from warroom.domain.config.model import parse_config
from warroom.domain.incident.severity import Severity
from warroom.domain.oncall.simulate import dst_changes, moments, policy_rotations, simulate

from .conftest import run_cli

BERLIN = ZoneInfo("Europe/Berlin")
CONFIG = """
[people.alice]
[people.bob]
[people.carol]
[people.dave]
[people.erin]
[people.zoe]

[teams.payments-team]
lead = "zoe"
rotation = "sre"

[services.payments]
team = "payments-team"

[rotations.sre]
timezone = "Europe/Berlin"
handoff = { weekday = "Monday", time = "09:00" }
start = 2026-03-02T09:00:00
members = ["alice", "bob", "carol", "dave"]

[[rotations.sre.overrides]]
slot = "primary"
person = "erin"
start = 2026-03-28T20:00:00
end = 2026-03-29T10:00:00
reason = "dave at a wedding"

[escalation_policies.default]
[[escalation_policies.default.levels]]
after = "0s"
targets = ["primary"]
[[escalation_policies.default.levels]]
after = "5m"
targets = ["secondary"]
[[escalation_policies.default.levels]]
after = "10m"
targets = ["team_lead"]
[[escalation_policies.default.levels]]
after = "15m"
targets = ["person:alice"]
severities = ["SEV-1"]
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "warroom.toml"
    path.write_text(CONFIG)
    return path


def _config():  # type: ignore[no-untyped-def]
    import tomllib

    return parse_config(tomllib.loads(CONFIG))


def test_berlin_changes_clocks_on_the_last_sunday_of_march() -> None:
    found = dst_changes(BERLIN, utc(2026, 3, 23), utc(2026, 4, 6))
    assert found == [(utc(2026, 3, 29, 1), "+01:00 -> +02:00")]


def test_the_moments_of_a_window_across_the_change() -> None:
    config = _config()
    _, policy = config.policy_for("payments")
    rotations = policy_rotations(config, policy, "payments")
    assert [r.name for r in rotations] == ["sre"]
    found = moments(config, rotations, utc(2026, 3, 23), utc(2026, 4, 6),
                    [time(3, 0)], BERLIN)
    by_at = {m.at: m.why for m in found}
    # Handoffs stay at 09:00 local: 08:00Z in winter time, 07:00Z after the change.
    assert by_at[utc(2026, 3, 23, 8)] == ("handoff sre (carol -> dave)",)
    assert by_at[utc(2026, 3, 30, 7)] == ("handoff sre (dave -> alice)",)
    assert by_at[utc(2026, 3, 30, 6, 59)] == ("1m before handoff sre",)
    # The change itself, which is also 03:00 local that night (02:00 CET never happens).
    assert by_at[utc(2026, 3, 29, 1)] == ("daylight saving Europe/Berlin +01:00 -> +02:00",
                                          "03:00 Europe/Berlin")
    assert any(w.startswith("override starts: erin") for w in by_at[utc(2026, 3, 28, 19)])
    assert any(w.startswith("override ends: erin") for w in by_at[utc(2026, 3, 29, 8)])
    # 03:00 Berlin is 02:00Z in winter time, 01:00Z from the change on.
    assert "03:00 Europe/Berlin" in by_at[utc(2026, 3, 28, 2)]
    assert "03:00 Europe/Berlin" in by_at[utc(2026, 3, 30, 1)]
    assert utc(2026, 3, 29, 2) not in by_at  # 03:00 on the day of the change is 01:00Z


def test_the_ladder_at_the_change_pages_the_override_and_follows_the_handoff() -> None:
    config = _config()
    at_change = simulate(config, utc(2026, 3, 29, 1), Severity.SEV1, "payments")
    pages = [(p.level, p.at, p.person, p.override) for p in at_change.pages]
    assert pages == [
        (1, utc(2026, 3, 29, 1), "erin", "covers dave: dave at a wedding"),
        (2, utc(2026, 3, 29, 1, 5), "alice", None),
        (3, utc(2026, 3, 29, 1, 10), "zoe", None),
        (4, utc(2026, 3, 29, 1, 15), "alice", None),
    ]
    # Declared a minute before Monday's handoff: L1 pages dave, L2 (after it) the new shift's
    # secondary.
    before = simulate(config, utc(2026, 3, 30, 6, 59), Severity.SEV1, "payments")
    assert [(p.level, p.person) for p in before.pages[:2]] == [(1, "dave"), (2, "bob")]
    # A SEV-3 stops before the SEV-1-only level.
    minor = simulate(config, utc(2026, 3, 29, 1), Severity.SEV3, "payments")
    assert [p.level for p in minor.pages] == [1, 2, 3]


def test_oncall_simulate_cli(tmp_path: Path, config_file: Path) -> None:
    db = tmp_path / "room.db"
    args = ["oncall", "simulate", "--config", str(config_file), "--from", "2026-03-23",
            "--to", "2026-04-05", "--service", "payments", "--at", "03:00"]
    r = run_cli(db, *args)
    assert r.code == 0, r.err
    out = r.out
    assert "policy default" in out and "rotation sre (Europe/Berlin, handoff Monday 09:00" in out
    block = out.split("2026-03-29 01:00:00Z")[1].split("\n\n")[0]
    assert "Sun 03:00 CEST" in block and "daylight saving Europe/Berlin +01:00 -> +02:00" in block
    assert "erin  (override: covers dave: dave at a wedding)" in block
    assert "L4 +15m" in block and "alice" in block
    assert "2026-03-30 07:00:00Z  Mon 09:00 CEST  handoff sre (dave -> alice)" in out
    assert "2026-03-23 08:00:00Z  Mon 09:00 CET" in out

    data = run_cli(db, *args, "--json").json()  # type: ignore[union-attr]
    assert data["policy"] == "default" and data["rotations"] == ["sre"]
    runs = {s["declared_at"]: s for s in data["simulations"]}  # type: ignore[index]
    change = runs["2026-03-29T01:00:00Z"]
    assert [(p["level"], p["person"], p["after_s"]) for p in change["pages"]] == [
        (1, "erin", 0.0), (2, "alice", 300.0), (3, "zoe", 600.0), (4, "alice", 900.0)]
    assert change["pages"][0]["override"] == "covers dave: dave at a wedding"

    r = run_cli(db, "oncall", "simulate", "--config", str(config_file), "--from", "2026-03-23")
    assert r.code == 2 and "--to" in r.err
    r = run_cli(db, "oncall", "--config", str(config_file), "--from", "2026-03-23")
    assert r.code == 2 and "simulate" in r.err
    # Plain `oncall --at` still answers who is on call then.
    r = run_cli(db, "oncall", "--config", str(config_file), "--at", "2026-03-29T02:00:00Z")
    assert r.code == 0 and "erin" in r.out, r.err


def test_simulate_with_no_moments_says_so(tmp_path: Path, config_file: Path) -> None:
    r = run_cli(tmp_path / "room.db", "oncall", "simulate", "--config", str(config_file),
                "--from", "2026-03-24T10:00:00Z", "--to", "2026-03-24T11:00:00Z")
    assert r.code == 0 and "nothing to simulate" in r.out
