"""The alert receiver: a parsed notification in, an incident opened or updated in the store.

Shared by `warroom ingest` and `warroom serve`. Any number of receivers (processes) may run on
one room; they agree through the store alone:

- Which incident a dedup key belongs to comes from the log itself (`alert_received` events carry
  the key), read incrementally through `events_since`, so every process sees every other's.
- Opening an incident is one atomic append whose declaration id is derived from the dedup key
  and the key's previous incident (`alerts.open_event_id`). Two posts racing for a new group
  derive the same id: the store keeps one and refuses the other (`DuplicateEventId`), which then
  attaches to the incident the winner opened. Two posts never open two incidents.
- Everything else goes through `execute`: read, decide, append at the version read; a conflict
  decides again on the fresh state, with jittered backoff, until the receiver's deadline
  (`retry`). Event ids are stable across the retries of one request, so a commit whose answer
  was lost is never written twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from warroom.background import Background
from warroom.domain.alerts import automation as al
from warroom.domain.alerts.formats import TRIGGER, Notification
from warroom.domain.alerts.routing import decide_route, map_notification
from warroom.domain.comms.messages import MessageTemplate
from warroom.domain.config.model import Config
from warroom.domain.incident.events import NewEvent
from warroom.domain.incident.kinds.alerts import (
    AlertReceived,
    AlertsCleared,
    RemediationFinished,
    RemediationStarted,
)
from warroom.domain.incident.state import IncidentState
from warroom.ingest.remediation import run_remediation
from warroom.store.base import Store
from warroom.store.errors import DuplicateEventId, NotFound, StoreError
from warroom.store.execute import BACKGROUND, Retry, execute

log = logging.getLogger("warroom.alerts")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReceiveResult:
    incident_id: Annotated[str | None, Field(serialization_alias="incident")]
    opened: bool
    dedup_key: str
    action: str
    recorded: int  # events written by this post
    message: str
    # decisions made: more than one when the incident changed meanwhile
    attempts: Annotated[int, Field(exclude=True)] = 1


@dataclass
class DedupIndex:
    """dedup key -> the latest incident opened for it, read from the log incrementally."""

    cursor: int = 0
    latest: dict[str, str] = field(default_factory=dict)

    async def catch_up(self, store: Store) -> None:
        while True:
            batch = await store.events_since(self.cursor, limit=2000)
            if not batch:
                return
            for e in batch:
                if e.kind == AlertReceived.kind:
                    self.note(f"{e.data.get('format')}:{e.data.get('dedup_key')}",
                              e.incident_id)
            self.cursor = batch[-1].seq

    def note(self, key: str, incident_id: str) -> None:
        current = self.latest.get(key)
        if current is None or _number(incident_id) > _number(current):
            self.latest[key] = incident_id


@dataclass
class _Tries:
    """Decisions one post made, over its routings and execute's retries (for the result)."""

    count: int = 0


def _number(incident_id: str) -> int:
    try:
        return int(incident_id.rsplit("-", 1)[-1])
    except ValueError:
        return 0


