"""A producer adds the broadcast's outputs on the booking page: a mistake is named at its field,
a stream key is never shown again, and an output can be removed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.api import book
from harness.server import producer_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser
KEY = "live-key-7f2c-DO-NOT-SHOW"


def test_producer_adds_and_removes_outputs_on_the_booking_page(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "dha"], timedelta(days=2))
    booking_id = next(iter(links.values())).split("/join/", 1)[1].split("/", 1)[0]
    page = browser_context.new_page()
    page.goto(server + "/login")
    page.fill("input[name=name]", "producer")
    page.fill("input[name=password]", "telebridge-demo")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/bookings")
    page.goto(f"{server}/bookings/{booking_id}")
    assert page.locator("#no-outputs").is_visible()

    # RTMP shows URL and key, not the SRT fields; a URL of the wrong scheme is named there.
    form = page.locator("#add-output")
    page.select_option("#output-kind", "rtmp")
    assert page.locator("#output-key").is_visible()
    assert not page.locator("#output-passphrase").is_visible()
    page.fill("#output-name", "YouTube Live")
    page.fill("#output-url", "http://a.rtmp.youtube.com/live2")
    page.fill("#output-key", KEY)
    form.locator("button[type=submit]").click()
    error = page.locator("[data-field-error=url]")
    error.wait_for(state="visible")
    assert "rtmp://" in error.inner_text()
    assert page.locator("#output-key").input_value() == KEY  # nothing typed is lost

    page.fill("#output-url", "rtmp://a.rtmp.youtube.com/live2")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    row = page.locator("#output-rows tr").first
    assert row.locator(".output-target").inner_text() == "rtmp://a.rtmp.youtube.com/live2/••••"
    assert row.locator("[data-state]").inner_text().lower() == "idle"
    assert KEY not in page.content()

    # HLS takes no URL: only a name.
    page.locator(".add-output summary").click()
    page.select_option("#output-kind", "hls")
    assert not page.locator("#output-url").is_visible()
    page.fill("#output-name", "Turkic.World player")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("#output-rows tr").count() == 2
    assert page.locator("#output-rows tr").nth(1).locator(".output-target").inner_text() == (
        f"/live/{booking_id}/index.m3u8"
    )
    # Not open yet: an output cannot be started by hand before the line check.
    assert page.locator("#output-rows [data-output-action=start]").first.is_disabled()
    page.screenshot(path=str(ARTIFACTS / "booking-outputs.png"), full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#output-rows tr").first.locator("[data-output-action=remove]").click()
    page.wait_for_function("() => document.querySelectorAll('#output-rows tr').length === 1")
    page.reload()
    assert page.locator("#output-rows tr").count() == 1
    assert "YouTube" not in page.locator("#output-rows").inner_text()
