"""The control room in Chromium: two studios live, the multiview moving, switching by click and
key, talkback to one console, cues and chat with the right console."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import sees, wait

from harness.api import api, book
from harness.server import producer_token
from harness.waiting import eventually_sync

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

# Frames decoded by a <video> so far (a picture that moves keeps counting).
FRAMES = (
    "(sel) => { const v = document.querySelector(sel);"
    " return v && v.videoWidth ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }"
)
# The green of the program's top band (y = 5%; Chromium's fake camera is green): black in side
# by side (two 16:9 pictures on a 16:9 frame leave bands above and under), the picture itself
# when one studio is alone on air.
TOP_BAND = """() => {
  const v = document.querySelector('#mv-program video');
  if (!v || !v.videoWidth) return -1;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const row = g.getImageData(0, Math.round(c.height * 0.05), c.width, 1).data;
  let sum = 0;
  for (let i = 1; i < row.length; i += 4) sum += row[i];
  return sum / (row.length / 4);
}"""


def _moving(page: Any, selector: str) -> None:
    """The <video> at `selector` shows a picture that keeps changing."""
    try:
        wait(page, f"() => ({FRAMES})('{selector}') > 0", 30)
    except AssertionError:
        page.screenshot(path=str(ARTIFACTS / "control-room-failed.png"))
        link = page.locator("#control-link").inner_text()
        raise AssertionError(f"{selector} shows nothing; the control room says: {link}") from None
    first = page.evaluate(FRAMES, selector)
    wait(page, f"() => ({FRAMES})('{selector}') > {first + 10}", 30)


def _program(server: str, token: str, booking: str) -> dict[str, Any]:
    return dict(api(server, token, "GET", f"/api/bookings/{booking}/program")["program"])


def test_the_producer_runs_the_show_from_the_control_room(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    # 540p: three pages decoding five pictures and two encoding, on two shared cores.
    links = book(server, token, ["trend", "ansa"], timedelta(minutes=5), quality="540p30")
    booking = links["trend"].split("/join/")[1].split("/")[0]
    consoles = {}
    for studio in ("trend", "ansa"):
        page = browser_context.new_page()
        page.goto(links[studio])
        page.click("#join")
        consoles[studio] = page
    wait(consoles["trend"], sees("ansa", 960, 540), 30)

    desk = browser_context.new_page()
    desk.set_viewport_size({"width": 1440, "height": 900})
    desk.goto(f"{server}/login?next=/bookings/{booking}/control")
    desk.fill("input[name=name]", "producer")
    desk.fill("input[name=password]", "telebridge-demo")
    desk.click("form[action='/login'] button[type=submit]")
    desk.wait_for_url(f"**/bookings/{booking}/control")

    # The multiview: the program and both studios' own pictures, live and moving.
    for selector in ("#mv-program video", "[data-tile=trend] video", "[data-tile=ansa] video"):
        _moving(desk, selector)
    assert desk.locator("#control-link").get_attribute("data-quality") == "good"
    wait(desk, "() => document.querySelector('[data-tile=trend]').dataset.status === 'live'", 10)
    assert desk.locator("[data-tile=ansa] figcaption strong").inner_text() == "ANSA Roma"
    assert desk.locator("[data-tile=trend] .mv-key").inner_text() == "1"
    assert desk.locator("[data-tile=trend]").get_attribute("data-on-program") == "true"
    wait(desk, f"() => ({TOP_BAND})() >= 0 && ({TOP_BAND})() < 20", 10)  # side by side

    # A click puts Trend alone on air; the program tile shows it (no bands), ANSA's tally off.
    clicked = time.monotonic()
    desk.click("[data-tile=trend]")
    wait(desk, f"() => ({TOP_BAND})() > 60", 10)
    seen_s = time.monotonic() - clicked
    assert _program(server, token, booking)["studio"] == "trend"
    wait(desk, "() => document.querySelector('[data-tile=ansa]').dataset.onProgram === 'false'", 15)
    print(f"\nclick to the program tile showing the switch: {seen_s:.2f} s")
    # Key 2: ANSA alone on air.
    desk.keyboard.press("2")
    eventually_sync(
        lambda: _program(server, token, booking)["studio"] == "ansa",
        timeout=15,
        message="key 2 puts ANSA on air",
    )
    wait(desk, "() => document.querySelector('[data-tile=ansa]').dataset.onProgram === 'true'", 15)

    # Talkback to Trend: held, Trend's console says who talks; ANSA's does not.
    wait(desk, "() => !document.getElementById('ptt').disabled", 10)
    desk.check("[data-talk-to][value=trend]")
    ptt = desk.locator("#ptt")
    box = ptt.bounding_box()
    desk.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    desk.mouse.down()
    wait(consoles["trend"], "() => !document.getElementById('talkback-on').hidden", 10)
    assert "producer" in consoles["trend"].locator("#talkback-on").inner_text().lower()
    assert consoles["ansa"].locator("#talkback-on").is_hidden()
    wait(desk, "() => !document.querySelector('[data-tile=trend] .mv-talk').hidden", 15)
    assert ptt.get_attribute("aria-pressed") == "true"
    consoles["trend"].screenshot(path=str(ARTIFACTS / "console-talkback.png"))
    desk.mouse.up()
    wait(consoles["trend"], "() => document.getElementById('talkback-on').hidden", 10)
    # The space bar does the same, also right after ticking who hears (the checkbox keeps the
    # focus: the space bar talks rather than untick it). Held, it asks again when a request
    # gets no answer: here the first start is lost on the way, and the first stop gets a
    # proxy's 502 page instead of the server's answer.
    lost: list[str] = []

    def lose_the_first_of_each(route: Any) -> None:
        studios = json.loads(route.request.post_data or "{}").get("studios")
        kind = "start" if studios else "stop"
        if kind in lost:
            route.continue_()
            return
        lost.append(kind)
        if kind == "start":
            route.abort()
        else:
            route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>")

    desk.route("**/talkback", lose_the_first_of_each)
    # What the talkback line said meanwhile, in the page's words, not the browser's.
    desk.evaluate(
        "() => { const el = document.getElementById('talkback-status'); window.said = [];"
        " new MutationObserver(() => window.said.push(el.textContent))"
        ".observe(el, {childList: true, characterData: true, subtree: true}); }"
    )
    desk.keyboard.down("Space")
    wait(consoles["trend"], "() => !document.getElementById('talkback-on').hidden", 10)
    desk.keyboard.up("Space")
    wait(consoles["trend"], "() => document.getElementById('talkback-on').hidden", 10)
    assert lost == ["start", "stop"]
    said = desk.evaluate("() => window.said")
    assert said.count("No answer from the server") >= 2, said
    assert not any("fetch" in s or "HTTP" in s for s in said), said
    wait(desk, "() => document.getElementById('talkback-status').textContent === ''", 10)
    desk.unroute("**/talkback")
    assert desk.is_checked("[data-talk-to][value=trend]")

    # A cue to ANSA, lost on the way the first time: the desk says so in its own words (not
    # the browser's), and the cue goes when sent again.
    desk.route("**/cues", lambda route: route.abort())
    desk.click("[data-direction-studio=ansa] [data-cue=stand_by]")
    error = desk.locator("[data-direction-error]")
    wait(desk, "() => !document.querySelector('[data-direction-error]').hidden", 10)
    assert error.inner_text() == "Not sent: offline"
    desk.unroute("**/cues")
    # Then on ANSA's console only; acknowledged there, and the desk sees it.
    desk.click("[data-direction-studio=ansa] [data-cue=stand_by]")
    wait(consoles["ansa"], "() => !document.getElementById('cue').hidden", 10)
    assert consoles["ansa"].locator("#cue-label").inner_text() == "STAND BY"
    # ANSA's console may show the cue before the desk has read the answer to its own send.
    wait(desk, "() => document.querySelector('[data-direction-error]').hidden", 10)
    assert consoles["trend"].locator("#cue").is_hidden()
    consoles["ansa"].click("#cue-ack")
    wait(
        desk,
        "() => /acknowledged/.test(document.querySelector("
        "'[data-direction-studio=ansa] [data-cue-state]').textContent)",
        10,
    )

    # Chat: privately to ANSA, then to everyone; Trend gets only the second, as text. ANSA's
    # first read of the messages gets no answer at all: the console gives up on it and reads
    # again (a read left hanging once held every later one back, and the chat stood still).
    unanswered: list[Any] = []

    def no_answer_the_first_time(route: Any) -> None:
        if route.request.method == "GET" and not unanswered:
            unanswered.append(route)  # never fulfilled: the request hangs
        else:
            route.continue_()

    consoles["ansa"].route("**/messages?*", no_answer_the_first_time)
    chat = "[data-chat-form]"
    desk.fill(f"{chat} [data-chat-text]", "Rome only: <b>mic 2</b>")
    desk.select_option(f"{chat} [data-chat-to]", "ansa")
    desk.click(f"{chat} button[type=submit]")
    desk.fill(f"{chat} [data-chat-text]", "Everyone: thirty seconds")
    desk.select_option(f"{chat} [data-chat-to]", "")
    desk.click(f"{chat} button[type=submit]")
    for studio in ("ansa", "trend"):
        wait(
            consoles[studio],
            "() => /thirty seconds/.test(document.getElementById('chat-log').textContent)",
            15,
        )
    assert len(unanswered) == 1
    assert "Rome only: <b>mic 2</b>" in consoles["ansa"].locator("#chat-log").inner_text()
    assert "Rome only" not in consoles["trend"].locator("#chat-log").inner_text()

    # Trend's lower third: the first "Show" is lost on the way (the card says so in its own
    # words), the second puts it on air, and the API reads it back.
    graphics_posts: list[str] = []

    def lose_the_first_post(route: Any) -> None:
        if route.request.method == "POST" and not graphics_posts:
            graphics_posts.append("lost")
            route.abort()
        else:
            route.continue_()

    desk.route("**/graphics", lose_the_first_post)
    lower_third = "[data-graphics-studio=trend]"
    desk.fill(f"{lower_third} [data-lt-name]", "Aysel Mammadova")
    desk.fill(f"{lower_third} [data-lt-title]", "Anchor, Baku")
    status = "() => document.querySelector('[data-graphics-status]').textContent"
    desk.click(f"{lower_third} [data-lt-toggle]")
    wait(desk, f"{status} === 'Not sent: offline'", 10)
    desk.click(f"{lower_third} [data-lt-toggle]")
    wait(desk, f"{status} === 'On air'", 10)
    desk.unroute("**/graphics")
    shown = api(server, token, "GET", f"/api/bookings/{booking}/graphics")["graphics"]
    trend_third = next(lt for lt in shown["lower_thirds"] if lt["studio"] == "trend")
    assert trend_third["visible"] and trend_third["name"] == "Aysel Mammadova", trend_third
    assert desk.get_attribute(f"{lower_third} [data-lt-toggle]", "aria-pressed") == "true"

    # Trend calls the producer: its tile flashes until the call is answered.
    consoles["trend"].click("#call-producer")
    wait(
        desk,
        "() => document.querySelector('[data-tile=trend]').classList.contains('is-calling')",
        10,
    )
    desk.screenshot(path=str(ARTIFACTS / "control-room-1440.png"))
    desk.click("[data-direction-studio=trend] [data-answer]")
    wait(
        desk,
        "() => !document.querySelector('[data-tile=trend]').classList.contains('is-calling')",
        10,
    )
    wait(
        consoles["trend"],
        "() => document.getElementById('call-producer').getAttribute('aria-pressed') === 'false'",
        10,
    )

    desk.set_viewport_size({"width": 390, "height": 844})
    desk.screenshot(path=str(ARTIFACTS / "control-room-390.png"), full_page=True)
