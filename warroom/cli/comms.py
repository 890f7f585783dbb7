"""Communications, runbooks and the postmortem: `comms`, `runbook` and `export`.

Everything the dashboard's comms, runbook and postmortem views do, for scripts: preview a
message, mark one sent, print a runbook, export the postmortem.
"""

from __future__ import annotations

import re
import sys

from warroom.cli.context import Context
from warroom.cli.output import ago, emit_json, event_json, incident_json, line, safe, when
from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.jsonable import to_json
from warroom.domain.common.text import printable
from warroom.domain.incident.kinds import describe
from warroom.domain.incident.state import parse_incident_id

_INCIDENT_REF = re.compile(r"^\s*(?:inc-|#)?\d+\s*$", re.IGNORECASE)


def _print_block(text: str) -> None:
    """Multi-line untrusted text for a person: control characters shown, lines kept."""
    sys.stdout.write(printable(text, single_line=False).rstrip("\n") + "\n")


def _warn(message: str) -> None:
    sys.stderr.write(f"warroom: {printable(message)}\n")


def _read_text_file(name: str) -> str:
    from warroom.content.files import MAX_TEXT_FILE, read_text

    return read_text(name, MAX_TEXT_FILE, "--text-file")


async def comms(ctx: Context) -> int:
    from warroom.content.templates import get_template, load_templates
    from warroom.domain.comms.messages import render_message

    a = ctx.args
    incident_id = parse_incident_id(a.incident)
    if a.templates is None:
        a.templates = ctx.loaded_config.templates_dir  # the team's own, if the config names one
    if a.send:
        if not a.template or not a.audience:
            raise InvalidInput("--send needs --template and --audience")
        return await _send(ctx, incident_id)
    for opt in ("audience", "channel", "text_file", "at", "expect_version"):
        if getattr(a, opt) is not None:
            raise InvalidInput(f"--{opt.replace('_', '-')} only goes with --send")
    if not a.template:
        templates = load_templates(a.templates)
        return await _overview(ctx, incident_id, list(templates))
    template = get_template(a.template, a.templates)
    async with await ctx.store(write=False) as store:
        state = await store.get(incident_id)
        events = await store.events(incident_id)
        drill = await store.is_drill()
    message = render_message(template, state, events, ctx.now(), drill=drill)
    if ctx.json:
        emit_json({"incident_id": state.id, "version": state.version, **to_json(message)})
        return 0
    _print_block(message.text)
    if message.missing:
        _warn(f"{state.id}: no data yet for: {', '.join(message.missing)} (shown as [...] "
              "markers)")
    return 0


async def _send(ctx: Context, incident_id: str) -> int:
    from warroom.content.templates import get_template
    from warroom.domain.comms.messages import check_template_name, mark_sent, parse_audience
    from warroom.store.execute import execute

    a = ctx.args
    at = ctx.time(a.at)
    parse_audience(a.audience)  # refuse a bad audience before reading anything
    missing: tuple[str, ...] = ()
    if a.text_file:  # read (and refuse) before the room is opened
        name = check_template_name(a.template)
        text = _read_text_file(a.text_file)
    async with await ctx.store(write=True) as store:
        if not a.text_file:
            from warroom.domain.comms.messages import render_message

            template = get_template(a.template, a.templates)
            name = template.name
            state = await store.get(incident_id)
            events = await store.events(incident_id)
            message = render_message(template, state, events, at or ctx.now(),
                                     drill=await store.is_drill())
            text, missing = message.text, message.missing
        result = await execute(
            store, incident_id,
            lambda s: mark_sent(s, name, a.audience, ctx.actor, text=text, channel=a.channel,
                                at=at),
            expected_version=a.expect_version, retry=ctx.retry(a.expect_version),
        )
    if ctx.json:
        emit_json({
            "incident_id": result.incident_id,
            "version": result.version,
            "duplicate": result.duplicate,
            "missing": list(missing),
            "events": [event_json(e) for e in result.events],
        })
    else:
        for e in result.events:
            line(f"{e.incident_id} v{e.version}: {safe(describe(e))}")
    if missing:
        _warn(f"{incident_id}: the message sent had no data for: {', '.join(missing)}")
    return 0


async def _overview(ctx: Context, incident_id: str, templates: list[str]) -> int:
    from warroom.domain.comms.messages import comms_schedule, next_update_due
    from warroom.domain.comms.stakeholders import stakeholders_for

    async with await ctx.store(write=False) as store:
        state = await store.get(incident_id)
    now = ctx.now()
    schedule = comms_schedule(state, now)
    plan = stakeholders_for(state.severity)
    due = next_update_due(state)
    if ctx.json:
        emit_json({
            "incident_id": state.id,
            "severity": state.severity.value,
            "status": state.status.value,
            "next_update_due": due,
            "schedule": schedule,
            "stakeholders": plan,
            "communications": [c.model_dump(mode="json") for c in state.communications],
            "templates": templates,
        })
        return 0
    line(f"{state.id}  {state.severity.value}  {state.status.value}  {safe(state.title)}")
    if due is None:
        line("next update: none due")
    else:
        late = " (OVERDUE)" if now > due else ""
        line(f"next update due: {when(due)} ({ago(due, now)}){late}")
    line("schedule:")
    for row in schedule:
        status = ("OVERDUE" if row.overdue else
                  f"sent {when(row.sent_at)}" if row.sent_at else
                  f"due {when(row.due_at)}" if row.due_at else "not due")
        line(f"  {row.template:<11} {status}")
    line(f"stakeholders ({state.severity.value}):")
    for s in plan:
        need = "required" if s.required else (s.condition or "no action")
        line(f"  {s.label:<13} {s.what:<24} how: {s.how}; when: {s.when} [{need}]")
    line("communications sent:")
    if not state.communications:
        line("  none yet")
    for c in state.communications:
        via = f" via {safe(c.channel)}" if c.channel else ""
        line(f"  {when(c.at)}  {safe(c.actor):<10} {safe(c.template)} -> "
             f"{safe(c.audience)}{via}")
    line("templates: " + ", ".join(safe(t) for t in templates))
    return 0


async def runbook(ctx: Context) -> int:
    from warroom.content.runbooks import load_runbook

    a = ctx.args
    incident: str | None = None
    service = a.target.strip()
    if _INCIDENT_REF.match(a.target):
        incident = parse_incident_id(a.target)
        async with await ctx.store(write=False) as store:
            state = await store.get(incident)
        if not state.service:
            raise InvalidInput(f"{incident} names no service; give a service name instead")
        service = state.service
    loaded = ctx.loaded_config
    book = load_runbook(service, a.runbooks or loaded.runbooks_dir,
                        None if a.runbooks else loaded.runbook_mapping())
    if ctx.json:
        emit_json({"service": service, "incident_id": incident, **to_json(book)})
        return 0
    _print_block(book.markdown)
    for w in book.warnings:
        _warn(f"warning: {book.source}: {w}")
    return 0


async def export(ctx: Context) -> int:
    from warroom.domain.comms.postmortem import (
        build_postmortem,
        postmortem_json,
        postmortem_markdown,
    )

    incident_id = parse_incident_id(ctx.args.incident)
    async with await ctx.store(write=False) as store:
        state = await store.get(incident_id)
        events = await store.events(incident_id)
    pm = build_postmortem(state, events, ctx.now())
    if ctx.json or ctx.args.format == "json":
        emit_json({
            "incident": incident_json(state),
            "events": [event_json(e) for e in events],
            "postmortem": postmortem_json(pm),
        })
        return 0
    sys.stdout.write(printable(postmortem_markdown(pm), single_line=False))
    return 0
