"""The studio console says why the camera or microphone did not start, in the operator's
language and by cause (permission denied, no device, device busy, not a secure page), in a real
Chromium whose getUserMedia fails the way a browser fails it (a DOMException of that name)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import LIGHT_QUALITY

from harness.api import book
from harness.server import producer_token
from web.pages.i18n import Catalogs

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser]
DENIED = (
    "The browser may not use the camera or microphone: allow both for this page (the camera "
    "icon in the address bar), then reload the page."
)
NO_DEVICE = "No camera or microphone was found: connect one, then reload the page."
BUSY = (
    "The camera or microphone is busy in another application: close it there, then reload the page."
)
INSECURE = (
    "The browser starts the camera only on a secure page: open the join link by its https:// "
    "address."
)
# getUserMedia's failure -> what the operator reads
CAUSES = {
    "NotAllowedError": DENIED,
    "NotFoundError": NO_DEVICE,
    "NotReadableError": BUSY,
    "OverconstrainedError": NO_DEVICE,  # the chosen camera was unplugged
}
FAIL_WITH = """(name) => {
  navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("no", name));
}"""
NO_MEDIA_DEVICES = "Object.defineProperty(navigator, 'mediaDevices', { value: undefined });"
LANGUAGE = {"az": "az-AZ,az;q=0.9", "ru": "ru-RU,ru;q=0.9", "en": "en-GB,en;q=0.9"}


def _console_error(context: Any, link: str, lang: str, init: str, shot: str) -> str:
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": LANGUAGE[lang]})
    page.add_init_script(init)
    page.goto(link)
    assert page.evaluate("document.documentElement.lang") == lang
    box = page.locator("#console-error")
    box.wait_for(state="visible")
    text: str = box.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"console-camera-{shot}-{lang}.png"))
    page.close()
    return text


def test_the_console_says_why_the_camera_did_not_start_in_the_operators_language(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "ansa"], timedelta(minutes=5), quality=LIGHT_QUALITY)
    catalogs = Catalogs()
    for lang in ("az", "ru"):
        t = catalogs.get(lang)
        for name, message in CAUSES.items():
            init = f"({FAIL_WITH})({name!r});"
            shown = _console_error(browser_context, links["trend"], lang, init, name)
            assert shown == t.gettext(message), (lang, name, shown)
            assert shown != message and "Error" not in shown, (lang, name, shown)
        shown = _console_error(browser_context, links["trend"], lang, NO_MEDIA_DEVICES, "http")
        assert shown == t.gettext(INSECURE), (lang, shown)
    # Anything else names the browser's error, in the sentence of the page's language.
    init = f"({FAIL_WITH})('TypeError');"
    shown = _console_error(browser_context, links["ansa"], "en", init, "other")
    assert shown == "The camera or microphone did not start (TypeError).", shown
