"""The status page, live: GET /status/ on `warroom serve`, and its subscribers.

Public: no token is asked for and none is accepted; the routes read only the page this module
rendered, never the room. One task follows the store's commits (the change feed, like the
spectators' hub); a commit that can change what customers see marks the page dirty, and it is
rebuilt after a short debounce (well within a second), then served from memory with an ETag
and Last-Modified (a 304 for a client that has it). A page that came out byte-for-byte the
same keeps its ETag.

Subscribers (`[statuspage].subscribers`) are POSTed each new update as JSON. Each delivery is
claimed with an event whose id is derived from the subscriber and the update, so any number of
servers send it once; every attempt's outcome is recorded on the incident's timeline, with
retries on the notifier's backoff, all in background tasks: nothing waits for a subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import aiohttp
from aiohttp import web

from warroom import __version__
from warroom.background import Background
from warroom.domain.common.jsonable import utc_iso
from warroom.domain.common.redact import redact_text
from warroom.domain.config.model import Config, Subscriber
from warroom.domain.config.secrets import config_secrets
from warroom.domain.incident.events import NewEvent, idempotent_id
from warroom.domain.incident.kinds.records import StatusPageNotified
from warroom.domain.statuspage.page import PageIncident, StatusPage, Update
from warroom.statuspage.render import incident_json, site
from warroom.statuspage.site import read_page
from warroom.store.base import Store
from warroom.store.errors import DuplicateEventId, StoreError
from warroom.store.execute import BACKGROUND, execute

log = logging.getLogger("warroom.statuspage")

DEBOUNCE = 0.2  # seconds: a burst of commits is one rebuild
REFRESH = 300.0  # seconds: the daily bars and the 90-day window move even when nothing commits
# What can change what customers see; any other commit (notes, pages, alerts) cannot.
PAGE_KINDS = frozenset({
    "declared", "communication_sent", "amended", "status_changed", "severity_changed",
    "retitled", "service_changed",
})
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
}

Clock = Callable[[], datetime]


def _system_clock() -> datetime:
    return datetime.now(UTC)


class LiveStatusPage:
    """The page in memory, rebuilt on each commit that matters; its routes; its subscribers."""

    def __init__(self, store: Store, config: Config, *, clock: Clock = _system_clock,
                 debounce: float = DEBOUNCE, refresh: float = REFRESH,
                 actor: str = "statuspage") -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.debounce = debounce
        self.refresh = refresh
        self.actor = actor
        self.files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.modified: dict[str, datetime] = {}
        self.builds = 0
        self.page: StatusPage | None = None
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries = Background()
        self._known: set[tuple[str, str]] = set()  # (subscriber, update id) handed out
        self._session: aiohttp.ClientSession | None = None

    # ---- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        cursor = await self.store.last_seq()
        await self.rebuild()
        self._tasks = [asyncio.create_task(self._follow(cursor), name="status page feed"),
                       asyncio.create_task(self._rebuilder(), name="status page builds")]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self._deliveries.cancel()
        if self._session is not None:
            await self._session.close()

    async def _follow(self, cursor: int) -> None:
        try:
            async for batch in self.store.subscribe(cursor):
                if any(e.kind in PAGE_KINDS for e in batch):
                    self._dirty.set()
        except StoreError as e:
            log.warning("status page stopped following the room: %s", e)

    async def _rebuilder(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh):
                    await self._dirty.wait()
            await asyncio.sleep(self.debounce)
            self._dirty.clear()
            try:
                await self.rebuild()
            except StoreError as e:
                log.warning("could not rebuild the status page: %s", e)
            except Exception:  # a bug: keep serving the last good page, and keep trying
                log.exception("could not rebuild the status page")

    async def rebuild(self) -> None:
        now = self.clock()
        page = await read_page(self.store, self.config, now)
        files = site(page)
        for path, data in files.items():
            tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            if self.etags.get(path) != tag:
                self.etags[path] = tag
                self.modified[path] = now.replace(microsecond=0)
        for gone in set(self.files) - set(files):
            self.etags.pop(gone, None)
            self.modified.pop(gone, None)
        self.files = files
        self.page = page
        self.builds += 1
        self._notify(page)

    # ---- HTTP ---------------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        async def root(request: web.Request) -> web.StreamResponse:
            raise web.HTTPPermanentRedirect("/status/")

        async def serve(request: web.Request) -> web.StreamResponse:
            path = request.match_info.get("path", "") or "index.html"
            data = self.files.get(path)
            if data is None:
                raise web.HTTPNotFound()
            tag, modified = self.etags[path], self.modified[path]
            headers = {"ETag": tag, "Last-Modified": format_datetime(modified, usegmt=True),
                       "Cache-Control": "no-cache",
                       "X-Content-Type-Options": "nosniff",
                       # No script runs here, whatever a message says.
                       "Content-Security-Policy": "default-src 'none'; style-src "
                                                  "'unsafe-inline'; img-src 'self'; "
                                                  "base-uri 'none'; form-action 'none'"}
            if _not_modified(request, tag, modified):
                return web.Response(status=304, headers=headers)
            suffix = path[path.rfind("."):]
            return web.Response(body=data, headers={
                **headers, "Content-Type": _TYPES.get(suffix, "application/octet-stream")})

        app.router.add_get("/status", root)
        app.router.add_get("/status/", serve)
        app.router.add_get("/status/{path:(incidents/)?[a-z0-9.-]+}", serve)

    # ---- subscribers ----------------------------------------------------------------------------

    def _notify(self, page: StatusPage) -> None:
        subscribers = self.config.statuspage.subscribers
        if not subscribers:
            return
        for inc in page.incidents:
            for update in inc.updates:
                for name, sub in subscribers.items():
                    key = (name, update.id)
                    if key in self._known:
                        continue
                    self._known.add(key)
                    # Only news: an update older than a day is history, not a notification
                    # (a server starting on an old room does not replay it).
                    if self.clock() - update.at > timedelta(days=1):
                        continue
                    self._deliveries.spawn(self._deliver(page, inc, update, name, sub))

    async def drain(self) -> None:
        await self._deliveries.drain()

    async def _record(self, incident_id: str, body: StatusPageNotified,
                      event_id: str | None = None) -> bool:
        """Write one outcome; False when another server claimed this delivery first."""
        try:
            result = await execute(
                self.store, incident_id,
                lambda _: [NewEvent.of(body, self.actor, self.clock(), event_id)],
                retry=BACKGROUND)
        except DuplicateEventId:
            return False
        return not (event_id is not None and result.duplicate)

    async def _deliver(self, page: StatusPage, inc: PageIncident, update: Update, name: str,
                       sub: Subscriber) -> None:
        incident_id = inc.id.upper()
        try:
            claim = idempotent_id(f"statuspage:{name}:{update.id}")
            if not await self._record(incident_id, StatusPageNotified(
                    subscriber=name, update=update.id, outcome="claimed"), claim):
                return
            if await self.store.is_drill():
                # A drill room's page tells no real subscriber anything, whatever its config.
                await self._record(incident_id, StatusPageNotified(
                    subscriber=name, update=update.id, outcome="withheld",
                    detail=f"drill: would notify {name}"))
                return
            settings = self.config.notifier
            pause = settings.backoff.total_seconds()
            for attempt in range(1, settings.attempts + 1):
                ok, detail = await self._post(page, inc, update, sub)
                last = attempt == settings.attempts
                retry_at = None if ok or last else self.clock() + timedelta(seconds=pause)
                await self._record(incident_id, StatusPageNotified(
                    subscriber=name, update=update.id, attempt=attempt,
                    outcome="delivered" if ok else "failed", detail=detail,
                    retry_at=retry_at))
                if ok or last:
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, settings.backoff_max.total_seconds())
        except StoreError as e:
            log.warning("status page subscriber %s: could not record: %s", name, e)

    async def _post(self, page: StatusPage, inc: PageIncident, update: Update,
                    sub: Subscriber) -> tuple[bool, str]:
        secrets = config_secrets(self.config)  # its headers and URL keys among them
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": f"warroom/{__version__}"})
        payload: dict[str, Any] = {
            "meta": {"unsubscribe": None, "documentation": None,
                     "generated_at": utc_iso(self.clock())},
            "page": {"id": page.name, "status_indicator": page.indicator,
                     "status_description": page.description},
            "incident": incident_json(page, inc),
            "incident_update": {"id": update.id, "status": update.status, "body": update.body,
                                "created_at": utc_iso(update.at)},
        }
        timeout = self.config.notifier.timeout.total_seconds()
        try:
            async with self._session.post(
                sub.webhook, data=json.dumps(payload), allow_redirects=False,
                headers={"Content-Type": "application/json",
                         "Idempotency-Key": idempotent_id(f"statuspage:{update.id}"),
                         **sub.headers},
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                if 200 <= resp.status < 300:
                    return True, f"HTTP {resp.status}"
                return False, f"HTTP {resp.status}"
        except TimeoutError:
            return False, f"timed out after {timeout:g}s"
        except (aiohttp.ClientError, OSError) as e:
            return False, redact_text(f"{type(e).__name__}: {e}"[:200], secrets)


def _not_modified(request: web.Request, tag: str, modified: datetime) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        return tag in [t.strip() for t in match.split(",")] or match.strip() == "*"
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False
