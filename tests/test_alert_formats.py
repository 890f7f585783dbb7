"""The parsers: what real senders post is accepted, anything else is refused precisely."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.domain.alerts.formats import (
    PayloadError,
    decode_json,
    detect_format,
    parse_alertmanager,
    parse_notification,
    parse_pagerduty,
)

from .alert_support import am_alert, am_payload, pd_event, sample


def test_alertmanager_sample_groups_two_alerts() -> None:
    n = parse_alertmanager(sample("alertmanager_firing.json"))
    assert n.format == "alertmanager" and n.version == "4" and n.action == "trigger"
    assert n.dedup_key.startswith("{}/{severity=")
    assert [a.key for a in n.alerts] == ["am:3f9a1c2e7b4d8e01", "am:a07c55d29e6f1b34"]
    assert n.title == "Payments API error rate above 5%"
    assert n.alerts[0].labels["service"] == "payments"
    # nanosecond precision from Go is read (to the microsecond)
    assert n.alerts[0].starts_at == datetime(2026, 3, 4, 14, 31, 45, 120934, tzinfo=UTC)
    assert n.alerts[0].ends_at is None  # Go's zero time


def test_alertmanager_resolved_and_extras_from_other_senders() -> None:
    data = am_payload([am_alert(status="resolved")])
    data.update({"numFiring": 0, "numResolved": 1, "notification_reason": "resolved",
                 "routeLabels": {"x": "y"}})  # fields some versions and forks add
    n = parse_alertmanager(data)
    assert n.action == "resolve" and not n.alerts[0].firing


def test_alertmanager_without_fingerprint_gets_one_from_labels() -> None:
    a = am_alert()
    del a["fingerprint"]
    b = dict(a)
    n1 = parse_alertmanager(am_payload([a]))
    n2 = parse_alertmanager(am_payload([b]))
    assert n1.alerts[0].key == n2.alerts[0].key and n1.alerts[0].key.startswith("am:")


def test_alertmanager_title_for_many_alerts_without_summary() -> None:
    alerts = [am_alert(instance=f"h{i}") for i in range(3)]
    n = parse_alertmanager(am_payload(alerts))
    assert n.title == "HighErrorRate (3 alerts)"


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("groupKey"), "groupKey: missing (required)"),
    (lambda d: d.update(version="3"), "version: this receiver reads Alertmanager webhook "
                                      "version 4, got '3'"),
    (lambda d: d.update(status="ok"), "status: expected 'firing' or 'resolved', got 'ok'"),
    (lambda d: d.update(alerts=[]), "alerts: the list is empty"),
    (lambda d: d.update(alerts={}), "alerts: expected a list, got an object"),
    (lambda d: d["alerts"][0].pop("labels"), "alerts[0].labels: missing (required)"),
    (lambda d: d["alerts"][0].update(status="maybe"),
     "alerts[0].status: expected 'firing' or 'resolved', got 'maybe'"),
    (lambda d: d["alerts"][0].update(startsAt="yesterday"),
     "alerts[0].startsAt: not an RFC 3339 time: 'yesterday'"),
    (lambda d: d["alerts"][0]["labels"].update(x={"a": 1}),
     "alerts[0].labels.x: expected a string, got an object"),
])
def test_alertmanager_refusals_say_what_is_wrong(mutate: Any, message: str) -> None:
    data = am_payload([am_alert()])
    mutate(data)
    with pytest.raises(PayloadError) as e:
        parse_alertmanager(data)
    assert str(e.value).startswith(message)


def test_pagerduty_v2_trigger_ack_resolve() -> None:
    t = parse_pagerduty(sample("pagerduty_v2_trigger.json"))
    assert (t.version, t.action, t.dedup_key) == ("v2", "trigger",
                                                  "checkout-latency-p99-eu-west-1")
    assert t.routing_key == "change-me-demo-token"
    assert t.alerts[0].labels["component"] == "checkout"
    assert t.alerts[0].labels["severity"] == "critical"
    assert t.alerts[0].labels["p99_ms"] == "2840"  # custom details become labels
    assert t.alerts[0].starts_at == datetime(2026, 3, 4, 14, 30, 5, 221000, tzinfo=UTC)
    a = parse_pagerduty(sample("pagerduty_v2_acknowledge.json"))
    r = parse_pagerduty(sample("pagerduty_v2_resolve.json"))
    assert (a.action, r.action) == ("acknowledge", "resolve")
    assert a.alerts[0].key == r.alerts[0].key == t.alerts[0].key


def test_pagerduty_v1_as_alertmanager_sends_it() -> None:
    n = parse_pagerduty(sample("pagerduty_v1_from_alertmanager.json"))
    assert n.version == "v1" and n.action == "trigger"
    assert n.routing_key == "change-me-demo-token"
    assert n.title.startswith("[FIRING:1] AuthLoginFailures")
    assert n.dedup_key and n.alerts[0].key == f"pd:{n.dedup_key}"
    resolve = {"service_key": "k", "event_type": "resolve", "incident_key": n.dedup_key,
               "description": "[RESOLVED] AuthLoginFailures", "event_action": "",
               "payload": None}
    assert parse_pagerduty(resolve).action == "resolve"


def test_pagerduty_trigger_without_dedup_key_is_keyed_by_the_receiver() -> None:
    n = parse_pagerduty(pd_event(dedup=None))
    assert n.dedup_key is None
    keyed = n.with_key("abc")
    assert keyed.dedup_key == "abc" and keyed.alerts[0].key == "pd:abc"


@pytest.mark.parametrize(("event", "message"), [
    ({"event_action": "trigger"}, "routing_key: missing (required)"),
    ({"routing_key": "k", "event_action": "explode"},
     "event_action: expected trigger, acknowledge or resolve, got 'explode'"),
    ({"routing_key": "k", "event_action": "resolve"}, "dedup_key: missing (required to "
                                                      "resolve)"),
    ({"routing_key": "k", "event_action": "trigger"}, "payload: missing (required to trigger)"),
    ({"routing_key": "k", "event_action": "trigger",
      "payload": {"summary": "x", "source": "y", "severity": "bad"}},
     "payload.severity: expected one of critical, error, warning, info, got 'bad'"),
    ({"routing_key": "k", "event_action": "trigger",
      "payload": {"summary": "x" * 1025, "source": "y", "severity": "info"}},
     "payload.summary: 1025 characters; the limit is 1024"),
    ({"routing_key": "k", "event_action": "acknowledge", "dedup_key": "d" * 256},
     "dedup_key: 256 characters; the limit is 255"),
    ({"service_key": "k", "event_type": "trigger"}, "description: missing (required to "
                                                    "trigger)"),
])
def test_pagerduty_refusals_say_what_is_wrong(event: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError) as e:
        parse_pagerduty(event)
    assert str(e.value).startswith(message)


@pytest.mark.parametrize(("body", "message"), [
    (b"", "body is empty"),
    (b"{\"a\": ", "malformed JSON at line 1 column 7"),
    (b"\xff\xfe", "body is not UTF-8"),
    (b"[" * 100_000, "malformed JSON"),
])
def test_decode_json_refusals(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as e:
        decode_json(body)
    assert str(e.value).startswith(message)


def test_detect_format() -> None:
    assert detect_format(am_payload([am_alert()])) == "alertmanager"
    assert detect_format(pd_event()) == "pagerduty"
    with pytest.raises(PayloadError, match="cannot tell the format"):
        detect_format({"hello": 1})
    with pytest.raises(PayloadError, match="expected a JSON object, got a list"):
        detect_format([])


# ---- fuzzing: nothing but a Notification or a PayloadError ever comes out ---------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=5),
    max_leaves=25,
)


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Real payloads with keys dropped, retyped or replaced: close to what breaks parsers."""
    keys = sorted(base)

    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        data = json.loads(json.dumps(base))
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(keys))
            if draw(st.booleans()):
                data.pop(key, None)
            else:
                data[key] = draw(json_values)
        if draw(st.booleans()) and isinstance(data.get("alerts"), list) and data["alerts"]:
            alert = data["alerts"][0]
            if isinstance(alert, dict):
                k = draw(st.sampled_from(["status", "labels", "startsAt", "fingerprint",
                                          "annotations", "endsAt"]))
                alert[k] = draw(json_values)
        return data

    return mutate()


FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _parse_or_refuse(data: Any, fmt: str) -> None:
    try:
        n = parse_notification(data, fmt)
    except PayloadError as e:
        assert str(e)
        return
    assert n.alerts and n.action in ("trigger", "acknowledge", "resolve")


@FUZZ
@given(_mutations(am_payload([am_alert(), am_alert(instance="b")])))
def test_fuzz_alertmanager(data: Any) -> None:
    _parse_or_refuse(data, "alertmanager")


@FUZZ
@given(st.one_of(_mutations(pd_event()), _mutations(pd_event("resolve")),
                 _mutations(sample("pagerduty_v1_from_alertmanager.json"))))
def test_fuzz_pagerduty(data: Any) -> None:
    _parse_or_refuse(data, "pagerduty")


@FUZZ
@given(json_values)
def test_fuzz_any_json_auto(data: Any) -> None:
    _parse_or_refuse(data, "auto")


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_bytes(body: bytes) -> None:
    try:
        data = decode_json(body)
    except PayloadError:
        return
    _parse_or_refuse(data, "auto")
