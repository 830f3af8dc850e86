"""Every page passes axe-core in Chromium with no serious or critical violation, the keyboard's
first stop skips to the page's content, and every control on a page has a name.

The pages are the real ones of a running server: logged out (login, watch, embedded player,
a join link not open yet), as the producer (the bookings, calendar, forms, booking page,
archive, studios, time zone, an error page, master control, control room, a confirmation
dialog), as a studio's
operator (a booking to answer, the decline dialog), and a studio console before and after
joining and on air with the REC mark (the control room and master control are read with that
studio live, so their meters and sound desk are filled in). The meters say their level as
text: to assistive technology and, on the console and the sound desk, on screen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import wait
from login import log_in

from harness.api import api
from harness.server import producer_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

BLOCKING = ("serious", "critical")

# A meter's readout on screen says a level in dB (or, `quiet`, that it is under the floor), the
# same as its value for assistive technology: (readout selector, meter selector, quiet) => true.
LEVEL_SHOWN = """((readout, meter, quiet) => {
  const text = document.querySelector(readout).textContent;
  return (quiet ? /^(< )?-?[0-9]+ dBFS$/ : /^-?[0-9]+ dBFS$/).test(text)
    && document.querySelector(meter).getAttribute('aria-valuetext') === text;
})"""

# The controls a person operates, as Chromium's accessibility tree names their roles.
CONTROL_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "listbox",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "textbox",
    "PopUpButton",
    "ToggleButton",
}


def _axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING]


def _report(what: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for v in violations:
        lines.append(f"{what}: {v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['help']}")
        for node in v["nodes"][:8]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {' > '.join(map(str, node['target']))}  — {summary[:200]}")
    return lines


def _unnamed_controls(page: Any) -> list[str]:
    """The controls on the page that Chromium's accessibility tree gives no name."""
    cdp = page.context.new_cdp_session(page)
    try:
        tree = cdp.send("Accessibility.getFullAXTree")
    finally:
        cdp.detach()
    unnamed = []
    for node in tree["nodes"]:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROL_ROLES:
            continue
        name = str(node.get("name", {}).get("value", "")).strip()
        if not name:
            unnamed.append(f"{role} (DOM node {node.get('backendDOMNodeId')})")
    if unnamed:  # which ones, readable
        described = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button')]
              .filter(e => e.type !== 'hidden' && e.getClientRects().length)
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                && !e.getAttribute('aria-labelledby') && !e.title && !e.textContent.trim())
              .map(e => e.outerHTML.slice(0, 160))"""
        )
        unnamed.extend(f"    {html}" for html in described)
    return unnamed


def _mute_meters(page: Any) -> list[str]:
    """The level meters on the page that do not say their value as text."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('[role=meter]')]
              .filter(m => m.getClientRects().length)
              .filter(m => !(m.getAttribute('aria-valuetext') || '').trim()
                || m.getAttribute('aria-valuenow') === null)
              .map(m => m.outerHTML.slice(0, 160))"""
        )
    )


class Checker:
    """Runs the checks page by page and keeps what failed, to say all of it at the end."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.pages: list[str] = []

    def check(self, page: Any, what: str) -> None:
        self.pages.append(what)
        self.failures += _report(what, _axe(page))
        unnamed = _unnamed_controls(page)
        if unnamed:
            self.failures.append(f"{what}: controls without an accessible name:")
            self.failures += unnamed
        mute = _mute_meters(page)
        if mute:
            self.failures.append(f"{what}: meters without their value as text:")
            self.failures += [f"    {html}" for html in mute]

    def verdict(self) -> None:
        assert not self.failures, (
            f"accessibility problems on {len(self.pages)} pages:\n" + "\n".join(self.failures)
        )


