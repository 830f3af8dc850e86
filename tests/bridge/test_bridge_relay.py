"""Real aiortc studios relayed through a Room: media flows packet by packet, untranscoded."""

from __future__ import annotations

import re
import time

import pytest
from bridge_peers import (
    StudioClient,
    assert_no_codecs_on_server,
    frame_of,
    shade_of,
    spec_for,
)

from bridge.errors import BadOffer, RoomClosed, UnknownStudio
from bridge.room import Room
from bridge.room_health import FEED_LOST_AFTER
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


async def test_two_studios_see_and_hear_each_other(room_factory) -> None:
    events: list = []
    room = room_factory("baku", "rome", events=events)
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)
        assert abs(await shade_of(baku.tracks["rome/video"]) - 200) < 20
        assert abs(await shade_of(rome.tracks["baku/video"]) - 40) < 20
        audio = await frame_of(rome.tracks["baku/audio"])
        assert audio.sample_rate == 48000
        assert_no_codecs_on_server(room)
        assert [e.kind.value for e in events].count("studio_joined") == 2
    finally:
        await baku.close()
        await rome.close()


async def test_three_studios_each_receive_both_partners(room_factory) -> None:
    room = room_factory("baku", "istanbul", "astana")
    clients = {
        "baku": StudioClient("baku", 2, shade=30),
        "istanbul": StudioClient("istanbul", 2, shade=120),
        "astana": StudioClient("astana", 2, shade=220),
    }
    shades = {"baku": 30, "istanbul": 120, "astana": 220}
    try:
        for c in clients.values():
            await c.join(room)
        for sid, client in clients.items():
            for partner, shade in shades.items():
                if partner == sid:
                    assert f"{partner}/video" not in client.tracks  # never your own back
                    continue
                assert abs(await shade_of(client.tracks[f"{partner}/video"], 4) - shade) < 20
                await frame_of(client.tracks[f"{partner}/audio"])
        assert_no_codecs_on_server(room)
    finally:
        for c in clients.values():
            await c.close()


async def test_a_studio_that_reconnects_is_seen_again_by_its_partner(room_factory) -> None:
    events: list = []
    room = room_factory("baku", "rome", events=events)
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    second = StudioClient("rome", 1, shade=150)
    try:
        await baku.join(room)
        await rome.join(room)
        track = baku.tracks["rome/video"]
        assert abs(await shade_of(track) - 200) < 20
        # Rome reloads: a new connection replaces the old one; Baku's track just goes on.
        await second.join(room)
        await rome.close()
        started = time.monotonic()
        while abs(await shade_of(track, 1) - 150) >= 20:
            assert time.monotonic() - started < 5, "Rome's new feed did not reach Baku in 5 s"
        joined = [e for e in events if e.kind.value == "studio_joined" and e.studio_id == "rome"]
        assert joined[-1].details == {"replaced": True}
        assert "rome" in room.sessions
    finally:
        await baku.close()
        await second.close()


async def test_the_watchdog_reports_a_lost_feed_within_two_seconds(room_factory) -> None:
    events: list = []
    room = room_factory("baku", "rome", events=events)
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)
        await shade_of(baku.tracks["rome/video"], 3)
        # Rome's sender stops dead (no BYE, no ICE close): only the watchdog can tell.
        for t in rome.pc.getTransceivers():
            if t.sender.track is not None:
                t.sender.track.stop()
        await eventually(
            lambda: any(e.kind.value == "feed_lost" for e in events),
            timeout=FEED_LOST_AFTER + 1.0,  # the bound is what is tested
            message="the watchdog reporting Rome's lost feed",
        )
        lost = next(e for e in events if e.kind.value == "feed_lost")
        assert lost.studio_id == "rome"
    finally:
        await baku.close()
        await rome.close()


@pytest.mark.parametrize(
    "sdp",
    [
        pytest.param("", id="empty"),
        pytest.param("hello", id="not sdp"),
        pytest.param("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", id="no media"),
        pytest.param("v=0\r\n" + "a=x\r\n" * 20000, id="oversized"),
        pytest.param("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n", id="no ice"),
        pytest.param("h264-mode-0", id="H.264 in packetization mode 0 only"),
    ],
)
async def test_broken_offers_are_refused_and_the_room_goes_on(room_factory, sdp: str) -> None:
    room = room_factory("baku", "rome")
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)
        if sdp == "h264-mode-0":  # an encoder whose H.264 is one NAL unit per packet
            sdp = _without_vp8(rome.pc.localDescription.sdp).replace(
                "packetization-mode=1", "packetization-mode=0"
            )
        with pytest.raises(BadOffer):
            await room.connect("rome", sdp)
        assert abs(await shade_of(baku.tracks["rome/video"], 3) - 200) < 20
    finally:
        await baku.close()
        await rome.close()


def _without_vp8(sdp: str) -> str:
    """`sdp` with VP8 (and its RTX) removed from the video m-lines."""
    vp8 = set(re.findall(r"a=rtpmap:(\d+) VP8/", sdp))
    vp8 |= {pt for pt, apt in re.findall(r"a=fmtp:(\d+) apt=(\d+)", sdp) if apt in vp8}
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("m=video"):
            parts = line.split(" ")
            line = " ".join(parts[:3] + [p for p in parts[3:] if p not in vp8])
        if any(
            line.startswith(f"a={k}:{pt} ") for pt in vp8 for k in ("rtpmap", "fmtp", "rtcp-fb")
        ):
            continue
        lines.append(line)
    return "\r\n".join(lines)


async def test_unknown_studio_and_closed_room_are_refused() -> None:
    room = Room(spec_for("baku", "rome"))
    client = StudioClient("tashkent", 1, shade=10)
    try:
        await client.pc.setLocalDescription(await client.pc.createOffer())
        with pytest.raises(UnknownStudio):
            await room.connect("tashkent", client.pc.localDescription.sdp)
        await room.close()
        with pytest.raises(RoomClosed):
            await room.connect("baku", client.pc.localDescription.sdp)
    finally:
        await client.close()
        await room.close()
