"""The environment, read in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.settings import Settings, SettingsError


def test_every_variable_and_its_default() -> None:
    assert Settings.from_env({}) == Settings()
    s = Settings.from_env({
        "WARROOM_DB": "postgresql://h//db", "WARROOM_USER": "zed", "WARROOM_LOCK_TIMEOUT": "2.5",
        "WARROOM_CONFIG": "~/w.toml", "WARROOM_TOKEN": "t", "WARROOM_DEBUG": "0",
        "XDG_DATA_HOME": "/data", "XDG_STATE_HOME": "/state", "UNRELATED": "x",
    })
    assert s == Settings(db="postgresql://h//db", user="zed", lock_timeout=2.5,
                         config="~/w.toml", token="t", debug=True, data_home="/data",
                         state_home="/state")
    assert s.state_dir() == Path("/state/warroom")


def test_empty_means_unset() -> None:
    assert Settings.from_env(dict.fromkeys(("WARROOM_DB", "WARROOM_LOCK_TIMEOUT",
                                            "WARROOM_DEBUG", "XDG_DATA_HOME"), "")) == Settings()


def test_where_the_database_lives_by_default() -> None:
    assert Settings(data_home="/data").default_db_path() == Path("/data/warroom/warroom.db")
    assert Settings(db="~/r.db", data_home="/data").default_db_path() == Path("~/r.db").expanduser()
    assert Settings().default_db_path() == Path.home() / ".local/share/warroom/warroom.db"


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "-inf", "nan", "1e999"])
def test_a_lock_timeout_must_be_a_finite_number_of_seconds(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^WARROOM_LOCK_TIMEOUT='.*': expected seconds"):
        Settings.from_env({"WARROOM_LOCK_TIMEOUT": value})


@pytest.mark.parametrize("value", ["0", "10", " 3 ", "0.25"])
def test_lock_timeouts_that_are_fine(value: str) -> None:
    assert Settings.from_env({"WARROOM_LOCK_TIMEOUT": value}).lock_timeout == float(value)
