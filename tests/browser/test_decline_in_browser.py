"""Declines, cancellations and stopping a recording in Chromium (issue 14): each asks first in
the page (a labelled modal dialog, by mouse or keyboard), the producer is told who declined
and why and goes on without that studio, and a declined booking's page and the bookings list
say what is true."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from login import log_in

from harness.api import api, book
from harness.server import server_environment
from harness.waiting import eventually_sync

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser


def _token(tmp_path: Path, role: str) -> str:
    """A new API token of `role` for the test's server, from the CLI."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "web.cli", "token", "create"),
            *("--role", role, "--data-dir", str(tmp_path / "data")),
        ],
        env=server_environment(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def _booking_id(links: dict[str, str]) -> str:
    return next(iter(links.values())).split("/join/")[1].split("/")[0]


def _studio(base: str, token: str, booking: str, studio: str) -> dict[str, Any]:
    doc = api(base, token, "GET", f"/api/bookings/{booking}")["booking"]
    return dict(next(s for s in doc["studios"] if s["id"] == studio))


def _is_modal(page: Any, dialog_id: str) -> bool:
    return bool(page.evaluate("(id) => document.getElementById(id).matches(':modal')", dialog_id))


def test_operator_declines_with_a_reason_and_the_producer_goes_on_without_the_studio(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    admin = _token(tmp_path, "admin")
    booking = _booking_id(book(server, admin, ["trend", "dha", "kabar"], timedelta(days=2)))
    for studio in ("dha", "kabar"):
        api(server, admin, "POST", f"/api/bookings/{booking}/confirm", {"studio": studio})
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, server, "operator-trend", f"/bookings/{booking}")

    opener = page.locator("form[data-opens='decline-trend'] button")
    dialog = page.get_by_role("dialog", name="Decline for Trend?")  # labelled by its heading
    reason = page.get_by_label("Reason")
    opener.click()
    dialog.wait_for()
    assert _is_modal(page, "decline-trend")
    assert "The producer will decide whether to go on without Trend." in dialog.inner_text()
    assert page.evaluate("document.activeElement.id") == "decline-trend-reason"
    page.keyboard.press("Escape")  # changes nothing, and the focus is back on the button
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Decline"
    assert _studio(server, admin, booking, "trend")["status"] == "pending"

    page.keyboard.press("Enter")  # the button, by keyboard
    dialog.wait_for()
    page.get_by_role("button", name="Decline for Trend").click()  # no reason: the form says so
    assert dialog.is_visible()
    assert page.evaluate("document.getElementById('decline-trend-reason').validity.valueMissing")
    reason.fill("   ")  # blank is no reason either
    page.get_by_role("button", name="Decline for Trend").click()
    assert dialog.is_visible()
    assert _studio(server, admin, booking, "trend")["status"] == "pending"
    reason.fill("No crew tonight: the camera operator is ill")
    assert _is_modal(page, "decline-trend")  # opened by keyboard: as modal as by mouse
    page.screenshot(path=str(ARTIFACTS / "decline-dialog.png"))
    reason.press("Enter")
    page.wait_for_url("**?declined=1")
    assert "The producer sees your reason" in page.locator(".alert-ok").inner_text()
    trend = _studio(server, admin, booking, "trend")
    assert trend["status"] == "declined"
    assert trend["decline_reason"] == "No crew tonight: the camera operator is ill"
    doc = api(server, admin, "GET", f"/api/bookings/{booking}")["booking"]
    assert doc["status"] == "requested"

    log_in(page, server, "producer", f"/bookings/{booking}")
    banner = page.locator("#declined-trend")
    text = banner.inner_text()
    assert "Trend declined at" in text
    assert "«No crew tonight: the camera operator is ill»" in text
    assert "Trend declined — your decision" in page.locator(".waiting-line").inner_text()
    page.screenshot(path=str(ARTIFACTS / "decline-banner.png"), full_page=True)
    banner.get_by_role("button", name="Continue without Trend").click()
    page.wait_for_url("**?continued=1")
    assert page.locator("h1 .pill-confirmed").is_visible()
    assert page.locator("tr[data-studio=trend]").count() == 0
    assert page.locator(".decision-banner").count() == 0
    doc = api(server, admin, "GET", f"/api/bookings/{booking}")["booking"]
    assert (doc["status"], [s["id"] for s in doc["studios"]]) == ("confirmed", ["dha", "kabar"])


def test_a_declined_booking_is_upcoming_and_its_page_neither_counts_down_nor_links(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    admin = _token(tmp_path, "admin")
    declined = _booking_id(book(server, admin, ["trend", "dha"], timedelta(hours=2), "Declined"))
    api(
        server,
        admin,
        "POST",
        f"/api/bookings/{declined}/decline",
        {"studio": "dha", "reason": "Studio flooded"},
    )
    pending = _booking_id(book(server, admin, ["trend", "kabar"], timedelta(hours=4), "Pending"))
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, server, "producer", "/bookings")
    row = page.locator(f"tr[data-booking='{declined}']")
    assert row.locator(".pill-declined").is_visible()
    assert row.locator(".waits").inner_text() == "declined by DHA"
    waits = page.locator(f"tr[data-booking='{pending}'] .waits").inner_text()
    assert waits == "waiting for Trend, Kabar"
    ids = page.locator("tr[data-booking]").evaluate_all("rs => rs.map(r => r.dataset.booking)")
    assert ids.index(declined) < ids.index(pending)  # by time, not by status
    page.screenshot(path=str(ARTIFACTS / "bookings-declined-upcoming.png"), full_page=True)
    page.goto(f"{server}/bookings?when=past")
    assert page.locator(f"tr[data-booking='{declined}']").count() == 0

    page.goto(f"{server}/bookings/{declined}")
    assert page.locator("[data-countdown]").count() == 0
    assert page.locator(".joinlinks").count() == 0
    text = page.locator("#declined-dha").inner_text()
    assert "DHA declined at" in text and "«Studio flooded»" in text
    assert "The telebridge is declined for every studio." in text
    page.screenshot(path=str(ARTIFACTS / "booking-declined.png"), full_page=True)

    log_in(page, server, "operator-trend", "/bookings")
    assert page.locator(f"tr[data-booking='{pending}'] .waits").inner_text() == "needs your answer"


def test_cancel_and_stop_recording_ask_before_acting(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    producer = _token(tmp_path, "producer")
    # The line check has begun: the room is open and the page shows the live controls.
    booking = _booking_id(book(server, producer, ["trend", "dha"], timedelta(minutes=3)))

    def room_open() -> bool:
        try:
            api(server, producer, "GET", f"/api/bookings/{booking}/program")
        except urllib.error.HTTPError:
            return False
        return True

    eventually_sync(room_open, timeout=30, message="the room to open")
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    # The page believes a recording runs (no media needed); each stop it sends is counted.
    program = {"layout": "auto", "studio": None, "recording": True, "audio": {}}
    page.route(
        "**/api/bookings/*/program",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"program": program})
        ),
    )
    stops: list[str] = []

    def stop(route: Any) -> None:
        stops.append(route.request.method)
        route.fulfill(status=200, content_type="application/json", body='{"recording": false}')

    page.route("**/recording/stop", stop)
    log_in(page, server, "producer", f"/bookings/{booking}")

    stop_button = page.locator("#rec-stop")
    stop_button.wait_for()
    dialog = page.get_by_role("dialog", name="Stop the recording?")
    stop_button.click()
    dialog.wait_for()
    assert _is_modal(page, "rec-stop-dialog")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Keep recording"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    stop_button.click()
    dialog.get_by_role("button", name="Keep recording").click()
    dialog.wait_for(state="hidden")
    assert stops == []
    stop_button.click()
    # (Route handlers run while Playwright waits: wait for the answer, not with a sleep.)
    with page.expect_response("**/recording/stop"):
        dialog.get_by_role("button", name="Stop recording").click()
    assert stops == ["POST"]  # one stop, once asked: neither Escape nor "Keep" sent one

    cancel = page.get_by_role("dialog", name="Cancel this telebridge for every studio?")
    page.locator("form[data-opens='cancel'] button").click()
    cancel.wait_for()
    assert _is_modal(page, "cancel")
    cancel.get_by_role("link", name="Back").click()
    cancel.wait_for(state="hidden")
    assert api(server, producer, "GET", f"/api/bookings/{booking}")["booking"]["status"] == (
        "requested"
    )
    page.locator("form[data-opens='cancel'] button").click()
    cancel.get_by_label("Reason").fill("Story dropped")
    page.screenshot(path=str(ARTIFACTS / "cancel-dialog.png"))
    cancel.get_by_role("button", name="Cancel the telebridge").click()
    page.wait_for_url("**?cancelled=1")
    text = page.locator("#cancelled").inner_text()
    assert "Cancelled by producer at" in text and "«Story dropped»" in text
    assert page.locator("[data-countdown]").count() == 0
    assert api(server, producer, "GET", f"/api/bookings/{booking}")["booking"]["status"] == (
        "cancelled"
    )
