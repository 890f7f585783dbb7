"""The dashboard's keys that change the incident: each asks as little as it can, then runs a
domain command on the state the screen showed (`run_command`), so a stale screen is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work

from warroom.domain.common.errors import DomainError, InvalidInput
from warroom.domain.incident import commands
from warroom.domain.incident.checklist import CHECKLIST
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.roles import Role
from warroom.domain.incident.severity import (
    SEVERITIES,
    Assessment,
    DataRisk,
    Reputation,
    SecurityImpact,
    Severity,
    suggest_severity,
)
from warroom.domain.incident.state import IncidentState
from warroom.domain.incident.status import Status, allowed_moves
from warroom.domain.oncall.escalation import escalation_view_for
from warroom.store.errors import Conflict, StoreError
from warroom.tui import render
from warroom.tui.screens import Choice, ChoiceScreen, ConfirmScreen, FormScreen, TextPrompt
from warroom.tui.widgets.timeline import TimelineView

if TYPE_CHECKING:
    from warroom.domain.config.model import Config
    from warroom.escalation.engine import Engine
    from warroom.store.base import IncidentSummary, Store


def sort_open(rows: list[IncidentSummary]) -> list[IncidentSummary]:
    """Most severe first, then the oldest: the one burning longest is on top."""
    return sorted(rows, key=lambda r: (int(r.severity[-1]), r.declared_at))


class IncidentActions:
    """Mixed into WarroomApp; these are the attributes it provides."""

    if TYPE_CHECKING:
        actor: str
        state: IncidentState | None
        summaries: list[IncidentSummary]
        config: Config
        engine: Engine | None

        @property
        def store(self) -> Store: ...
        def now(self) -> datetime: ...
        def notify_error(self, message: str) -> None: ...
        def run_command(self, decide: Callable[[IncidentState], list[NewEvent]],
                        done: str | None = None) -> Any: ...
        async def follow(self, incident_id: str) -> None: ...
        def push_screen(self, *args: Any, **kwargs: Any) -> Any: ...
        def notify(self, *args: Any, **kwargs: Any) -> None: ...
        def query_one(self, *args: Any, **kwargs: Any) -> Any: ...

    def action_ack(self) -> None:
        self.run_command(lambda s: commands.acknowledge(s, self.actor))

    def action_status(self) -> None:
        if self.state is None:
            return
        moves = allowed_moves(self.state.status)
        keys = {Status.INVESTIGATING: "i", Status.IDENTIFIED: "d", Status.MONITORING: "m",
                Status.RESOLVED: "r"}
        choices = [Choice(keys[m], m.value, m) for m in moves]

        def chosen(to: Status | None) -> None:
            if to is None:
                return
            if to == Status.RESOLVED:
                self.push_screen(ConfirmScreen(f"Resolve {self.state.id if self.state else ''}?"
                                               " This ends escalation and starts the postmortem"
                                               " clock."),
                                 lambda yes: yes and self._move(to))
            else:
                self._move(to)

        self.push_screen(ChoiceScreen(f"Move {self.state.status.value} to…", choices), chosen)

    def _move(self, to: Status) -> None:
        self.run_command(lambda s: commands.change_status(s, to, self.actor))

    def action_severity(self) -> None:
        if self.state is None:
            return
        current = self.state.severity
        choices: list[Choice[Any]] = [
            Choice(str(s.rank), f"{s.value} {SEVERITIES[s].name}: {SEVERITIES[s].definition}"
                   + ("  (current: confirm)" if s == current else ""), s)
            for s in Severity
        ]
        choices.append(Choice("m", "Assess with the severity matrix…", "matrix"))

        def chosen(value: Any) -> None:
            if value == "matrix":
                self._assess()
            elif isinstance(value, Severity):
                self.run_command(lambda s: commands.change_severity(s, value, self.actor))

        self.push_screen(ChoiceScreen("Severity", choices), chosen)

    def _assess(self) -> None:
        fields = [
            ("revenue", "Revenue impact, $ per minute", "e.g. 2500"),
            ("users", "Users affected, %", "e.g. 15"),
            ("data", "Data risk: loss, at_risk, delays, none", ""),
            ("security", "Security: active_breach, vulnerability_exposed, potential, none", ""),
            ("reputation", "Reputation: media, social, complaints, internal", ""),
            ("recovery", "Expected recovery, hours", "e.g. 2"),
        ]

        def preview(values: dict[str, str]) -> Text:
            try:
                s = suggest_severity(_assessment(values))
            except (DomainError, ValueError) as e:
                return Text(f"suggestion: {e}", style="dim")
            return Text(f"suggestion: {s.explain()}", style="bold")

        def submitted(values: dict[str, str] | None) -> None:
            if not values:
                return
            try:
                a = _assessment(values)
                sev = suggest_severity(a).severity
            except (DomainError, ValueError) as e:
                self.notify_error(str(e))
                return
            self.run_command(lambda s: commands.change_severity(
                s, sev, self.actor, reason="assessment matrix", assessment=a))

        self.push_screen(FormScreen("Severity assessment matrix", fields, preview,
                                    hint="Any subset · Enter on the last line applies the "
                                         "suggestion · Esc cancels"), submitted)

    def action_role(self) -> None:
        if self.state is None:
            return
        state = self.state
        choices = [
            Choice(str(i + 1), f"{role.title}: {render.safe(state.holder(role) or 'VACANT')}",
                   role)
            for i, role in enumerate(Role)
        ]

        def chosen(role: Role | None) -> None:
            if role is None:
                return
            holder = state.holder(role)
            hint = ("Enter a name to hand off · '-' to release" if holder else
                    "Enter a name · Esc cancels")

            def named(person: str | None) -> None:
                if not person:
                    return
                if person == "-":
                    self.run_command(lambda s: commands.release_role(s, role, self.actor))
                else:
                    self.run_command(
                        lambda s: commands.assign_role(s, role, person, self.actor))

            self.push_screen(TextPrompt(f"{role.title}: who?", placeholder=self.actor,
                                        value="" if holder else self.actor, hint=hint), named)

        self.push_screen(ChoiceScreen("Assign or hand off a role", choices), chosen)

    def _note(self, kind: str, title: str, hint: str = "") -> None:
        def entered(text: str | None) -> None:
            if not text:
                return
            owner = None
            if kind == "action" and " @" in text:
                text, _, owner = text.rpartition(" @")
            self.run_command(lambda s: commands.add_note(s, text, self.actor, kind=kind,
                                                         owner=owner))

        self.push_screen(TextPrompt(title, hint=hint), entered)

    def action_note(self) -> None:
        self._note("note", "Add a note to the timeline")

    def action_decision(self) -> None:
        self._note("decision", "Record a decision")

    def action_action_item(self) -> None:
        self._note("action", "Add an action item", "text @owner · Enter to save · Esc to cancel")

    def action_escalate(self) -> None:
        state = self.state
        if state is None:
            return
        view = escalation_view_for(self.config, state, self.now())
        nxt = next((lv for lv in view.levels if lv.state in ("next", "frozen", "pending")
                    and lv.applies), None)
        who = f" (pages {', '.join(nxt.would_page or nxt.target_labels)})" if nxt else ""
        level = f"L{nxt.level}" if nxt else "the next level"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._escalate(state.id, state.version)

        self.push_screen(ConfirmScreen(f"Escalate {state.id} to {level} now{who}?"), confirmed)

    @work(group="write")
    async def _escalate(self, incident_id: str, seen_version: int) -> None:
        """Escalate as of the version this screen showed when the key was pressed."""
        try:
            if self.engine is not None:
                await self.engine.escalate_now(incident_id, self.actor,
                                               expected_version=seen_version)
            else:
                from warroom.domain.oncall.escalation import escalate_now

                state = await self.store.get(incident_id)
                if state.version != seen_version:
                    changes = await self.store.events(incident_id, after_version=seen_version)
                    raise Conflict(incident_id, seen_version, state.version, changes)
                await self.store.append(incident_id, escalate_now(
                    state, self.config, self.actor, self.now()), expected_version=seen_version)
        except Conflict as e:
            self.notify_error(e.describe(self.now()))
        except (DomainError, StoreError) as e:
            self.notify_error(str(e))

    def action_checklist(self) -> None:
        if self.state is None:
            return
        done = self.state.checklist
        choices = [Choice(str(i + 1), f"{item.task} ({item.target_text})", item.key,
                          enabled=item.key not in done)
                   for i, item in enumerate(CHECKLIST)]

        def chosen(key: str | None) -> None:
            if key:
                self.run_command(lambda s: commands.complete_checklist(s, key, self.actor))

        self.push_screen(ChoiceScreen("Mark a checklist item done", choices), chosen)

    def action_edit_entry(self) -> None:
        timeline = self.query_one(TimelineView)
        event = timeline.selected_event()
        if event is None:
            return
        from warroom.domain.incident.kinds import describe

        current = event.data.get("text") if isinstance(event.data.get("text"), str) else ""

        def entered(text: str | None) -> None:
            if text:
                self.run_command(lambda s: commands.amend(s, event.event_id, self.actor, text))

        self.push_screen(TextPrompt(f"Correct #{event.seq}: {describe(event)[:60]}",
                                    value=current or ""), entered)

    def action_switch(self) -> None:
        rows = sort_open([s for s in self.summaries if s.is_open])
        if not rows:
            self.notify("no open incidents", markup=False)
            return
        now = self.now()
        keys = "123456789abcdefghjklmnopqrstuvwxyz"
        choices = [
            Choice(keys[i] if i < len(keys) else "", f"{r.id} {r.severity} {r.status:<13} "
                   f"{render.safe(r.title, 36)}  ({_age(now - r.declared_at)})", r.id)
            for i, r in enumerate(rows)
        ]

        async def chosen(incident_id: str | None) -> None:
            if incident_id:
                await self.follow(incident_id)

        self.push_screen(ChoiceScreen("Open incidents (most severe, then oldest)", choices),
                         chosen)

    def action_declare(self) -> None:
        fields = [
            ("title", "Title", "what is broken, for whom"),
            ("severity", "Severity 1-4", "1 = critical"),
            ("service", "Service (optional)", "payments"),
        ]

        async def submitted(values: dict[str, str] | None) -> None:
            if not values:
                return
            try:
                sev = Severity.parse(values["severity"] or "")
                events = commands.declare(values["title"], sev, self.actor,
                                          service=values["service"] or None, source="tui")
                result = await self.store.append(None, events)
            except (DomainError, StoreError) as e:
                self.notify_error(str(e))
                return
            await self.follow(result.incident_id)

        self.push_screen(FormScreen("Declare an incident", fields), submitted)


def _age(delta: timedelta) -> str:
    from warroom.domain.common.timefmt import format_duration

    return format_duration(delta) + " old"


def _assessment(values: dict[str, str]) -> Assessment:
    def num(key: str) -> float | None:
        v = values.get(key, "").strip().replace("$", "").replace("%", "").replace(",", "")
        if not v:
            return None
        try:
            return float(v)
        except ValueError:
            raise InvalidInput(f"{key}: {v!r} is not a number") from None

    def choice(key: str, enum: Any) -> Any:
        v = values.get(key, "").strip().lower()
        if not v:
            return None
        try:
            return enum(v)
        except ValueError:
            raise InvalidInput(
                f"{key}: use one of {', '.join(e.value for e in enum)}") from None

    return Assessment(
        revenue_per_minute=num("revenue"), users_affected_pct=num("users"),
        data_risk=choice("data", DataRisk), security=choice("security", SecurityImpact),
        reputation=choice("reputation", Reputation), recovery_hours=num("recovery"),
    )
