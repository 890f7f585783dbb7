"""Shared by the escalation tests: the demo configuration and a few builders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warroom.config_file import read_config
from warroom.domain.config.model import Config, parse_config
from warroom.domain.incident import commands
from warroom.domain.incident.severity import Severity

from .conftest import REPO, Recorder

SAMPLE = REPO / "sample_data" / "warroom.toml"
# Wednesday 2026-03-04 14:32:15Z: week 60 of the demo rotation (alice primary, bob secondary).
T0 = datetime(2026, 3, 4, 14, 32, 15, tzinfo=UTC)


def demo_config() -> Config:
    return read_config(SAMPLE)


def config_with(**changes: Any) -> Config:
    """The demo configuration with tables merged in (deeply; lists are replaced)."""
    import tomllib

    data = tomllib.loads(SAMPLE.read_text())
    return parse_config(_merge(data, changes), "test")


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def incident(severity: Severity = Severity.SEV1, service: str | None = "checkout",
             start: datetime = T0) -> Recorder:
    r = Recorder(start=start)
    r.commit(commands.declare("Checkout failing", severity, "alice", service=service))
    return r


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
