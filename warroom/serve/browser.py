"""Browser spectators: `GET /watch` shows the read-only dashboard in a web browser.

textual-serve (Textualize's own web serving) draws a Textual app in the page with xterm.js and
runs one app process per browser connection. Its `Server` is a whole aiohttp application of
its own; we keep the room server's single listening socket (its connection gate, TLS, limits)
and mount what we need from the library under /watch instead:

    GET /watch?token=T      checks the spectator token, sets it as a cookie (path /watch) and
                            redirects to /watch, so the token leaves the address bar and history
    GET /watch              the page (textual-serve's, without the external font link)
    GET /watch/static/...   textual-serve's script, stylesheet and fonts
    GET /watch/ws           the websocket; one `python -m warroom watch` process per socket,
                            driven by textual-serve's `AppService`

Every one of them needs a spectator token (`?token=`, the cookie, or `Authorization: Bearer`
as the feed takes it); a missing or wrong token gets a 401 page and no app process is
started. At most `max_browsers` sessions
(app processes) run at once: past it, the page is a 503 saying so, and a websocket opened
anyway is refused before any process starts. The token is checked again every
`RECHECK_SECONDS` while a session runs, so a revoked token's browser is disconnected.

The app runs as the server's user (a room member, so opening the room read-only is fine) with
the room in $WARROOM_DB (a PostgreSQL URL with a password never appears in `ps`), the token's
name as the actor ($WARROOM_USER), without the alert and spectator tokens in its
environment, and in a temporary folder of its own (removed with it).

Reading the screen in a test: xterm.js draws on a canvas, so the page's text is not in the DOM.
The script we serve is textual-serve's with one line added where it creates each terminal, so
that `window.__warroom_screen()` returns the visible rows of the terminal buffer as text (one
line per row, trailing blanks trimmed). docs/watch.md says how a test uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import mimetypes
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

log = logging.getLogger("warroom.serve")

COOKIE = "warroom_watch"
RECHECK_SECONDS = 1.0  # a revoked token's browser is disconnected within this
STOP_SECONDS = 5.0  # an app process asked to quit gets this long before it is killed
MAX_MESSAGE = 64 * 1024  # a browser sends keys and sizes, never more than this at once
COLUMNS = (20, 400)  # the terminal size a browser may ask for
ROWS = (5, 200)
DEFAULT_MAX_BROWSERS = 4
# Never handed to the app process: it needs neither token, and it shows what a spectator sees;
# NO_COLOR is the server's terminal's preference, not the browser's.
LEFT_OUT = ("WARROOM_TOKEN", "WARROOM_SPECTATOR_TOKEN", "NO_COLOR")
# Where textual-serve's script creates a terminal; we hand each one to the page (see above).
HOOK_AT = "const t=new w(e,{ping:r});"
HOOK = "window.__warroom_terminals=(window.__warroom_terminals||[]).concat([t.terminal]);"

NameFor = Callable[[str | None], str | None]


@dataclass(frozen=True)
class WatchCommand:
    """How the server starts the read-only dashboard for one browser."""

    db: str
    config: Path | None = None
    argv: tuple[str, ...] = (sys.executable, "-m", "warroom", "watch")

    def environment(self, actor: str, base: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if k not in LEFT_OUT}
        env["WARROOM_DB"] = self.db
        env["WARROOM_USER"] = actor
        if self.config is not None:
            env["WARROOM_CONFIG"] = str(self.config)
        else:
            env.pop("WARROOM_CONFIG", None)
        return env


class _Session(AppService):
    """textual-serve's app service, started without a shell (the argument vector as is), in
    a process group of its own (so a hung app and anything it started can be killed), with
    the environment `WatchCommand` makes."""

    def __init__(self, command: WatchCommand, actor: str, **kwargs: Any) -> None:
        super().__init__(" ".join(command.argv), **kwargs)
        self._argv = command.argv
        self.actor = actor
        self._env = command.environment(actor, os.environ)
        # The app's working folder, its own and removed with it: whatever the dashboard saves
        # "here" (the postmortem's ctrl+s) lands on the server, not in the spectator's
        # browser, and must not litter the server's folder.
        self._cwd = tempfile.mkdtemp(prefix="warroom-watch-")

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        # The library's environment is ours plus what it sets for its web driver (the
        # variables it adds to, or changes from, the server's own).
        library = super()._build_environment(width, height)
        added = {k: v for k, v in library.items() if os.environ.get(k) != v}
        return {**self._env, **added}

    async def _open_app_process(self, width: int = 80, height: int = 24
                                ) -> asyncio.subprocess.Process:
        env = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, cwd=self._cwd, start_new_session=True)
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def exited(self) -> asyncio.Task[None] | None:
        return self._task

    async def close(self) -> None:
        """Ask the app to quit; kill its process group if it has not within STOP_SECONDS."""
        process = self._process
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stop(), STOP_SECONDS)
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if process is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
        shutil.rmtree(self._cwd, ignore_errors=True)


@dataclass
class BrowserWatch:
    """The /watch routes of one room server."""

    name_for: NameFor
    max_browsers: int
    command: WatchCommand
    static_dir: Path = field(
        default_factory=lambda: Path(str(resources.files("textual_serve") / "static")))
    sessions: dict[int, _Session] = field(default_factory=dict)
    _script: bytes | None = field(default=None, repr=False)
    _starting: int = 0

    @property
    def active(self) -> int:
        return len(self.sessions) + self._starting

    def watching(self) -> dict[str, int]:
        """Token name -> browsers open with it (for the roster's "watching: support (3)")."""
        out: dict[str, int] = {}
        for session in self.sessions.values():
            out[session.actor] = out.get(session.actor, 0) + 1
        return out

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/watch", self.page)
        app.router.add_get("/watch/ws", self.websocket)
        app.router.add_get("/watch/static/{path:.+}", self.static)
        app.on_shutdown.append(self._shutdown)

    # -- who is asking

    def _token(self, request: web.Request) -> str | None:
        from warroom.serve.http import bearer

        return (request.query.get("token") or bearer(request) or request.cookies.get(COOKIE)
                or None)

    def _name(self, request: web.Request) -> tuple[str | None, str | None]:
        token = self._token(request)
        return token, self.name_for(token)

    # -- handlers

    async def page(self, request: web.Request) -> web.StreamResponse:
        token, name = self._name(request)
        if name is None:
            return _refusal(401, "Not a spectator token",
                            "This address needs a spectator token: open /watch?token=TOKEN "
                            "with the token the room's owner gave you. A revoked token stops "
                            "working at once.")
        if "token" in request.query:
            # Keep the token out of the address bar, the history and any Referer.
            response = web.Response(status=303, headers={"Location": "/watch"})
            response.set_cookie(COOKIE, token or "", path="/watch", httponly=True,
                                samesite="Lax", secure=request.secure or None)
            _no_store(response)
            return response
        if self.active >= self.max_browsers:
            return _refusal(503, "Every browser seat is taken",
                            f"This room shows its dashboard to at most {self.max_browsers} "
                            "browsers at once, and all of them are watching now. Try again in "
                            "a while, or watch from a terminal with `warroom watch --server "
                            "URL`.")
        scheme = "wss" if request.secure else "ws"
        body = PAGE.format(title="warroom: watching the room",
                           ws=html.escape(f"{scheme}://{request.host}/watch/ws", quote=True))
        response = web.Response(text=body, content_type="text/html", charset="utf-8")
        _no_store(response)
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        if self._name(request)[1] is None:
            return _refusal(401, "Not a spectator token", "Open /watch?token=TOKEN first.")
        rel = request.match_info["path"]
        if rel == "js/textual.js":
            return web.Response(body=self.script(), content_type="application/javascript")
        root = self.static_dir.resolve()
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            return _refusal(404, "Not found", "No such file.")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.Response(body=path.read_bytes(), content_type=ctype)

    def script(self) -> bytes:
        """textual-serve's script with the hook that hands each terminal to the page."""
        if self._script is None:
            text = (self.static_dir / "js" / "textual.js").read_text(encoding="utf-8")
            if HOOK_AT in text:
                text = text.replace(HOOK_AT, HOOK_AT + HOOK, 1)
            else:  # a textual-serve we do not know: the page works, the screen is unreadable
                log.warning("textual-serve's script changed: window.__warroom_screen() is "
                            "unavailable (see warroom/serve/browser.py)")
            self._script = text.encode("utf-8")
        return self._script

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        token, name = self._name(request)
        if name is None:
            return _refusal(401, "Not a spectator token", "Open /watch?token=TOKEN first.")
        if self.active >= self.max_browsers:
            return _refusal(503, "Every browser seat is taken",
                            f"At most {self.max_browsers} browsers at once.")
        self._starting += 1
        session: _Session | None = None
        ws = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        try:
            await ws.prepare(request)
            session = _Session(self.command, name, write_bytes=ws.send_bytes,
                               write_str=ws.send_str, close=ws.close,
                               download_manager=DownloadManager())
            width = _bounded(request.query.get("width"), COLUMNS, 80)
            height = _bounded(request.query.get("height"), ROWS, 24)
            await session.start(width, height)
            assert session.pid is not None
            self.sessions[session.pid] = session
        except Exception:
            log.exception("could not start a browser session")
            if session is not None:
                await session.close()
            await ws.close()
            return ws
        finally:
            self._starting -= 1
        log.info("browser spectator %s connected (%d of %d)", name, len(self.sessions),
                 self.max_browsers)
        try:
            await self._run(ws, session, token)
        finally:
            self.sessions.pop(session.pid or 0, None)
            await session.close()
            await ws.close()
            log.info("browser spectator %s left", name)
        return ws

    async def _run(self, ws: web.WebSocketResponse, session: _Session,
                   token: str | None) -> None:
        """Until the browser leaves, the app exits, or the token stops being valid."""
        reader = asyncio.create_task(self._messages(ws, session))
        waits: set[asyncio.Task[Any]] = {reader, asyncio.create_task(self._revoked(token))}
        exited = session.exited()
        if exited is not None:
            waits.add(exited)  # type: ignore[arg-type]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in waits:
                if t is not exited:
                    t.cancel()
            for t in waits:
                if t is not exited:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await t

    async def _revoked(self, token: str | None) -> None:
        while True:  # the gate re-reads its configuration on its own; we only ask it
            await asyncio.sleep(RECHECK_SECONDS)
            if self.name_for(token) is None:
                log.info("a browser spectator's token was revoked: disconnected")
                return

    async def _messages(self, ws: web.WebSocketResponse, session: _Session) -> None:
        """What textual-serve's server reads from the browser; anything else ends the session
        (a browser running our page never sends it)."""
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                return
            try:
                envelope = json.loads(message.data)
            except ValueError:
                return
            if not isinstance(envelope, list) or not envelope:
                return
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await session.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await session.set_terminal_size(_bounded(data.get("width"), COLUMNS, 80),
                                                _bounded(data.get("height"), ROWS, 24))
            elif kind == "ping" and isinstance(data, str):
                await ws.send_json(["pong", data[:64]])
            elif kind == "blur":
                await session.blur()
            elif kind == "focus":
                await session.focus()
            else:
                return

    async def _shutdown(self, app: web.Application) -> None:
        sessions = list(self.sessions.values())
        self.sessions.clear()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


def _bounded(value: object, bounds: tuple[int, int], default: int) -> int:
    try:
        n = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
    return max(bounds[0], min(bounds[1], n))


def _no_store(response: web.StreamResponse) -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"


def _refusal(status: int, title: str, message: str) -> web.Response:
    body = REFUSAL.format(title=html.escape(title), message=html.escape(message))
    response = web.Response(text=body, status=status, content_type="text/html",
                            charset="utf-8")
    _no_store(response)
    return response


REFUSAL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>warroom: {title}</title>
<style>body{{background:#0c181f;color:#e8e8e8;font-family:monospace;margin:3em}}</style>
</head><body><h1>{title}</h1><p id="message">{message}</p></body></html>
"""

# textual-serve's app_index.html, trimmed: no font from a third-party site, no intro logo; plus
# window.__warroom_screen().
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/watch/static/css/xterm.css">
<script src="/watch/static/js/textual.js"></script>
<script>
window.__warroom_screen = function () {{
  const terminals = window.__warroom_terminals || [];
  if (!terminals.length) return "";
  const buffer = terminals[0].buffer.active;
  const rows = [];
  for (let y = 0; y < terminals[0].rows; y++) {{
    const row = buffer.getLine(buffer.viewportY + y);
    rows.push(row ? row.translateToString(true) : "");
  }}
  return rows.join("\\n");
}};
</script>
<style>
html, body {{ margin: 0; height: 100%; background: #0c181f; }}
.textual-terminal {{ width: 100vw; height: 100vh; }}
.closed-dialog {{ display: none; }}
body.-closed .closed-dialog {{
  display: flex; position: absolute; inset: 0; z-index: 10; align-items: center;
  justify-content: center; background: rgba(12, 24, 31, 0.85); color: #e8e8e8;
  font-family: monospace;
}}
.closed-dialog p {{ background: #12232d; padding: 2em 3em; font-size: 16px; }}
.closed-dialog a {{ color: #8fd3ff; }}
</style>
</head>
<body>
<div class="closed-dialog"><p>The session ended. <a href="/watch">Watch again</a></p></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{ws}"
     data-font-size="16"></div>
</body>
</html>
"""
