"""WHIP ingest seen by a browser studio, and a three-studio bridge in Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from live_helpers import LIGHT, LIGHT_QUALITY, sees, wait
from synthetic_media import CameraTrack, ToneTrack, video_codecs

from harness.api import book
from harness.server import producer_token

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]


class WhipPublisher:
    """An aiortc encoder publishing over WHIP (RFC 9725) from its own thread and loop."""

    def __init__(self, endpoint: str, token: str, codec: str = "video/VP8") -> None:
        self.endpoint, self.token, self.codec = endpoint, token, codec
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.location: str | None = None
        self.pc: RTCPeerConnection | None = None

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def publish(self) -> None:
        self._run(self._publish())

    async def _publish(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        camera = self.pc.addTransceiver(CameraTrack(90, 640, 360), direction="sendonly")
        camera.setCodecPreferences(video_codecs(self.codec))
        self.pc.addTransceiver(ToneTrack(660), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        status, headers, answer = await asyncio.to_thread(
            self._post, self.pc.localDescription.sdp.encode()
        )
        assert status == 201, answer
        assert headers["Content-Type"].startswith("application/sdp")
        self.location = headers["Location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer.decode(), "answer"))

    def _post(self, body: bytes) -> tuple[int, Any, bytes]:
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=20) as r:
            return r.status, r.headers, r.read()

    def stop(self, base: str) -> int:
        status = 0
        if self.location:
            request = urllib.request.Request(
                base + self.location,
                method="DELETE",
                headers={"Authorization": f"Bearer {self.token}"},
            )
            with urllib.request.urlopen(request, timeout=45) as r:
                status = r.status
        if self.pc is not None:
            self._run(self.pc.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        return status


def test_an_encoder_publishing_over_whip_is_seen_by_a_browser_studio(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "dha"], timedelta(minutes=5))
    parts = urlsplit(links["dha"])
    join_token = parse_qs(parts.query)["token"][0]
    booking_id, studio = parts.path.split("/")[2:4]
    publisher = WhipPublisher(f"{server}/whip/{booking_id}/{studio}", join_token)

    # Without the join token WHIP says who may publish, and nothing changes.
    bare = urllib.request.Request(
        f"{server}/whip/{booking_id}/{studio}",
        data=b"v=0",
        method="POST",
        headers={"Content-Type": "application/sdp"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bare, timeout=45)
    assert refused.value.code == 401

    page = browser_context.new_page()
    page.goto(links["trend"])
    page.click("#join")
    try:
        publisher.publish()
        wait(page, sees("dha", 640, 360), 30)
        assert publisher.stop(server) == 200
        publisher = None
        # The watchdog and the console both see the encoder go.
        wait(page, "() => window.telebridge.stats.partners['dha'].status === 'lost'", 30)
    finally:
        if publisher is not None:
            publisher.stop(server)


# A browser that receives only VP8 (some builds have no H.264 decoder): the console's receive
# transceivers are narrowed to VP8 before it offers.
VP8_ONLY_RECEIVER = """
const addTransceiver = RTCPeerConnection.prototype.addTransceiver;
RTCPeerConnection.prototype.addTransceiver = function (kind, init) {
  const t = addTransceiver.call(this, kind, init);
  if (kind === "video" && init && init.direction === "recvonly") {
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
    t.setCodecPreferences(codecs.filter((c) => /VP8|rtx/i.test(c.mimeType)));
  }
  return t;
};
"""


def test_an_h264_encoder_is_seen_in_h264_and_a_vp8_only_console_says_it_cannot_show_it(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(
        server, token, ["trend", "dha", "uza"], timedelta(minutes=5), quality=LIGHT_QUALITY
    )
    parts = urlsplit(links["dha"])
    booking_id, studio = parts.path.split("/")[2:4]
    publisher = WhipPublisher(
        f"{server}/whip/{booking_id}/{studio}", parse_qs(parts.query)["token"][0], "video/H264"
    )
    both = browser_context.new_page()  # Chromium as it is: receives VP8 and H.264
    both.goto(links["trend"])
    both.click("#join")
    vp8_only = browser_context.new_page()
    vp8_only.add_init_script(VP8_ONLY_RECEIVER)
    vp8_only.goto(links["uza"])
    vp8_only.click("#join")
    try:
        publisher.publish()
        wait(both, sees("dha", 640, 360), 30)  # the encoder's H.264, relayed untouched
        codec = both.evaluate(
            "async () => { const s = await window.telebridge.pc.getStats(); let c = null;"
            " s.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video'"
            " && r.codecId && r.frameWidth === 640) c = s.get(r.codecId).mimeType; });"
            " return c; }"
        )
        assert codec == "video/H264", codec
        note = vp8_only.locator('.tile[data-partner="dha"] .tile-unplayable')
        note.wait_for(state="visible", timeout=45_000)
        assert "H.264" in note.inner_text() and "DHA" in note.inner_text()
        wait(vp8_only, "() => window.telebridge.stats.partners['dha'].status === 'soundOnly'", 30)
        assert both.locator('.tile[data-partner="dha"] .tile-unplayable').is_hidden()
        # The program comes back as H.264 too: that browser hears it and is told why it
        # does not see it.
        assert vp8_only.locator("#program-tile .tile-unplayable").is_visible()
        assert both.locator("#program-tile .tile-unplayable").is_hidden()
        wait(vp8_only, sees("trend", *LIGHT), 30)  # the browser partner it can show, it shows
        vp8_only.screenshot(
            path=str(
                Path(__file__).resolve().parents[2]
                / "test-artifacts"
                / "console-h264-unplayable.png"
            )
        )
    finally:
        # Its session may be gone already (a failure above): that must not hide the failure.
        with contextlib.suppress(urllib.error.HTTPError):
            publisher.stop(server)


CONSOLE_STATE = (
    "() => JSON.stringify({state: document.getElementById('console')?.dataset.state,"
    " stats: window.telebridge ? window.telebridge.stats : null})"
)


def test_three_studios_each_see_both_partners(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    studios = ["trend", "qazcontent", "uza"]
    # 540p: what is tested is that each of three sees both others (720p is the two-studio
    # test's), and three encoders and six decoders in one browser beside the server are the
    # heaviest load of the suite.
    links = book(server, token, studios, timedelta(minutes=5), quality=LIGHT_QUALITY)
    pages = {}
    for studio in studios:
        page = browser_context.new_page()
        page.goto(links[studio])
        page.click("#join")
        pages[studio] = page
    for studio, page in pages.items():
        for partner in studios:
            if partner != studio:
                try:
                    # On a machine with one core busy the first pictures take a while.
                    wait(page, sees(partner, *LIGHT), 60)
                except AssertionError as exc:
                    # What the partner's own console says: did it join, does it send?
                    own = pages[partner].evaluate(CONSOLE_STATE)
                    raise AssertionError(f"{studio} does not see {partner}: {exc}\n{own}") from None
    pages["trend"].screenshot(
        path=str(
            Path(__file__).resolve().parents[2] / "test-artifacts" / "console-three-studios.png"
        )
    )
