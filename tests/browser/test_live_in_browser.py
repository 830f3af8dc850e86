"""Studios join their telebridge from Chromium and see and hear each other through the server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser


def _has_host_address() -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.77.0.2", 9))
            return not s.getsockname()[0].startswith("127.")
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _need_host_address() -> None:
    if not _has_host_address():
        if os.environ.get("CI"):
            pytest.fail("no non-loopback address: CI must run the tests under .ci/netns")
        pytest.skip("WebRTC needs a non-loopback address: run under .ci/netns")


def _api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def _producer_token(data_dir: Path) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "web.cli",
            "token",
            "create",
            "--role",
            "producer",
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


def _book(base: str, token: str, studios: list[str], starts_in: timedelta) -> dict[str, str]:
    start = datetime.now(UTC) + starts_in
    booking = _api(
        base,
        token,
        "POST",
        "/api/bookings",
        {
            "title": "Live link test",
            "studios": studios,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "setup_minutes": 15,
        },
    )["booking"]
    links = _api(base, token, "GET", f"/api/bookings/{booking['id']}/join-links")["links"]
    return {link["studio"]: link["url"] for link in links}


def _wait(page: Any, expression: str, timeout_s: float) -> float:
    """Seconds until `expression` is true in the page (fails after `timeout_s`)."""
    started = time.monotonic()
    page.wait_for_function(expression, timeout=timeout_s * 1000, polling=200)
    return time.monotonic() - started


def _sees(partner: str, width: int = 1280, height: int = 720) -> str:
    return (
        f"() => {{ const p = window.telebridge && window.telebridge.stats.partners['{partner}'];"
        f" return p && p.width === {width} && p.height === {height} && p.audioBytes > 0"
        " && p.status === 'live'; }"
    )


def test_two_studios_see_and_hear_each_other_at_720p(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = _producer_token(tmp_path / "data")
    links = _book(server, token, ["trend", "ansa"], timedelta(minutes=5))
    baku = browser_context.new_page()
    rome = browser_context.new_page()
    for page, studio in ((baku, "trend"), (rome, "ansa")):
        page.goto(links[studio])
        page.click("#join")
    seconds = _wait(baku, _sees("ansa"), 30)
    _wait(rome, _sees("trend"), 30)
    target = baku.evaluate("() => window.telebridge.stats.outbound")
    assert target["width"] == 1280 and target["height"] == 720
    print(f"\nJoin to 1280x720 at the partner: {seconds:.1f} s; Baku sends {target}")
    assert baku.locator("#tally .tally-label").inner_text() == "LINE CHECK"
    baku.screenshot(path=str(ARTIFACTS / "console-two-studios.png"))

    # Rome reloads: the console rejoins by itself and Baku sees Rome again within 5 s.
    started = time.monotonic()
    rome.reload()
    rome.wait_for_function(_sees("trend"), timeout=15_000, polling=200)
    baku.wait_for_function(
        "() => { const p = window.telebridge.stats.partners['ansa'];"
        " return p && p.status === 'live' && p.width === 1280; }",
        timeout=15_000,
        polling=200,
    )
    back = time.monotonic() - started
    assert back < 5, f"Rome was back after {back:.1f} s"


def test_a_join_outside_the_window_is_refused_with_the_message(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = _producer_token(tmp_path / "data")
    links = _book(server, token, ["kabar", "uza"], timedelta(days=3))
    page = browser_context.new_page()
    page.goto(links["kabar"])
    assert "opens for the line check" in page.locator(".alert").inner_text()
    assert page.locator("#join").count() == 0
    # The signalling endpoint refuses it too, with the same reason.
    session = links["kabar"].replace("/join/", "/join/", 1).split("?")
    url = f"{session[0]}/session?{session[1]}"
    request = urllib.request.Request(
        url, method="POST", data=b'{"sdp": "v=0"}', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert json.loads(refused.value.read())["error"]["code"] == "not_open_yet"
