"""The consoles follow an edit of their booking's studios (issue 12), in Chromium.

A console whose studio is taken out of the booking stops and says why, rather than trying to
reconnect forever; its partner's console drops the studio's tile; once the studio is put back,
the partner's console gets a tile for it, offers again, and sees it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import LIGHT, LIGHT_QUALITY, sees, wait

from harness.api import api, book
from harness.server import api_token, producer_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

REMOVED = (
    "() => window.telebridge.removed === true"
    " && document.getElementById('console').dataset.state === 'removed'"
    " && document.getElementById('join').disabled"
    " && !window.telebridge.pc && !window.telebridge.wantJoined"
)


def _baku_and_istanbul_live(
    server: str, browser_context: Any, tmp_path: Path
) -> tuple[str, dict[str, str], str, Any, Any]:
    """A booking of Trend, DHA and Kabar in its line check, Baku's and Istanbul's consoles
    joined and seeing each other: the producer's token, the join links, the booking, the pages."""
    token = producer_token(tmp_path / "data")
    links = book(
        server, token, ["trend", "dha", "kabar"], timedelta(minutes=5), quality=LIGHT_QUALITY
    )
    booking = links["trend"].split("/join/")[1].split("/")[0]
    baku = browser_context.new_page()
    istanbul = browser_context.new_page()
    for page, studio in ((baku, "trend"), (istanbul, "dha")):
        page.goto(links[studio])
        page.click("#join")
    wait(baku, sees("dha", *LIGHT), 30)
    wait(istanbul, sees("trend", *LIGHT), 30)
    return token, links, booking, baku, istanbul


def test_a_removed_studio_is_told_and_its_partner_follows(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token, links, booking, baku, istanbul = _baku_and_istanbul_live(
        server, browser_context, tmp_path
    )

    api(server, token, "PATCH", f"/api/bookings/{booking}", {"studios": ["trend", "kabar"]})
    wait(istanbul, REMOVED, 10)
    assert istanbul.locator("#console-error").inner_text() == (
        "Your studio was removed from this booking"
    )
    wait(baku, "() => !document.querySelector('.tile[data-partner=\"dha\"]')", 10)
    istanbul.screenshot(path=str(ARTIFACTS / "console-studio-removed.png"))
    # A reload shows the reason too, and no console.
    istanbul.reload()
    assert "This studio is no longer part of this booking" in istanbul.content()
    assert istanbul.locator("#join").count() == 0

    # Put back: its link opens again; the partner's console makes its tile and offers again.
    api(server, token, "PATCH", f"/api/bookings/{booking}", {"studios": ["trend", "kabar", "dha"]})
    istanbul.goto(links["dha"])
    istanbul.click("#join")
    wait(baku, sees("dha", *LIGHT), 30)
    label = baku.locator('.tile[data-partner="dha"] strong').inner_text()
    assert label == "DHA · Istanbul"
    wait(istanbul, sees("trend", *LIGHT), 30)
    baku.screenshot(path=str(ARTIFACTS / "console-studio-added.png"))


def test_a_studio_that_declines_is_told_with_its_reason_and_its_partner_follows(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    """One of three declines during the line check: the booking waits for the producer with
    the studio still listed, but the studio's console stops and says so, in its own words."""
    _, _, booking, baku, istanbul = _baku_and_istanbul_live(server, browser_context, tmp_path)

    admin = api_token(tmp_path / "data", "admin")
    answer = {"studio": "dha", "reason": "Our uplink is down"}
    api(server, admin, "POST", f"/api/bookings/{booking}/decline", answer)
    wait(istanbul, REMOVED, 10)
    assert istanbul.locator("#console-error").inner_text() == (
        "Your studio declined this telebridge: Our uplink is down"
    )
    # Out of the show for good: no countdown, no stale pictures, no control that seems to work.
    assert istanbul.locator("#tally").get_attribute("data-tally") == "left"
    assert istanbul.locator(".tally-label").inner_text() == "NOT IN THIS SHOW"
    assert istanbul.locator("#countdown").inner_text() == ""
    wait(
        istanbul,
        "() => [...document.querySelectorAll('#console video')].every(v => !v.srcObject)",
        5,
    )
    assert istanbul.locator("#console button:enabled, #console textarea:enabled").count() == 0
    wait(baku, "() => !document.querySelector('.tile[data-partner=\"dha\"]')", 10)
    istanbul.screenshot(path=str(ARTIFACTS / "console-studio-declined.png"))
    istanbul.reload()
    assert "This studio declined this telebridge: Our uplink is down" in istanbul.content()
    assert istanbul.locator("#join").count() == 0
