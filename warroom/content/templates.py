"""Loading message templates: the shipped defaults, overridden file by file by a team's own.

A team's directory holds `<name>.txt` files. One named like a default (initial, update,
resolution, rca) replaces it; any other name adds a template of the team's own. Defaults the
team does not override stay available, so a team can start by changing one file.

Every file is checked when loaded (see `parse_template`), so a broken override is reported with
its file name and the unknown placeholder before anyone needs the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path

from warroom.content.files import MAX_TEMPLATE_FILE, MAX_TEMPLATE_FILES, FileRefused, read_text
from warroom.content.paths import default_templates_dir
from warroom.domain.common.errors import InvalidInput
from warroom.domain.comms.messages import (
    TEMPLATE_NAMES,
    MessageTemplate,
    RenderedMessage,
    TemplateError,
    check_template_name,
    parse_template,
    render_message,
)
from warroom.domain.incident.events import Event
from warroom.domain.incident.state import IncidentState

SUFFIX = ".txt"


def _read(path: Path) -> str:
    try:
        return read_text(path, MAX_TEMPLATE_FILE, "a template")
    except FileRefused as e:
        raise TemplateError(str(e)) from None


def _dir_templates(directory: Path) -> dict[str, MessageTemplate]:
    out: dict[str, MessageTemplate] = {}
    paths = list(islice(directory.glob(f"*{SUFFIX}"), MAX_TEMPLATE_FILES + 1))
    if len(paths) > MAX_TEMPLATE_FILES:
        raise TemplateError(f"{directory}: more than {MAX_TEMPLATE_FILES} *{SUFFIX} files; "
                            "is this really the templates directory?")
    for path in sorted(paths):
        if not path.is_file():
            continue
        stem = path.name[: -len(SUFFIX)]
        try:
            name = check_template_name(stem)
        except InvalidInput as e:
            raise TemplateError(f"{path}: {e}") from None
        out[name] = parse_template(name, _read(path), str(path))
    return out


def load_templates(templates_dir: Path | str | None = None) -> dict[str, MessageTemplate]:
    """The defaults, with the team's files (if a directory is given) taking precedence.

    Raises InvalidInput if the directory does not exist or holds no templates, and
    TemplateError for an unreadable or broken file (naming the file and the problem).
    """
    templates = _dir_templates(default_templates_dir())
    if templates_dir is None:
        return {n: templates[n] for n in TEMPLATE_NAMES if n in templates}
    directory = Path(templates_dir).expanduser()
    if not directory.is_dir():
        raise InvalidInput(f"templates directory {directory} does not exist")
    team = _dir_templates(directory)
    if not team:
        raise InvalidInput(f"no templates (*{SUFFIX} files) in {directory}")
    templates.update(team)
    # The seed's four first, in their order of use, then the team's own by name.
    return {**{n: templates[n] for n in TEMPLATE_NAMES if n in templates},
            **{n: t for n, t in sorted(templates.items()) if n not in TEMPLATE_NAMES}}


def get_template(name: str, templates_dir: Path | str | None = None) -> MessageTemplate:
    templates = load_templates(templates_dir)
    key = check_template_name(name)
    if key not in templates:
        raise InvalidInput(f"no template {name!r}: use one of {', '.join(templates)}")
    return templates[key]


def preview_message(name: str, state: IncidentState, events: Sequence[Event], now: datetime,
                    templates_dir: Path | str | None = None, *,
                    drill: bool = False) -> RenderedMessage:
    """Load one template (team override first) and render it: the dashboard's preview.
    `drill`: the room is a drill (Store.is_drill): the message starts with [DRILL]."""
    return render_message(get_template(name, templates_dir), state, events, now, drill=drill)