class AlertReceiver:
    def __init__(self, store: Store, config: Config, *, clock: Clock = system_clock,
                 base_dir: Path | None = None, templates_dir: Path | str | None = None,
                 remediate: bool = True, retry: Retry = BACKGROUND) -> None:
        """`retry`: how long a post keeps deciding again while other writers change its
        incident; past it the post fails (the sender retries) with nothing written."""
        from warroom.content.templates import load_templates

        self.store = store
        self.config = config
        self.clock = clock
        self.base_dir = base_dir
        self.remediate = remediate
        self.retry = retry
        self.index = DedupIndex()
        self.template: MessageTemplate = load_templates(templates_dir)["initial"]
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._tasks = Background()
        self.received = 0  # notifications handled by this receiver (for /healthz, benches)

    # ---- receiving ---------------------------------------------------------------------------

    async def receive(self, n: Notification, *, size: int = 0,
                      now: datetime | None = None) -> ReceiveResult:
        """Record one notification. Raises StoreError if the room cannot take it now (the
        sender should retry: nothing was written)."""
        if n.dedup_key is None:
            n = n.with_key(uuid.uuid4().hex)
        request_id = uuid.uuid4().hex
        lock = self._lock(n.index_key)
        try:
            async with lock:
                result = await self._receive(n, size, now or self.clock(), request_id)
        finally:
            self._unlock(n.index_key)
        self.received += 1
        return result

    def _lock(self, key: str) -> asyncio.Lock:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        return lock

    def _unlock(self, key: str) -> None:
        lock, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)

    async def _receive(self, n: Notification, size: int, now: datetime,
                       request_id: str) -> ReceiveResult:
        """Route the post to its open incident or a new one, until one of them takes it.

        Routing again is rare and short: the incident closed while deciding (then a new one
        opens), or another post opened the group's incident first (then this one attaches)."""
        assert n.dedup_key is not None
        key = n.index_key
        deadline = time.monotonic() + self.retry.seconds
        tries = _Tries()
        while True:
            await self.index.catch_up(self.store)
            previous = self.index.latest.get(key)
            state: IncidentState | None = None
            if previous is not None:
                try:
                    state = await self.store.get(previous)
                except NotFound:
                    state = None
            if state is not None and state.is_open:
                result = await self._attach(n, state.id, size, now, request_id, tries)
                if result is not None:
                    return result
            else:
                if n.action != TRIGGER or not any(a.firing for a in n.alerts):
                    what = "acknowledge" if n.action == "acknowledge" else "resolve"
                    return ReceiveResult(
                        None, False, n.dedup_key, n.action, 0,
                        f"no open incident for dedup key {n.dedup_key!r}: nothing to {what}, "
                        "nothing recorded", tries.count or 1)
                result = await self._open(n, previous, size, now, request_id, tries)
                if result is not None:
                    return result
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"could not record the alert for {n.dedup_key!r} in {self.retry.seconds:g} s "
                    "(its incident kept changing); nothing was written, retry")
            await asyncio.sleep(self.retry.pause(tries.count))

    async def _open(self, n: Notification, previous: str | None, size: int, now: datetime,
                    request_id: str, tries: _Tries) -> ReceiveResult | None:
        assert n.dedup_key is not None
        mapping = map_notification(self.config, n, now)
        route = decide_route(self.config, mapping.service, mapping.severity, mapping.labels, now)
        record = al.payload_record(n, mapping, self.config, size=size, repeat=0)
        events = al.open_events(self.config, n, mapping, route, record, now,
                                request_id=request_id,
                                declaration_id=al.open_event_id(n.index_key, previous))
        tries.count += 1
        try:
            result = await execute(self.store, None, lambda _: events)
        except DuplicateEventId:
            return None  # another post opened it first: attach to that one
        self.index.note(n.index_key, result.incident_id)
        if not result.duplicate:
            log.info("%s opened by %s %s (%s)", result.incident_id, n.format, n.dedup_key,
                     route.route)
        await self.initial_status(result.incident_id, now)
        if route.remediation is not None and self.remediate:
            self._spawn_remediations(result.incident_id, [a for a in n.alerts if a.firing])
        return ReceiveResult(result.incident_id, True, n.dedup_key, n.action,
                             0 if result.duplicate else len(result.events),
                             f"opened {result.incident_id}: {mapping.title} "
                             f"({mapping.severity.value}, {route.route})", tries.count)

    async def _attach(self, n: Notification, incident_id: str, size: int, now: datetime,
                      request_id: str, tries: _Tries) -> ReceiveResult | None:
        """Record the post on its open incident; None when the incident closed meanwhile (the
        post then routes again, to a new incident)."""
        assert n.dedup_key is not None
        mapping = map_notification(self.config, n, now)
        seen: list[IncidentState] = []

        def receipt(state: IncidentState) -> list[NewEvent]:
            tries.count += 1
            seen.append(state)
            if not state.is_open:
                return []
            repeat = max((state.alerts[a.key].count for a in n.alerts if a.key in state.alerts),
                         default=0)
            record = al.payload_record(n, mapping, self.config, size=size, repeat=repeat)
            return al.receipt_events(self.config, state, n, record, now, request_id=request_id)

        try:
            result = await execute(self.store, incident_id, receipt, retry=self.retry)
        except DuplicateEventId:
            return None
        if not result.events:
            return None
        state = seen[-1]  # what the receipt was decided on
        if not any(c.template == self.template.name for c in state.communications):
            await self.initial_status(state.id, now)
        route = state.alert_route
        if (self.remediate and route is not None and route.remediation_until is not None
                and now <= route.remediation_until and not state.escalations):
            new = [a for a in n.alerts if a.firing and a.key not in state.alerts]
            if new:
                self._spawn_remediations(state.id, new)
        kinds = [e.kind for e in result.events]
        parts = [f"{kinds.count('alert_attached')} alerts attached"] if "alert_attached" in \
            kinds else []
        if "alert_resolved" in kinds:
            parts.append(f"{kinds.count('alert_resolved')} resolved")
        if "acknowledged" in kinds:
            parts.append("acknowledged")
        if AlertsCleared.kind in kinds:
            parts.append("every alert resolved")
        if "status_changed" in kinds:
            parts.append("incident closed")
        return ReceiveResult(state.id, False, n.dedup_key, n.action,
                             0 if result.duplicate else len(result.events),
                             f"{state.id}: " + (", ".join(parts) or "recorded"), tries.count)

    async def initial_status(self, incident_id: str, now: datetime) -> None:
        """Post the initial "Investigating" status once the incident has its id (idempotent:
        whichever process does it first wins)."""
        try:
            events = await self.store.events(incident_id)
            drill = await self.store.is_drill()  # a drill room's messages say [DRILL]
            await execute(self.store, incident_id, lambda state: al.initial_status_events(
                self.config, state, events, self.template, now, drill=drill),
                retry=self.retry)
        except StoreError as e:
            log.warning("%s: could not post the initial status: %s", incident_id, e)

    # ---- auto-remediation --------------------------------------------------------------------

    def _spawn_remediations(self, incident_id: str, alerts: list[Any]) -> None:
        for a in alerts:
            self._tasks.spawn(self._remediate(incident_id, a))

    async def _remediate(self, incident_id: str, alert: Any) -> None:
        try:
            if await self.store.is_drill():
                return  # a remediation acts on real systems: a drill room never runs one
            state = await self.store.get(incident_id)
            svc = self.config.service(state.service)
            rem = svc.alerts.remediation if svc else None
            if rem is None:
                return
            actor = self.config.alerts.actor
            cmd = " ".join(rem.command)
            started = NewEvent.of(RemediationStarted(alert=alert.key, command=cmd), actor,
                                  self.clock(), al.remediation_started_id(incident_id,
                                                                          alert.key))
            # Its id is derived from the incident and the alert: one process runs it.
            result = await execute(self.store, incident_id, lambda _: [started],
                                   retry=self.retry)
            if result.duplicate:
                return  # another process runs it
            run = await run_remediation(
                rem.command, alert.raw, limit=rem.timeout.total_seconds(),
                output_bytes=self.config.alerts.remediation_output_bytes, cwd=self.base_dir,
                env={"WARROOM_ALERT_KEY": alert.key, "WARROOM_INCIDENT": incident_id,
                     "WARROOM_SERVICE": state.service or ""})
            finished = RemediationFinished(
                alert=alert.key, command=cmd, exit_code=run.exit_code, timed_out=run.timed_out,
                output=run.output, output_truncated=run.truncated,
                seconds=round(run.seconds, 3), error=run.error)
            done = NewEvent.of(finished, actor, self.clock(),
                               al.idempotent_id(f"{incident_id}:remediation-done:{alert.key}"))
            await execute(self.store, incident_id, lambda _: [done], retry=self.retry)
            if not run.ok:
                why = ("timed out" if run.timed_out else run.error
                       or f"exit {run.exit_code}")
                await self._fallback(incident_id, why)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: auto-remediation failed", incident_id)

    async def _fallback(self, incident_id: str, why: str) -> None:
        """Apply the rest of the decision tree, decided on the state it is appended to (nothing
        when the hold is gone: a person acted, or another process did this)."""
        try:
            await execute(self.store, incident_id, lambda state: al.remediation_fallback(
                state, self.clock(), self.config.alerts.actor, why), retry=self.retry)
        except StoreError as e:
            log.warning("%s: could not release the remediation hold: %s", incident_id, e)

    async def drain(self) -> None:
        """Wait for the remediations in flight (a one-shot ingest finishes them)."""
        await self._tasks.drain()

    async def close(self) -> None:
        await self._tasks.cancel()
