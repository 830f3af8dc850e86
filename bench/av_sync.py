"""Lip sync of the recordings: a flash and a beep every second, through a live Room.

Two aiortc studios send a black picture with one full-white frame at each whole second of their
own media clock, and silence with a 50 ms 1 kHz beep starting at the same instants (picture and
sound count from one shared start, so the source is in sync by construction; the second studio
is half a second later, so its flashes and beeps are told apart from the first's in the
program). The Room composes and records them; the finished files are decoded with PyAV: flash
onsets from the mean luma (per studio's tile in the program), beep onsets from a 1 ms RMS
envelope (to the sample), and each flash paired with the beep within a quarter second of it.
Printed per file (the program, and each studio's own feed): the audio - video offset, median,
min and max over the pairs; positive means the sound is late. Also each path's own delay from
the source (the files' timelines mapped back to the loop clock) and the program mixer's jitter
buffer sampled while recording (between blocks).

    .venv/bin/python bench/av_sync.py [--seconds 12]   (as root: enters the test network namespace)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fractions
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.netns import ensure_netns  # noqa: E402

WIDTH, HEIGHT, FPS = 320, 180, 30
RATE, AUDIO_SAMPLES = 48000, 960  # 20 ms audio frames, as WebRTC sends them
BEEP_HZ, BEEP_SECONDS, BEEP_LEVEL = 1000.0, 0.05, 0.5
PAIR_WINDOW = 0.25  # a beep further than this from a flash is not its partner
STUDIOS = (("baku", 0.0), ("rome", 0.5))  # (id, phase of its flashes and beeps in seconds)


class SharedStart:
    """The loop time both tracks of every studio count from: set by the first `recv`."""

    def __init__(self) -> None:
        self.t0: float | None = None

    def get(self) -> float:
        if self.t0 is None:
            self.t0 = asyncio.get_running_loop().time()
        return self.t0


def _tracks(start: SharedStart, phase: float) -> tuple[Any, Any]:
    """A flashing camera and a beeping microphone on one media clock."""
    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError

    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    white = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    phase_frames, phase_samples = round(phase * FPS), round(phase * RATE)
    beep_samples = int(BEEP_SECONDS * RATE)

    class FlashTrack(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        async def recv(self) -> av.VideoFrame:
            if self.readyState != "live":
                raise MediaStreamError
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, start.get() + self.n / FPS - loop.time()))
            n, self.n = self.n, self.n + 1
            flash = n > 0 and (n - phase_frames) % FPS == 0
            frame = av.VideoFrame.from_ndarray(white if flash else black, format="rgb24")
            frame.pts, frame.time_base = n * (90000 // FPS), fractions.Fraction(1, 90000)
            return frame

    class BeepTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        async def recv(self) -> av.AudioFrame:
            if self.readyState != "live":
                raise MediaStreamError
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, start.get() + self.n * AUDIO_SAMPLES / RATE - loop.time()))
            first, self.n = self.n * AUDIO_SAMPLES, self.n + 1
            s = np.arange(first, first + AUDIO_SAMPLES)
            beeping = (s >= RATE) & ((s - phase_samples) % RATE < beep_samples)
            tone = np.sin(2 * np.pi * BEEP_HZ * s / RATE) * BEEP_LEVEL * 32767
            pcm = np.where(beeping, tone, 0).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate, frame.pts = RATE, first
            frame.time_base = fractions.Fraction(1, RATE)
            return frame

    return FlashTrack(), BeepTrack()


class Studio:
    """A studio as an aiortc peer (as tests/bridge/bridge_peers.py): sends, drains partners."""

    def __init__(self, studio_id: str, partners: int, start: SharedStart, phase: float) -> None:
        from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

        self.studio_id = studio_id
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        video, audio = _tracks(start, phase)
        self.pc.addTransceiver(video, direction="sendrecv")
        self.pc.addTransceiver(audio, direction="sendrecv")
        for _ in range(partners):
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")
        self._drains: list[asyncio.Task[None]] = []

    async def join(self, room: Any) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setLocalDescription(await self.pc.createOffer())
        joined = await room.connect(self.studio_id, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
        for t in self.pc.getTransceivers():  # a received track nobody reads piles up
            self._drains.append(asyncio.ensure_future(self._drain(t.receiver.track)))

    @staticmethod
    async def _drain(track: Any) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return

    async def close(self) -> None:
        for task in self._drains:
            task.cancel()
        await self.pc.close()


@dataclasses.dataclass
class Run:
    """The finished files, and the loop times (monotonic) their timelines start at."""

    files: list[Any]
    source_start: float  # the studios' media clocks' 0
    program_start: float  # program.mp4's time 0
    iso_start: dict[str, float]  # each iso-*.webm's time 0
    buffered_ms: dict[str, list[float]]  # the mixer's jitter buffer, sampled while recording


async def record(directory: Path, seconds: float, warmup: float) -> Run:
    """Run the room with both studios, record `seconds`, return the finished files."""
    from bridge.room import Room
    from bridge.spec import RoomSpec, StudioSpec

    now = datetime.now(UTC)
    spec = RoomSpec(
        booking_id="bk-av-sync",
        title="A/V sync",
        studios=tuple(StudioSpec(sid, sid.upper()) for sid, _ in STUDIOS),
        opens_at=now - timedelta(minutes=5),
        on_air_at=now,
        off_air_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=1, minutes=10),
        program=True,
    )
    room = Room(spec)
    start = SharedStart()
    studios = [Studio(sid, len(STUDIOS) - 1, start, phase) for sid, phase in STUDIOS]
    try:
        for studio in studios:
            await studio.join(room)
        await asyncio.sleep(warmup)  # connected, pictures and sound in the program
        room.start_recording(directory)
        production = room.production
        assert production is not None and production.recording is not None
        engine = production.engine
        assert engine.origin is not None
        program_start = engine.origin + production.recording.recorder.video_origin / engine.fmt.fps
        iso_start = {sid: getattr(iso, "_started", 0.0) for sid, iso in room.isos.items()}
        buffered: dict[str, list[float]] = {sid: [] for sid, _ in STUDIOS}
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            for sid, ch in production.audio.mixer.channels.items():
                buffered[sid].append(ch.buffer.size / RATE * 1000)
            await asyncio.sleep(0.05)
        files = await room.stop_recording()
    finally:
        for studio in studios:
            await studio.close()
        await room.close()
    assert start.t0 is not None
    return Run(list(files), start.t0, program_start, iso_start, buffered)


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


def flash_onsets(path: Path, regions: list[tuple[int, int, int, int]] | None) -> list[list[float]]:
    """Per region (x, y, w, h; None: the whole frame), the times a white flash starts."""
    times: list[float] = []
    lumas: list[list[float]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.pts is None:
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
            if frame.pts is None:
                continue
            pcm = frame.to_ndarray().astype(np.float32)
            if frame.format.name.startswith("s16"):
                pcm = pcm / 32768
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


def _delay(at: float, source: float) -> float:
    """How long after the source's last flash-and-beep instant `at` is (both loop times)."""
    since = at - source
    return since - np.floor(since + 0.1)  # delays from -0.1 s to 0.9 s


