"""A studio console forced through TURN (`?relay=1`) connects via a real coturn with the
credentials the server handed it, and the partner sees and hears it; an unreachable TURN server
listed first costs the consoles no stall."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import sees, wait
from turn_server import TurnServer, running_turn

from harness.api import book
from harness.server import producer_token, running_server
from harness.waiting import eventually_sync

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

# On the test network but nobody there: packets to it vanish (no ARP answer), like a TURN
# server behind a firewall that drops them.
UNREACHABLE_TURN = "turn:10.77.0.99:3478"
CONNECTED = (
    "() => window.telebridge.pc && window.telebridge.pc.connectionState === 'connected'"
    " && window.telebridge.gathering"
)
# The local candidate type of the console's selected pair, from Chromium's own stats.
SELECTED_LOCAL_TYPE = """async () => {
  const stats = await window.telebridge.pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = stats.get(s.selectedCandidatePairId);
    }
  });
  return pair ? stats.get(pair.localCandidateId).candidateType : null;
}"""
# How long Chromium itself takes to finish gathering with these iceServers (what a console
# waiting for "complete" would wait).
GATHER_COMPLETE_MS = """async () => {
  const data = JSON.parse(document.getElementById("console-data").textContent);
  const pc = new RTCPeerConnection({ iceServers: data.ice_servers });
  pc.createDataChannel("probe");
  const started = performance.now();
  const done = new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve(performance.now() - started);
    });
    setTimeout(() => resolve(null), 10000);
  });
  await pc.setLocalDescription(await pc.createOffer());
  const ms = await done;
  pc.close();
  return ms;
}"""


@pytest.fixture
def coturn() -> Iterator[TurnServer]:
    with running_turn("10.77.0.1", secret="browser-turn-secret") as server:
        yield server


def live_studio(base: str, token: str, booking_id: str, studio: str) -> dict[str, Any]:
    request = urllib.request.Request(
        base + "/api/live", headers={"Authorization": f"Bearer {token}"}
    )
    # A bound against hanging on a loaded machine (the server's loop may lag seconds there).
    with urllib.request.urlopen(request, timeout=45) as r:
        rooms = json.loads(r.read())["rooms"]
    room = next(r for r in rooms if r["booking_id"] == booking_id)
    found: dict[str, Any] = next(s for s in room["studios"] if s["id"] == studio)
    return found


def join(page: Any, link: str) -> tuple[float, dict[str, Any]]:
    """Open the console, join, and wait until connected: (seconds, the console's gathering)."""
    page.goto(link)
    page.wait_for_selector("#join")
    started = time.monotonic()
    page.click("#join")
    page.wait_for_function(CONNECTED, timeout=45_000, polling=50)
    seconds = time.monotonic() - started
    gathering: dict[str, Any] = page.evaluate("() => window.telebridge.gathering")
    return seconds, gathering


def test_a_console_forced_through_turn_connects_and_is_seen(
    browser_context: Any, tmp_path: Path, coturn: TurnServer
) -> None:
    settings = {
        # The dead TURN server first: the consoles must not wait for it.
        "TELEBRIDGE_ICE_SERVERS": f"{UNREACHABLE_TURN},{coturn.url}",
        "TELEBRIDGE_TURN_SECRET": coturn.secret,
    }
    with running_server(tmp_path, settings) as server:
        base = server.base
        token = producer_token(tmp_path / "data")
        links = book(base, token, ["trend", "ansa"], timedelta(minutes=5))
        booking_id = links["trend"].split("/join/")[1].split("/")[0]
        baku = browser_context.new_page()
        rome = browser_context.new_page()

        # Baku only through TURN (the operator's diagnostic), Rome as usual.
        baku_s, baku_gathering = join(baku, links["trend"] + "&relay=1")
        rome_s, rome_gathering = join(rome, links["ansa"])
        assert set(baku_gathering["types"]) == {"relay"}, baku_gathering
        assert "relay" in rome_gathering["types"] and "host" in rome_gathering["types"]

        seen_s = wait(rome, sees("trend"), 40)
        wait(baku, sees("ansa"), 40)
        assert baku.evaluate(SELECTED_LOCAL_TYPE) == "relay"
        assert rome.evaluate(SELECTED_LOCAL_TYPE) == "host"

        # The server's monitor sees Baku arrive through a relay, Rome directly.
        # (Sampled once a second: a busy machine may show a console's first connection later.)
        for studio, wanted in (("trend", "relay"), ("ansa", "host")):
            eventually_sync(
                lambda studio=studio, wanted=wanted: (
                    live_studio(base, token, booking_id, studio).get("candidate") == wanted
                ),
                timeout=20,
                interval=0.5,
                message=lambda studio=studio: live_studio(base, token, booking_id, studio),
            )

        # coturn relayed for Baku's credentials: this booking's, this studio's.
        log = coturn.log_text()
        assert coturn.allocations() >= 1
        assert f":{booking_id}.trend" in log
        reference = baku.evaluate(GATHER_COMPLETE_MS)

    print(
        f"\nwith {UNREACHABLE_TURN} listed first: join to connected {baku_s:.2f} s through TURN"
        f" (offer after {baku_gathering['ms']} ms), {rome_s:.2f} s direct (offer after"
        f" {rome_gathering['ms']} ms); partner picture 1280x720 with sound {seen_s:.1f} s later;"
        f" Chromium's own gathering completes after "
        + (f"{reference / 1000:.1f} s" if reference is not None else "more than 10 s")
    )
    # No stall: the offer goes when the working relay's candidate is in, not when the dead
    # server gives up (which is what "complete" waits for): against the same run's figure,
    # not a fixed time (a loaded machine once took 1.55 s for the direct console's offer).
    assert reference is None or reference > 3000
    assert baku_gathering["ms"] < (reference or 10_000), (baku_gathering, reference)
    assert rome_gathering["ms"] < (reference or 10_000), (rome_gathering, reference)
    # Connected, through TURN too, before Chromium's own gathering would even have completed
    # (it waits for the dead server).
    assert max(baku_s, rome_s) * 1000 < (reference or 10_000), (baku_s, rome_s, reference)
