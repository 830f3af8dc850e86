"""Time as the producer thinks of it, in a real Chromium: a producer whose zone is Baku books
17:00 Baku with studios in Baku and Rome, sees "= 17:00 Baku · 14:00 Rome" while typing, reads
17:00 on the booking page and edits 17:00 with Baku chosen; a conflict shows the other booking's
busy window on the form's clock; the calendar's heading says its dates, in English and Russian;
a 15-minute booking stays readable; nothing is cut on a laptop or a phone (screenshots)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_interval
from login import log_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser
BAKU, ROME = ZoneInfo("Asia/Baku"), ZoneInfo("Europe/Rome")
SIZES = {"1440": (1440, 900), "390": (390, 844)}
# Nothing on the page is wider than the screen, and no zone name is cut inside its box.
OVERFLOW = """() => {
  const wide = document.documentElement.scrollWidth > window.innerWidth + 1;
  const names = '.corner-zone, .corner-offset, .conversion, .zonelink, #zone, #tz';
  const cut = [...document.querySelectorAll(names)]
    .filter((el) => el.offsetParent && el.scrollWidth > el.clientWidth + 1)
    .map((el) => el.className || el.id);
  // A zone's name or offset broken over two lines is cut too ("UTC+04:0" / "0").
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    // A rect that starts below the previous one's bottom is on a new line (a smaller label on
    // the same line only starts lower).
    let count = 0, bottom = -Infinity;
    for (const r of [...range.getClientRects()].sort((a, b) => a.top - b.top)) {
      if (r.top >= bottom - 1) count += 1;
      bottom = Math.max(bottom, r.bottom);
    }
    return count;
  };
  const broken = [...document.querySelectorAll('.corner-zone, .corner-offset, .zonelink')]
    .filter((el) => el.offsetParent && lines(el) > 1)
    .map((el) => `${el.className}: ${el.textContent}`);
  return {wide, cut: cut.concat(broken)};
}"""


def _show_day() -> date:
    """A Monday at least five days ahead (the demo booking is tomorrow): a week of its own."""
    today = datetime.now(BAKU).date() + timedelta(days=5)
    return today + timedelta(days=(7 - today.weekday()) % 7)


def _wall(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute)).strftime("%Y-%m-%dT%H:%M")


def _rome(day: date, hour: int, minute: int = 0) -> str:
    """The Baku wall clock's `hour` on Rome's clock (Rome keeps summer time, Baku does not)."""
    return datetime.combine(day, time(hour, minute), BAKU).astimezone(ROME).strftime("%H:%M")


def _no_overflow(page: Any, what: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert not found["wide"], f"{what}: the page is wider than the screen"
    assert not found["cut"], f"{what}: cut: {found['cut']}"


def test_a_baku_producer_books_reads_and_edits_1700_baku(server: str, browser_context: Any) -> None:
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, server, "producer")

    # The zone, picked where the language is: the menu.
    assert page.locator(".zonelink").inner_text().endswith("UTC")
    page.click(".zonelink")
    page.wait_for_url("**/time-zone?next=**")
    page.select_option("#time_zone", "Asia/Baku")
    page.click("form[action='/time-zone'] button[type=submit]")
    page.wait_for_url("**/bookings")
    assert page.locator(".zonelink").inner_text().endswith("Baku")

    day = _show_day()
    page.click("a.nav-cta")
    page.wait_for_url("**/bookings/new")
    assert page.input_value("#zone") == "Asia/Baku"  # the form starts on the user's clock
    page.fill("#title", "Caspian evening")
    page.check("input[name=studios][value=trend]")
    page.check("input[name=studios][value=ansa]")
    page.fill("#starts_local", _wall(day, 17))
    starts = page.locator("#starts-conversion")
    starts.wait_for()
    assert starts.inner_text() == f"= 17:00 Baku · {_rome(day, 17)} Rome"
    page.fill("#ends_local", _wall(day, 18))
    assert page.locator("#ends-conversion").inner_text() == f"= 18:00 Baku · {_rome(day, 18)} Rome"
    # Another studio's zone joins the line as it is chosen; a second Baku studio adds nothing.
    page.check("input[name=studios][value=kabar]")
    page.check("input[name=studios][value=azertac]")
    assert starts.inner_text() == f"= 17:00 Baku · 19:00 Bishkek · {_rome(day, 17)} Rome"
    page.uncheck("input[name=studios][value=kabar]")
    page.uncheck("input[name=studios][value=azertac]")
    for name, size in SIZES.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        _no_overflow(page, f"form at {name}")
        page.screenshot(path=str(ARTIFACTS / f"time-zones-form-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})

    page.click("form.booking-form button[type=submit]")
    page.wait_for_url("**/bookings/*?created=1*")
    booking_url = page.url.split("?")[0]
    when = page.locator(".booking-when").inner_text()
    assert when.endswith("17:00–18:00 Baku"), when

    page.goto(booking_url + "/edit")
    assert page.input_value("#starts_local") == _wall(day, 17)
    assert page.input_value("#zone") == "Asia/Baku"
    assert page.locator("#starts-conversion").inner_text().startswith("= 17:00 Baku")

    # A producer typing in Rome time runs into Trend: the conflict shows Trend's busy window
    # (line check 16:45 to teardown 18:05 Baku) on the Rome clock of the form.
    page.goto(server + "/bookings/new")
    page.fill("#title", "Rome calling")
    page.check("input[name=studios][value=trend]")
    page.check("input[name=studios][value=kabar]")
    page.select_option("#zone", "Europe/Rome")
    page.fill(
        "#starts_local",
        datetime.combine(day, time(17, 30), BAKU).astimezone(ROME).strftime("%Y-%m-%dT%H:%M"),
    )
    page.fill(
        "#ends_local",
        datetime.combine(day, time(18), BAKU).astimezone(ROME).strftime("%Y-%m-%dT%H:%M"),
    )
    page.click("form.booking-form button[type=submit]")
    window = page.locator("#conflict .conflict-window")
    window.wait_for()
    busy = f"{_rome(day, 16, 45)}–{_rome(day, 18, 5)} Rome"
    assert busy in window.inner_text() and "line check to teardown" in window.inner_text()
    page.screenshot(path=str(ARTIFACTS / "time-zones-conflict.png"), full_page=True)

    # A 15-minute show the same morning, for the calendar.
    page.goto(server + "/bookings/new")
    page.fill("#title", "Quick headline swap between the Central Asian desks")
    page.check("input[name=studios][value=uza]")
    page.check("input[name=studios][value=kabar]")
    page.fill("#starts_local", _wall(day, 9))
    page.fill("#ends_local", _wall(day, 9, 15))
    page.click("form.booking-form button[type=submit]")
    page.wait_for_url("**/bookings/*?created=1*")

    # The calendar of that week: its dates in the heading, in English and in Russian.
    iso_year, iso_week, _ = day.isocalendar()
    page.goto(f"{server}/calendar?week={iso_year}-W{iso_week:02d}")
    heading = page.locator("h1.week-dates")
    sunday = day + timedelta(days=6)
    assert heading.inner_text() == format_interval(day, sunday, "yMMMd", locale="en_GB")
    assert page.locator(".corner-zone").inner_text() == "Baku"
    short = page.locator(".event.is-short")
    assert short.count() == 1
    text = short.locator(".event-text")
    box = text.bounding_box()
    assert box is not None and box.get("height", 0) >= 16, box  # a readable line, not a sliver
    assert text.inner_text().startswith("09:00–09:15 Quick headline swap")
    short.focus()  # from the keyboard: all of it shows
    style = "el => getComputedStyle(el).whiteSpace"
    assert text.evaluate(style) == "normal"
    page.screenshot(path=str(ARTIFACTS / "time-zones-calendar-short-focused.png"))
    short.blur()
    assert text.evaluate(style) == "nowrap"
    assert page.locator(".corner-offset").inner_text() == "UTC+4"
    for name, size in SIZES.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        # The week grid on a wide screen, the list of days on a phone: the show in either.
        show = ".event.is-short:visible, .agenda-item:visible:has-text('Quick headline swap')"
        page.locator(show).scroll_into_view_if_needed()
        _no_overflow(page, f"calendar at {name}")
        page.screenshot(path=str(ARTIFACTS / f"time-zones-calendar-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})

    page.select_option("#language", "ru")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    assert heading.inner_text() == format_interval(day, sunday, "yMMMd", locale="ru")
    assert page.locator(".corner-zone").inner_text() == "Баку"

    # Master control's header: the producer's own clock (Baku) beside UTC, ticking.
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/monitor")
    page.wait_for_function(
        "() => /^\\d\\d:\\d\\d:\\d\\d$/.test(document.getElementById('zone-clock').textContent)"
    )
    # One tick sets both: read together, they show the same instant.
    shown, utc = page.evaluate(
        "() => ['zone-clock', 'utc-clock'].map((id) => document.getElementById(id).textContent)"
    )
    assert shown == f"{(int(utc[:2]) + 4) % 24:02d}{utc[2:]}", (shown, utc)  # Baku: UTC+4
    assert page.locator(".monitor-clock").first.inner_text().startswith("Баку")
    assert not errors, errors
