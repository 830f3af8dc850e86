"""Server CPU per relayed 720p30 stream: packet passthrough against decode + re-encode.

One aiortc studio sends a textured 1280x720 30 fps picture to the bridge, one partner receives
it. The bridge runs in its own process, once as Telebridge's passthrough relay and once as the
naive relay (aiortc decodes the track and re-encodes it for the partner, via MediaRelay); the
figure is the bridge process's CPU seconds per second of media, in the same run.

    .venv/bin/python bench/relay_cpu.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.netns import ensure_netns
from harness.peer_close import close_peer

WIDTH, HEIGHT, FPS = 1280, 720, 30


def _textured_frames(n: int = 30) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        shifted = np.roll(base, i, axis=1).repeat(8, axis=0).repeat(8, axis=1)
        frames.append(np.ascontiguousarray(shifted))
    return frames


def _camera() -> Any:
    from aiortc import MediaStreamTrack
    from av import VideoFrame

    frames = _textured_frames()

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
            frame = VideoFrame.from_ndarray(frames[self.n % len(frames)], format="rgb24")
            frame.pts, frame.time_base = self.n * 3000, fractions.Fraction(1, 90000)
            return frame

    return Camera()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def server_main(conn: Any, mode: str) -> None:
    """The bridge process: answers offers, reports its CPU time on request."""
    asyncio.run(_serve(conn, mode))


async def _serve(conn: Any, mode: str) -> None:
    from datetime import UTC, datetime, timedelta

    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay

    from bridge.room import Room
    from bridge.spec import RoomSpec, StudioSpec

    now = datetime.now(UTC)
    room = Room(
        RoomSpec(
            "bench",
            "bench",
            (StudioSpec("a", "A"), StudioSpec("b", "B")),
            now,
            now,
            now + timedelta(hours=1),
            now + timedelta(hours=1),
        )
    )
    relay = MediaRelay()
    pcs: list[RTCPeerConnection] = []
    source_track: list[Any] = []
    loop = asyncio.get_running_loop()
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        kind = message[0]
        if kind == "offer":
            _, studio, sdp = message
            if mode == "passthrough":
                joined = await room.connect(studio, sdp)
                conn.send(joined.answer_sdp)
                continue
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pcs.append(pc)
            got = asyncio.Event()

            @pc.on("track")
            def on_track(track: Any, got: asyncio.Event = got) -> None:
                if track.kind == "video" and not source_track:
                    source_track.append(track)
                    got.set()

            await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            for t in pc.getTransceivers():
                if t.kind == "audio" and studio == "b":
                    continue  # the partner's own audio comes in; nothing to do with it
                if t.kind == "video" and studio == "b" and source_track:
                    t.sender.replaceTrack(relay.subscribe(source_track[0]))
                    t.direction = "sendonly"
                elif studio == "b":
                    t.direction = "inactive"
            await pc.setLocalDescription(await pc.createAnswer())
            conn.send(pc.localDescription.sdp)
        elif kind == "cpu":
            conn.send(_cpu())
        elif kind == "stop":
            await room.close()
            for pc in pcs:
                await close_peer(pc)
            conn.send("bye")
            return


async def _client(conn: Any, seconds: float) -> dict[str, float]:
    import av
    from aiortc import AudioStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    source = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    source.addTransceiver(_camera(), direction="sendonly")
    sink = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sink.addTransceiver(AudioStreamTrack(), direction="sendonly")  # a studio always sends
    sink.addTransceiver("video", direction="recvonly")

    async def offer(pc: RTCPeerConnection, studio: str) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        conn.send(("offer", studio, pc.localDescription.sdp))
        answer = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    await offer(source, "a")
    await asyncio.sleep(1.0)
    await offer(sink, "b")
    track = sink.getTransceivers()[1].receiver.track
    frames = 0
    sizes: list[tuple[int, int]] = []

    async def consume() -> None:
        nonlocal frames
        while True:
            frame = await track.recv()
            assert isinstance(frame, av.VideoFrame)  # a video receiver gives nothing else
            frames += 1
            sizes.append((frame.width, frame.height))

    reader = asyncio.ensure_future(consume())
    await asyncio.sleep(5.0)  # warm-up: ICE, DTLS, keyframe, bitrate ramp
    loop = asyncio.get_running_loop()
    conn.send(("cpu",))
    cpu0 = await loop.run_in_executor(None, conn.recv)
    frames0, t0 = frames, time.monotonic()
    await asyncio.sleep(seconds)
    conn.send(("cpu",))
    cpu1 = await loop.run_in_executor(None, conn.recv)
    elapsed = time.monotonic() - t0
    received = frames - frames0
    stats = await source.getStats()
    sent_bytes = sum(s.bytesSent for s in stats.values() if s.type == "outbound-rtp")
    reader.cancel()
    conn.send(("stop",))
    await loop.run_in_executor(None, conn.recv)
    await source.close()
    await sink.close()
    return {
        "cpu_per_s": (cpu1 - cpu0) / elapsed,
        "fps": received / elapsed,
        "size": sizes[-1][0] if sizes else 0,
        "height": sizes[-1][1] if sizes else 0,
        "mbps": sent_bytes * 8 / 1e6 / (elapsed + 6.0),
    }


def run(mode: str, seconds: float) -> dict[str, float]:
    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=server_main, args=(child, mode))
    server.start()
    try:
        return asyncio.run(_client(parent, seconds))
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    ensure_netns()
    results = {mode: run(mode, args.seconds) for mode in ("passthrough", "transcode")}
    for mode, r in results.items():
        print(
            f"{mode:12s} bridge CPU {r['cpu_per_s']:.3f} CPU-s/s  partner receives "
            f"{r['size']:.0f}x{r['height']:.0f} at {r['fps']:.1f} fps  "
            f"(source ~{r['mbps']:.2f} Mbps)"
        )
    ratio = results["transcode"]["cpu_per_s"] / max(results["passthrough"]["cpu_per_s"], 1e-9)
    print(f"decode + re-encode costs {ratio:.1f}x the passthrough relay's CPU")


if __name__ == "__main__":
    main()
