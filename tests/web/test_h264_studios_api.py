"""An encoder's H.264 through the app: accepted over WHIP and the console's offer, shown with
its codec in master control, and a console that cannot receive it is told so."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from live_studios import Link, Studio, book, sees
from webtools import ClockedApp

from harness.waiting import eventually


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


async def _state(c: ClockedApp, link: Link) -> dict[str, Any]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    assert resp.status == 200, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def _codecs(c: ClockedApp, booking: str) -> dict[str, str | None]:
    resp = await c.client.get("/api/live", headers=c.headers["producer"])
    assert resp.status == 200
    rooms = {r["booking_id"]: r for r in (await resp.json())["rooms"]}
    room = rooms.get(booking) or {"studios": []}
    return {s["id"]: (s.get("video") or {}).get("codec") for s in room["studios"]}


async def test_an_h264_encoder_over_whip_is_seen_by_a_console(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln = await book(c, c.clock() + timedelta(minutes=5))
    encoder = studios("trend", 40, partners=0, send="sendonly", sends="video/H264")
    console = studios("dha", 200)
    resp = await c.client.post(
        ln["trend"].whip,
        data=await encoder.offer(),
        headers={"Authorization": f"Bearer {ln['trend'].token}", "Content-Type": "application/sdp"},
    )
    assert resp.status == 201, await resp.text()
    answer = await resp.text()
    video = answer.split("m=video")[1].split("m=")[0]
    assert "H264/90000" in video and "VP8/90000" not in video
    # The bitrate hints reach an H.264 sender as they reach a VP8 one.
    assert re.search(
        r"a=fmtp:\d+ [^\r\n]*packetization-mode=1[^\r\n]*x-google-start-bitrate=", video
    )
    await encoder.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await console.join(c.client, ln["dha"])
    await sees(console, encoder)

    async def codecs_shown() -> dict[str, str | None] | None:
        # Each studio's codec shows once its first video packet has come (the console's may
        # come after the encoder's on a slow machine).
        codecs = await _codecs(c, ln["trend"].booking)
        return codecs if None not in (codecs.get("trend"), codecs.get("dha")) else None

    shown = await eventually(codecs_shown, timeout=15, message="master control's codecs")
    assert shown == {"trend": "H.264", "dha": "VP8"}
    assert (await _state(c, ln["dha"]))["unplayable"] == {}


async def test_a_console_that_offers_only_vp8_is_told_it_cannot_show_an_h264_partner(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln = await book(c, c.clock() + timedelta(minutes=5))
    trend = studios("trend", 40, sends="video/H264")
    dha = studios("dha", 200, receives=("video/VP8",))
    await trend.join(c.client, ln["trend"])
    await dha.join(c.client, ln["dha"])
    await sees(trend, dha)  # the other way round works

    async def told() -> dict[str, Any] | None:
        state = await _state(c, ln["dha"])
        return state if state["unplayable"] else None

    state = await eventually(told, timeout=15, message="DHA's console told of Trend's H.264")
    assert state["unplayable"] == {"trend": "H.264"}
    assert (await _state(c, ln["trend"]))["unplayable"] == {}
