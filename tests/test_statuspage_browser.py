"""The status page in a real browser (issue 16, part 6): Debian's chromium driven by
Playwright, against a real `warroom serve` on a room written by the CLI.

Skips, saying why, where chromium or Playwright is missing (.ci/run installs chromium). The
screenshot goes to docs/statuspage.png only with WARROOM_DOCS_SCREENSHOTS=1 (else into the
test's temporary folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, cli_env, run_cli
from .serve_support import chromium, warroom_serve

ALERTS = "alert-token-0123456789"
EVIL_TITLE = "Checkout <script>document.title='pwned'</script><img src=x onerror=\"document." \
             "body.dataset.pwned='1'\"> failing"
NOTE = "INTERNAL-NOTE-pool-exhausted-by-batch-job"
INTERNAL = "INTERNAL-MESSAGE-for-engineering-only"
CONFIG = """\
[teams.payments]
name = "Payments"

[services.checkout]
team = "payments"
description = "Paying for an order"

[services.ledger]
team = "payments"
description = "Balances and invoices"

[services.search]
description = "Finding products"

[statuspage]
name = "Acme Status"
"""


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, db: Path) -> None:
        self.proc, self.url, self.db = proc, url, db


def _room(tmp_path: Path) -> Path:
    db = tmp_path / "room.db"
    (tmp_path / "warroom.toml").write_text(CONFIG)
    for user, args, text in (
        ("alertmanager", ("declare", "--title", EVIL_TITLE, "--severity", "SEV-1",
                          "--service", "checkout", "--at", "-40m"), None),
        ("carol", ("note", "INC-1", NOTE), None),
        ("carol", ("comms", "INC-1", "--template", "update", "--send", "--audience",
                   "engineering", "--text-file", "-"), INTERNAL),
        ("carol", ("comms", "INC-1", "--template", "initial", "--send", "--audience",
                   "customers", "--channel", "status page", "--text-file", "-", "--at", "-35m"),
         "We are investigating failed payments at checkout. Next update within 30 minutes."),
        ("bob", ("declare", "--title", "Search slow", "--severity", "SEV-3", "--service",
                 "search", "--at", "-3d"), None),
        ("bob", ("comms", "INC-2", "--template", "initial", "--send", "--audience",
                 "customers", "--text-file", "-", "--at", "-3d"),
         "Search results are slow to load."),
        ("bob", ("status", "INC-2", "Resolved", "--at", "-2d"), None),
    ):
        r = run_cli(db, *args, user=user, input=text)
        assert r.code == 0, (args, r.err)
    return db


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    db = _room(tmp_path)
    env = cli_env(db, "serve")
    env["WARROOM_TOKEN"] = ALERTS
    with warroom_serve(env, tmp_path / "serve.out") as (proc, url):
        yield Server(proc, url, db)


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium("the status page browser tests") as b:
        yield b


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


@pytest.mark.slow
def test_the_page_shows_components_and_the_active_incidents_messages(
        browser: Any, served: Server, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 420, "height": 900}, java_script_enabled=False)
    response = page.goto(f"{served.url}/status/")
    assert response is not None and response.status == 200
    assert page.title() == "Acme Status"
    assert page.locator("p.banner").inner_text() == "Major System Outage"
    components = page.locator("ul.components li").all_inner_texts()
    joined = "\n".join(components)
    for text in ("Payments", "checkout", "Major outage", "ledger", "search", "Operational",
                 "Finding products"):
        assert text in joined, text
    active = page.locator("section[aria-labelledby=active] article")
    assert active.count() == 1
    card = active.inner_text()
    assert "Investigating" in card
    assert "We are investigating failed payments at checkout." in card
    history = page.locator("section[aria-labelledby=history] article").inner_text()
    assert "Search slow" in history and "Resolved" in history
    # Fits a phone: nothing wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    shots = REPO / "docs" if os.environ.get("WARROOM_DOCS_SCREENSHOTS") == "1" else tmp_path
    page.screenshot(path=str(shots / "statuspage.png"), full_page=True)
    # Dark too: the colours follow the system's preference.
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="light")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark != light


@pytest.mark.slow
def test_an_injected_title_runs_no_script(browser: Any, served: Server) -> None:
    page = browser.new_page()  # JavaScript on: nothing of the page's may run anyway
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path, title in (("/status/", "Acme Status"),
                        ("/status/incidents/inc-1.html", f"{EVIL_TITLE} · Acme Status")):
        page.goto(served.url + path)
        page.wait_for_load_state("load")
        assert page.title() == title  # literal text; the script never set it to 'pwned'
        assert page.evaluate("document.body.dataset.pwned") is None
        assert page.evaluate("document.querySelectorAll('script, main img').length") == 0
        # The title is shown literally, as text.
        assert EVIL_TITLE in page.locator("article h2, article h3").first.inner_text()
    assert dialogs == []


@pytest.mark.slow
def test_a_message_sent_from_the_cli_shows_in_status_within_two_seconds(
        browser: Any, served: Server) -> None:
    page = browser.new_page(java_script_enabled=False)
    page.goto(f"{served.url}/status/")
    message = "Identified: a configuration change; rolling it back now."
    r = run_cli(served.db, "comms", "INC-1", "--template", "update", "--send", "--audience",
                "customers", "--text-file", "-", user="carol", input=message)
    assert r.code == 0, r.err
    sent = time.monotonic()
    deadline = sent + 2.0
    while True:  # what a visitor does: reload
        page.goto(f"{served.url}/status/")
        if message in page.locator("section[aria-labelledby=active]").inner_text():
            break
        assert time.monotonic() < deadline, "the message did not show within 2 s"
        time.sleep(0.1)
    assert message in json.dumps(json.loads(_get(f"{served.url}/status/summary.json")))


@pytest.mark.slow
def test_a_planted_internal_note_never_appears_in_html_json_or_feed(
        browser: Any, served: Server) -> None:
    page = browser.new_page(java_script_enabled=False)
    texts = []
    for path in ("/status/", "/status/incidents/inc-1.html", "/status/incidents/inc-2.html"):
        page.goto(served.url + path)
        texts.append(page.content())
        texts.append(page.locator("body").inner_text())
    for path in ("summary.json", "incidents.json", "history.atom"):
        texts.append(_get(f"{served.url}/status/{path}"))
    everything = "\n".join(texts)
    assert "We are investigating failed payments" in everything  # the test reads the page
    for secret in (NOTE, INTERNAL, "carol", "alertmanager", "bob"):
        assert secret not in everything, secret
