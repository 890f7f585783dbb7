"""Scenario files: plain TOML in sample_data/drills/ (or any path)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from warroom.domain.common.errors import InvalidInput
from warroom.domain.drills.scenario import Scenario
from warroom.resources import sample_data_dir

MAX_SCENARIO_BYTES = 4 * 1024 * 1024


def drills_dir() -> Path:
    return sample_data_dir() / "drills"


@dataclass(frozen=True)
class ScenarioFile:
    name: str
    path: Path
    scenario: Scenario


def find_scenario(name_or_path: str) -> Path:
    """A path to a file, or the name of a shipped scenario ("payments-outage")."""
    given = Path(name_or_path).expanduser()
    if given.is_file():
        return given
    shipped = drills_dir() / f"{name_or_path.removesuffix('.toml')}.toml"
    if shipped.is_file():
        return shipped
    names = ", ".join(f.name for f in list_scenarios()) or "none"
    raise InvalidInput(f"no scenario {name_or_path!r}: give a file, or one of {names}")


def load_scenario(path: Path) -> Scenario:
    try:
        size = path.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise InvalidInput(f"{path}: {size} bytes is more than a scenario may hold")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path}: not valid TOML: {e}") from None
    return Scenario.from_mapping(data, str(path))


def list_scenarios() -> list[ScenarioFile]:
    d = drills_dir()
    if not d.is_dir():
        return []
    return [ScenarioFile(p.stem, p, load_scenario(p)) for p in sorted(d.glob("*.toml"))]
