"""Finding and reading a service's runbook.

By default a service's runbook is `<runbooks_dir>/<service>.md`; a mapping (from the config
file, later) can name another file per service, relative to the directory or absolute. Service
names come from incidents, so they are checked before they become part of a path: "../x" never
reads outside the directory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from warroom.content.files import MAX_RUNBOOK_FILE, read_text
from warroom.content.paths import default_runbooks_dir
from warroom.domain.common.errors import InvalidInput
from warroom.domain.comms.runbook import Runbook, parse_runbook

_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RunbookNotFound(InvalidInput):
    """No runbook for the service: the message says where it looked and what exists."""


def available_runbooks(runbooks_dir: Path | str | None = None) -> list[str]:
    directory = Path(runbooks_dir).expanduser() if runbooks_dir else default_runbooks_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.md") if p.is_file())


def runbook_for(service: str, runbooks_dir: Path | str | None = None,
                mapping: Mapping[str, str | Path] | None = None) -> Path:
    """The runbook file of a service (raises RunbookNotFound with what it tried)."""
    directory = Path(runbooks_dir).expanduser() if runbooks_dir else default_runbooks_dir()
    if mapping and service in mapping:
        path = Path(mapping[service]).expanduser()
        if not path.is_absolute():
            path = directory / path
        if not path.is_file():
            raise RunbookNotFound(f"the runbook mapped to {service!r} does not exist: {path}")
        return path
    if not _SERVICE.match(service) or ".." in service:
        raise RunbookNotFound(f"{service!r} is not a service name a runbook can be found for")
    path = directory / f"{service}.md"
    if path.is_file():
        return path
    known = available_runbooks(directory)
    listing = f"; runbooks there: {', '.join(known)}" if known else ""
    raise RunbookNotFound(f"no runbook for {service!r}: {path} does not exist{listing}")


def read_runbook(path: Path | str) -> Runbook:
    """Read and parse a runbook file; content problems come back as the runbook's warnings."""
    p = Path(path)
    return parse_runbook(read_text(p, MAX_RUNBOOK_FILE, "a runbook"), str(p))


def load_runbook(service: str, runbooks_dir: Path | str | None = None,
                 mapping: Mapping[str, str | Path] | None = None) -> Runbook:
    """runbook_for + read_runbook: what the dashboard calls for the incident's service."""
    return read_runbook(runbook_for(service, runbooks_dir, mapping))
