"""Who may watch the room through `warroom serve`, and how many at once.

Spectators are people who must not open the room's files (whoever can open them can lock
them: issue 14), so they watch what the server streams. Each spectator token has a name (the
roster shows "watching: support (3)"); the tokens come from `[spectators.tokens]` in
warroom.toml and from `$WARROOM_SPECTATOR_TOKEN` (named "spectator").

The file is re-read when it changes (its mtime, size or inode), at most once a second, so a
deleted line revokes its token without a restart; the feed closes that token's open streams
at its next check. A file that no longer reads (a typo while editing) fails closed: until it
reads again only the environment's token is valid, since keeping the old table would keep
alive a token someone was just revoking.

A spectator token is never the alert token: the two namespaces are separate (a spectator
token equal to the alert token is ignored, with a warning), and nothing here authorises a post.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from warroom.domain.config.model import SpectatorsConfig
from warroom.serve.http import token_matches

log = logging.getLogger("warroom.serve")

ENV_TOKEN_NAME = "spectator"
RECHECK_EVERY = 1.0  # seconds between looks at the configuration file's mtime
ALERT_RESERVE = 16  # connections the alert senders always keep (besides the spectators)

Loader = Callable[[Path], SpectatorsConfig]


@dataclass(frozen=True)
class Refusal:
    """Why a spectator is turned away: the HTTP status and one line for them."""

    status: int
    message: str


@dataclass(eq=False)
class Admission:
    """One open stream, counted until released."""

    name: str
    gate: SpectatorGate = field(repr=False)
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.gate._release(self)


def _load_spectators(path: Path) -> SpectatorsConfig:
    from warroom.config_file import read_config

    return read_config(path).spectators


class SpectatorGate:
    """The tokens (re-read when the file changes), the count of open streams per name, and
    the cap on them."""

    def __init__(self, config: SpectatorsConfig, *, path: Path | None = None,
                 env_token: str | None = None, alert_token: str | None = None,
                 connection_cap: int | None = None, loader: Loader = _load_spectators,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.env_token = env_token or None
        self.alert_token = alert_token or None
        self.connection_cap = connection_cap
        self._loader = loader
        self._clock = clock
        self._stamp = self._file_stamp()
        self._checked_at = clock()
        self._open: dict[str, list[Admission]] = {}
        self.generation = 0  # moves whenever the tokens change
        self.max = config.max
        self.max_browsers = config.max_browsers
        self._apply(config)

    # ---- tokens -----------------------------------------------------------------------------

    def _apply(self, config: SpectatorsConfig | None) -> None:
        tokens: dict[str, str] = {}
        if self.env_token:
            tokens[ENV_TOKEN_NAME] = self.env_token
        if config is not None:
            for name, token in config.tokens.items():
                tokens.setdefault(name, token)
        for name, token in list(tokens.items()):
            if self.alert_token and token_matches(token, self.alert_token):
                log.warning("spectator token %r is the alert token: ignored (a spectator "
                            "token must never let anyone post alerts)", name)
                del tokens[name]
        self._tokens = tokens
        if config is not None:  # a file that does not read keeps the last limits
            self.max = config.max
            self.max_browsers = config.max_browsers
        self.generation += 1

    def tokens(self) -> list[str]:
        """Every valid spectator token (the feed redacts them wherever they appear)."""
        return list(self._tokens.values())

    @property
    def effective_max(self) -> int:
        """`max`, lowered so that the spectators always leave the alert senders
        ALERT_RESERVE connections under the server's connection cap."""
        if self.connection_cap is None:
            return self.max
        return max(1, min(self.max, self.connection_cap - ALERT_RESERVE))

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the file if it changed (at most once per RECHECK_EVERY unless `force`);
        True if the tokens were re-read."""
        now = self._clock()
        if not force and now - self._checked_at < RECHECK_EVERY:
            return False
        self._checked_at = now
        stamp = self._file_stamp()
        if stamp == self._stamp or self.path is None:
            return False
        self._stamp = stamp
        if stamp is None:
            log.warning("%s is gone: only $WARROOM_SPECTATOR_TOKEN opens a spectator stream "
                        "now", self.path)
            self._apply(None)
            return True
        try:
            config = self._loader(self.path)
        except Exception as e:  # ConfigError, or the file vanished between stat and read
            log.warning("%s no longer reads (%s): its spectator tokens are refused until it "
                        "does", self.path, str(e).splitlines()[0][:300])
            self._apply(None)
            return True
        self._apply(config)
        return True

    def name_for(self, token: str | None) -> str | None:
        """The name of a spectator token, or None: not one (the alert token is never one).
        Every configured token is compared, in constant time, whichever matches."""
        self.refresh()
        if not token:
            return None
        found: str | None = None
        for name, candidate in self._tokens.items():
            if token_matches(token, candidate) and found is None:
                found = name
        return found

    # ---- counting ---------------------------------------------------------------------------

    def admit(self, name: str) -> Admission | Refusal:
        """Count one more stream for `name`, or refuse past the cap (503: retry later)."""
        limit = self.effective_max
        if self.open_count >= limit:
            return Refusal(503, f"too many spectators: {self.open_count} watching, the "
                                f"room server takes {limit} (spectators.max); retry later")
        admission = Admission(name, self)
        self._open.setdefault(name, []).append(admission)
        return admission

    def _release(self, admission: Admission) -> None:
        rows = self._open.get(admission.name, [])
        if admission in rows:
            rows.remove(admission)
        if not rows:
            self._open.pop(admission.name, None)

    @property
    def open_count(self) -> int:
        return sum(len(v) for v in self._open.values())

    def watching(self) -> dict[str, int]:
        """name -> open streams (names with none are left out)."""
        return {name: len(rows) for name, rows in sorted(self._open.items()) if rows}
