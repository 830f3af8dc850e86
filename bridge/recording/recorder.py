"""Crash-safe recording of encoded streams: numbered segments while recording.

While recording, packets (video, and audio when there is any) are written into 2-second
segments (MPEG-TS for the program, WebM for a studio's own feed); each starts on a video
keyframe and decodes by itself, so a `kill -9` of the server loses at most the segment being
written. Finished segments are never touched again; at the end `finalize` joins them into one
file. All file work happens on the recorder's own thread, fed by a bounded queue.

A live output (HLS) reuses the same writer: it cuts on every keyframe (`segment_seconds=0`) and
learns of each finished segment through `on_segment`, on the recorder's thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import av
from av.container import OutputContainer

from bridge.recording.directory import segment_path, segments_of
from bridge.recording.parts import next_index
from bridge.spec import FileKind, RecorderFigures

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.recorder")

SEGMENT_SECONDS = 2.0
TS_WRITE_BYTES = 188 * 7 * 4  # whole MPEG-TS packets per write
QUEUE_PACKETS = 1200  # 20 s of 30 fps video and its audio: a disk stall that long loses packets
# Sound that arrives before the first keyframe is held this long (AAC blocks of 1024 samples at
# 48 kHz): the picture's encoder lags the sound's, more so on a loaded machine, so the sound of
# the keyframe's moment comes first and would otherwise be lost from the file's start.
EARLY_AUDIO_PACKETS = 240  # 5 s
_STOP = object()
VIDEO, AUDIO = 0, 1  # the streams' indexes in every segment


@dataclass(frozen=True)
class VideoParams:
    """What the recorded video stream is."""

    codec: str = "h264"
    width: int = 1280
    height: int = 720
    fps: int = 30
    container: str = "mpegts"  # a studio's own VP8 goes into "webm" segments, H.264 "matroska"
    extension: str = "ts"
    time_base: Fraction | None = None  # packets' time base; None: one tick per frame
    # A studio's H.264: its SPS and PPS (Annex B), which Matroska and MP4 need in the header.
    extradata: bytes | None = None


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

    def figures(self, kind: FileKind, studio_id: str | None) -> RecorderFigures:
        """The counters as they are now, as plain numbers (the monitor, events)."""
        return RecorderFigures(
            kind=kind,
            studio_id=studio_id,
            frames=self.packets,
            frames_dropped=self.dropped,
            audio_packets=self.audio_packets,
            audio_dropped=self.audio_dropped,
            segments=self.segments,
            bytes=self.bytes,
            media_seconds=round(self.media_seconds, 2),
            realtime_factor=round(self.realtime_factor, 4),
        )


@dataclass(frozen=True)
class ClosedSegment:
    """A segment the recorder has finished: complete on disk, and never touched again."""

    path: Path
    index: int
    start_seconds: float  # its first frame, on the recorder's timeline (after the origin)
    # Up to the next segment's first frame (so consecutive segments add up with no gap), or
    # for the last one to the end of its last frame.
    duration_seconds: float
    bytes: int


# Called on the recorder's thread right after a segment is closed (its file work is done).
SegmentListener = Callable[[ClosedSegment], None]


@dataclass
class _Segment:
    path: Path
    index: int
    container: OutputContainer
    streams: list[av.VideoStream | av.AudioStream]
    file: BinaryIO
    first_pts: int | None = None
    last_pts: int | None = None


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
    # A keyframe at least this long after a segment's first frame starts the next segment; 0:
    # every keyframe does (HLS: a forced keyframe restarts x264's GOP, and with a minimum
    # length the segment after it would outgrow the GOP).
    segment_seconds: float = SEGMENT_SECONDS
    audio: AudioParams | None = None
    on_segment: SegmentListener | None = None
    # The first segment's number; None: after the segments already in the directory.
    first_index: int | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.counters = RecorderCounters()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PACKETS)
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.name}", daemon=True)
        self._segment: _Segment | None = None
        # A restart continues after the existing segments (and a node that took the show
        # over, after the earlier part's segments in the object store).
        self._index = (
            next_index(self.directory, self.name) if self.first_index is None else self.first_index
        )
        self._time_base = self.params.time_base or Fraction(1, self.params.fps)
        self._audio_time_base = Fraction(1, 48000)
        if self.audio is not None:
            self._audio_time_base = self.audio.time_base or Fraction(1, self.audio.rate)
        self._origin_pts: int | None = None
        self._early_audio: deque[EncodedPacket] = deque(maxlen=EARLY_AUDIO_PACKETS)
        self._broken_chain = False  # a picture was dropped: wait for a keyframe
        # Subtracted from every packet's pts/dts: the program's clocks count from the start of
        # the program, its recording from the start of the recording.
        self.video_origin = 0
        self.audio_origin = 0
        self._thread.start()

    def segments(self) -> list[Path]:
        """The segment files written so far, in order."""
        return segments_of(self.directory, self.name, self.params.extension)

    def write(self, packet: EncodedPacket) -> None:
        """Queue a video packet for writing (never blocks; a full queue drops and counts it).

        After a drop, the pictures up to the next keyframe are dropped too: each refers to the
        one lost, and a file with them in it fails to decode there (players stop on it)."""
        if self._broken_chain and not packet.is_keyframe:
            self.counters.dropped += 1
            return
        try:
            self._queue.put_nowait((VIDEO, packet))
            self._broken_chain = False
        except queue.Full:
            self.counters.dropped += 1
            self._broken_chain = True

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
                self.counters.audio_dropped += len(self._early_audio)  # no picture ever came
                self._early_audio.clear()
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
            self._close_segment(end_pts=pts)
            seg = self._open_segment()
        if seg is None:
            self.counters.dropped += 1  # nothing decodable before the first keyframe
            return
        if seg.first_pts is None:
            seg.first_pts = pts
        seg.last_pts = pts if seg.last_pts is None else max(seg.last_pts, pts)
        packet.time_base = self._time_base
        packet.stream = seg.streams[VIDEO]
        seg.container.mux(packet)
        self.counters.packets += 1
        self.counters.bytes += packet.size
        if self._origin_pts is None:  # the file's first picture: its start
            self._origin_pts = pts
            while self._early_audio:  # the sound held for it (`_write_audio` drops what is before)
                self._write_audio(self._early_audio.popleft())
        self.counters.media_seconds = max(
            self.counters.media_seconds, float((pts - self._origin_pts) * self._time_base)
        )

    def _write_audio(self, packet: EncodedPacket) -> None:
        seg = self._segment
        if seg is None and self._origin_pts is None:
            if len(self._early_audio) == self._early_audio.maxlen:
                self.counters.audio_dropped += 1  # the oldest held block goes
            self._early_audio.append(packet)  # until the first keyframe says where the file starts
            return
        if seg is None or len(seg.streams) <= AUDIO:
            self.counters.audio_dropped += 1
            return
        at = ((packet.pts or 0) - self.audio_origin) * self._audio_time_base
        if self._origin_pts is not None and at < self._origin_pts * self._time_base:
            # Sound from before the file's first picture (which came late: the keyframe asked
            # for is a few frames away on a loaded machine): the file starts with both.
            self.counters.audio_dropped += 1
            return
        out = _copy(packet, self.audio_origin)
        out.time_base = self._audio_time_base
        out.stream = seg.streams[AUDIO]
        seg.container.mux(out)
        self.counters.audio_packets += 1
        self.counters.bytes += packet.size

    def _open_segment(self) -> _Segment:
        index = self._index
        path = segment_path(self.directory, self.name, index, self.params.extension)
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
        if self.params.extradata:
            # PyAV's stream is an encoder's (libx264 for "h264"), opened at the first mux,
            # which writes its own parameter sets over ours: the file then declared a High
            # profile SPS while its frames carry the studio's. Opened now (cheaply), ours stay.
            video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
            video.codec_context.open()
            video.codec_context.extradata = self.params.extradata
        streams: list[av.VideoStream | av.AudioStream] = [video]
        if self.audio is not None:
            audio = container.add_stream(self.audio.codec, rate=self.audio.rate)
            assert isinstance(audio, av.AudioStream)
            audio.codec_context.layout = self.audio.layout
            audio.time_base = self._audio_time_base
            if self.audio.extradata:
                audio.codec_context.extradata = self.audio.extradata
            streams.append(audio)
        self._segment = _Segment(path, index, container, streams, fh)
        self.counters.segments += 1
        return self._segment

    def _close_segment(self, end_pts: int | None = None) -> None:
        """Close the current segment; `end_pts` is the first frame of the next one."""
        seg, self._segment = self._segment, None
        if seg is None:
            return
        seg.container.close()
        seg.file.close()
        if self.on_segment is None or seg.first_pts is None or seg.last_pts is None:
            return
        start = seg.first_pts * self._time_base
        if end_pts is not None:
            end = end_pts * self._time_base
        else:  # the last segment: to the end of its last frame
            end = seg.last_pts * self._time_base + Fraction(1, self.params.fps)
        closed = ClosedSegment(
            seg.path, seg.index, float(start), float(end - start), seg.path.stat().st_size
        )
        try:
            self.on_segment(closed)
        except Exception:  # the listener's trouble must not end the recording
            log.exception("recorder %s: the segment listener failed", self.name)