def _public_booking(server: str, token: str) -> tuple[str, dict[str, str], datetime]:
    """A public booking of Trend and DHA in its line check now: its id, join links and start."""
    start = datetime.now(UTC) + timedelta(minutes=5)
    booking = api(
        server,
        token,
        "POST",
        "/api/bookings",
        {
            "title": "Accessible news hour",
            "studios": ["trend", "dha"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "setup_minutes": 15,
            "stream": "public",
            "quality": "540p30",
        },
    )["booking"]
    links = api(server, token, "GET", f"/api/bookings/{booking['id']}/join-links")["links"]
    return booking["id"], {link["studio"]: link["url"] for link in links}, start


def _demo_booking(server: str, token: str) -> str:
    """The demo's booking of tomorrow (Qazcontent has not answered it yet)."""
    bookings = api(server, token, "GET", "/api/bookings")["bookings"]
    return next(b["id"] for b in bookings if b["title"].startswith("Caspian energy week"))


def _recording(route: Any) -> None:
    """The console's state poll, answered as the bridge would while the room records."""
    response = route.fetch()
    body = response.json()
    body["recording"] = True
    route.fulfill(response=response, json=body)


def test_every_page_passes_axe(server: str, browser_context: Any, tmp_path: Path) -> None:
    token = producer_token(tmp_path / "data")
    booking, links, starts = _public_booking(server, token)
    demo = _demo_booking(server, token)
    checker = Checker()

    # A studio console: before joining, and joined (its own meter running); on air and
    # recording at the end.
    console = browser_context.new_page()
    console.goto(links["trend"])
    wait(console, "() => document.getElementById('camera').options.length > 0", 20)
    checker.check(console, "studio console")
    console.click("#join")
    # Connected (a busy machine may call the link degraded rather than good).
    wait(
        console,
        "() => ['good', 'degraded'].includes(document.getElementById('quality').dataset.quality)",
        45,
    )
    checker.check(console, "studio console, joined")
    # Its own microphone and its partner's sound (DHA has not joined: under the floor): each
    # meter's value is on screen too, in dB.
    wait(console, f"() => {LEVEL_SHOWN}('#mic-level', '#mic-meter')", 15)
    partner = ".tile[data-partner=dha]"
    wait(
        console, f"() => {LEVEL_SHOWN}('{partner} .tile-level', '{partner} .tile-meter', true)", 15
    )

    page = browser_context.new_page()
    # Logged out.
    page.goto(server + "/login")
    checker.check(page, "login")
    page.goto(f"{server}/watch/{booking}")
    wait(page, "() => !!window.telebridgeWatch && !!window.telebridgeWatch.state", 15)
    checker.check(page, "watch page")
    page.goto(f"{server}/embed/{booking}")
    checker.check(page, "embedded player")
    demo_links = api(server, token, "GET", f"/api/bookings/{demo}/join-links")["links"]
    page.goto(demo_links[0]["url"])
    checker.check(page, "join link not open yet")

    # The producer.
    log_in(page, server, "producer")
    checker.check(page, "bookings")
    page.screenshot(path=str(ARTIFACTS / "a11y-bookings.png"))
    for path, what in (
        ("/calendar", "calendar"),
        ("/bookings/new", "new booking"),
        (f"/bookings/{booking}/edit", "booking edit form"),
        ("/archive", "archive"),
        ("/studios", "studios"),
        ("/time-zone?next=/bookings", "time zone"),
        ("/no-such-page", "error page (404)"),
    ):
        page.goto(server + path)
        checker.check(page, what)
        if what == "calendar":
            page.screenshot(path=str(ARTIFACTS / "a11y-calendar.png"))
    page.goto(f"{server}/bookings/{booking}")
    wait(page, "() => document.querySelector('.strip') !== null", 15)
    checker.check(page, "booking page")
    page.locator("form[data-opens='cancel'] button").click()
    page.get_by_role("dialog").wait_for()
    checker.check(page, "booking page, cancel dialog")
    page.keyboard.press("Escape")
    page.screenshot(path=str(ARTIFACTS / "a11y-booking.png"), full_page=True)
    page.goto(server + "/monitor")
    wait(page, "() => document.querySelectorAll('.mstudio').length > 0", 20)
    checker.check(page, "master control")
    page.screenshot(path=str(ARTIFACTS / "a11y-monitor.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server}/bookings/{booking}/control")
    wait(page, "() => document.querySelector('[data-tile=trend]').dataset.status === 'live'", 30)
    strip = "[data-strip=trend]"
    wait(page, f"() => {LEVEL_SHOWN}('{strip} .strip-level', '{strip} .strip-meter')", 15)
    checker.check(page, "control room")
    page.screenshot(path=str(ARTIFACTS / "a11y-control-room.png"))

    # An operator with a booking to answer.
    log_in(page, server, "operator-qazcontent", f"/bookings/{demo}")
    checker.check(page, "booking page, to answer")
    page.locator("form[data-opens='decline-qazcontent'] button").click()
    page.get_by_role("dialog").wait_for()
    checker.check(page, "booking page, decline dialog")
    page.screenshot(path=str(ARTIFACTS / "a11y-answer.png"))

    # The console on air, with the REC mark on its tally: its clock a minute into the show
    # (the server takes no booking in the past; the clock is the whole browser's, so this comes
    # last), and the bridge's answer saying the room records (a real recording is more than a
    # shared two-core machine should carry for a look at a label).
    console.bring_to_front()
    console.route("**/state?*", _recording)
    console.clock.install(time=starts + timedelta(minutes=1))
    wait(console, "() => document.getElementById('tally').dataset.tally === 'onair'", 20)
    wait(console, "() => !document.getElementById('tally-rec').hidden", 20)
    wait(console, f"() => {LEVEL_SHOWN}('#mic-level', '#mic-meter')", 15)  # after the jump too
    checker.check(console, "studio console, on air and recording")
    console.screenshot(path=str(ARTIFACTS / "a11y-console.png"))
    console.unroute_all(behavior="ignoreErrors")

    checker.verdict()


def test_the_first_tab_stop_skips_to_the_content(server: str, browser_context: Any) -> None:
    # (Not the login page: its name field has the focus when it opens.)
    page = browser_context.new_page()
    log_in(page, server, "producer")
    for path in ("/bookings", "/calendar", "/bookings/new", "/time-zone"):
        page.goto(server + path)
        page.keyboard.press("Tab")
        first = page.evaluate(
            "() => [document.activeElement.tagName, document.activeElement.className,"
            " document.activeElement.getAttribute('href')]"
        )
        assert first == ["A", "skiplink", "#main"], (path, first)
        # Shown while it has the focus, inside the window.
        box = page.locator("a.skiplink").bounding_box()
        assert box is not None and box["y"] >= 0 and box["height"] > 0, (path, box)
        page.keyboard.press("Enter")
        wait(page, "() => document.activeElement === document.getElementById('main')", 5)
        assert page.evaluate("() => document.getElementById('main').tagName") == "MAIN"
        # The next Tab goes on inside the content, not back to the top bar.
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => document.getElementById('main').contains(document.activeElement)"
        )
        assert inside, (path, page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)"))
