"""Real aiortc studios relayed through a Room: media flows, packet by packet, untranscoded."""

from __future__ import annotations

import asyncio

import numpy as np
from conftest import StudioClient


async def _frame(track: object, timeout: float = 10.0) -> object:
    return await asyncio.wait_for(track.recv(), timeout)  # type: ignore[attr-defined]


async def test_two_studios_see_and_hear_each_other(room_factory) -> None:

    events: list[object] = []
    room = room_factory("baku", "rome", events=events)
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)
        frame = await _frame(baku.tracks["rome/video"])
        # Rome's frames reach Baku (shade 200), not Baku's own (40).
        for _ in range(10):
            frame = await _frame(baku.tracks["rome/video"])
        img = frame.to_ndarray(format="rgb24")
        assert abs(float(np.median(img)) - 200) < 20
        frame = await _frame(rome.tracks["baku/video"])
        for _ in range(10):
            frame = await _frame(rome.tracks["baku/video"])
        assert abs(float(np.median(frame.to_ndarray(format="rgb24"))) - 40) < 20
        audio = await _frame(rome.tracks["baku/audio"])
        assert audio.sample_rate == 48000
        # The server neither encoded nor decoded anything.
        for session in room.sessions.values():
            for t in session.pc.getTransceivers():
                assert t.sender._RTCRtpSender__encoder is None
                assert t.receiver._RTCRtpReceiver__decoder_thread is None
        kinds = [e.kind.value for e in events]
        assert kinds.count("studio_joined") == 2
    finally:
        await baku.close()
        await rome.close()