def report(
    name: str, pairs: list[tuple[float, float]], counts: str, start: float, source: float
) -> None:
    """One line: the offset over the pairs, and each path's delay from the source."""
    if not pairs:
        print(f"{name:20s} no pairs ({counts})")
        return
    ms = [(a - v) * 1000 for v, a in pairs]
    video = statistics.median(_delay(start + v, source) * 1000 for v, _ in pairs)
    audio = statistics.median(_delay(start + a, source) * 1000 for _, a in pairs)
    med = statistics.median(ms)
    side = "audio late" if med > 0 else "audio early"
    print(
        f"{name:20s} A-V median {med:+6.1f} ms  min {min(ms):+6.1f}  max {max(ms):+6.1f}  "
        f"pairs {len(ms):2d} ({counts})  {side:11s}  "
        f"[from the source: video {video:5.1f} ms, audio {audio:5.1f} ms]"
    )


def analyse(run: Run) -> None:
    from bridge.program.engine import ProgramFormat
    from bridge.program.layout import tiles_for

    fmt = ProgramFormat()
    tiles = tiles_for("auto", len(STUDIOS), fmt.width, fmt.height)
    # The middle of each tile: the letterbox and the label stay out of the measurement.
    regions = [(t.x + t.w // 4, t.y + t.h // 4, t.w // 2, t.h // 2) for t in tiles if t is not None]
    phases = dict(STUDIOS)
    for f in sorted(run.files, key=lambda f: (f.kind != "program", f.studio_id or "")):
        path = f.path
        beeps = beep_onsets(path)
        if f.kind == "program":
            per_tile = flash_onsets(path, regions)
            everything: list[tuple[float, float]] = []
            for (sid, phase), flashes in zip(STUDIOS, per_tile, strict=True):
                pairs = pair(flashes, beeps)
                everything += pairs
                counts = f"of {len(flashes)} flashes, {len(beeps)} beeps"
                report(
                    f"program, {sid}", pairs, counts, run.program_start, run.source_start + phase
                )
            counts = f"of {sum(map(len, per_tile))} flashes, {len(beeps)} beeps"
            offsets = [a - v for v, a in everything]
            if offsets:
                print(
                    f"{'program, both':20s} A-V median {statistics.median(offsets) * 1000:+6.1f} "
                    f"ms  min {min(offsets) * 1000:+6.1f}  max {max(offsets) * 1000:+6.1f}  "
                    f"pairs {len(offsets):2d} ({counts})"
                )
        else:
            sid = f.studio_id
            (flashes,) = flash_onsets(path, None)
            counts = f"of {len(flashes)} flashes, {len(beeps)} beeps"
            report(
                f"iso-{sid}",
                pair(flashes, beeps),
                counts,
                run.iso_start.get(sid, 0.0),
                run.source_start + phases[sid],
            )
    for sid, levels in run.buffered_ms.items():
        if levels:
            print(
                f"mixer jitter buffer, {sid}: median {statistics.median(levels):.0f} ms "
                f"(min {min(levels):.0f}, max {max(levels):.0f}) while recording"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="record here and keep the files")
    args = parser.parse_args()
    ensure_netns()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp) / "rec"
        run = asyncio.run(record(directory, args.seconds, args.warmup))
        for f in run.files:
            print(f"{f.name}: {f.duration_s:.2f} s")
        analyse(run)


if __name__ == "__main__":
    main()
