"""A flash-and-beep source and the analysis that finds its flashes and beeps again.

A studio sends a black picture with one full-white frame at each whole second of its own
media clock, and silence with a 50 ms 1 kHz beep starting at the same instants: picture and
sound count from one shared start, so the source is in sync by construction. A `phase` moves
a studio's flashes and beeps later (two studios are then told apart in the program). Whatever
carries them (a recording, a live output read back) is decoded with PyAV: flash onsets from the
mean luma, beep onsets from a 1 ms RMS envelope (to the sample), each flash paired with the
beep within a quarter second of it. bench/av_sync.py and the output tests use these.
"""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from harness.peer_close import close_peer

WIDTH, HEIGHT, FPS = 320, 180, 30
RATE, AUDIO_SAMPLES = 48000, 960  # 20 ms audio frames, as WebRTC sends them
BEEP_HZ, BEEP_SECONDS, BEEP_LEVEL = 1000.0, 0.05, 0.5
PAIR_WINDOW = 0.25  # a beep further than this from a flash is not its partner

Region = tuple[int, int, int, int]  # x, y, w, h


class SharedStart:
    """The loop time both tracks of every studio count from: set by the first `recv`."""

    def __init__(self) -> None:
        self.t0: float | None = None

    def get(self) -> float:
        if self.t0 is None:
            self.t0 = asyncio.get_running_loop().time()
        return self.t0


class FlashTrack(MediaStreamTrack):
    """Black frames at FPS, one white frame at each whole second (+ phase) of the clock."""

    kind = "video"

    def __init__(self, start: SharedStart, phase: float) -> None:
        super().__init__()
        self._start, self._phase_frames, self.n = start, round(phase * FPS), 0
        self._black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        self._white = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self._start.get() + self.n / FPS - loop.time()))
        n, self.n = self.n, self.n + 1
        flash = n > 0 and (n - self._phase_frames) % FPS == 0
        frame = av.VideoFrame.from_ndarray(self._white if flash else self._black, format="rgb24")
        frame.pts, frame.time_base = n * (90000 // FPS), fractions.Fraction(1, 90000)
        return frame


class BeepTrack(MediaStreamTrack):
    """Silence in 20 ms frames, a beep from each whole second (+ phase) of the clock."""

    kind = "audio"

    def __init__(self, start: SharedStart, phase: float) -> None:
        super().__init__()
        self._start, self._phase_samples, self.n = start, round(phase * RATE), 0
        self._beep_samples = int(BEEP_SECONDS * RATE)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        at = self._start.get() + self.n * AUDIO_SAMPLES / RATE
        await asyncio.sleep(max(0.0, at - loop.time()))
        first, self.n = self.n * AUDIO_SAMPLES, self.n + 1
        s = np.arange(first, first + AUDIO_SAMPLES)
        beeping = (s >= RATE) & ((s - self._phase_samples) % RATE < self._beep_samples)
        tone = np.sin(2 * np.pi * BEEP_HZ * s / RATE) * BEEP_LEVEL * 32767
        pcm = np.where(beeping, tone, 0).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, first
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


def tracks(start: SharedStart, phase: float) -> tuple[FlashTrack, BeepTrack]:
    """A flashing camera and a beeping microphone on one media clock."""
    return FlashTrack(start, phase), BeepTrack(start, phase)


class FlashBeepStudio:
    """A studio as an aiortc peer sending flashes and beeps; drains what partners send."""

    def __init__(self, studio_id: str, partners: int, start: SharedStart, phase: float) -> None:
        self.studio_id = studio_id
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        video, audio = tracks(start, phase)
        self.pc.addTransceiver(video, direction="sendrecv")
        self.pc.addTransceiver(audio, direction="sendrecv")
        for _ in range(partners):
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")
        self._drains: list[asyncio.Task[None]] = []

    async def join(self, room: Any) -> None:
        """Offer to a bridge Room (typed loosely: harness does not depend on bridge)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        joined = await room.connect(self.studio_id, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
        for t in self.pc.getTransceivers():  # a received track nobody reads piles up
            self._drains.append(asyncio.ensure_future(self._drain(t.receiver.track)))

    @staticmethod
    async def _drain(track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return

    async def close(self) -> None:
        for task in self._drains:
            task.cancel()
        await close_peer(self.pc)


def _onsets(times: np.ndarray, values: np.ndarray, threshold: float, quiet: float) -> list[float]:
    """Times where `values` rises through `threshold` after at least `quiet` s below it."""
    out: list[float] = []
    last_above = -np.inf
    above = values > threshold
    for i in np.flatnonzero(above):
        if times[i] - last_above > quiet and (i == 0 or not above[i - 1]):
            out.append(float(times[i]))
        last_above = times[i]
    return out


def flash_onsets(path: Path, regions: list[Region] | None) -> list[list[float]]:
    """Per region (x, y, w, h; None: the whole frame), the times a white flash starts."""
    times: list[float] = []
    lumas: list[list[float]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.pts is None or frame.time_base is None:
                continue
            y = frame.to_ndarray(format="gray")
            boxes = regions or [(0, 0, y.shape[1], y.shape[0])]
            lumas.append([float(y[b : b + h, a : a + w].mean()) for a, b, w, h in boxes])
            times.append(float(frame.pts * frame.time_base))
    t, luma = np.array(times), np.array(lumas)
    order = np.argsort(t)
    t, luma = t[order], luma[order]
    out = []
    for k in range(luma.shape[1]):
        lo, hi = np.percentile(luma[:, k], 5), luma[:, k].max()
        out.append(_onsets(t, luma[:, k], (lo + hi) / 2, 0.5) if hi - lo > 60 else [])
    return out


def beep_onsets(path: Path) -> list[float]:
    """The times beeps start: a 1 ms RMS envelope crosses a quarter of the beeps' level."""
    chunks: list[tuple[float, np.ndarray]] = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            pcm = frame.to_ndarray().astype(np.float32)
            if frame.format.name.startswith("s16"):
                pcm = (pcm / 32768).astype(np.float32)
            if not frame.format.is_planar:
                pcm = pcm.reshape(-1, len(frame.layout.channels)).T
            chunks.append((float(frame.pts * frame.time_base), pcm.mean(axis=0)))
    first = min(t for t, _ in chunks)
    end = max(round((t - first) * rate) + c.size for t, c in chunks)
    signal = np.zeros(end, np.float32)
    for t, c in chunks:  # each frame at its own time: a gap stays a gap
        at = round((t - first) * rate)
        signal[at : at + c.size] = c
    window = rate // 1000
    envelope = np.sqrt(np.convolve(np.square(signal), np.ones(window) / window, mode="same"))
    level = np.percentile(envelope, 99.5)  # the beeps' plateau
    times = first + np.arange(signal.size) / rate
    # The envelope is centred: it crosses a quarter of the level about 1/16 of a window after
    # the beep's first sample; the quiet requirement skips the dip inside one beep.
    return [t - window / 16 / rate for t in _onsets(times, envelope, level / 4, 0.2)]


def pair(flashes: list[float], beeps: list[float]) -> list[tuple[float, float]]:
    """(flash, beep) times: each flash with the nearest beep within PAIR_WINDOW."""
    pairs = []
    for v in flashes:
        near = [a for a in beeps if abs(a - v) < PAIR_WINDOW]
        if near:
            pairs.append((v, min(near, key=lambda a: abs(a - v))))
    return pairs
