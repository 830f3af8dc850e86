"""An audience watches the joint broadcast: two studios on air from Chromium, the booking's HLS
output running, and the public watch page playing the program with its sound."""

from __future__ import annotations

import urllib.error
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import sees, wait

from harness.api import api
from harness.server import producer_token
from harness.waiting import eventually_sync

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]
TITLE = "Caspian energy week, live"
HLS_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "hls.min.js"

# What the picture on the page holds: drawn into a canvas (the stream is same-origin), its
# brightness spread tells a real picture from a black or one-colour frame.
PICTURE_SPREAD = """() => {
  const v = document.getElementById('watch-video');
  const c = document.createElement('canvas');
  c.width = 160; c.height = 90;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, c.width, c.height);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let sum = 0, sq = 0;
  for (let i = 0; i < d.length; i += 4) {
    const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    sum += y; sq += y * y;
  }
  const n = d.length / 4, mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}"""


def _book_public(server: str, token: str) -> tuple[str, dict[str, str]]:
    """A public booking of Trend (Baku) and DHA (Istanbul) in its line check now; its id and
    the studios' join links."""
    start = datetime.now(UTC) + timedelta(minutes=5)
    booking = api(
        server,
        token,
        "POST",
        "/api/bookings",
        {
            "title": TITLE,
            "studios": ["trend", "dha"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "setup_minutes": 15,
            "stream": "public",
        },
    )["booking"]
    links = api(server, token, "GET", f"/api/bookings/{booking['id']}/join-links")["links"]
    return booking["id"], {link["studio"]: link["url"] for link in links}


def _start(server: str, token: str, path: str) -> dict[str, Any] | None:
    """Start the output (None while the room is not open yet: 409)."""
    try:
        output: dict[str, Any] = api(server, token, "POST", path)["output"]
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            return None
        raise
    return output


def test_an_audience_watches_the_live_program_with_sound(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    booking_id, links = _book_public(server, token)
    output = api(
        server, token, "POST", f"/api/bookings/{booking_id}/outputs", {"kind": "hls", "name": "Web"}
    )["output"]
    assert output["target"] == f"/live/{booking_id}/index.m3u8"

    baku = browser_context.new_page()
    istanbul = browser_context.new_page()
    for page, studio in ((baku, "trend"), (istanbul, "dha")):
        page.goto(links[studio])
        page.click("#join")
    wait(baku, sees("dha"), 45)
    wait(istanbul, sees("trend"), 45)

    # The viewer arrives before the stream: the page says so, and then plays without a reload.
    viewer = browser_context.new_page()
    viewer.goto(f"{server}/watch/{booking_id}")
    assert viewer.evaluate("() => window.telebridgeWatch.state") == "scheduled"
    assert "has not started yet" in viewer.locator("#watch-message").inner_text()

    # On air early, by hand (the autopilot starts it at the booked start).
    start = f"/api/bookings/{booking_id}/outputs/{output['id']}/start"
    eventually_sync(
        lambda: _start(server, token, start), timeout=30, interval=0.5, message="output started"
    )
    eventually_sync(
        lambda: (
            api(server, token, "GET", f"/api/bookings/{booking_id}/outputs")["outputs"][0]["state"]
            == "live"
        ),
        timeout=30,
        interval=0.5,
        message="the HLS output is live",
    )

    seconds = wait(viewer, "() => window.telebridgeWatch.state === 'live'", 30)
    wait(
        viewer,
        "() => { const w = window.telebridgeWatch; return w.playing && w.currentTime > 0"
        " && w.audioBytes > 0; }",
        60,
    )
    # The picture moves on, and the sound keeps coming.
    before = viewer.evaluate(
        "() => [window.telebridgeWatch.currentTime, window.telebridgeWatch.audioBytes]"
    )
    wait(
        viewer,
        f"() => window.telebridgeWatch.currentTime > {before[0] + 2}"
        f" && window.telebridgeWatch.audioBytes > {before[1]}",
        30,
    )
    watch = viewer.evaluate(
        "() => { const w = window.telebridgeWatch;"
        " return {source: w.source, muted: w.muted, size: w.videoSize, error: w.error}; }"
    )
    print(f"\nLive on the watch page {seconds:.1f} s after the output went live: {watch}")
    # hls.js where it is vendored (it is preferred), else Chromium's own HLS.
    assert watch["source"] == ("hls.js" if HLS_JS.exists() else "native"), watch
    assert watch["size"] == [1280, 720], watch  # the program as composed, not re-scaled
    assert watch["muted"] and watch["error"] is None  # muted autoplay until the viewer says
    assert viewer.locator("#watch-live").is_visible()
    assert viewer.locator("#watch-unmute").is_visible()
    assert not viewer.locator("#watch-message").is_visible()
    assert viewer.locator("#watch-title").inner_text() == TITLE
    assert viewer.locator("#watch-cities").inner_text() == "Baku · Istanbul"
    assert viewer.locator("#watch-elapsed").inner_text().count(":") == 2  # the running clock
    spread = float(viewer.evaluate(PICTURE_SPREAD))
    assert spread > 8, f"the picture is flat (luma spread {spread:.1f}): black or a slate"
    ARTIFACTS.mkdir(exist_ok=True)
    viewer.screenshot(path=str(ARTIFACTS / "watch-live.png"))

    viewer.click("#watch-unmute")
    assert viewer.evaluate("() => window.telebridgeWatch.muted") is False
    assert not viewer.locator("#watch-unmute").is_visible()
