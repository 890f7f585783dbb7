"""`warroom metrics` through the real process: JSON, CSV, the table, and refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity
from warroom.domain.incident.status import Status
from warroom.store.sqlite import SQLiteStore

SINCE = "2026-03-01T00:00Z"
UNTIL = "2026-03-31T00:00Z"


def t(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def _incident(store: SQLiteStore, service: str, sev: Severity, detected: datetime,
                    started_min: float, ack_min: float | None, res_min: float | None) -> None:
    result = await store.append(None, commands.declare(
        f"{service} trouble", sev, "alice", at=detected, service=service,
        started_at=detected - timedelta(minutes=started_min), detected_at=detected))
    state = await store.get(result.incident_id)
    if ack_min is not None:
        await store.append(state.id, commands.acknowledge(
            state, "bob", detected + timedelta(minutes=ack_min)))
        state = await store.get(state.id)
    if res_min is not None:
        await store.append(state.id, commands.change_status(
            state, Status.RESOLVED, "bob", detected + timedelta(minutes=res_min)))


@pytest.fixture
async def room(db_path: Path) -> Path:
    async with await SQLiteStore.open(db_path) as store:
        await _incident(store, "payments", Severity.SEV2, t(10, 10, month=2), 2, 4, 40)
        await _incident(store, "payments", Severity.SEV1, t(2, 10), 3, 2, 30)
        await _incident(store, "checkout", Severity.SEV3, t(5, 8), 1, 6, 60)
        await _incident(store, "auth", Severity.SEV3, t(10, 0), 0, None, 15)
        await _incident(store, "payments", Severity.SEV2, t(25, 12), 0, None, None)
    return db_path


def test_json(room: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics", "--since", SINCE, "--until", UNTIL, "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert isinstance(data, dict)
    assert data["period"]["since"] == "2026-03-01T00:00:00Z"
    assert data["period"]["until"] == "2026-03-31T00:00:00Z"
    assert data["previous"]["since"] == "2026-01-30T00:00:00Z"
    assert data["incidents"] == 4
    assert (data["unresolved"], data["unacknowledged"], data["never_acknowledged"]) == (1, 1, 1)
    m = data["metrics"]
    assert m["mttd"]["value"] == pytest.approx((180 + 60 + 0 + 0) / 4)
    assert m["mtta"]["value"] == pytest.approx((120 + 360) / 2)
    assert m["mtta"]["open"] == 1 and m["mtta"]["never_acknowledged"] == 1
    assert m["mttr"]["value"] == pytest.approx((1800 + 3600 + 900) / 3)
    assert m["mttr"]["status"] == "not met"
    assert m["mttr"]["trend"]["previous"] == 2400
    # P resolved 02-10 10:40 -> A starts 03-02 09:57; A 10:30 -> B 03-05 07:59; B 09:00 -> C;
    # C 03-10 00:15 -> D (still open) 03-25 12:00
    gaps = [20 * 86400 - 43 * 60, 3 * 86400 - (2 * 3600 + 31 * 60), 4 * 86400 + 15 * 3600,
            15 * 86400 + 11 * 3600 + 45 * 60]
    assert m["mttf"]["value"] == pytest.approx(sum(gaps) / 4)
    assert m["incidents"]["value"] == 4
    assert m["incidents"]["trend"]["text"] == "↑ 300%"
    assert list(data["by_service"]) == ["payments", "auth", "checkout"]
    assert data["by_severity"]["SEV-1"]["incidents"] == 1
    assert data["months"][-1]["month"] == "2026-03"
    assert len(m["mttr"]["sparkline"]) == 12


def test_filters_through_the_cli(room: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics", "--since", SINCE, "--until", UNTIL, "--service", "payments",
                "--severity", "sev-2", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert isinstance(data, dict)
    assert data["filters"] == {"service": "payments", "severity": "SEV-2"}
    assert data["incidents"] == 1
    assert data["metrics"]["mttr"]["open"] == 1
    r = cli("metrics", "--since", SINCE, "--until", UNTIL, "--service", "payments", "--csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert {row["group"] for row in rows if row["scope"] == "period"} == {"service=payments"}


def test_csv(room: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics", "--since", SINCE, "--until", UNTIL, "--csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    period = {row["metric"]: row for row in rows if row["scope"] == "period"}
    assert list(period) == ["mttd", "mtta", "mttr", "mttf", "incidents"]
    assert float(period["mttr"]["value"]) == pytest.approx(2100)
    assert period["mttr"]["status"] == "not met"
    assert period["mtta"]["open"] == "1" and period["mtta"]["never_acknowledged"] == "1"
    assert period["mttr"]["trend"] == "better"  # 35 min against 40 min before
    assert period["incidents"]["trend"] == "worse"
    assert period["mttd"]["since"] == "2026-03-01T00:00:00Z"
    previous = {row["metric"]: row for row in rows if row["scope"] == "previous"}
    assert float(previous["mttr"]["value"]) == 2400
    services = {row["group"] for row in rows if row["scope"] == "service"}
    assert services == {"payments", "auth", "checkout"}
    months = [row for row in rows if row["scope"] == "month" and row["metric"] == "incidents"]
    assert len(months) == 12
    assert (months[-2]["group"], months[-2]["value"]) == ("2026-02", "1")
    assert (months[-1]["group"], months[-1]["value"]) == ("2026-03", "4")


def test_table_for_people(room: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics", "--since", SINCE, "--until", UNTIL)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("Incident metrics, 2026-03-01 00:00:00Z .. 2026-03-31 00:00:00Z")
    mttr = next(x for x in lines if x.startswith("MTTR"))
    assert "35m00s" in mttr and "< 30m" in mttr and "not met" in mttr and "↓ 12% better" in mttr
    # per month, 2025-04..2026-03: ten months without incidents are blank, then 40m, 35m
    assert mttr.endswith(" " * 10 + "█▁")
    assert any(x.startswith("payments") for x in lines)
    assert any(x.startswith("2026-03") for x in lines)


def test_default_period_is_the_last_thirty_days(room: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert isinstance(data, dict)
    assert data["period"]["days"] == 30
    assert data["incidents"] == 0  # the fixture's incidents are months old


@pytest.mark.parametrize("args, message", [
    (("--json", "--csv"), "choose one output"),
    (("--since", "yesterday-ish"), "cannot read time"),
    (("--since", UNTIL, "--until", SINCE), "period is empty"),
    (("--severity", "SEV-9"), "unknown severity"),
])
def test_bad_input_is_one_clear_line(room: Path, cli, args: tuple[str, ...],  # type: ignore[no-untyped-def]
                                     message: str) -> None:
    r = cli("metrics", *args)
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err


def test_missing_room(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics")
    assert r.code == 6
    assert "no database" in r.err


def test_help_carries_the_definitions(room: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("metrics", "--help")
    assert r.code == 0
    for phrase in ("MTTD  mean(detected - started)", "MTTF", "p90: nearest rank",
                   "calendar months in UTC", "the last 30 days"):
        assert phrase in r.out


def test_oncall_load_from_the_cli(tmp_path: Path) -> None:
    import shutil

    from .conftest import REPO, run_cli

    db = tmp_path / "room.db"
    shutil.copyfile(REPO / "sample_data" / "warroom.toml", tmp_path / "warroom.toml")
    # Tuesday 2026-03-03 23:30 London: week 8 of the sre rotation (from 2025-01-06).
    at = "2026-03-03T23:30:00Z"
    assert run_cli(db, "declare", "--title", "night page", "--severity", "1", "--service",
                   "payments", "--at", at).code == 0
    r = run_cli(db, "escalate", "1", "--at", at, "--no-deliver", "--json")
    assert r.code == 0, r.err
    paged = r.json()["events"][0]["data"]["targets"]  # type: ignore[index]
    r = run_cli(db, "metrics", "--oncall", "--since", "2026-03-01T00:00:00Z", "--until",
                "2026-04-01T00:00:00Z", "--json")
    assert r.code == 0, r.err
    rows = {row["person"]: row for row in r.json()["rows"]}  # type: ignore[index]
    assert paged and all(rows[p]["pages"] == 1 and rows[p]["pages_night"] == 1 for p in paged)
    # somebody is primary every hour of the month (31 days of UTC time, DST or not)
    assert sum(row["primary_hours"] for row in rows.values()) == pytest.approx(31 * 24)
    csv_out = run_cli(db, "metrics", "--oncall", "--since", "2026-03-01T00:00:00Z",
                      "--until", "2026-04-01T00:00:00Z", "--csv")
    assert csv_out.out.splitlines()[0].startswith("month,person,primary_hours")
