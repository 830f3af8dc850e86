"""A pre-encoded 720p30 VP8 + Opus WebM made by Debian's ffmpeg, replayed to aiortc senders.

Load generators publish it without encoding anything: the picture has texture and motion
(`testsrc2` under temporal noise, held at its bitrate by libvpx's CBR), key frames every
2 s, no alt-ref frames (a camera's real-time encoder sends none), and a 440 Hz tone as 20 ms
Opus frames, so every publisher costs the relay what a browser's camera costs it.

`ReplayTrack` and not aiortc's `MediaPlayer(path, loop=True, decode=False)`: in aiortc 1.16 the
player's second pass restarts the packets' pts at 0, so its pacing stops (the whole file goes
out at once) and the RTP timestamps jump back. Here the file is read once into memory, shared
by every publisher of a process, and each pass continues the timestamps of the one before.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from aiortc import MediaStreamTrack


def make_vp8_file(
    path: Path,
    seconds: float = 20.0,
    kbps: int = 2000,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    noise: int = 14,
) -> Path:
    """Write the WebM to `path` (about 1-2 s of CPU per second of media) and return it.

    `noise`: the strength of the temporal noise over the picture, a camera's grain (0: none).
    libvpx's CBR holds `kbps` either way (measured: 1994 kb/s with 14, 1996 without)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError(
            "Debian's ffmpeg is needed to make the test file (apt-get install ffmpeg)"
        )
    rate = f"{kbps}k"
    command = [
        ffmpeg,
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps}"
        + (f",noise=alls={noise}:allf=t" if noise else ""),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        f"{seconds:g}",
        "-c:v",
        "libvpx",
        "-b:v",
        rate,
        "-minrate",
        rate,
        "-maxrate",
        rate,
        "-bufsize",
        f"{kbps // 2}k",
        "-g",
        str(2 * fps),
        "-keyint_min",
        str(2 * fps),
        "-auto-alt-ref",
        "0",
        "-lag-in-frames",
        "0",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-c:a",
        "libopus",
        "-b:a",
        "64k",
        "-ac",
        "1",
        "-frame_duration",
        "20",
        "-application",
        "voip",
        str(path),
    ]
    subprocess.run(command, check=True, timeout=300)
    return path


@dataclass(frozen=True)
class EncodedPacket:
    """One encoded frame as aiortc's sender packs it (`bytes()`, `pts`, `time_base`).

    aiortc sends anything that is not an `av.Frame` through its encoder's `pack`, which
    only packetizes: no `av.Packet` needs to be made for every send.
    """

    data: bytes
    pts: int
    time_base: Fraction
    keyframe: bool = False

    def __bytes__(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class StreamPackets:
    """A stream's packets from the file, `pts` from 0, and the period after which it loops."""

    kind: str  # "video" or "audio"
    packets: tuple[EncodedPacket, ...]
    period: int  # in time_base units: the last packet's pts plus its duration
    time_base: Fraction

    @property
    def seconds(self) -> float:
        """The stream's length (one loop)."""
        return float(self.period * self.time_base)

    @property
    def kbps(self) -> float:
        """Its average bitrate."""
        return sum(len(p.data) for p in self.packets) * 8 / 1000 / self.seconds


def read_packets(path: Path) -> dict[str, StreamPackets]:
    """The file's first video and audio stream as packets in memory, by kind."""
    out: dict[str, StreamPackets] = {}
    with av.open(str(path)) as container:
        for stream in (container.streams.video[:1], container.streams.audio[:1]):
            if not stream:
                continue
            s = stream[0]
            time_base = s.time_base
            assert time_base is not None
            demuxed: list[tuple[bytes, int, bool, int]] = []
            container.seek(0)
            for packet in container.demux(s):
                if packet.size == 0 or packet.pts is None:
                    continue
                demuxed.append(
                    (bytes(packet), packet.pts, packet.is_keyframe, packet.duration or 0)
                )
            if not demuxed:
                continue
            first = demuxed[0][1]
            step = demuxed[1][1] - demuxed[0][1] if len(demuxed) > 1 else 1
            last_duration = demuxed[-1][3] or step
            packets = tuple(
                EncodedPacket(data, pts - first, time_base, key) for data, pts, key, _ in demuxed
            )
            out[s.type] = StreamPackets(
                s.type, packets, packets[-1].pts + last_duration, Fraction(time_base)
            )
    return out


@dataclass
class ReplayClock:
    """The wall-clock origin shared by one publisher's tracks, and how late they ran."""

    start: float | None = None
    late_max_s: float = 0.0  # the worst lateness of a packet since the last reset
    late: list[float] = field(default_factory=list)

    def reset(self) -> None:
        """Start a new measuring window."""
        self.late_max_s = 0.0
        self.late.clear()


class ReplayTrack(MediaStreamTrack):
    """A track that hands aiortc's sender the file's encoded packets on their own clock,
    looping, with the pts (so the RTP timestamps) continuing across passes."""

    def __init__(self, stream: StreamPackets, clock: ReplayClock) -> None:
        super().__init__()
        self.kind = stream.kind
        self._stream = stream
        self._clock = clock
        self._sent = 0

    async def recv(self) -> EncodedPacket:  # type: ignore[override]
        """The next packet, when it is due."""
        loop = asyncio.get_running_loop()
        clock = self._clock
        if clock.start is None:
            clock.start = loop.time()
        passes, index = divmod(self._sent, len(self._stream.packets))
        packet = self._stream.packets[index]
        pts = passes * self._stream.period + packet.pts
        due = clock.start + float(pts * packet.time_base)
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        late = loop.time() - due
        clock.late_max_s = max(clock.late_max_s, late)
        if len(clock.late) < 10_000:
            clock.late.append(late)
        self._sent += 1
        return EncodedPacket(packet.data, pts, packet.time_base, packet.keyframe)
