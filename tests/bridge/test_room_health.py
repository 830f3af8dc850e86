"""A live room's health as master control sees it: real aiortc studios over the veth pair."""

from __future__ import annotations

import asyncio
import dataclasses
import io

import pytest
from bridge_peers import StudioClient, spec_for
from PIL import Image

from bridge.room import Room

pytestmark = pytest.mark.usefixtures("test_network")


async def test_the_snapshot_shows_each_studio_live_and_then_gone() -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    baku = StudioClient("baku", 1, shade=40)
    rome = StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)
        await asyncio.sleep(2.0)
        await room.live_snapshot()  # starts the window
        await asyncio.sleep(2.0)
        snapshot = await room.live_snapshot()
        thumb = await room.thumbnail("rome")
        await rome.close()
        await asyncio.sleep(1.0)
        # The monitor samples every second; this window may still hold rome's last frames
        # (its close can take a while on a loaded machine), the next one cannot.
        await room.live_snapshot()
        await asyncio.sleep(2.0)
        after = await room.live_snapshot()
    finally:
        await baku.close()
        await rome.close()
        await room.close()
    by_id = {s["id"]: s for s in snapshot["studios"]}
    for sid in ("baku", "rome"):
        s = by_id[sid]
        assert s["connected"] and s["candidate"] == "host" and not s["feed_lost"]
        assert (s["video"]["width"], s["video"]["height"]) == (320, 180)  # the synthetic camera
        assert 25 <= s["video"]["fps"] <= 35 and s["video"]["kbps"] > 5
        assert s["audio"]["kbps"] > 10 and s["audio"]["level_dbfs"] is not None
        assert s["loss_pct"] == 0.0 and s["last_packet_age_ms"] < 500
        assert s["rtt_ms"] is not None and s["rtt_ms"] < 100
    assert snapshot["program"]["frames"] > 0 and snapshot["recording"] is None
    image = Image.open(io.BytesIO(thumb or b""))
    assert image.size == (320, 180) and abs(sum(image.getpixel((10, 90))) / 3 - 200) < 30
    gone = {s["id"]: s for s in after["studios"]}["rome"]
    assert not gone["connected"] and gone["feed_lost"] and gone["last_packet_age_ms"] > 2000
    assert gone["video"]["fps"] == 0
