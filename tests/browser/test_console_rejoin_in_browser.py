"""A console whose room no longer has its connection offers again at once (the room was
reopened after a crash, or on another node), and a console another one replaced steps back
and says so instead of taking the studio back by itself."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import LIGHT, LIGHT_QUALITY, sees, wait

from harness.api import book
from harness.server import free_port, producer_token, running_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

SESSION = "() => window.telebridge.session"
IN_BRIDGE = (
    "() => !!window.telebridge.session && !!window.telebridge.pc"
    " && window.telebridge.pc.connectionState === 'connected'"
)


def test_consoles_rejoin_at_once_when_their_room_is_reopened_and_step_back_when_replaced(
    browser_context: Any, tmp_path: Path
) -> None:
    port = free_port()
    with running_server(tmp_path, port=port) as first:
        token = producer_token(first.data)
        links = book(
            first.base, token, ["trend", "dha"], timedelta(minutes=5), quality=LIGHT_QUALITY
        )
        pages = {sid: browser_context.new_page() for sid in ("trend", "dha")}
        for sid, page in pages.items():
            page.goto(links[sid])
            page.click("#join")
        wait(pages["trend"], sees("dha", *LIGHT), 30)
        wait(pages["dha"], sees("trend", *LIGHT), 30)
        before = {sid: page.evaluate(SESSION) for sid, page in pages.items()}
        os.kill(first.proc.pid, signal.SIGKILL)  # as a crash would: no goodbye to anyone
        first.proc.wait(timeout=10)
    # The same server back on its address and data: it opens the room again, empty. Each
    # console's poll learns that the room does not have its connection and offers again at
    # once; on a loaded machine ICE may notice first (when the restart takes longer than ICE's
    # few seconds), and the console offers all the same.
    with running_server(tmp_path, port=port):
        for sid, partner in (("trend", "dha"), ("dha", "trend")):
            page = pages[sid]
            rejoined = (
                "() => !!window.telebridge.session"
                f" && window.telebridge.session !== '{before[sid]}'"
            )
            wait(page, rejoined, 45)
            wait(page, IN_BRIDGE, 45)
            wait(page, sees(partner, *LIGHT), 45)

        # The studio's link opened on a second machine takes the studio over: the first
        # console leaves the bridge, says why, and offers Join to take the studio back (the two
        # never take it from each other by themselves).
        baku, spare = pages["trend"], browser_context.new_page()
        error = baku.locator("#console-error")
        message = error.get_attribute("data-text-replaced")
        assert message and "Another console joined as this studio" in message
        spare.goto(links["trend"])
        spare.click("#join")
        wait(spare, IN_BRIDGE, 30)
        wait(baku, "() => window.telebridge.replaced === true", 30)
        assert error.inner_text() == message
        assert baku.locator("#join").is_enabled() and not baku.locator("#leave").is_enabled()
        assert baku.evaluate("() => window.telebridge.wantJoined") is False
        assert baku.locator("#sending").inner_text() == ""  # no figures of a gone connection
        baku.screenshot(path=str(ARTIFACTS / "console-replaced.png"))
        baku.click("#join")
        wait(baku, IN_BRIDGE, 30)
        wait(spare, "() => window.telebridge.replaced === true", 30)
        assert error.is_hidden() and baku.evaluate("() => window.telebridge.replaced") is False
        wait(baku, sees("dha", *LIGHT), 30)
