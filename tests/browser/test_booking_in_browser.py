"""A producer logs in, books through the form, and sees the conflict on a second try."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from login import log_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser


def _local_slot(days: int, hour: int, zone: str) -> tuple[str, str]:
    """datetime-local values for a one-hour slot `days` from today in `zone`."""
    tz = ZoneInfo(zone)
    day = (datetime.now(tz) + timedelta(days=days)).date()
    start = datetime.combine(day, time(hour), tz)
    end = start + timedelta(hours=1)
    return start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")


def _fill_booking(
    page: Any, title: str, studios: list[str], slot: tuple[str, str], zone: str
) -> None:
    page.fill("#title", title)
    for studio in studios:
        page.check(f"input[name=studios][value={studio}]")
    page.fill("#starts_local", slot[0])
    page.fill("#ends_local", slot[1])
    page.select_option("#zone", zone)


def test_producer_books_through_the_form_and_sees_the_conflict(
    server: str, browser_context: Any
) -> None:
    page = browser_context.new_page()
    log_in(page, server, "producer")

    page.click("a.nav-cta")
    page.wait_for_url("**/bookings/new")
    slot = _local_slot(6, 14, "Asia/Baku")
    _fill_booking(
        page, "Silk Road economy: joint hour", ["trend", "dha", "ansa"], slot, "Asia/Baku"
    )
    page.click("form.booking-form button[type=submit]")
    page.wait_for_url("**/bookings/*?created=1*")

    assert page.locator("h1").inner_text().startswith("Silk Road economy: joint hour")
    # Each studio's local start in its own zone: 14:00 Baku is 13:00 Istanbul, and Rome is
    # 11:00 in winter (UTC+1) and 12:00 in summer (UTC+2).
    starts = {
        row.get_attribute("data-studio"): row.locator(".local-start").inner_text()
        for row in page.locator("tr[data-studio]").all()
    }
    assert starts["trend"].endswith("14:00")
    assert starts["dha"].endswith("13:00")
    rome = datetime.strptime(slot[0], "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo("Asia/Baku"))
    assert starts["ansa"].endswith(rome.astimezone(ZoneInfo("Europe/Rome")).strftime("%H:%M"))
    assert page.locator(".pill-requested").first.is_visible()
    assert page.locator(".joinlinks li").count() == 3
    page.screenshot(path=str(ARTIFACTS / "booking-page.png"), full_page=True)

    # The second try: Kabar and DHA half an hour later; DHA is busy (show + teardown).
    page.goto(server + "/bookings/new")
    later_start = datetime.strptime(slot[0], "%Y-%m-%dT%H:%M") + timedelta(minutes=30)
    later_end = later_start + timedelta(hours=1)
    later = (later_start.strftime("%Y-%m-%dT%H:%M"), later_end.strftime("%Y-%m-%dT%H:%M"))
    _fill_booking(page, "Central Asia morning link", ["kabar", "dha"], later, "Asia/Baku")
    page.click("form.booking-form button[type=submit]")

    conflict = page.locator("#conflict")
    conflict.wait_for()
    text = conflict.inner_text()
    assert "already booked" in text
    assert "DHA" in text
    assert "Silk Road economy: joint hour" in text
    # Nothing typed is lost.
    assert page.input_value("#title") == "Central Asia morning link"
    assert page.is_checked("input[name=studios][value=kabar]")
    page.screenshot(path=str(ARTIFACTS / "booking-conflict.png"), full_page=True)

    # And nothing was stored for the refused booking.
    page.goto(server + "/bookings")
    titles = page.locator(".bookings-table tbody a").all_inner_texts()
    assert "Central Asia morning link" not in titles
    assert "Silk Road economy: joint hour" in titles


def test_calendar_shows_the_week_in_the_chosen_zone(server: str, browser_context: Any) -> None:
    page = browser_context.new_page()
    log_in(page, server, "producer")
    page.goto(server + "/bookings")
    page.click(".bookings-table tbody a")
    booking_url = page.url
    page.goto(server + "/calendar?tz=Asia/Baku")
    if page.locator(".event").count() == 0:  # the demo booking is tomorrow: maybe next week
        page.click(".weeknav a[aria-label='Next week']")
    event = page.locator(".event").first
    event.wait_for()
    assert "15:00–16:00" in event.inner_text()  # the demo booking is at 15:00 Baku
    page.screenshot(path=str(ARTIFACTS / "calendar-week.png"), full_page=True)
    event.click()
    assert page.url.split("?")[0] == booking_url.split("?")[0]
