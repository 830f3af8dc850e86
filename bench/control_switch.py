"""How soon a switch is seen in the control room's program tile: switch to first picture.

Two aiortc studios send flat pictures of their own shade to a room that composes the program; an
aiortc control room connection receives the program as the control room page does (the
program's own H.264 over WebRTC) and decodes it. The producer's switch alternates between the
two studios alone on air; the figure is the time from the switch to the first decoded program
frame that shows the other studio, median and worst over the switches (the issue's goal: within
one second). The same run also prints how much of it the program's own frame clock and encoder
take (switch to the first packet of a frame composed after it).

    .venv/bin/python bench/control_switch.py [--switches 20]   (as root: enters a netns)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fractions
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.netns import ensure_netns
from harness.peer_close import close_peer
from harness.waiting import eventually

WIDTH, HEIGHT, FPS = 1280, 720, 30
SHADES = {"baku": 40, "rome": 200}


def _camera(shade: int) -> Any:
    import numpy as np
    from aiortc import MediaStreamTrack
    from av import VideoFrame

    picture = np.full((HEIGHT, WIDTH, 3), shade, dtype=np.uint8)

    class Camera(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.start: float | None = None

        async def recv(self) -> VideoFrame:
            loop = asyncio.get_running_loop()
            self.start = self.start or loop.time()
            self.n += 1
            await asyncio.sleep(max(0.0, self.start + self.n / FPS - loop.time()))
            frame = VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = self.n, fractions.Fraction(1, FPS)
            return frame

    return Camera()


async def _peer(room: Any, studio: str) -> Any:
    from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    pc.addTransceiver(_camera(SHADES[studio]), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    joined = await room.connect(studio, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
    return pc


async def _control(room: Any) -> tuple[Any, Any]:
    from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    for _ in range(len(SHADES) + 1):
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    joined = await room.control.connect(pc.localDescription.sdp, "bench")
    await pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
    by_mid = {t.mid: t for t in pc.getTransceivers()}
    return pc, by_mid[joined.program.video_mid].receiver.track


def _shade(frame: Any) -> float:
    import numpy as np

    return float(np.median(frame.to_ndarray(format="gray")[HEIGHT // 2, :: WIDTH // 64]))


async def run(switches: int) -> None:
    from bridge.room import Room
    from bridge.spec import RoomSpec, StudioSpec

    now = datetime.now(UTC)
    spec = RoomSpec(
        booking_id="bench",
        title="switch",
        studios=tuple(StudioSpec(s, s.upper()) for s in SHADES),
        opens_at=now - timedelta(minutes=1),
        on_air_at=now,
        off_air_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
    )
    room = Room(dataclasses.replace(spec, program=True))
    studios = [await _peer(room, s) for s in SHADES]
    control, program = await _control(room)
    assert room.production is not None
    engine = room.production.engine
    latest: dict[str, Any] = {}

    async def read() -> None:
        while True:
            frame = await program.recv()
            latest["frame"], latest["at"] = frame, time.perf_counter()

    reader = asyncio.ensure_future(read())
    seen: list[float] = []
    composed: list[float] = []
    try:
        # Until both studios' pictures are in the program.
        room.switch_program("grid")
        await eventually(lambda: engine.counters.frames >= 3 * FPS, timeout=30, interval=0.1)
        for i in range(switches):
            studio = list(SHADES)[i % 2]
            frames_before = engine.counters.frames
            switched = time.perf_counter()
            room.switch_program("solo", studio)
            await eventually(
                lambda: engine.counters.frames > frames_before,  # noqa: B023 (awaited here)
                timeout=5,
                interval=0.002,
            )
            composed.append(time.perf_counter() - switched)
            while True:
                await asyncio.sleep(0.002)
                frame, at = latest.get("frame"), latest.get("at", 0.0)
                if frame is not None and at > switched and abs(_shade(frame) - SHADES[studio]) < 30:
                    seen.append(at - switched)
                    break
                if time.perf_counter() - switched > 10:
                    seen.append(float("inf"))
                    break
            await asyncio.sleep(0.5)  # the picture settles before the next switch
    finally:
        reader.cancel()
        await close_peer(control)
        for pc in studios:
            await close_peer(pc)
        await room.close()
    ms = [s * 1000 for s in seen]
    print(f"switches: {len(ms)}")
    print(
        f"switch -> control room sees it: median {statistics.median(ms):.0f} ms, "
        f"worst {max(ms):.0f} ms (goal: within 1000 ms)"
    )
    print(
        f"switch -> first frame composed after it: median "
        f"{statistics.median(composed) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=20)
    args = parser.parse_args()
    ensure_netns()
    asyncio.run(run(args.switches))


if __name__ == "__main__":
    main()
