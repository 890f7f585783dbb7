"""The grammar of `ingest`, `serve` and `payloads` (their implementation: warroom.cli.alerts)."""

from __future__ import annotations

import argparse
from typing import Any

from warroom.cli.args import command_adder, incident_arg
from warroom.cli.argtypes import count


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    cmd = command_adder(sub, common, "warroom.cli.alerts")

    p = cmd("ingest", "record an alert payload (Alertmanager webhook or PagerDuty event)",
            "ingest", epilog="Opens an incident, or attaches to the open one with the same "
                           "dedup key. Pages go out from a running `warroom serve`, "
                           "`warroom engine` or dashboard.")
    p.add_argument("file", metavar="FILE", help="the payload (JSON); - for standard input")
    p.add_argument("--format", choices=("auto", "alertmanager", "pagerduty"), default="auto",
                   help="the payload's format (default: auto, from its keys)")
    p.add_argument("--at", metavar="TIME",
                   help="when it arrived, if not now (drills, replays, tests)")
    p.add_argument("--no-remediate", action="store_true",
                   help="do not run the service's auto-remediation command")

    p = cmd("serve", "receive alerts over HTTP and run the escalation engine", "serve",
            epilog="Endpoints: POST /alertmanager (Alertmanager webhook v4), POST /v2/enqueue "
                   "(PagerDuty Events v2 and v1), GET /healthz, GET /watch?token=T (the "
                   "dashboard, read-only, in a browser: $WARROOM_SPECTATOR_TOKEN). Every post "
                   "needs the room's "
                   "token ($WARROOM_TOKEN or [alerts].token): Authorization: Bearer TOKEN, or "
                   "the PagerDuty routing_key / service_key. Spectators watch through "
                   "GET /spectate/... with a spectator token ([spectators.tokens], "
                   "$WARROOM_SPECTATOR_TOKEN): warroom watch --server URL. Runs until Ctrl-C "
                   "or SIGTERM.")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="where to listen (default: [alerts].listen, 127.0.0.1:9095); port 0 "
                        "picks a free one")
    p.add_argument("--no-engine", action="store_true",
                   help="receive only; another process runs the escalation engine")
    p.add_argument("--tls-cert", metavar="FILE",
                   help="speak HTTPS with this PEM certificate (chain); default: [alerts] "
                        "tls_cert")
    p.add_argument("--tls-key", metavar="FILE",
                   help="the certificate's PEM private key; default: [alerts] tls_key")
    p.add_argument("--poll-interval", type=float, metavar="SECONDS", default=None,
                   help="how often the server looks for other processes' commits in an "
                        "SQLite room (default 0.02: it is the one reader for every remote "
                        "spectator)")
    p.add_argument("--allow-plain-http", action="store_true",
                   help="listen beyond loopback without TLS (senders' tokens cross the "
                        "network in clear text); default: [alerts] allow_plain_http")

    p = cmd("payloads", "the alert payloads an incident received, and how each was mapped",
            "payloads")
    incident_arg(p)
    p.add_argument("--last", type=count, metavar="N", help="only the last N")
