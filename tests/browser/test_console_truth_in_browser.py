"""What a studio console says is true, in Chromium against the real server:

- during the show a console that is not connected says NOT CONNECTED, never ON AIR; connected
  and in the picture it is ON AIR, and the return feed says "on air";
- during the line check the return feed is a "preview" (not "live") and the countdown says it
  counts to air;
- after the show the tally is OFF AIR and counts to the link's close; once the link has closed
  the console says the show has ended, lets go of its pictures and stops asking the server;
- a booking cancelled during the show: the console says why and stops.

The console's own clock is moved with Playwright's clock where a test needs time to pass (the
server takes no booking in the past);
the server's side of the window is tested with a movable clock in tests/web/test_room_window.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from live_helpers import LIGHT_QUALITY, wait

from harness.api import api, book
from harness.server import producer_token
from harness.waiting import eventually_sync

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

TALLY = "() => document.getElementById('tally').dataset.tally"
LABEL = "#tally .tally-label"
PROGRAM_STATUS = "() => document.getElementById('program-tile').dataset.status"


def _tally_is(phase: str) -> str:
    return f"() => document.getElementById('tally').dataset.tally === '{phase}'"


def test_a_console_is_on_air_only_while_connected_and_says_why_it_stops(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    # The server takes no booking in the past: the show starts in two minutes, and the
    # console's clock is a minute into it (the tally goes by the console's clock and the
    # bridge's word that the studio is in the picture, which it is in the line check too).
    starts = datetime.now(UTC) + timedelta(minutes=2)
    links = book(
        server,
        token,
        ["trend", "dha"],
        starts - datetime.now(UTC),
        title="Truth on air",
        quality=LIGHT_QUALITY,
    )
    booking = urlsplit(links["trend"]).path.split("/")[2]
    page = browser_context.new_page()
    page.clock.install(time=starts + timedelta(minutes=1))
    page.goto(links["trend"])

    # Opened during the show but not joined: not on air, and it says so.
    wait(page, _tally_is("unjoined"), 10)
    assert page.locator(LABEL).inner_text() == "NOT CONNECTED"
    assert page.locator("#countdown-label").inner_text().lower() == "to end"
    assert page.locator("#tally-rec").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "console-not-connected.png"))

    page.click("#join")
    wait(page, _tally_is("onair"), 45)  # connected, and in the auto layout's picture
    assert page.locator(LABEL).inner_text() == "ON AIR"
    assert page.locator("#on-air-for").is_visible()
    # The return feed arrives during the show: "on air", not a preview.
    wait(page, f"() => ({PROGRAM_STATUS})() === 'live'", 30)
    assert page.locator("#program-tile .tile-status").text_content() == "on air"
    # On a desk screen the partner's picture is above the fold, beside the program.
    page.set_viewport_size({"width": 1440, "height": 900})
    box = page.locator(".tile[data-partner='dha'] video").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, box
    page.screenshot(path=str(ARTIFACTS / "console-on-air.png"))

    # Leaving: no longer on air, whatever the program shows.
    page.click("#leave")
    wait(page, _tally_is("unjoined"), 10)

    # Joined again, then the producer cancels: the console says why and stops asking.
    page.click("#join")
    wait(page, _tally_is("onair"), 45)
    api(server, token, "POST", f"/api/bookings/{booking}/cancel", {"reason": "studio flooded"})
    wait(page, "() => window.telebridge.ended === true", 15)
    assert "cancelled" in page.locator("#console-error").inner_text()
    assert page.evaluate("() => window.telebridge.pc") is None
    assert page.locator(LABEL).inner_text() != "ON AIR"
    _no_more_state_requests(page)


def test_line_check_then_after_the_show_then_closed(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(
        server,
        token,
        ["trend", "dha"],
        timedelta(minutes=5),
        title="Truth line check",
        quality=LIGHT_QUALITY,
    )
    page = browser_context.new_page()
    page.clock.install()  # the real time, moved forward below
    page.goto(links["trend"])
    page.click("#join")

    # The line check: the return feed arrives, and it is a preview, not "live".
    wait(
        page,
        "() => { const p = window.telebridge.stats.program; return p && p.status === 'live'; }",
        45,
    )
    wait(page, f"() => ({PROGRAM_STATUS})() === 'preview'", 5)
    assert page.locator("#program-tile .tile-status").text_content() == "preview"
    assert page.evaluate(TALLY) == "standby"
    assert page.locator(LABEL).inner_text() == "LINE CHECK"
    assert page.locator("#countdown-label").inner_text().lower() == "to air"
    page.screenshot(path=str(ARTIFACTS / "console-line-check.png"))

    # Istanbul joins: Baku's console shows its level and when it talks (the fake microphone
    # beeps once a second); Baku's cough key silences it at Istanbul and shows on the desk.
    istanbul = browser_context.new_page()
    istanbul.goto(links["dha"])
    istanbul.click("#join")
    wait(page, "() => (window.telebridge.levels.dha ?? -99) > -40", 45)
    wait(page, "() => !document.querySelector('.tile[data-partner=dha] .tile-talking').hidden", 10)
    meter = page.locator(".tile[data-partner='dha'] .tile-meter")
    assert meter.get_attribute("aria-valuetext", timeout=1000) is not None
    wait(istanbul, "() => (window.telebridge.levels.trend ?? -99) > -40", 30)
    page.click("#mic-off")
    assert page.locator("#mic-off").get_attribute("aria-pressed") == "true"
    booking = urlsplit(links["trend"]).path.split("/")[2]
    _eventually_mic_off(server, token, booking, True)
    # Silence at Istanbul: once what was on its way has played (a busy machine buffers more),
    # 2.5 s without a beep from Baku, which beeps every second while its microphone is on.
    _quiet_for(istanbul, "trend", seconds=2.5)
    page.click("#mic-off")
    _eventually_mic_off(server, token, booking, False)
    wait(istanbul, "() => (window.telebridge.levels.trend ?? -99) > -40", 30)
    istanbul.close()

    # After the show (5 min to air + the hour): off air, counting to the link's close.
    page.clock.fast_forward("01:06:00")
    wait(page, _tally_is("off"), 10)
    assert page.locator(LABEL).inner_text() == "OFF AIR"
    assert page.locator("#countdown-label").inner_text().lower() == "link closes in"
    assert page.locator("#tally-rec").is_hidden()

    # Past the teardown and the grace: the show has ended; pictures gone, no more requests.
    page.clock.fast_forward("00:20:00")
    wait(page, "() => window.telebridge.ended === true", 10)
    assert page.evaluate(TALLY) == "ended"
    assert page.locator(LABEL).inner_text() == "SHOW ENDED"
    assert "The show has ended" in page.locator("#console-error").inner_text()
    assert page.evaluate(
        "() => [...document.querySelectorAll('#console video')].every(v => !v.srcObject)"
    )
    assert page.locator("#quality-text").inner_text() != "Link good"
    page.screenshot(path=str(ARTIFACTS / "console-show-ended.png"))
    _no_more_state_requests(page)


def _eventually_mic_off(server: str, token: str, booking: str, off: bool) -> None:
    """The producer's sound desk (the program API) shows Baku's cough key as `off`."""

    def shown() -> bool | None:
        doc = api(server, token, "GET", f"/api/bookings/{booking}/program")
        return True if doc["program"]["audio"]["trend"]["mic_off"] is off else None

    eventually_sync(shown, timeout=10, interval=0.3, message=f"the desk shows mic_off={off}")


def _quiet_for(page: Any, partner: str, seconds: float, tries: int = 4) -> None:
    """Within `tries` windows, one of `seconds` in which the partner's level stays below the
    talking threshold (sampled every 50 ms)."""
    heard: list[float] = []
    while len(heard) < tries and (not heard or heard[-1] >= -40):
        heard.append(_loudest(page, partner, seconds))
    assert heard[-1] < -40, f"{partner} still heard ({heard} dBFS) with its microphone off"


def _loudest(page: Any, partner: str, seconds: float) -> float:
    loudest: float = page.evaluate(
        f"""() => new Promise((done) => {{
            let loudest = -99;
            const id = setInterval(() => {{
              loudest = Math.max(loudest, window.telebridge.levels['{partner}'] ?? -99);
            }}, 50);
            setTimeout(() => {{ clearInterval(id); done(loudest); }}, {int(seconds * 1000)});
        }})"""
    )
    return loudest


def _no_more_state_requests(page: Any) -> None:
    """Over the next two seconds (eight of the console's ticks) it asks the server nothing."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/state" in r.url else None)
    page.wait_for_timeout(2000)  # a stretch of silence is what is checked: nothing may come
    assert asked == []
