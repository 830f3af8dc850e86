"""Crash-safe recording of encoded streams: segments while recording, one file at the end.

While recording, packets (video, and audio when there is any) are written into 2-second
segments (MPEG-TS for the program, WebM for a studio's own feed); each starts on a video
keyframe and decodes by itself, so a `kill -9` of the server loses at most the segment being
written. Finished segments are never touched again. At the end the segments are remuxed,
without re-encoding, into one file (an MP4 with the index at the front, faststart) as
`*.tmp`, hashed (SHA-256) and renamed: nobody ever sees a half-written file under its final
name. All file work happens on the recorder's own thread, fed by a bounded queue.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import av

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.recorder")

SEGMENT_SECONDS = 2.0
TS_WRITE_BYTES = 188 * 7 * 4  # whole MPEG-TS packets per write
SEGMENT_GLOB = "*-[0-9][0-9][0-9][0-9][0-9][0-9].*"
QUEUE_PACKETS = 1200  # 20 s of 30 fps video and its audio: a disk stall that long loses packets
_STOP = object()
VIDEO, AUDIO = 0, 1  # the streams' indexes in every segment


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


@dataclass(frozen=True)
class AudioParams:
    """What the recorded audio stream is (its packets come already encoded)."""

    codec: str = "aac"
    rate: int = 48000
    layout: str = "stereo"
    time_base: Fraction | None = None  # packets' time base; None: one tick per sample
    # The encoder's extradata (AAC AudioSpecificConfig, OpusHead): muxers need it to describe
    # the stream, since no encoder of ours is attached to the recorder's stream.
    extradata: bytes | None = None


@dataclass
class RecorderCounters:
    """What the recorder has written and dropped (the monitor reads these)."""

    packets: int = 0  # video frames written
    dropped: int = 0  # video frames lost (full queue, or before the first keyframe)
    audio_packets: int = 0
    audio_dropped: int = 0
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
    streams: list[Any]
    file: Any
    first_pts: int | None = None


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks (call it off the event loop)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _copy(packet: EncodedPacket, origin: int = 0) -> EncodedPacket:
    """A private copy moved by `origin`: muxing rescales a packet's timestamps in place, and
    the program's packets are shared with other subscribers (the return feed reads them)."""
    out = av.Packet(bytes(packet))
    out.pts = packet.pts - origin if packet.pts is not None else None
    out.dts = packet.dts - origin if packet.dts is not None else None
    out.time_base = packet.time_base
    out.is_keyframe = packet.is_keyframe
    if packet.duration:
        out.duration = packet.duration
    return out


