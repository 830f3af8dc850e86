"""A live room's health as master control sees it: real aiortc studios over the veth pair."""

from __future__ import annotations

import asyncio
import dataclasses
import io

import pytest
from bridge_peers import StudioClient, spec_for
from PIL import Image

from bridge.room import Room
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")


async def test_the_snapshot_shows_each_studio_live_and_then_gone() -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    baku = StudioClient("baku", 1, shade=40)
    rome = StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)

        async def both_live() -> bool:
            # Connected, pictures decoded, and the first RTCP receiver report (a round trip).
            studios = (await room.live_snapshot()).studios
            return all(
                s.connected and s.rtt_ms is not None and s.video is not None and s.video.width
                for s in studios
            )

        await eventually(both_live, timeout=20, interval=0.5, message="both studios live")
        await room.live_snapshot()  # starts the window
        await asyncio.sleep(2.0)  # stays: the window the figures are measured over
        snapshot = await room.live_snapshot()
        thumb = await room.thumbnail("rome")
        await rome.close()

        async def rome_gone() -> bool:
            rome_now = {s.id: s for s in (await room.live_snapshot()).studios}["rome"]
            return not rome_now.connected

        # Its close can take a while on a loaded machine; a window started after the room saw
        # it go holds none of its frames.
        await eventually(rome_gone, timeout=20, interval=0.2, message="the room seeing Rome go")
        await room.live_snapshot()
        await asyncio.sleep(2.0)  # stays: the window in which nothing of Rome's may arrive
        after = await room.live_snapshot()
    finally:
        await baku.close()
        await rome.close()
        await room.close()
    by_id = {s.id: s for s in snapshot.studios}
    for sid in ("baku", "rome"):
        s = by_id[sid]
        assert s.connected and s.candidate == "host" and not s.feed_lost
        assert s.video is not None and s.audio is not None
        assert (s.video.width, s.video.height) == (320, 180)  # the synthetic camera
        assert s.video.fps is not None and 25 <= s.video.fps <= 35 and s.video.kbps > 5
        assert s.audio.kbps > 10 and s.audio.level_dbfs is not None
        assert s.loss_pct == 0.0 and s.last_packet_age_ms is not None
        assert s.last_packet_age_ms < 500
        assert s.rtt_ms is not None and s.rtt_ms < 100
    assert snapshot.program is not None and snapshot.program.frames > 0
    assert snapshot.recorders == ()  # not recording
    image = Image.open(io.BytesIO(thumb or b""))
    assert image.size == (320, 180) and abs(sum(image.getpixel((10, 90))) / 3 - 200) < 30
    gone = {s.id: s for s in after.studios}["rome"]
    assert not gone.connected and gone.feed_lost
    assert gone.last_packet_age_ms is not None and gone.last_packet_age_ms > 2000
    assert gone.video is not None and gone.video.fps == 0
