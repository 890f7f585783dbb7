"""Keeping credentials out of what the room stores and shows.

Alert payloads, webhook answers and hook output are stored on the timeline, where every
spectator can read them; the configuration is printed by `config show`. A credential that gets
there is a credential handed to everyone who can watch the room (a PagerDuty routing key is the
room's alert token: whoever reads it can post alerts). So whatever came from outside is
redacted before it is kept:

- by name: the value of any key that names a credential (`routing_key`, `service_key`,
  `Authorization`, `X-Api-Key`, `password`, `*_token`, ...), whatever its type;
- by shape: `Basic`/`Bearer`/`Digest` credentials, `name=value` and `"name": "value"` pairs
  whose name is a credential's, the user part of `scheme://user:password@host`;
- by value: any string the caller knows to be secret (the room's token, configured header
  values), wherever it appears.

Heuristics can miss an oddly named secret; they are a net under the exact rules, not a
promise. Pure: no I/O, the secrets are passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"

# Key names (lowercased, "-" and " " read as "_") whose values are credentials.
_SECRET_NAMES = frozenset({
    "authorization", "proxy_authorization", "cookie", "set_cookie", "password", "passwd",
    "pwd", "secret", "token", "credential", "credentials", "api_key", "apikey", "x_api_key",
    "routing_key", "service_key", "integration_key", "access_key", "secret_key",
    "private_key", "client_secret", "session", "session_id", "signature", "auth",
})
_SECRET_SUFFIXES = ("_token", "_secret", "_password", "_passwd", "_api_key", "_apikey",
                    "_routing_key", "_service_key", "_integration_key", "_access_key",
                    "_private_key", "_credentials")

# Words that make a text worth a closer look (lowercased; substring search is far faster than
# a case-insensitive regular expression over megabytes): a text with none of them, no "://"
# with a user part and no known secret is left as it is, which keeps big payloads cheap.
_TRIGGERS = ("password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key",
             "routing_key", "routing-key", "service_key", "service-key", "integration_key",
             "access_key", "private_key", "auth", "cookie", "credential", "session",
             "signature", "basic", "bearer", "digest")
_URL_USER = re.compile(r"://[^/\s\"'@]*@")


def _suspect(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in _TRIGGERS) or ("@" in text and bool(_URL_USER.search(text)))


_SCHEME = re.compile(
    r"\b(Basic|Bearer|Digest|BASIC|BEARER|DIGEST|basic|bearer|digest)(\s+)"
    r"([A-Za-z0-9._~+/:=-]{6,})")
_NAME = (r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[-_]?key|apikey|"
         r"routing[-_]?key|service[-_]?key|integration[-_]?key|access[-_]?key|private[-_]?key|"
         r"authori[sz]ation|cookie|credentials?|session[-_]?id|signature)[A-Za-z0-9_.-]*")
_PAIR = re.compile(
    r"(?i)(\"?\b" + _NAME + r"\"?\s*[:=]\s*\"?)"
    r"((?:(?:basic|bearer|digest)\s+)?(?:\[redacted\]|[^\s\"',;&}\[\]]+))")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s\"'@]+)@")
# Long opaque strings of letters and digits (API keys, session ids): only where no structure
# is expected (a webhook's error answer, a hook's output), never in alert payloads, whose
# fingerprints and ids look the same.
_OPAQUE = re.compile(r"(?<![A-Za-z0-9+/_=-])(?=[A-Za-z0-9+/_=-]*[0-9])(?=[A-Za-z0-9+/_=-]*"
                     r"[A-Za-z])[A-Za-z0-9+/_=-]{32,}")

MIN_SECRET = 4  # shorter "secrets" would redact ordinary words


def is_secret_name(name: str) -> bool:
    """Does a key with this name hold a credential? ("X-Api-Key", "routing_key", "db_password")"""
    n = name.strip().lower().replace("-", "_").replace(" ", "_")
    return n in _SECRET_NAMES or n.endswith(_SECRET_SUFFIXES)


def _secret_list(secrets: Iterable[str | None]) -> list[str]:
    # longest first, so a secret containing another is replaced whole
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str | None] = (), *, opaque: bool = False) -> str:
    """`text` with every credential it seems to contain replaced by [redacted]."""
    for s in _secret_list(secrets):
        if s in text:
            text = text.replace(s, REDACTED)
    if not opaque and not _suspect(text):
        return text
    text = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED
                       if _looks_like_credential(m.group(3)) else m.group(0), text)
    text = _PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    if opaque:
        text = _OPAQUE.sub(REDACTED, text)
    return text


def _looks_like_credential(word: str) -> bool:
    """"Basic aG9vZjpwYXNz" is one, "Basic authentication" is not."""
    return (word != REDACTED and (len(word) >= 20 or any(c.isdigit() for c in word)
                                  or word.endswith("=") or "+" in word or "/" in word))


def redact_value(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A copy of a decoded JSON value with every credential replaced by [redacted]: values of
    keys that name one, and credentials inside strings. Unchanged values are returned as they
    are (no copy), so the common case costs one scan."""
    known = _secret_list(secrets)
    if not needs_redaction(value, known):
        return value
    return _walk(value, known)


def needs_redaction(value: Any, secrets: Iterable[str | None] = ()) -> bool:
    """A cheap first look at the whole value: could anything in it be a credential?"""
    blob = json.dumps(value, ensure_ascii=False, default=str)
    return _suspect(blob) or any(s in blob for s in _secret_list(secrets))


def _walk(value: Any, secrets: list[str], secret: bool = False) -> Any:
    """`secret`: the value sits under a key that names a credential. Its text and numbers are
    redacted, and the items of a list under it; an object under it is looked into key by key
    (an "auth" object describing the auth service is not a credential, its "token" is)."""
    if isinstance(value, str):
        return REDACTED if secret and value else redact_text(value, secrets)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED if secret else value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = redact_text(k, secrets) if isinstance(k, str) else k
            out[key] = _walk(v, secrets, isinstance(k, str) and is_secret_name(k))
        return out
    if isinstance(value, list):
        return [_walk(v, secrets, secret) for v in value]
    return value


def redact_url(url: str, secrets: Iterable[str | None] = ()) -> str:
    """A URL fit to show: no user or password, no credential in its query."""
    return redact_text(url, secrets)
