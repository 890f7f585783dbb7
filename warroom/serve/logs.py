"""The log of `warroom serve` (and `warroom engine`): warnings on stderr, each repeated line
rate-limited.

Nobody watches a dashboard from these processes, so what goes wrong is written to stderr. A
fault that repeats (a store refusing every write, a flood of bad clients, an accept() failing
in a loop) must not turn that into a stream: out of descriptors, asyncio once logged the same
accept error until stderr had grown by 184 MB in 70 s. The same message (its template, not its
arguments) is let through at most once per interval; the next one says how many were held
back.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TextIO

REPEAT_INTERVAL = 10.0  # seconds between two lines of the same kind
_MAX_KINDS = 1024  # kinds of line remembered (the oldest is forgotten first)
LOGGERS = ("warroom.alerts", "warroom.serve", "warroom.escalation")


class RateLimit(logging.Filter):
    """At most one record per (logger, level, message template) per `interval` seconds."""

    def __init__(self, interval: float = REPEAT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._seen: OrderedDict[tuple[str, int, str], tuple[float, int]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg)[:300])
        now = self.clock()
        last, held = self._seen.get(key, (None, 0))
        if last is not None and now - last < self.interval:
            self._seen[key] = (last, held + 1)
            return False
        self._seen[key] = (now, 0)
        self._seen.move_to_end(key)
        while len(self._seen) > _MAX_KINDS:
            self._seen.popitem(last=False)
        if held:
            record.msg = (f"{record.getMessage()} ({held} more like this in the last "
                          f"{now - last:.0f}s not shown)") if last is not None else record.msg
            record.args = None
        return True


def log_to_stderr(stream: TextIO | None = None, *, interval: float = REPEAT_INTERVAL
                  ) -> logging.Handler:
    """Warnings and errors of warroom, asyncio and aiohttp to stderr (once per process),
    each kind of line at most once per `interval`."""
    root = logging.getLogger()
    for h in root.handlers:
        if getattr(h, "_warroom", False):
            return h
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RateLimit(interval))
    handler.setLevel(logging.WARNING)
    handler._warroom = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
