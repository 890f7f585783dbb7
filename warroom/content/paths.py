"""Where the shipped sample data lives: next to a checkout, or inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def sample_data_dir() -> Path:
    """sample_data/ at the top of a checkout (editable install), else warroom/_sample_data,
    where pyproject's force-include puts it in a wheel."""
    for candidate in (_PACKAGE.parent / "sample_data", _PACKAGE / "_sample_data"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("warroom's sample_data/ folder is missing from this installation")


def default_templates_dir() -> Path:
    return sample_data_dir() / "templates"


def default_runbooks_dir() -> Path:
    return sample_data_dir() / "runbooks"
