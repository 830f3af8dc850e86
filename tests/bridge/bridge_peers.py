"""Real aiortc studios for tests: synthetic camera and tone, real RTP over the veth pair."""

from __future__ import annotations

import asyncio
import fractions
import socket
from datetime import UTC, datetime, timedelta

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from bridge.room import Room
from bridge.spec import RoomSpec, StudioSpec

VIDEO_RATE = 90000


def has_host_address() -> bool:
    """Whether a non-loopback IPv4 address exists (aioice skips 127.0.0.1)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.77.0.2", 9))
            return not s.getsockname()[0].startswith("127.")
    except OSError:
        return False


class CameraTrack(MediaStreamTrack):
    """A synthetic 30 fps camera whose frames carry a per-studio colour and a moving bar."""

    kind = "video"

    def __init__(self, shade: int, width: int = 320, height: int = 180) -> None:
        super().__init__()
        self.shade, self.width, self.height = shade, width, height
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n / 30 - loop.time()))
        img = np.full((self.height, self.width, 3), self.shade, dtype=np.uint8)
        x = (self._n * 4) % self.width
        img[:, x : x + 8] = 255
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self._n * (VIDEO_RATE // 30)
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        return frame


class ToneTrack(MediaStreamTrack):
    """A 20 ms, 48 kHz sine tone."""

    kind = "audio"

    def __init__(self, hz: float) -> None:
        super().__init__()
        self.hz = hz
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        samples = 960
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - loop.time()))
        t = (np.arange(samples) + self._n * samples) / 48000
        pcm = (np.sin(2 * np.pi * self.hz * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._n * samples
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


class StudioClient:
    """A studio as an aiortc peer: sends its camera and tone, receives each partner's."""

    def __init__(self, studio_id: str, partners: int, shade: int) -> None:
        self.studio_id = studio_id
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.pc.addTransceiver(CameraTrack(shade), direction="sendrecv")
        self.pc.addTransceiver(ToneTrack(440 + shade), direction="sendrecv")
        for _ in range(partners):
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")
        self.tracks: dict[str, MediaStreamTrack] = {}

    async def join(self, room: Room) -> list[object]:
        """Offer, get the room's answer, and map received tracks to partner studios."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        joined = await room.connect(self.studio_id, self.pc.localDescription.sdp)
        slots = joined.slots
        await self.pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        for info in slots:
            if info.video_mid:
                self.tracks[f"{info.studio_id}/video"] = by_mid[info.video_mid].receiver.track
            if info.audio_mid:
                self.tracks[f"{info.studio_id}/audio"] = by_mid[info.audio_mid].receiver.track
        return slots

    async def close(self) -> None:
        await self.pc.close()


def spec_for(*studios: str) -> RoomSpec:
    """A room that is open now."""
    now = datetime.now(UTC)
    return RoomSpec(
        booking_id="bk-test",
        title="Test bridge",
        studios=tuple(StudioSpec(s, s.upper()) for s in studios),
        opens_at=now - timedelta(minutes=5),
        on_air_at=now,
        off_air_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=1, minutes=10),
    )
