"""Media made in the test: a synthetic 30 fps camera and a sine tone, as aiortc tracks."""

from __future__ import annotations

import asyncio
import fractions

import numpy as np
from aiortc import MediaStreamTrack, RTCRtpCodecCapability, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

VIDEO_RATE = 90000


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


def video_codecs(*mime_types: str) -> list[RTCRtpCodecCapability]:
    """aiortc's video codecs of these mime types, in this order, with their RTX: what a test
    peer's transceiver prefers (aiortc encodes VP8, or H.264 in the Baseline profile)."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    chosen = [c for m in mime_types for c in codecs if c.mimeType.lower() == m.lower()]
    return chosen + [c for c in codecs if c.mimeType.lower() == "video/rtx"]
