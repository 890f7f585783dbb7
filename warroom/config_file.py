"""Finding and reading the room's configuration file (TOML).

Where it comes from, first found wins: `--config PATH`, `$WARROOM_CONFIG`, `warroom.toml` beside
the database file, else the built-in defaults (nobody configured; the seed's escalation ladder).
A path given explicitly (flag or variable) must exist; the file beside the database is optional.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.content.files import MAX_CONFIG_FILE, FileRefused, read_text
from warroom.settings import Settings

if TYPE_CHECKING:  # the models load on first use: `config_path` alone must stay cheap
    from warroom.domain.config.model import Config

CONFIG_NAME = "warroom.toml"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: str  # the file's path, or "built-in defaults"
    path: Path | None

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths in the file are read from (None: built-in defaults)."""
        return self.path.parent if self.path else None

    def resolve(self, value: str | None) -> Path | None:
        if not value:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() or self.base_dir is None else self.base_dir / p

    @property
    def templates_dir(self) -> Path | None:
        return self.resolve(self.config.content.templates)

    @property
    def runbooks_dir(self) -> Path | None:
        return self.resolve(self.config.content.runbooks)

    def runbook_mapping(self) -> dict[str, Path]:
        """service -> runbook file, for the services whose runbook the file names."""
        out: dict[str, Path] = {}
        for name, svc in self.config.services.items():
            path = self.resolve(svc.runbook)
            if path is not None:
                out[name] = path
        return out


def config_path(explicit: str | None, db: str | None,
                settings: Settings) -> tuple[Path | None, bool]:
    """(where to read, whether it must exist)."""
    if explicit:
        return Path(explicit).expanduser(), True
    if settings.config:
        return Path(settings.config).expanduser(), True
    if db and "://" not in db:
        return Path(db).expanduser().absolute().parent / CONFIG_NAME, False
    return None, False


def load_config(explicit: str | None = None, db: str | None = None, *,
                settings: Settings | None = None) -> LoadedConfig:
    """settings: the environment as the command read it (None: read it now)."""
    from warroom.domain.config.model import default_config

    path, required = config_path(explicit, db, settings or Settings.from_env())
    if path is None or (not required and not path.exists()):
        return LoadedConfig(default_config(), "built-in defaults", None)
    return LoadedConfig(read_config(path), str(path), path)


def has_config(explicit: str | None = None, db: str | None = None, *,
               settings: Settings | None = None) -> bool:
    """Whether load_config would read a file (else it gives the built-in defaults)."""
    path, required = config_path(explicit, db, settings or Settings.from_env())
    return path is not None and (required or path.exists())


def read_config(path: Path) -> Config:
    from warroom.domain.config.model import ConfigError, parse_config

    source = str(path)
    try:
        text = read_text(path, MAX_CONFIG_FILE, "a configuration file")
    except FileRefused as e:
        raise ConfigError(source, [e.problem]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, [f"invalid TOML: {e}"]) from None
    except RecursionError:  # tomllib recurses per level of [[[...]]] or {a={b=...}}
        raise ConfigError(source, ["invalid TOML: nested too deeply"]) from None
    return parse_config(data, source)
