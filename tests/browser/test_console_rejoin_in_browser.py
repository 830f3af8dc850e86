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
from live_helpers import sees, wait

from harness.api import book
from harness.server import free_port, producer_token, running_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

SESSION = "() => window.telebridge.session"
IN_BRIDGE = (
    "() => !!window.telebridge.session && !!window.telebridge.pc"
    " && window.telebridge.pc.connectionState === 'connected'"
)


def test_consoles_rejoin_at_once_when_their_room_is_reopened_after_a_crash(
    browser_context: Any, tmp_path: Path
) -> None:
    port = free_port()
    with running_server(tmp_path, port=port) as first:
        token = producer_token(first.data)
        links = book(first.base, token, ["trend", "dha"], timedelta(minutes=5))
        pages = {sid: browser_context.new_page() for sid in ("trend", "dha")}
        for sid, page in pages.items():
            page.goto(links[sid])
            page.click("#join")
        wait(pages["trend"], sees("dha"), 30)
        wait(pages["dha"], sees("trend"), 30)
        before = {sid: page.evaluate(SESSION) for sid, page in pages.items()}
        os.kill(first.proc.pid, signal.SIGKILL)  # as a crash would: no goodbye to anyone
        first.proc.wait(timeout=10)
    # The same server back on its address and data: it opens the room again, empty.
    with running_server(tmp_path, port=port):
        for sid, partner in (("trend", "dha"), ("dha", "trend")):
            page = pages[sid]
            rejoined = (
                f"() => window.telebridge.reopenedRejoins > 0"
                f" && window.telebridge.session && window.telebridge.session !== '{before[sid]}'"
            )
            wait(page, rejoined, 45)
            wait(page, sees(partner), 45)
        pages["trend"].screenshot(path=str(ARTIFACTS / "console-rejoined-after-crash.png"))


def test_a_console_replaced_by_another_of_its_studio_steps_back_and_says_so(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["aa", "uza"], timedelta(minutes=5))
    first, second = browser_context.new_page(), browser_context.new_page()
    first.goto(links["aa"])
    error = first.locator("#console-error")
    message = error.get_attribute("data-text-replaced")
    assert message and "Another console joined as this studio" in message
    first.click("#join")
    wait(first, IN_BRIDGE, 30)
    second.goto(links["aa"])  # the same studio's link, opened on a second machine
    second.click("#join")
    wait(second, IN_BRIDGE, 30)
    # The first console learns from its poll that the studio is the second's now: it leaves
    # the bridge, says why, and offers the Join button to take the studio back.
    wait(first, "() => window.telebridge.replaced === true", 30)
    assert error.inner_text() == message
    assert first.locator("#join").is_enabled() and not first.locator("#leave").is_enabled()
    assert first.evaluate("() => window.telebridge.wantJoined") is False
    first.screenshot(path=str(ARTIFACTS / "console-replaced.png"))
    # Taking it back is a click away, and then the second console steps back in its turn.
    first.click("#join")
    wait(first, IN_BRIDGE, 30)
    wait(second, "() => window.telebridge.replaced === true", 30)
    assert error.is_hidden()
    assert first.evaluate("() => window.telebridge.replaced") is False
