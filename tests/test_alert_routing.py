"""Mapping an alert to service, severity and detection, and the seed's decision tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.domain.alerts.formats import parse_alertmanager, parse_pagerduty
from warroom.domain.alerts.routing import (
    decide_route,
    map_notification,
    map_service,
    map_severity,
    next_business_start,
)
from warroom.domain.incident.severity import Severity

from .alert_support import NIGHT, T0, am_alert, am_payload, pd_event
from .escalation_support import config_with, demo_config


def test_service_from_labels_in_order_and_default() -> None:
    cfg = demo_config()
    assert map_service(cfg, {"app": "auth", "service": "search"})[0] == "search"
    assert map_service(cfg, {"app": "auth"}) == ("auth", "label app='auth'")
    svc, why = map_service(cfg, {"job": "node"})
    assert svc is None and "no service label (service, app, component)" in why
    cfg2 = config_with(alerts={"default_service": "pipeline"})
    assert map_service(cfg2, {"service": "nonesuch"})[0] == "pipeline"
    assert map_service(cfg2, {})[0] == "pipeline"


def test_severity_mapping_by_service() -> None:
    cfg = config_with(services={"search": {"alerts": {"severity": {"warning": "SEV-2"}}}})
    assert map_severity(cfg, "payments", {"severity": "critical"})[0] == Severity.SEV1
    assert map_severity(cfg, "search", {"severity": "critical"})[0] == Severity.SEV2
    sev, why = map_severity(cfg, "search", {"severity": "Warning"})
    assert sev == Severity.SEV2 and "services.search.alerts.severity" in why
    assert map_severity(cfg, "auth", {"severity": "info"})[0] == Severity.SEV4
    assert map_severity(cfg, None, {"severity": "sev2"})[0] == Severity.SEV2
    assert map_severity(cfg, None, {"severity": "page-me"})[0] == Severity.SEV3
    assert map_severity(cfg, None, {})[0] == Severity.SEV3


def test_group_takes_the_most_severe_firing_alert() -> None:
    cfg = demo_config()
    n = parse_alertmanager(am_payload([
        am_alert(service="search", severity="warning", fp="a"),
        am_alert(service="search", severity="critical", fp="b"),
        am_alert(service="search", severity="critical", status="resolved", fp="c"),
    ]))
    m = map_notification(cfg, n, T0)
    assert m.service == "search" and m.severity == Severity.SEV2


def test_detection_is_the_alert_start_clamped() -> None:
    cfg = demo_config()
    n = parse_alertmanager(am_payload([am_alert(starts="2026-03-04T14:31:45Z")]))
    m = map_notification(cfg, n, T0)
    assert m.detected_at == m.started_at == datetime(2026, 3, 4, 14, 31, 45, tzinfo=UTC)
    old = parse_alertmanager(am_payload([am_alert(starts="2026-03-01T00:00:00Z")]))
    m = map_notification(cfg, old, T0)
    assert m.detected_at == T0 - timedelta(minutes=15)
    assert m.started_at == datetime(2026, 3, 1, tzinfo=UTC)
    future = parse_alertmanager(am_payload([am_alert(starts="2026-03-04T15:00:00Z")]))
    m = map_notification(cfg, future, T0)
    assert m.detected_at == m.started_at == T0 and "future" in m.detected_reason
    pd = map_notification(cfg, parse_pagerduty(pd_event()), T0)
    assert pd.service == "checkout" and pd.severity == Severity.SEV1
    assert pd.detected_at == datetime(2026, 3, 4, 14, 31, 58, 315000, tzinfo=UTC)


def test_critical_service_pages_at_once() -> None:
    r = decide_route(demo_config(), "payments", Severity.SEV1, {}, NIGHT)
    assert r.route == "page" and r.hold_until is None
    assert r.steps == ["payments is a critical service: page the on-call at once"]


def test_non_critical_in_business_hours_notifies_the_team() -> None:
    r = decide_route(demo_config(), "pipeline", Severity.SEV3, {}, T0)
    assert r.route == "notify" and r.hold_cause == "notify"
    assert r.hold_until == T0 + timedelta(hours=2)  # the SEV-3 response time
    assert "business hours for team data (Wed 15:32 Europe/Berlin)" in r.steps[0]
    r = decide_route(demo_config(), "search", Severity.SEV3, {}, T0)
    assert r.hold_until == T0 + timedelta(hours=1)  # services.search.alerts.notify_window


def test_outside_hours_queues_what_can_wait_until_the_morning() -> None:
    cfg = demo_config()
    r = decide_route(cfg, "pipeline", Severity.SEV3, {"can_wait": "true"}, NIGHT)
    assert r.route == "queue"
    assert r.hold_until == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)  # 09:00 Berlin
    assert "label can_wait='true'" in r.steps[0]
    r = decide_route(cfg, "search", Severity.SEV3, {}, NIGHT)  # can_wait in its config
    assert r.route == "queue" and "alerts.can_wait" in r.steps[0]
    r = decide_route(cfg, "search", Severity.SEV3, {"can_wait": "no"}, NIGHT)
    assert r.route == "page" and "cannot wait" in r.steps[0]
    r = decide_route(cfg, "pipeline", Severity.SEV3, {}, NIGHT)
    assert r.route == "page"


def test_next_business_morning_skips_the_weekend() -> None:
    team = demo_config().teams["data"]
    friday_evening = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)
    assert next_business_start(team, friday_evening) == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    early = datetime(2026, 3, 4, 5, 0, tzinfo=UTC)  # 06:00 Berlin: the same morning
    assert next_business_start(team, early) == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


def test_unknown_service_pages() -> None:
    r = decide_route(demo_config(), None, Severity.SEV3, {}, NIGHT)
    assert r.route == "page" and "not a configured service" in r.steps[0]


def test_remediation_comes_first_and_the_tree_is_judged_at_the_window_end() -> None:
    cfg = config_with(services={"search": {"alerts": {"remediation": {
        "command": ["./fix.sh"], "window": "10m"}}}})
    r = decide_route(cfg, "search", Severity.SEV3, {}, NIGHT)
    assert r.route == "remediate" and r.remediation is not None
    assert r.remediation_until == NIGHT + timedelta(minutes=10)
    assert r.hold_cause == "remediation"
    # not fixed -> the search alert can wait: the hold runs to the morning
    assert r.fallback_hold == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    assert r.hold_until == r.fallback_hold
    assert r.steps[1].startswith("if not fixed by 23:22Z: search is not critical")
    cfg = config_with(services={"payments": {"alerts": {"remediation": {
        "command": "./fix.sh"}}}})
    r = decide_route(cfg, "payments", Severity.SEV1, {}, T0)
    assert r.hold_until == T0 + timedelta(minutes=5) and r.fallback_hold is None
