"""Crash-safe recording of an encoded stream: MPEG-TS segments now, one faststart MP4 at the end.

While recording, packets are written into 2-second MPEG-TS segments (each starts on a keyframe
and carries its own SPS/PPS), so a `kill -9` of the server loses at most the segment being
written. Finished segments are never touched again. At the end the segments are remuxed, without
re-encoding, into one MP4 with the index at the front (faststart) as `*.mp4.tmp`, hashed
(SHA-256) and renamed: nobody ever sees a half-written file under its final name.
All file work happens on the recorder's own thread, fed by a bounded queue.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.recorder")

SEGMENT_SECONDS = 2.0
TS_WRITE_BYTES = 188 * 7 * 4  # whole MPEG-TS packets per write
QUEUE_PACKETS = 600  # 20 s of 30 fps video: a disk stall of that long loses packets, not memory
_STOP = object()


@dataclass(frozen=True)
class VideoParams:
    """What the recorded video stream is."""

    codec: str = "h264"
    width: int = 1280
    height: int = 720
    fps: int = 30
    container: str = "mpegts"  # a studio's own VP8 goes into "webm" segments instead
    extension: str = "ts"
    time_base: Fraction | None = None  # packets' time base; None: one tick per frame


@dataclass
class RecorderCounters:
    """What the recorder has written and dropped (the monitor reads these)."""

    packets: int = 0
    dropped: int = 0
    bytes: int = 0
    segments: int = 0
    busy_seconds: float = 0.0
    media_seconds: float = 0.0

    @property
    def realtime_factor(self) -> float:
        """Writer seconds per second of media (below 1.0: keeping up)."""
        return self.busy_seconds / self.media_seconds if self.media_seconds else 0.0


@dataclass(frozen=True)
class FinishedFile:
    """A finalized recording file."""

    path: Path
    bytes: int
    sha256: str
    duration_s: float


@dataclass
class _Segment:
    path: Path
    container: Any
    stream: Any
    file: Any
    first_pts: int | None = None


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks (call it off the event loop)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class SegmentRecorder:
    """Writes one encoded video stream into numbered segments in `directory`."""

    directory: Path
    name: str
    params: VideoParams = field(default_factory=VideoParams)
    segment_seconds: float = SEGMENT_SECONDS

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.counters = RecorderCounters()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PACKETS)
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.name}", daemon=True)
        self._segment: _Segment | None = None
        self._index = len(self.segments())  # a restart continues after the existing segments
        self._time_base = self.params.time_base or Fraction(1, self.params.fps)
        self._origin_pts: int | None = None
        self._thread.start()

    def segments(self) -> list[Path]:
        """The segment files written so far, in order."""
        return sorted(self.directory.glob(f"{self.name}-*.{self.params.extension}"))

    def write(self, packet: EncodedPacket) -> None:
        """Queue a packet for writing (never blocks; a full queue drops and counts it)."""
        try:
            self._queue.put_nowait(packet)
        except queue.Full:
            self.counters.dropped += 1

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, close the current segment, stop the thread."""
        self._queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._close_segment()
                return
            started = time.perf_counter()
            try:
                self._write(item)  # type: ignore[arg-type]
            except Exception:  # a bad packet must not end the recording
                log.exception("recorder %s could not write a packet", self.name)
            self.counters.busy_seconds += time.perf_counter() - started

    def _write(self, packet: EncodedPacket) -> None:
        pts = packet.pts if packet.pts is not None else 0
        seg = self._segment
        if packet.is_keyframe and (
            seg is None
            or seg.first_pts is None
            or (pts - seg.first_pts) * self._time_base >= self.segment_seconds
        ):
            self._close_segment()
            seg = self._open_segment()
        if seg is None:
            self.counters.dropped += 1  # nothing decodable before the first keyframe
            return
        if seg.first_pts is None:
            seg.first_pts = pts
        packet.stream = seg.stream
        packet.time_base = self._time_base
        seg.container.mux(packet)
        self.counters.packets += 1
        self.counters.bytes += packet.size
        if self._origin_pts is None:
            self._origin_pts = pts
        self.counters.media_seconds = max(
            self.counters.media_seconds, float((pts - self._origin_pts) * self._time_base)
        )

    def _open_segment(self) -> _Segment:
        path = self.directory / f"{self.name}-{self._index:06d}.{self.params.extension}"
        self._index += 1
        # Unbuffered file, small muxer buffer: what is muxed reaches the OS at once, so a
        # kill -9 of the server loses only what the muxer still holds (a few TS packets).
        fh = path.open("wb", buffering=0)
        container = av.open(fh, "w", format=self.params.container, buffer_size=TS_WRITE_BYTES)
        stream = container.add_stream(self.params.codec, rate=self.params.fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = self.params.width, self.params.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = self._time_base
        self._segment = _Segment(path, container, stream, fh)
        self.counters.segments += 1
        return self._segment

    def _close_segment(self) -> None:
        if self._segment is not None:
            self._segment.container.close()
            self._segment.file.close()
            self._segment = None


def _frame_ticks(stream: Any) -> int:
    rate = stream.average_rate or stream.guessed_rate or 30
    return max(1, int(1 / (rate * stream.time_base)))


def finalize(segments: list[Path], target: Path) -> FinishedFile:
    """Remux `segments` (without re-encoding) into `target` (faststart when MP4), hashed.

    Written as `target` + ".tmp" and renamed when whole; call it off the event loop.
    """
    if not segments:
        raise ValueError("nothing was recorded")
    tmp = target.with_name(target.name + ".tmp")
    fmt = "mp4" if target.suffix == ".mp4" else target.suffix.lstrip(".")
    options = {"movflags": "faststart"} if fmt == "mp4" else {}
    out = av.open(str(tmp), "w", format=fmt, options=options)
    out_stream = None
    offset = 0
    last_end = 0
    first_dts: int | None = None
    duration_ticks = 0
    step = 0  # the last frame's length in ticks, for packets that carry no duration
    prev_dts: int | None = None
    try:
        for seg in segments:
            try:
                src = av.open(str(seg))
            except av.FFmpegError:
                # The segment being written when the server was killed may hold nothing usable.
                log.warning("skipping unreadable segment %s", seg.name)
                continue
            with src:
                video = src.streams.video[0]
                if out_stream is None:
                    out_stream = out.add_stream_from_template(video)
                seg_first: int | None = None
                try:
                    for packet in src.demux(video):
                        if packet.dts is None:
                            continue
                        if seg_first is None:
                            seg_first = packet.dts
                            offset = last_end - seg_first  # segments follow each other seamlessly
                        if first_dts is None:
                            first_dts = packet.dts + offset
                        dts = packet.dts + offset
                        if prev_dts is not None and dts > prev_dts:
                            step = dts - prev_dts  # MPEG-TS packets often carry no duration
                        prev_dts = dts
                        packet.dts = dts
                        packet.pts = (packet.pts + offset) if packet.pts is not None else dts
                        last_end = dts + (packet.duration or step or _frame_ticks(video))
                        duration_ticks = last_end - first_dts
                        packet.stream = out_stream
                        out.mux(packet)
                except av.FFmpegError:
                    log.warning("segment %s ends early (cut off while writing)", seg.name)
    finally:
        out.close()
    if out_stream is None:
        tmp.unlink(missing_ok=True)
        raise ValueError("no segment could be read")
    time_base = out_stream.time_base or Fraction(1, 90000)
    digest = sha256_of(tmp)
    size = tmp.stat().st_size
    tmp.replace(target)
    return FinishedFile(target, size, digest, float(duration_ticks * time_base))


def finalize_directory(directory: Path) -> list[tuple[str, FinishedFile]]:
    """Finalize every stream left in `directory` as segments: (stream name, file).

    For a recording whose server died: `program-000001.ts`... becomes `program.mp4`,
    `iso-trend-000001.webm`... becomes `iso-trend.webm`. Call it off the event loop.
    """
    streams: dict[str, list[Path]] = {}
    for path in sorted(directory.glob("*-[0-9][0-9][0-9][0-9][0-9][0-9].*")):
        if path.suffix in (".ts", ".webm"):
            streams.setdefault(path.stem.rsplit("-", 1)[0], []).append(path)
    out: list[tuple[str, FinishedFile]] = []
    for name, segments in sorted(streams.items()):
        suffix = ".mp4" if segments[0].suffix == ".ts" else ".webm"
        try:
            out.append((name, finalize(segments, directory / f"{name}{suffix}")))
        except ValueError:
            log.warning("nothing readable in the segments of %s in %s", name, directory)
    return out
