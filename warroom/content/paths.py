"""Where the shipped templates and runbooks live (inside the bundled sample data)."""

from __future__ import annotations

from pathlib import Path

from warroom.resources import sample_data_dir


def default_templates_dir() -> Path:
    return sample_data_dir() / "templates"


def default_runbooks_dir() -> Path:
    return sample_data_dir() / "runbooks"
