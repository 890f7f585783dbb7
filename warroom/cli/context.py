"""What every command needs: who is acting, on which room, and how to answer."""

from __future__ import annotations

import argparse
import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

# The grammar's helpers live with the grammar (warroom.cli.args); kept importable from here.
from warroom.cli.args import command_adder, incident_arg
from warroom.cli.argtypes import check_name
from warroom.domain.common.errors import InvalidInput
from warroom.settings import Settings

if TYPE_CHECKING:
    from warroom.config_file import LoadedConfig
    from warroom.domain.common.timefmt import TimeWindow
    from warroom.domain.config.model import Config
    from warroom.store import Store
    from warroom.store.execute import Retry

__all__ = ["Context", "command_adder", "default_actor", "incident_arg"]


LOOKUP_AHEAD = timedelta(days=366)


def default_actor(settings: Settings) -> str:
    if settings.user:
        return settings.user
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def check_db_path(path: Path) -> str:
    """Refuse a --db whose folder cannot exist (`--db notes.txt/room.db`): every command, the
    ones that would create it included, gets the same one line."""
    try:
        text = str(path)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the database path is not valid UTF-8") from None
    for parent in path.absolute().parents:
        try:
            if parent.exists():
                if not parent.is_dir():
                    raise InvalidInput(f"--db {text}: {parent} is a file, not a folder")
                break
        except OSError:  # e.g. a path component too long: the store says it better
            break
    return text


@dataclass
class Context:
    db: str
    actor: str
    json: bool
    spectator: bool
    lock_timeout: float
    local_tz: tzinfo
    args: argparse.Namespace
    settings: Settings = field(default_factory=Settings)
    config_arg: str | None = None
    _loaded: LoadedConfig | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace, settings: Settings) -> Context:
        # $WARROOM_DB may be a URL: read it as text, since a Path would fold its "//".
        db = getattr(args, "db", None) or settings.db or str(settings.default_db_path())
        given = getattr(args, "as_", None)
        actor = check_name(given, "--as") if given else check_name(default_actor(settings),
                                                                    "$WARROOM_USER")
        return cls(
            db=db if "://" in db else check_db_path(Path(db).expanduser()),
            actor=actor,
            json=bool(getattr(args, "json", False)),
            spectator=bool(getattr(args, "spectator", False)),
            lock_timeout=settings.lock_timeout,
            local_tz=datetime.now().astimezone().tzinfo or UTC,
            args=args,
            settings=settings,
            config_arg=getattr(args, "config", None),
        )

    @property
    def loaded_config(self) -> LoadedConfig:
        """Read on first use (commands that never need it never pay for it); a broken file
        raises ConfigError (exit 2) listing every problem, before the command does anything."""
        if self._loaded is None:
            from warroom.config_file import load_config

            self._loaded = load_config(self.config_arg, self.db, settings=self.settings)
        return self._loaded

    @property
    def config(self) -> Config:
        return self.loaded_config.config

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self, text: str | None, option: str = "--at", *,
             lookup: bool = False) -> datetime | None:
        """A --at style option: None stays None (the store's clock decides).

        The time must fall in the room's window ([times]: from 2000-01-01 to 24 h after now),
        so that a typo never becomes an incident declared in year 9999. A `lookup` (who is on
        call then, metrics until then) records nothing and may look up to a year ahead."""
        if text is None:
            return None
        from warroom.domain.common.timefmt import parse_time

        now = self.now()
        try:
            dt = parse_time(text, now, self.local_tz)
        except InvalidInput as e:
            raise InvalidInput(f"{option}: {e}") from None
        window = self.window()
        if lookup:
            window = window.widened(LOOKUP_AHEAD)
        return window.check(dt, now, option)

    def window(self) -> TimeWindow:
        """The room's [times]; without a configuration file, the defaults (and no need to
        load the configuration models for a note's --at)."""
        from warroom.domain.common.timefmt import TimeWindow

        if self._loaded is None:
            from warroom.config_file import has_config

            if not has_config(self.config_arg, self.db, settings=self.settings):
                return TimeWindow()
        return self.config.times.window()

    def retry(self, expected_version: int | None) -> Retry:
        """How a write meets a concurrent change. With --expect-version a person said "only
        if nothing changed since version N": refuse at once with who did what. Without it the
        command is a script's: decide again on the fresh state, for as long as the lock
        timeout lets it wait for the other writers."""
        from warroom.store.execute import NEVER, Retry

        return NEVER if expected_version is not None else Retry.until(self.lock_timeout)

    async def store(self, *, write: bool) -> Store:
        from warroom.store import open_store

        readonly = self.spectator or not write
        return await open_store(self.db, readonly=readonly, create=write,
                                lock_timeout=self.lock_timeout)
