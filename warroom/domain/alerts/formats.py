"""What real alert senders post, read into one shape: Alertmanager webhooks and PagerDuty events.

Pure: bytes or decoded JSON in, a `Notification` out, or a `PayloadError` whose message names
the field and what was wrong ("alerts[2].status: expected 'firing' or 'resolved', got 'ok'").
Unknown fields are ignored (newer senders add some), everything a real sender puts in is
accepted, and nothing here reads a clock: a PagerDuty trigger without a dedup_key gets its key
from the caller.

- Alertmanager webhook, version 4: one notification per alert group. The group (`groupKey`) is
  the incident; each alert in it (`fingerprint`) is one of the incident's alerts.
- PagerDuty Events API v2 (`routing_key`, `event_action`, `dedup_key`, `payload`...), and the
  legacy v1 fields Alertmanager's PagerDuty notifier sends with a `service_key` (`event_type`,
  `incident_key`, `description`, `details`, `client`, `client_url`). One event is one alert, and
  its dedup key is both the incident's and the alert's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from warroom.domain.common.errors import InvalidInput
from warroom.domain.common.redact import needs_redaction, redact_text, redact_value

ALERTMANAGER = "alertmanager"
PAGERDUTY = "pagerduty"
FORMATS = (ALERTMANAGER, PAGERDUTY)

TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"
FIRING, RESOLVED = "firing", "resolved"
PD_SEVERITIES = ("critical", "error", "warning", "info")
PD_SUMMARY_MAX = 1024
PD_DEDUP_MAX = 255
MAX_LABELS = 200
MAX_LABEL_VALUE = 4096
MAX_ALERTS = 10_000
# Nesting levels of objects and lists in a payload. Real senders nest 3 or 4 deep (a PagerDuty
# event's custom_details a few more); far deeper documents break serialisers downstream
# (pydantic stops at a few hundred) and are refused here, with a 4xx, instead.
MAX_DEPTH = 64
MAX_KEY = 4096


class PayloadError(InvalidInput):
    """The body is not a payload we accept; the message says exactly what is wrong."""


@dataclass(frozen=True)
class AlertItem:
    """One alert of a notification."""

    key: str  # the alert's identity in the incident: "am:<fingerprint>" / "pd:<dedup_key>"
    status: str  # firing | resolved | acknowledged
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the alert as sent (remediation stdin)

    @property
    def firing(self) -> bool:
        return self.status == FIRING


@dataclass(frozen=True)
class Notification:
    """One post, whatever its format."""

    format: str  # alertmanager | pagerduty
    version: str  # "4" | "v2" | "v1"
    dedup_key: str | None  # the incident's key (groupKey, dedup_key); None: PD generates one
    action: str  # trigger | acknowledge | resolve
    alerts: tuple[AlertItem, ...]
    common_labels: dict[str, str]
    title: str
    description: str | None = None
    routing_key: str | None = None  # PagerDuty's routing_key / service_key (the room's token)
    client: str | None = None
    client_url: str | None = None
    links: tuple[str, ...] = ()
    truncated_alerts: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def index_key(self) -> str:
        """What the receiver deduplicates incidents on."""
        return f"{self.format}:{self.dedup_key}"

    def with_key(self, dedup_key: str) -> Notification:
        """A PagerDuty trigger without a dedup_key, given the key the receiver made for it."""
        alerts = tuple(
            AlertItem(f"pd:{dedup_key}", a.status, a.labels, a.annotations, a.summary,
                      a.starts_at, a.ends_at, a.url, a.raw)
            for a in self.alerts
        )
        return Notification(self.format, self.version, dedup_key, self.action, alerts,
                            self.common_labels, self.title, self.description, self.routing_key,
                            self.client, self.client_url, self.links, self.truncated_alerts,
                            self.raw)


# ---- decoding ------------------------------------------------------------------------------


def decode_json(body: bytes) -> Any:
    """The JSON document in `body`, or a PayloadError saying where it breaks."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PayloadError(f"body is not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise PayloadError("body is empty: expected a JSON object")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PayloadError(
            f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise PayloadError("malformed JSON: nested too deeply") from None
    # Depth and lone surrogates are refused by check_structure, whatever the source.
    return data


def detect_format(data: Any) -> str:
    """alertmanager or pagerduty, from the document's own keys."""
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {_type(data)}")
    if "alerts" in data or "groupKey" in data:
        return ALERTMANAGER
    if any(k in data for k in ("routing_key", "event_action", "service_key", "event_type",
                               "dedup_key", "incident_key")):
        return PAGERDUTY
    raise PayloadError(
        "cannot tell the format: neither an Alertmanager webhook (alerts, groupKey) nor a "
        "PagerDuty event (routing_key, event_action; or service_key, event_type)")


def parse_notification(data: Any, fmt: str = "auto", *,
                       secrets: tuple[str, ...] = ()) -> Notification:
    """The entry point for a decoded payload: its shape checked, parsed, and every credential
    in it (routing keys, authorization headers, `secrets`) redacted before anyone keeps it."""
    check_structure(data)
    if fmt == "auto":
        fmt = detect_format(data)
    if fmt == ALERTMANAGER:
        return redact_notification(parse_alertmanager(data), secrets)
    if fmt == PAGERDUTY:
        return redact_notification(parse_pagerduty(data), secrets)
    raise PayloadError(f"unknown format {fmt!r}: use auto, alertmanager or pagerduty")


_SURROGATES = re.compile("[\ud800-\udfff]")


def check_structure(data: Any) -> None:
    """Refuse a document no store or screen can keep: nested deeper than MAX_DEPTH, or holding
    a lone UTF-16 surrogate (JSON's \\ud800 escape decodes to a string no UTF-8 encoder takes).
    Iterative, so a deep document cannot exhaust the stack here; paths are only worked out
    for the message, so 10,000 alerts cost a few milliseconds."""
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PayloadError(f"{_path_to(data, value)}: nested more than {MAX_DEPTH} levels "
                               "deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            if isinstance(v, str):
                if not v.isascii() and _SURROGATES.search(v):
                    _refuse_surrogate(data, v)
            elif isinstance(v, dict | list):
                stack.append((v, depth + 1))
            if isinstance(k, str) and not k.isascii() and _SURROGATES.search(k):
                raise PayloadError(f"{_path_to(data, value)}: a key holds a lone UTF-16 "
                                   "surrogate, which is not text")
    if isinstance(data, str) and _SURROGATES.search(data):
        _refuse_surrogate(data, data)


def _refuse_surrogate(data: Any, text: str) -> None:
    m = _SURROGATES.search(text)
    assert m is not None
    raise PayloadError(f"{_path_to(data, text)}: a lone UTF-16 surrogate "
                       f"(\\u{ord(m.group()):04x}) is not text")


def _path_to(data: Any, target: Any) -> str:
    """Where `target` (an object of `data`, by identity) sits, for a message: "a.b[2].c"."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if value is target:
            return (path or "body")[:200]
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items()
                         if isinstance(v, dict | list | str))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value)
                         if isinstance(v, dict | list | str))
    return "body"


def redact_notification(n: Notification, secrets: tuple[str, ...] = ()) -> Notification:
    """`n` with credentials redacted wherever it could be kept or shown: the payload, each
    alert's labels, annotations, summary and link. The routing key stays in `routing_key`
    (checked by the receiver, never stored)."""
    if not needs_redaction(n.raw, secrets):
        return n

    def text(value: str | None) -> str | None:
        return redact_text(value, secrets) if value else value

    alerts = tuple(replace(a, labels=redact_value(a.labels, secrets),
                           annotations=redact_value(a.annotations, secrets),
                           summary=redact_text(a.summary, secrets), url=text(a.url),
                           raw=redact_value(a.raw, secrets)) for a in n.alerts)
    return replace(n, alerts=alerts, common_labels=redact_value(n.common_labels, secrets),
                   title=redact_text(n.title, secrets), description=text(n.description),
                   client=text(n.client), client_url=text(n.client_url),
                   links=tuple(redact_text(x, secrets) for x in n.links),
                   raw=redact_value(n.raw, secrets))


# ---- field helpers -------------------------------------------------------------------------


def _type(v: Any) -> str:
    if v is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _obj(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError(f"{path}: expected an object, got {_type(data)}")
    return data


def _opt_str(data: Mapping[str, Any], key: str, path: str, limit: int = MAX_KEY) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise PayloadError(f"{path}{key}: expected a string, got {_type(v)}")
    if len(v) > limit:
        raise PayloadError(f"{path}{key}: {len(v)} characters; the limit is {limit}")
    return v


def _req_str(data: Mapping[str, Any], key: str, path: str, limit: int = MAX_KEY) -> str:
    if key not in data or data[key] is None:
        raise PayloadError(f"{path}{key}: missing (required)")
    v = _opt_str(data, key, path, limit)
    assert v is not None
    if not v.strip():
        raise PayloadError(f"{path}{key}: must not be empty")
    return v


def _scalar(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | int | float):
        return str(v)
    return None


def _labels(data: Any, path: str, *, strict: bool) -> dict[str, str]:
    """A string map. Strict (Alertmanager labels): every value must be a string or a scalar;
    lenient (PagerDuty details): nested values are skipped."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PayloadError(f"{path}: expected an object, got {_type(data)}")
    out: dict[str, str] = {}
    for k, v in data.items():
        s = _scalar(v)
        if s is None:
            if strict and v is not None:
                raise PayloadError(f"{path}.{k}: expected a string, got {_type(v)}")
            continue
        if len(out) < MAX_LABELS:
            out[str(k)[:200]] = s[:MAX_LABEL_VALUE]
    return out


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any, path: str) -> datetime | None:
    """RFC 3339 (nanoseconds and "+0000" included). Go's zero time means "not set"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{path}: expected a time string, got {_type(value)}")
    text = _FRACTION.sub(r"\1", value.strip())
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{path}: not an RFC 3339 time: {value[:60]!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise PayloadError(f"{path}: time out of range: {value[:60]!r}") from None
    if dt.year <= 1:
        return None  # Go's zero time: "0001-01-01T00:00:00Z"
    return dt


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    for part in text.splitlines():
        if part.strip():
            return part.strip()
    return None


def _fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager always sends one; a hand-made payload without it gets one from its labels."""
    blob = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---- Alertmanager --------------------------------------------------------------------------


def parse_alertmanager(data: Any) -> Notification:
    d = _obj(data, "body")
    version = d.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError(f"version: this receiver reads Alertmanager webhook version 4, "
                           f"got {version!r}")
    group_key = _req_str(d, "groupKey", "")
    status = _req_str(d, "status", "")
    if status not in (FIRING, RESOLVED):
        raise PayloadError(f"status: expected 'firing' or 'resolved', got {status[:40]!r}")
    raw_alerts = d.get("alerts")
    if not isinstance(raw_alerts, list):
        raise PayloadError("alerts: missing (required)" if raw_alerts is None
                           else f"alerts: expected a list, got {_type(raw_alerts)}")
    if not raw_alerts:
        raise PayloadError("alerts: the list is empty; a notification carries at least one")
    if len(raw_alerts) > MAX_ALERTS:
        raise PayloadError(f"alerts: {len(raw_alerts)} alerts; the limit is {MAX_ALERTS}")
    common_labels = _labels(d.get("commonLabels"), "commonLabels", strict=True)
    common_ann = _labels(d.get("commonAnnotations"), "commonAnnotations", strict=True)
    _labels(d.get("groupLabels"), "groupLabels", strict=True)
    truncated = d.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError(f"truncatedAlerts: expected a whole number, got {truncated!r}")
    alerts: list[AlertItem] = []
    seen: set[str] = set()
    for i, a in enumerate(raw_alerts):
        p = f"alerts[{i}]"
        a = _obj(a, p)
        st = _req_str(a, "status", p + ".")
        if st not in (FIRING, RESOLVED):
            raise PayloadError(f"{p}.status: expected 'firing' or 'resolved', got {st[:40]!r}")
        if "labels" not in a:
            raise PayloadError(f"{p}.labels: missing (required)")
        labels = _labels(a.get("labels"), f"{p}.labels", strict=True)
        ann = _labels(a.get("annotations"), f"{p}.annotations", strict=True)
        fp = _opt_str(a, "fingerprint", p + ".") or _fingerprint(labels)
        key = f"am:{fp}"
        if key in seen:
            continue  # the same alert twice in one post counts once
        seen.add(key)
        summary = (ann.get("summary") or ann.get("title") or _first_line(ann.get("description"))
                   or labels.get("alertname") or fp)
        alerts.append(AlertItem(
            key=key, status=st, labels=labels, annotations=ann, summary=summary[:1024],
            starts_at=parse_time(a.get("startsAt"), f"{p}.startsAt"),
            ends_at=parse_time(a.get("endsAt"), f"{p}.endsAt"),
            url=_opt_str(a, "generatorURL", p + "."), raw=a,
        ))
    action = TRIGGER if any(x.firing for x in alerts) else RESOLVE
    return Notification(
        format=ALERTMANAGER, version="4", dedup_key=group_key, action=action,
        alerts=tuple(alerts), common_labels=common_labels,
        title=_am_title(common_labels, common_ann, alerts),
        description=common_ann.get("description") or (
            alerts[0].annotations.get("description") if len(alerts) == 1 else None),
        client=_opt_str(d, "receiver", ""), client_url=_opt_str(d, "externalURL", ""),
        links=tuple(x.url for x in alerts[:20] if x.url), truncated_alerts=truncated, raw=d,
    )


def _am_title(common_labels: dict[str, str], common_ann: dict[str, str],
              alerts: list[AlertItem]) -> str:
    for key in ("summary", "title"):
        if common_ann.get(key):
            return common_ann[key]
    if len(alerts) == 1:
        return alerts[0].summary
    name = common_labels.get("alertname") or alerts[0].labels.get("alertname") or "alerts"
    return f"{name} ({len(alerts)} alerts)"


# ---- PagerDuty -----------------------------------------------------------------------------


def _pd_action(d: dict[str, Any], action_field: str, dedup_field: str) -> tuple[str, str | None]:
    """The event's action and dedup key (v2: event_action/dedup_key, v1: event_type/
    incident_key); acknowledging or resolving needs the key."""
    action = _req_str(d, action_field, "")
    if action not in (TRIGGER, ACKNOWLEDGE, RESOLVE):
        raise PayloadError(f"{action_field}: expected trigger, acknowledge or resolve, got "
                           f"{action[:40]!r}")
    dedup = _opt_str(d, dedup_field, "", PD_DEDUP_MAX)
    if dedup is not None and not dedup.strip():
        dedup = None
    if action != TRIGGER and dedup is None:
        raise PayloadError(f"{dedup_field}: missing (required to {action})")
    return action, dedup


def parse_pagerduty(data: Any) -> Notification:
    d = _obj(data, "body")
    if "service_key" in d or "event_type" in d:
        return _parse_pd_v1(d)
    routing_key = _req_str(d, "routing_key", "")
    action, dedup = _pd_action(d, "event_action", "dedup_key")
    links = tuple(_links(d.get("links"), "href"))
    client = _opt_str(d, "client", "")
    client_url = _opt_str(d, "client_url", "")
    if action != TRIGGER:
        status = RESOLVED if action == RESOLVE else "acknowledged"
        item = AlertItem(f"pd:{dedup}", status, {}, {}, "", raw=d)
        return Notification(PAGERDUTY, "v2", dedup, action, (item,), {}, f"dedup key {dedup}",
                            routing_key=routing_key, client=client, client_url=client_url,
                            links=links, raw=d)
    payload = d.get("payload")
    if payload is None:
        raise PayloadError("payload: missing (required to trigger)")
    payload = _obj(payload, "payload")
    summary = _req_str(payload, "summary", "payload.", PD_SUMMARY_MAX)
    source = _req_str(payload, "source", "payload.", 1024)
    severity = _req_str(payload, "severity", "payload.", 40)
    if severity not in PD_SEVERITIES:
        raise PayloadError(f"payload.severity: expected one of {', '.join(PD_SEVERITIES)}, "
                           f"got {severity!r}")
    labels = _labels(payload.get("custom_details"), "payload.custom_details", strict=False) \
        if isinstance(payload.get("custom_details"), dict) else {}
    for key in ("component", "group", "class"):
        v = _opt_str(payload, key, "payload.", 1024)
        if v:
            labels[key] = v
    labels["source"] = source
    labels["severity"] = severity
    started = parse_time(payload.get("timestamp"), "payload.timestamp")
    details = payload.get("custom_details")
    description = details if isinstance(details, str) else None
    item = AlertItem(f"pd:{dedup}" if dedup else "pd:", "firing", labels, {}, summary,
                     started, None, client_url, d)
    return Notification(PAGERDUTY, "v2", dedup, TRIGGER, (item,), dict(labels), summary,
                        description, routing_key, client, client_url, links, raw=d)


def _parse_pd_v1(d: dict[str, Any]) -> Notification:
    routing_key = _req_str(d, "service_key", "")
    action, dedup = _pd_action(d, "event_type", "incident_key")
    client = _opt_str(d, "client", "")
    client_url = _opt_str(d, "client_url", "")
    links = tuple(_links(d.get("links"), "href"))
    description = _opt_str(d, "description", "", PD_SUMMARY_MAX)
    details = d.get("details")
    labels = _labels(details, "details", strict=False) if isinstance(details, dict) else {}
    if action != TRIGGER:
        status = RESOLVED if action == RESOLVE else "acknowledged"
        item = AlertItem(f"pd:{dedup}", status, labels, {}, description or "", raw=d)
        return Notification(PAGERDUTY, "v1", dedup, action, (item,), labels,
                            description or f"incident key {dedup}", routing_key=routing_key,
                            client=client, client_url=client_url, links=links, raw=d)
    if not description or not description.strip():
        raise PayloadError("description: missing (required to trigger)")
    item = AlertItem(f"pd:{dedup}" if dedup else "pd:", "firing", labels, {}, description,
                     None, None, client_url, d)
    return Notification(PAGERDUTY, "v1", dedup, TRIGGER, (item,), dict(labels), description,
                        None, routing_key, client, client_url, links, raw=d)


def _links(value: Any, key: str) -> list[str]:
    """Links are informational: entries that are not {href: "..."} are skipped, not refused."""
    if not isinstance(value, list):
        return []
    return [str(x[key])[:2000] for x in value[:20] if isinstance(x, dict)
            and isinstance(x.get(key), str)]