@dataclass
class SegmentRecorder:
    """Writes one encoded video stream (and optionally its audio) into numbered segments."""

    directory: Path
    name: str
    params: VideoParams = field(default_factory=VideoParams)
    segment_seconds: float = SEGMENT_SECONDS
    audio: AudioParams | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.counters = RecorderCounters()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PACKETS)
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.name}", daemon=True)
        self._segment: _Segment | None = None
        self._index = len(self.segments())  # a restart continues after the existing segments
        self._time_base = self.params.time_base or Fraction(1, self.params.fps)
        self._audio_time_base = Fraction(1, 48000)
        if self.audio is not None:
            self._audio_time_base = self.audio.time_base or Fraction(1, self.audio.rate)
        self._origin_pts: int | None = None
        # Subtracted from every packet's pts/dts: the program's clocks count from the start of
        # the program, its recording from the start of the recording.
        self.video_origin = 0
        self.audio_origin = 0
        self._thread.start()

    def segments(self) -> list[Path]:
        """The segment files written so far, in order."""
        return sorted(self.directory.glob(f"{self.name}-*.{self.params.extension}"))

    def write(self, packet: EncodedPacket) -> None:
        """Queue a video packet for writing (never blocks; a full queue drops and counts it)."""
        try:
            self._queue.put_nowait((VIDEO, packet))
        except queue.Full:
            self.counters.dropped += 1

    def write_audio(self, packet: EncodedPacket) -> None:
        """Queue an audio packet (same rules as `write`); ignored without AudioParams."""
        if self.audio is None:
            return
        try:
            self._queue.put_nowait((AUDIO, packet))
        except queue.Full:
            self.counters.audio_dropped += 1

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
            index, packet = cast(tuple[int, EncodedPacket], item)
            try:
                if index == VIDEO:
                    self._write(packet)
                else:
                    self._write_audio(packet)
            except Exception:  # a bad packet must not end the recording
                log.exception("recorder %s could not write a packet", self.name)
            self.counters.busy_seconds += time.perf_counter() - started

    def _write(self, packet: EncodedPacket) -> None:
        packet = _copy(packet, self.video_origin)
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
        packet.time_base = self._time_base
        packet.stream = seg.streams[VIDEO]
        seg.container.mux(packet)
        self.counters.packets += 1
        self.counters.bytes += packet.size
        if self._origin_pts is None:
            self._origin_pts = pts
        self.counters.media_seconds = max(
            self.counters.media_seconds, float((pts - self._origin_pts) * self._time_base)
        )

    def _write_audio(self, packet: EncodedPacket) -> None:
        seg = self._segment
        if seg is None or len(seg.streams) <= AUDIO:
            self.counters.audio_dropped += 1  # the file starts with the first video keyframe
            return
        out = _copy(packet, self.audio_origin)
        out.time_base = self._audio_time_base
        out.stream = seg.streams[AUDIO]
        seg.container.mux(out)
        self.counters.audio_packets += 1
        self.counters.bytes += packet.size

    def _open_segment(self) -> _Segment:
        path = self.directory / f"{self.name}-{self._index:06d}.{self.params.extension}"
        self._index += 1
        # Unbuffered file, small muxer buffer: what is muxed reaches the OS at once, so a
        # kill -9 of the server loses only what the muxer still holds (a few TS packets).
        fh = path.open("wb", buffering=0)
        container = av.open(fh, "w", format=self.params.container, buffer_size=TS_WRITE_BYTES)
        video = container.add_stream(self.params.codec, rate=self.params.fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = self.params.width, self.params.height
        video.pix_fmt = "yuv420p"
        video.time_base = self._time_base
        streams: list[Any] = [video]
        if self.audio is not None:
            audio = container.add_stream(self.audio.codec, rate=self.audio.rate)
            assert isinstance(audio, av.AudioStream)
            audio.codec_context.layout = self.audio.layout
            audio.time_base = self._audio_time_base
            if self.audio.extradata:
                audio.codec_context.extradata = self.audio.extradata
            streams.append(audio)
        self._segment = _Segment(path, container, streams, fh)
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


def _first_video_seconds(path: Path) -> Fraction | None:
    """When a segment's first video packet is (its own timeline), or None if unreadable."""
    try:
        with av.open(str(path)) as src:
            if not src.streams.video:
                return None
            video = src.streams.video[0]
            for packet in src.demux(video):
                if packet.dts is not None:
                    return Fraction(packet.dts) * (video.time_base or Fraction(1, 90000))
    except av.FFmpegError:
        pass
    return None


@dataclass
class _Track:
    """One stream of the finished file while segments are appended to it."""

    out: Any
    prev_dts: int | None = None  # in the source stream's time base
    step: int = 0  # the last packet's length, for packets that carry no duration
    first_s: Fraction | None = None
    end_s: Fraction = Fraction(0)


def finalize(segments: list[Path], target: Path) -> FinishedFile:
    """Remux `segments` (without re-encoding) into `target` (faststart when MP4), hashed.

    Timestamps are kept as recorded, so the program and the studios' own feeds stay on one
    timeline (a gap in time stays a gap). Only where the timeline starts again (a restart of
    the server mid-show) is the next part moved to follow the previous one seamlessly.
    Written as `target` + ".tmp" and renamed when whole; call it off the event loop.
    """
    if not segments:
        raise ValueError("nothing was recorded")
    tmp = target.with_name(target.name + ".tmp")
    fmt = "mp4" if target.suffix == ".mp4" else target.suffix.lstrip(".")
    options = {"movflags": "faststart"} if fmt == "mp4" else {}
    out = av.open(str(tmp), "w", format=fmt, options=options)
    tracks: dict[str, _Track] = {}
    offset = Fraction(0)  # seconds added to every timestamp of the current part
    try:
        for seg in segments:
            first = _first_video_seconds(seg)
            if first is None:
                # The segment being written when the server was killed may hold nothing usable.
                log.warning("skipping unreadable segment %s", seg.name)
                continue
            video_track = tracks.get("video")
            if video_track is not None and first + offset < video_track.end_s - Fraction(1, 10):
                offset = video_track.end_s - first  # a new part: continue where the last ended
            with av.open(str(seg)) as src:
                streams = [s for s in src.streams.video[:1] + src.streams.audio[:1] if _usable(s)]
                for stream in streams:
                    if stream.type not in tracks:
                        tracks[stream.type] = _Track(out.add_stream_from_template(stream))
                packets = src.demux(streams)
                while True:
                    try:
                        packet = next(packets)
                    except StopIteration:
                        break
                    except av.FFmpegError:
                        log.warning("segment %s ends early (cut off while writing)", seg.name)
                        break
                    try:
                        _append(tracks[packet.stream.type], packet, offset, out)
                    except av.FFmpegError as exc:  # one bad packet must not cost the file
                        log.warning("a packet of %s could not be written: %s", seg.name, exc)
    finally:
        out.close()
    video_track = tracks.get("video")
    if video_track is None or video_track.first_s is None or not tmp.stat().st_size:
        tmp.unlink(missing_ok=True)
        raise ValueError("no segment could be read")
    duration = video_track.end_s - (video_track.first_s or 0)
    digest = sha256_of(tmp)
    size = tmp.stat().st_size
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(target)
    _fsync_directory(target.parent)
    # The file is whole and durable: its segments would only double the disk it takes. A crash
    # before this line leaves both, and recovery makes the same file again from the segments.
    for seg in segments:
        seg.unlink(missing_ok=True)
    return FinishedFile(target, size, digest, float(duration))


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finished_file(path: Path) -> FinishedFile:
    """An already finalized file as the archive records it (call it off the event loop)."""
    with av.open(str(path)) as src:
        video = src.streams.video[0] if src.streams.video else None
        if video is not None and video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        else:
            duration = (src.duration or 0) / av.time_base
    return FinishedFile(path, path.stat().st_size, sha256_of(path), duration)


def _usable(stream: Any) -> bool:
    """Whether a segment's stream says enough to be copied: an audio stream written before its
    first packet (a recording stopped at once) has no sample rate, and the muxer refuses it."""
    if stream.type == "audio":
        return bool(stream.codec_context.sample_rate)
    return bool(stream.codec_context.width)


def _append(track: _Track, packet: Any, offset: Fraction, out: Any) -> None:
    if packet.dts is None:
        return
    stream = packet.stream
    time_base: Fraction = stream.time_base
    shift = round(offset / time_base)
    dts = packet.dts + shift
    pts = (packet.pts + shift) if packet.pts is not None else dts
    if track.prev_dts is not None:
        if dts > track.prev_dts:
            track.step = dts - track.prev_dts  # MPEG-TS packets often carry no duration
        else:  # where two parts meet, a packet may overlap the last one: keep order
            dts = track.prev_dts + 1
            pts = max(pts, dts)
    track.prev_dts = dts
    packet.dts, packet.pts = dts, pts
    fallback = _frame_ticks(stream) if stream.type == "video" else 1
    length = packet.duration or track.step or fallback
    if track.first_s is None:
        track.first_s = Fraction(dts) * time_base
    track.end_s = max(track.end_s, Fraction(dts + length) * time_base)
    packet.stream = track.out
    out.mux(packet)


def finalize_directory(directory: Path) -> list[tuple[str, FinishedFile]]:
    """Finalize every stream left in `directory` as segments: (stream name, file).

    For a recording whose server died: `program-000001.ts`... becomes `program.mp4`,
    `iso-trend-000001.webm`... becomes `iso-trend.webm`. A stream already finalized (its
    segments removed) but never registered is returned as it is. Call it off the event loop.
    """
    streams: dict[str, list[Path]] = {}
    for path in sorted(directory.glob(SEGMENT_GLOB)):
        if path.suffix in (".ts", ".webm"):
            streams.setdefault(path.stem.rsplit("-", 1)[0], []).append(path)
    out: list[tuple[str, FinishedFile]] = []
    for name, segments in sorted(streams.items()):
        suffix = ".mp4" if segments[0].suffix == ".ts" else ".webm"
        try:
            out.append((name, finalize(segments, directory / f"{name}{suffix}")))
        except ValueError:
            log.warning("nothing readable in the segments of %s in %s", name, directory)
    for path in sorted(directory.iterdir()):
        finished = path.suffix in (".mp4", ".webm") and not path.match(SEGMENT_GLOB)
        if finished and path.stem not in streams:
            try:
                out.append((path.stem, finished_file(path)))
            except (av.FFmpegError, OSError):
                log.warning("finished file %s cannot be read", path)
    return sorted(out, key=lambda item: item[0])
