"""The producer's sound desk in Chromium: two studios live, a fader moved, a studio muted."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import LIGHT, LIGHT_QUALITY, sees, wait

from harness.api import api, book
from harness.server import producer_token
from harness.waiting import eventually_sync

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]


def _audio(server: str, token: str, booking: str) -> dict[str, Any]:
    program: dict[str, Any] = api(server, token, "GET", f"/api/bookings/{booking}/program")[
        "program"
    ]
    return dict(program["audio"])


def _in_the_room(check: Callable[[], bool]) -> None:
    """Wait until the room's program sound (from the API) passes `check`."""
    eventually_sync(check, timeout=10, message="the room getting the change")


def test_the_producer_moves_a_fader_and_mutes_a_studio_on_air(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "ansa"], timedelta(minutes=5), quality=LIGHT_QUALITY)
    booking = links["trend"].split("/join/")[1].split("/")[0]
    consoles = {}
    for studio in ("trend", "ansa"):
        page = browser_context.new_page()
        page.goto(links[studio])
        page.click("#join")
        consoles[studio] = page
    wait(consoles["trend"], sees("ansa", *LIGHT), 30)

    desk = browser_context.new_page()
    desk.goto(f"{server}/login?next=/bookings/{booking}")
    desk.fill("input[name=name]", "producer")
    desk.fill("input[name=password]", "telebridge-demo")
    desk.click("form[action='/login'] button[type=submit]")
    desk.wait_for_url(f"**/bookings/{booking}")
    strips = desk.locator("#sound-desk [data-strip]")
    assert [strips.nth(i).get_attribute("data-strip") for i in range(2)] == ["trend", "ansa"]
    assert desk.locator("[data-strip=trend] .strip-name").inner_text() == "Trend"
    assert desk.locator("[data-strip=trend] .strip-gain").inner_text() == "0.0 dB"
    # The fake microphones beep: each meter moves with its studio's sound.
    for studio in ("trend", "ansa"):
        wait(
            desk,
            f"() => Number(document.querySelector('[data-strip={studio}] .strip-meter')"
            ".getAttribute('aria-valuenow')) > -60",
            15,
        )

    # One source of truth: over three seconds of beeps, the readout under each meter says
    # what its bar shows (the bar falls slowly after a beep; the readout used to drop at once).
    worst = desk.evaluate(
        """() => new Promise((done) => {
          let worst = 0;
          const look = () => {
            for (const strip of document.querySelectorAll('#sound-desk [data-strip]')) {
              const clip = strip.querySelector('.strip-meter-fill').style.clipPath;
              const top = Number((clip.match(/inset\\(([-0-9.e]+)%/) || [])[1]);
              const text = strip.querySelector('.strip-level').textContent;
              if (!clip || !text.endsWith('dBFS')) continue;
              const barDb = -60 + (100 - top) * 0.6;
              const number = Number(text.replace('−', '-').split(' ')[0]);
              const textDb = text.startsWith('<') ? -60 : number;
              worst = Math.max(worst, Math.abs(Math.max(barDb, -60) - textDb));
            }
          };
          const id = setInterval(look, 30);
          setTimeout(() => { clearInterval(id); done(worst); }, 3000);
        })"""
    )
    assert worst <= 1.5, f"a meter's readout and its bar differ by {worst:.1f} dB"

    # Twelve steps down with the keyboard: -6 dB, on air while the fader moves.
    fader = desk.locator("[data-strip=trend] .strip-fader")
    fader.focus()
    for _ in range(12):
        desk.keyboard.press("ArrowDown")
    _in_the_room(lambda: _audio(server, token, booking)["trend"]["gain_db"] == -6.0)
    assert desk.locator("[data-strip=trend] .strip-gain").inner_text() == "−6.0 dB"
    assert fader.input_value() == "-6"

    # Mute ANSA: pressed on screen and in the room; Trend keeps its gain.
    mute = desk.locator("[data-strip=ansa] .strip-mute")
    mute.click()
    _in_the_room(lambda: _audio(server, token, booking)["ansa"]["muted"] is True)
    assert mute.get_attribute("aria-pressed") == "true"
    audio = _audio(server, token, booking)
    assert (audio["trend"]["gain_db"], audio["trend"]["muted"]) == (-6.0, False)
    time.sleep(1.0)  # stays: for the screenshot only (the meters' peak marks settle)
    desk.screenshot(path=str(ARTIFACTS / "program-sound-desk.png"), full_page=True)
    desk.locator("#live-control").screenshot(path=str(ARTIFACTS / "program-sound-strips.png"))

    # A double-click puts a fader back at 0 dB.
    fader.dblclick()
    _in_the_room(lambda: _audio(server, token, booking)["trend"]["gain_db"] == 0.0)

    # The page reloaded shows the room's state, not its defaults.
    desk.reload()
    wait(
        desk,
        "() => document.querySelector('[data-strip=ansa] .strip-mute')"
        ".getAttribute('aria-pressed') === 'true'",
        15,  # the desk reads the room back on its next poll: slow on a loaded machine
    )

    # A refusal shows under the strip it belongs to.
    desk.route(
        "**/program/audio",
        lambda route: route.fulfill(
            status=409,
            content_type="application/json",
            body=json.dumps(
                {"error": {"code": "room_not_open", "message": "The room is not open now"}}
            ),
        ),
    )
    desk.locator("[data-strip=trend] .strip-mute").click()
    error = desk.locator("[data-strip=trend] .strip-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "The room is not open now"
    # ... and the controls go back to what the room says.
    wait(
        desk,
        "() => document.querySelector('[data-strip=trend] .strip-mute')"
        ".getAttribute('aria-pressed') === 'false'",
        15,  # the desk reads the room back on its next poll: slow on a loaded machine
    )
    assert _audio(server, token, booking)["trend"]["muted"] is False

    # One audit line per gesture, written once the control rests (1.5 s).
    sound: list[dict[str, Any]] = []

    def last_gesture_logged() -> bool:
        events = api(server, token, "GET", f"/api/bookings/{booking}/audit")["events"]
        sound[:] = [e["details"] for e in events if e["action"] == "changed the program sound"]
        return bool(sound) and sound[-1] == {"studio": "trend", "gain_db": 0.0, "muted": False}

    eventually_sync(
        last_gesture_logged,
        timeout=15,
        interval=0.3,
        message=lambda: f"the fader's last gesture in the audit log ({sound})",
    )
    assert {"studio": "ansa", "gain_db": 0.0, "muted": True} in sound
