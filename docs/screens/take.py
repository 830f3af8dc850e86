"""The README's screenshots: the demo server, a live telebridge between two browser consoles,
and every screen at a desk (1440x900) and on a phone (390x844), into docs/screens/.

Run as root from the project's root, inside the test network namespace (WebRTC needs a host
address that is not loopback): `.ci/netns .venv/bin/python docs/screens/take.py`.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

from login import log_in  # noqa: E402

from harness.api import book  # noqa: E402
from harness.chromium import launch_chromium  # noqa: E402
from harness.server import producer_token, running_server  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZES = {"desk": (1440, 900), "phone": (390, 844)}
SEES_PARTNER = (
    "() => [...document.querySelectorAll('.tile[data-partner] video')]"
    ".some(v => v.videoWidth > 0 && !v.paused)"
)
SEES_PROGRAM = (
    "() => { const t = document.getElementById('program-tile');"
    " return t.dataset.status !== 'waiting' && t.querySelector('video').videoWidth > 0; }"
)
THUMBNAILS = (
    "() => { const imgs = [...document.querySelectorAll('.mstudio img')];"
    " return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }"
)
SETTLE_MS = 4000  # the program and the figures past their first seconds


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        base = server.base
        token = producer_token(Path(tmp) / "data")
        links = book(base, token, ["trend", "dha"], timedelta(minutes=3), "Caspian energy week")
        booking = links["trend"].split("/join/")[1].split("/")[0]
        with sync_playwright() as p:
            # Istanbul's console stays joined in the background: Baku sees a partner, the
            # program has two pictures, master control a live room.
            studio = launch_chromium(
                p, Path(tmp) / "istanbul", viewport={"width": 1440, "height": 900}
            )
            istanbul = studio.new_page()
            istanbul.goto(links["dha"])
            istanbul.click("#join")
            for size, (width, height) in SIZES.items():
                context = launch_chromium(
                    p, Path(tmp) / f"baku-{size}", viewport={"width": width, "height": height}
                )
                page = context.new_page()
                page.goto(links["trend"])
                page.click("#join")
                page.wait_for_function(SEES_PARTNER, timeout=60_000)
                page.wait_for_function(SEES_PROGRAM, timeout=60_000)
                page.wait_for_timeout(SETTLE_MS)
                page.screenshot(path=str(OUT / f"{size}-console.png"))
                desk = context.new_page()
                log_in(desk, base, "producer")
                for name, path in (
                    ("bookings", "/bookings"),
                    ("calendar", "/calendar"),
                    ("booking", f"/bookings/{booking}"),
                    ("master-control", "/monitor"),
                ):
                    desk.goto(base + path)
                    if name == "master-control":
                        desk.wait_for_function(THUMBNAILS, timeout=30_000)
                    if name in ("master-control", "booking"):
                        desk.wait_for_timeout(SETTLE_MS)  # the meters and figures come in
                    desk.screenshot(path=str(OUT / f"{size}-{name}.png"))
                context.close()
            studio.close()
    for shot in sorted(OUT.glob("*.png")):
        print(shot.relative_to(ROOT))


if __name__ == "__main__":
    main()
