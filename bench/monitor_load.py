"""Master control under load: 200 monitor WebSocket clients while two studios are live.

A real server (`telebridge serve --demo`) relays two aiortc studios (640x360 at 30 fps with a
tone) to each other. For a first stretch nothing watches; then 200 WebSocket clients attach to
`/ws/monitor` (from a separate process, so their own work does not load this one) for a second
stretch. Both stretches print the partner's received frame rate (what the relay delivers), the
server's event-loop lag (its own /metrics, worst per second) and, with clients, how many
snapshots each client got per second. Compare the two stretches of one run.

    .venv/bin/python bench/monitor_load.py [--clients 200] [--seconds 20]   (as root)
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.netns import ensure_netns  # noqa: E402
from harness.api import book  # noqa: E402
from harness.server import producer_token, running_server  # noqa: E402

# --- the studios ------------------------------------------------------------------------


def _studio_tracks(shade: int) -> tuple[Any, Any]:
    import numpy as np
    from aiortc import MediaStreamTrack
    from av import AudioFrame, VideoFrame

    class Camera(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.n, self.start = 0, time.monotonic()

        async def recv(self) -> VideoFrame:
            self.n += 1
            await asyncio.sleep(max(0.0, self.start + self.n / 30 - time.monotonic()))
            img = np.full((360, 640, 3), shade, np.uint8)
            x = (self.n * 8) % 640
            img[:, x : x + 16] = 255
            frame = VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = self.n * 3000, fractions.Fraction(1, 90000)
            return frame

    class Tone(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.n, self.start = 0, time.monotonic()

        async def recv(self) -> AudioFrame:
            await asyncio.sleep(max(0.0, self.start + self.n * 0.02 - time.monotonic()))
            t = (np.arange(960) + self.n * 960) / 48000
            pcm = (np.sin(2 * np.pi * (400 + shade) * t) * 6000).astype(np.int16)
            frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, self.n * 960
            frame.time_base = fractions.Fraction(1, 48000)
            self.n += 1
            return frame

    return Camera(), Tone()


async def _join(base: str, url: str, shade: int) -> tuple[Any, Any]:
    """An aiortc studio joined through the console's signalling; its partner's video track."""
    import aiohttp
    from aiortc import (
        RTCBundlePolicy,
        RTCConfiguration,
        RTCPeerConnection,
        RTCSessionDescription,
    )

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    camera, tone = _studio_tracks(shade)
    pc.addTransceiver(camera, direction="sendonly")
    pc.addTransceiver(tone, direction="sendonly")
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    parts = urlsplit(url)
    token = parse_qs(parts.query)["token"][0]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base}{parts.path}/session",
            params={"token": token},
            json={"sdp": pc.localDescription.sdp},
        ) as resp,
    ):
        body = await resp.json()
    await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "answer"))
    by_mid = {t.mid: t for t in pc.getTransceivers()}
    return pc, by_mid[body["slots"][0]["video_mid"]].receiver.track


# --- the monitor clients ----------------------------------------------------------------


def _clients(base: str, token: str, count: int, seconds: float, out: Any) -> None:
    """Runs in its own process: `count` sockets on /ws/monitor for `seconds`."""

    async def run() -> None:
        import aiohttp

        got = [0] * count
        size = [0] * count

        async def one(i: int, http: aiohttp.ClientSession) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.ws_connect(f"{base}/ws/monitor", headers=headers) as ws:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    try:
                        msg = await ws.receive(timeout=max(0.1, end - time.monotonic()))
                    except TimeoutError:
                        break
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    got[i] += 1
                    size[i] += len(msg.data)

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            await asyncio.gather(*(one(i, http) for i in range(count)), return_exceptions=True)
        out.put({"messages": got, "bytes": size})

    asyncio.run(run())


# --- measuring --------------------------------------------------------------------------


async def _stretch(base: str, token: str, track: Any, seconds: float) -> dict[str, list[float]]:
    """Per second: frames the partner decoded, and the server's worst loop lag."""
    frames = 0

    async def count() -> None:
        nonlocal frames
        while True:
            await track.recv()
            frames += 1

    counter = asyncio.ensure_future(count())
    fps: list[float] = []
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    try:
        for _ in range(int(seconds)):
            before, at = frames, loop.time()
            await asyncio.sleep(1.0)
            fps.append((frames - before) / (loop.time() - at))
            text = await loop.run_in_executor(None, _metrics, base, token)
            for line in text.splitlines():
                if line.startswith("telebridge_event_loop_lag_seconds "):
                    lags.append(float(line.split()[1]) * 1000)
    finally:
        counter.cancel()
    return {"fps": fps, "lag_ms": lags}


def _metrics(base: str, token: str) -> str:
    req = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return str(r.read().decode())


def _summary(name: str, data: dict[str, list[float]]) -> str:
    fps, lag = data["fps"], data["lag_ms"] or [0.0]
    return (
        f"{name:<22} partner fps median {statistics.median(fps):5.1f} (min {min(fps):4.1f})"
        f" | server loop lag median {statistics.median(lag):5.1f} ms, max {max(lag):6.1f} ms"
    )


async def _main(base: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    # Starts in five minutes: its line check is open now.
    links = book(base, token, ["trend", "ansa"], timedelta(minutes=5), title="Load")
    trend, ansa_video = await _join(base, links["trend"], 60)
    ansa, _trend_video = await _join(base, links["ansa"], 190)
    try:
        await asyncio.sleep(5.0)  # both flowing, the picture settled
        quiet = await _stretch(base, token, ansa_video, seconds)
        queue: Any = multiprocessing.Queue()
        proc = multiprocessing.Process(
            target=_clients, args=(base, token, clients, seconds + 6, queue)
        )
        proc.start()
        await asyncio.sleep(4.0)  # all sockets attached and receiving
        loaded = await _stretch(base, token, ansa_video, seconds)
        result = await asyncio.get_running_loop().run_in_executor(None, queue.get, True, 60)
        proc.join(timeout=30)
    finally:
        await trend.close()
        await ansa.close()
    per_client = [m / (seconds + 6) for m in result["messages"]]
    return {"quiet": quiet, "loaded": loaded, "per_client": per_client, "bytes": result["bytes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    ensure_netns()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        token = producer_token(server.data)
        out = asyncio.run(_main(server.base, token, args.clients, args.seconds))
    print(_summary("no monitor clients", out["quiet"]))
    print(_summary(f"{args.clients} monitor clients", out["loaded"]))
    connected = sum(1 for m in out["per_client"] if m > 0)
    print(
        f"clients that got snapshots: {connected}/{args.clients}; snapshots per client per"
        f" second, median {statistics.median(out['per_client']):.2f};"
        f" {statistics.median(out['bytes']) / 1024:.0f} KiB each in total"
    )
    quiet, loaded = out["quiet"], out["loaded"]
    print(
        json.dumps(
            {
                "fps_quiet": statistics.median(quiet["fps"]),
                "fps_loaded": statistics.median(loaded["fps"]),
                "lag_ms_quiet": statistics.median(quiet["lag_ms"] or [0.0]),
                "lag_ms_loaded": statistics.median(loaded["lag_ms"] or [0.0]),
                "lag_ms_max_loaded": max(loaded["lag_ms"] or [0.0]),
                "clients_connected": connected,
            }
        )
    )


if __name__ == "__main__":
    main()
