"""A recorded stream's segments remuxed into one finished file, hashed, and made durable.

The segments are joined without re-encoding into one file (an MP4 with the index at the front,
faststart, or WebM) written as `*.tmp`, hashed (SHA-256), fsynced and renamed: nobody ever sees
a half-written file under its final name. Timestamps are kept as recorded, so the program and
the studios' own feeds stay on one timeline. Blocking file work: call it off the event loop.

A kill -9 may come at any step, so each step leaves the disk in a state the next start can
finish from (`settle`): before the rename, a journal (`<file>.segments`, the names of the
segments the file holds) is made durable; after the rename the segments are deleted, then the
journal. A file with its journal beside it holds the journal's segments (any still on disk are
deleted again); a journal without its file is stale (the segments are remuxed again); a
finished file with segments but no journal is extended by them (it comes first in the remux).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
from av.bitstream import BitStreamFilterContext
from av.container import InputContainer, OutputContainer
from av.stream import Stream

if TYPE_CHECKING:
    DemuxedPacket = av.Packet[Stream]
else:
    DemuxedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.recorder")


def holds_no_picture(path: Path) -> bool:
    """Whether a segment holds no picture: a container's header, at most a sliver of sound
    after it, and nothing else (the recorder opened it and was killed before its first
    picture: the segment being written, which a kill -9 may lose). No file can be made of it.
    A segment that cannot be read at all is not: it may hold bytes a person can still rescue."""
    if path.stat().st_size == 0:
        return True
    try:
        with av.open(str(path)) as src:
            if not src.streams.video:
                return True  # cut off before its header declared the picture
            return not any(packet.size for packet in src.demux(src.streams.video[0]))
    except av.error.EOFError:
        return True  # it ends before its header does: no frame in it
    except av.FFmpegError:
        return False


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
    annexb: bool = True  # H.264 with start codes (MPEG-TS's form), not avcC (MP4's)
    # The last packet's decoding time and length, in seconds: a finished MP4 (1/16000 for a
    # studio's H.264) and the Matroska segments joined to it (1/1000) count in different units.
    prev_dts_s: Fraction | None = None
    step_s: Fraction = Fraction(0)  # for packets that carry no duration
    first_s: Fraction | None = None
    end_s: Fraction = Fraction(0)


def finalize(segments: list[Path], target: Path) -> FinishedFile:
    """Remux `segments` (without re-encoding) into `target` (faststart when MP4), hashed.

    Timestamps are kept as recorded, so the program and the studios' own feeds stay on one
    timeline (a gap in time stays a gap). Only where the timeline starts again (a restart of
    the server mid-show) is the next part moved to follow the previous one seamlessly.
    Written as `target` + ".tmp" and renamed when whole; call it off the event loop.
    """
    segments = settle(segments, target)
    if not segments:
        if target.exists():  # a crash came after the rename: the file holds them all
            return finished_file(target)
        raise ValueError("nothing was recorded")
    if target.exists():  # finished before, and segments written after: it comes first
        segments = [target, *segments]
    tmp = target.with_name(target.name + ".tmp")
    fmt = "mp4" if target.suffix == ".mp4" else target.suffix.lstrip(".")
    options = {"movflags": "faststart"} if fmt == "mp4" else {}
    out = av.open(str(tmp), "w", format=fmt, options=options)
    tracks: dict[str, _Track] = {}
    # The finished file's H.264 is in MP4's form, the new segments' in MPEG-TS's: the tracks
    # take a segment's form, and the file's packets are converted to it.
    _add_tracks(out, tracks, [*segments[1:], target] if segments[0] == target else segments)
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
                streams = [s for s in _usable_streams(src) if s.type in tracks]
                convert = {s.type: _to_annexb(s, tracks[s.type]) for s in streams}
                packets = src.demux(streams)
                while True:
                    try:
                        packet = next(packets)
                    except StopIteration:
                        break
                    except av.FFmpegError:
                        log.warning("segment %s ends early (cut off while writing)", seg.name)
                        break
                    kind = packet.stream.type
                    converter = convert[kind]
                    as_written = [packet] if converter is None else converter.filter(packet)
                    for one in as_written:
                        one.stream = packet.stream
                        try:
                            _append(tracks[kind], one, offset, out)
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
    included = [seg for seg in segments if seg != target]
    _write_durably(journal_of(target), "".join(f"{seg.name}\n" for seg in included))
    tmp.replace(target)
    _fsync_directory(target.parent)
    # The file is whole and durable: its segments would only double the disk it takes. A crash
    # from here on leaves the journal, and the next start deletes what it names (`settle`).
    for seg in included:
        seg.unlink(missing_ok=True)
    journal_of(target).unlink(missing_ok=True)
    _fsync_directory(target.parent)
    return FinishedFile(target, size, digest, float(duration))


def journal_of(target: Path) -> Path:
    """Where the names of the segments a finished file holds are kept while they are deleted."""
    return target.with_name(target.name + ".segments")


def settle(segments: list[Path], target: Path) -> list[Path]:
    """Finish what a crash interrupted in `target`'s finalizing; the segments still to join.

    With the journal and the file both on disk the rename happened: the segments the journal
    names are in the file and are deleted. A journal without its file is from before the
    rename: dropped, its segments are joined again. A leftover `.tmp` is always dropped.
    """
    journal = journal_of(target)
    target.with_name(target.name + ".tmp").unlink(missing_ok=True)
    if not journal.exists():
        return segments
    if target.exists():
        held = set(journal.read_text(encoding="utf-8").split())
        for seg in segments:
            if seg.name in held:
                seg.unlink(missing_ok=True)
        segments = [seg for seg in segments if seg.name not in held]
    journal.unlink()
    _fsync_directory(target.parent)
    return segments


def _write_durably(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


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


def _usable_streams(src: InputContainer) -> list[Stream]:
    return [s for s in [*src.streams.video[:1], *src.streams.audio[:1]] if _usable(s)]


def _add_tracks(out: OutputContainer, tracks: dict[str, _Track], segments: list[Path]) -> None:
    """One track of each kind (video, audio), from the first readable segment that holds it.

    All are added before the first packet is written: a muxer takes no stream after its header
    (FFmpeg's MP4 muxer dies of a division by zero, taking the server with it, when a program
    whose first segment has no audio yet gets audio in a later one)."""
    for seg in segments:
        if len(tracks) == 2:
            return
        if _first_video_seconds(seg) is None:
            continue
        with av.open(str(seg)) as src:
            for stream in _usable_streams(src):
                if stream.type not in tracks:
                    extradata = stream.codec_context.extradata or b""
                    tracks[stream.type] = _Track(
                        out.add_stream_from_template(stream),
                        annexb=not extradata.startswith(b"\x01"),
                    )


def _to_annexb(stream: Stream, track: _Track) -> BitStreamFilterContext | None:
    """A converter of `stream`'s H.264 from MP4's form (avcC) to the track's (Annex B), when
    they differ; None when its packets go in as they are."""
    extradata = stream.codec_context.extradata or b""
    if stream.codec_context.name != "h264" or not track.annexb or not extradata.startswith(b"\x01"):
        return None
    return BitStreamFilterContext("h264_mp4toannexb", stream)


def _usable(stream: Stream) -> bool:
    """Whether a segment's stream says enough to be copied: an audio stream written before its
    first packet (a recording stopped at once) has no sample rate, and the muxer refuses it."""
    if isinstance(stream, av.AudioStream):
        return bool(stream.codec_context.sample_rate)
    return isinstance(stream, av.VideoStream) and bool(stream.codec_context.width)


def _append(track: _Track, packet: DemuxedPacket, offset: Fraction, out: OutputContainer) -> None:
    # Matroska keeps only presentation times, and its H.264 parser gives the first frames of a
    # segment no decoding time (the key frame among them): our recordings have no B-frames,
    # so there the two are the same.
    decoding = packet.dts if packet.dts is not None else packet.pts
    if decoding is None:
        return
    stream = packet.stream
    time_base = stream.time_base or Fraction(1, 90000)
    shift = round(offset / time_base)
    dts = decoding + shift
    pts = (packet.pts + shift) if packet.pts is not None else dts
    prev = track.prev_dts_s
    if prev is not None:
        if dts * time_base > prev:
            track.step_s = dts * time_base - prev  # MPEG-TS packets often carry no duration
        else:  # where two parts meet, a packet may overlap the last one: keep order
            dts = math.floor(prev / time_base) + 1
            pts = max(pts, dts)
    track.prev_dts_s = dts * time_base
    packet.dts, packet.pts = dts, pts
    fallback = _frame_ticks(stream) if stream.type == "video" else 1
    length = packet.duration or round(track.step_s / time_base) or fallback
    if track.first_s is None:
        track.first_s = Fraction(dts) * time_base
    track.end_s = max(track.end_s, Fraction(dts + length) * time_base)
    packet.stream = track.out
    out.mux(packet)
