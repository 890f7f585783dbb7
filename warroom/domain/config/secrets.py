"""The configuration as `config show` prints it: every secret it holds redacted.

The file holds the room's alert token, paging webhooks (whose URL may carry a user and password
or a key in its query or path) and the headers sent with them (API keys, authorization).
Printed as they are, they end up in terminals, tickets and chat; whoever reads them can post
alerts or page people. Redacted here: `alerts.token`, every header value, the user part and
query values of every URL (and path segments that look like keys, as in Slack's webhook URLs),
values of keys named like credentials, and any of those secrets wherever else they appear
(a command's argument, say). Pure: the validated model in, a JSON-ready dict out.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from warroom.domain.common.redact import REDACTED, is_secret_name, redact_text
from warroom.domain.config.model import Config

_KEYLIKE_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$")


def config_secrets(config: Config) -> list[str]:
    """Every value in the configuration that is a credential."""
    out: list[str] = []
    if config.alerts.token:
        out.append(config.alerts.token)
    out += [t for t in config.spectators.tokens.values() if t]
    notifies = [*config.people.values(), *(p.notify for p in config.escalation_policies.values()),
                *config.statuspage.subscribers.values()]  # status page subscribers too
    for n in notifies:
        out += [v for v in n.headers.values() if v]
        if n.webhook:
            parts = urllib.parse.urlsplit(n.webhook)
            out += [p for p in (parts.password, parts.username) if p]
            out += [v for _, v in urllib.parse.parse_qsl(parts.query) if v]
            out += [s for s in parts.path.split("/") if _KEYLIKE_SEGMENT.match(s)]
    return out


def redact_webhook(url: str) -> str:
    """scheme://host/path with no user or password, no query value, no key-like segment."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    netloc = (f"{REDACTED}@" if parts.username or parts.password else "") + (
        f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    path = "/".join(REDACTED if _KEYLIKE_SEGMENT.match(s) else s
                    for s in parts.path.split("/"))
    query = "&".join(f"{k}={REDACTED}" if v else k
                     for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, ""))


def redacted_config(config: Config) -> dict[str, Any]:
    """`config.model_dump(mode="json")` with every secret replaced by [redacted]."""
    secrets = config_secrets(config)
    return _walk(config.model_dump(mode="json"), secrets, key="")


def _walk(value: Any, secrets: list[str], key: str) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "headers" and isinstance(v, dict):
                out[k] = {h: REDACTED if hv else hv for h, hv in v.items()}
            elif k == "webhook" and isinstance(v, str):
                out[k] = redact_webhook(v)
            elif is_secret_name(k) and isinstance(v, str) and v:  # never a user's name for
                out[k] = REDACTED                                  # a service, team, person
            else:
                out[k] = _walk(v, secrets, k)
        return out
    if isinstance(value, list):
        return [_walk(v, secrets, key) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value
