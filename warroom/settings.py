"""Every environment variable warroom reads, in one place.

The CLI reads them once, before the command runs, and hands the result down: a bad value is
one usage error up front (exit 2), not a crash wherever the value happens to be used first.
An empty variable counts as unset. Programs warroom starts (page commands, remediation) get
the environment as it is, not this object.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from warroom.domain.common.errors import InvalidInput

# field -> the variable it comes from
VARIABLES: dict[str, str] = {
    "db": "WARROOM_DB",
    "user": "WARROOM_USER",
    "lock_timeout": "WARROOM_LOCK_TIMEOUT",
    "config": "WARROOM_CONFIG",
    "token": "WARROOM_TOKEN",
    "spectator_token": "WARROOM_SPECTATOR_TOKEN",
    "debug": "WARROOM_DEBUG",
    "data_home": "XDG_DATA_HOME",
    "state_home": "XDG_STATE_HOME",
}

# What each variable must be, said in the error when it is not.
EXPECTED: dict[str, str] = {
    "lock_timeout": "seconds to wait for another writer: a finite number, 0 or more",
}


class SettingsError(InvalidInput):
    """An environment variable with a value warroom cannot use (exit 2, like a bad option)."""


def _seconds(text: str) -> float | None:
    """A finite number of seconds, 0 or more, else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


# A plain dataclass, not a pydantic model: every command reads the environment before it does
# anything, and building one pydantic model (with its plugin lookup) cost ~30 ms of each
# command's start-up (issue 15). One variable is a number; the rest are text or a flag.
@dataclass(frozen=True, kw_only=True)
class Settings:
    db: str | None = None  # a path or a postgresql:// URL (kept as text: a Path folds "//")
    user: str | None = None
    lock_timeout: float = 10.0
    config: str | None = None
    token: str | None = None
    # `warroom serve`: a spectator token named "spectator"; `warroom watch --server`: the
    # token to present (docs/spectators.md)
    spectator_token: str | None = None
    debug: bool = False  # any non-empty value: tracebacks for internal errors
    data_home: str | None = None
    state_home: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = {field: env.get(name) or None for field, name in VARIABLES.items()}
        values: dict[str, object] = {k: v for k, v in raw.items() if v is not None}
        if "debug" in values:
            values["debug"] = True
        if "lock_timeout" in values:
            seconds = _seconds(str(values["lock_timeout"]))
            if seconds is None:
                raise SettingsError(f"{VARIABLES['lock_timeout']}={raw['lock_timeout']!r}: "
                                    f"expected {EXPECTED['lock_timeout']}")
            values["lock_timeout"] = seconds
        return cls(**values)  # type: ignore[arg-type]

    def data_dir(self) -> Path:
        """$XDG_DATA_HOME/warroom, else ~/.local/share/warroom."""
        base = self.data_home or os.path.join(Path.home(), ".local", "share")
        return Path(base) / "warroom"

    def state_dir(self) -> Path:
        """$XDG_STATE_HOME/warroom, else ~/.local/state/warroom: a crashed dashboard's report."""
        base = self.state_home or os.path.join(Path.home(), ".local", "state")
        return Path(base) / "warroom"

    def default_db_path(self) -> Path:
        """$WARROOM_DB, else warroom.db in the data directory."""
        if self.db:
            return Path(self.db).expanduser()
        return self.data_dir() / "warroom.db"
