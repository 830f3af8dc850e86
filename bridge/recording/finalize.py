"""A recorded stream's segments remuxed into one finished file, hashed, and made durable.

The segments are joined without re-encoding into one file (an MP4 with the index at the front,
faststart, or WebM) written as `*.tmp`, hashed (SHA-256), fsynced and renamed: nobody ever sees
a half-written file under its final name. Timestamps are kept as recorded, so the program and
the studios' own feeds stay on one timeline. Blocking file work: call it off the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
from av.container import OutputContainer
from av.stream import Stream

if TYPE_CHECKING:
    DemuxedPacket = av.Packet[Stream]
else:
    DemuxedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.recorder")


@dataclass(frozen=True)
class FinishedFile:
    """A finalized recording file."""

    path: Path
    bytes: int
    sha256: str
    duration_s: float


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks (call it off the event loop)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _frame_ticks(stream: Stream) -> int:
    rate = stream.average_rate or stream.guessed_rate or 30
    time_base = stream.time_base or Fraction(1, 90000)
    return max(1, int(1 / (rate * time_base)))


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

    out: Stream
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
                streams: list[Stream] = [
                    s for s in [*src.streams.video[:1], *src.streams.audio[:1]] if _usable(s)
                ]
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


def _usable(stream: Stream) -> bool:
    """Whether a segment's stream says enough to be copied: an audio stream written before its
    first packet (a recording stopped at once) has no sample rate, and the muxer refuses it."""
    if isinstance(stream, av.AudioStream):
        return bool(stream.codec_context.sample_rate)
    return isinstance(stream, av.VideoStream) and bool(stream.codec_context.width)


def _append(track: _Track, packet: DemuxedPacket, offset: Fraction, out: OutputContainer) -> None:
    if packet.dts is None:
        return
    stream = packet.stream
    time_base = stream.time_base or Fraction(1, 90000)
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
