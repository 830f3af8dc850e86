"""HLS of the program for partners' web pages: MPEG-TS segments and a sliding playlist.

The program's own H.264 and AAC are remuxed (never encoded again) by a SegmentRecorder on its
own thread, which cuts a segment at every keyframe: the program's GOP is 2 s, and a keyframe
forced in between (a new recording, an output, a studio's PLI) restarts x264's GOP, so cutting
on every keyframe is what keeps every segment within 2 s. x264 counts its GOP in frames, though,
and a program short of CPU skips frame ticks (60 frames took 3.7 s on a loaded test machine):
KeyframeGuard asks for the keyframe on time when that happens. The writer puts each packet in
the segment open when it arrives, and the program's picture and sound reach the tap on their
own schedules (a loaded machine had them 0.2 s apart), so an Interleaver hands them on in time
order first: each segment then holds the sound of its own span. When the recorder has closed a
segment, the same thread lists it: the playlist is written whole to a temporary file that then
replaces `index.m3u8` (os.replace), so a reader, or a server killed mid-write, only ever sees
a playlist of complete segments. Files that leave the window are deleted a couple of windows
later, since a viewer may still be fetching them.

A new run in a directory that holds an earlier run's files (the output restarted, or the
server died mid-show) continues rather than starts over: segment numbers (which are also the
media sequence numbers) go on after the highest file there, and its first segment carries
EXT-X-DISCONTINUITY, counted on in EXT-X-DISCONTINUITY-SEQUENCE. A player still polling the
old playlist then sees the sequence move forward, and a jump in the timestamps (a restarted
server's program clock starts over) where it is told to expect one; and no URL ever names other
content than it did (browsers and CDNs may have cached it).
The earlier run's unlisted leftovers (a half-written segment, a temporary playlist) are removed
at once; its listed segments are deleted like any segment that left the window. Its playlist
stays as it was until this run's first segment replaces it.

Only this module knows the names; the web route asks `hls_file` which name it may serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.outputs.base import OutputListener, ProgramSource
from bridge.program.engine import EncodedPacket
from bridge.program.mixer import RATE
from bridge.program.tap import PacketSink, ProgramTap
from bridge.recording.recorder import (
    AudioParams,
    ClosedSegment,
    SegmentRecorder,
    VideoParams,
)
from bridge.spec import OutputFigures, OutputKind, OutputState, OutputTarget

log = logging.getLogger("telebridge.bridge.hls")

PLAYLIST = "index.m3u8"
PLAYLIST_MEDIA_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_MEDIA_TYPE = "video/mp2t"
SEGMENT_STREAM, SEGMENT_EXTENSION = "seg", "ts"  # seg-000123.ts (see recording.directory)
HLS_WINDOW = 6  # segments in the playlist: 12 s of program
GUARD_MARGIN_S = 0.2  # a GOP that skipped ticks gets its keyframe asked for this much early
INTERLEAVE_WAIT_S = 1.0  # a stream is held back no longer than this for the other one
KEEP_WINDOWS = 2  # a segment's file is deleted two windows after it left the playlist
_TMP = PLAYLIST + ".tmp"
_SEGMENT = re.compile(r"seg-([0-9]{6,})\.ts")
_SERVED = re.compile(r"index\.m3u8|seg-[0-9]{6,}\.ts")  # ASCII digits only: not \d


def hls_file(directory: Path, name: str) -> Path | None:
    """The file of `name` in an HLS directory, or None when `name` is not a playlist's or a
    segment's name (anything else, e.g. `../x`, a temporary file or a path, is refused)."""
    return directory / name if _SERVED.fullmatch(name) else None


def media_type(name: str) -> str:
    """The Content-Type to serve a file of an HLS directory with."""
    return PLAYLIST_MEDIA_TYPE if name.endswith(".m3u8") else SEGMENT_MEDIA_TYPE


def segment_name(sequence: int) -> str:
    """The file of the segment with media sequence number `sequence`."""
    return f"{SEGMENT_STREAM}-{sequence:06d}.{SEGMENT_EXTENSION}"


@dataclasses.dataclass(frozen=True)
class HlsSegment:
    """A finished segment as the playlist lists it."""

    sequence: int  # its media sequence number, which is also its file's number
    duration_s: float
    started_at: datetime  # wall clock (UTC) of its first frame: EXT-X-PROGRAM-DATE-TIME
    bytes: int = 0
    discontinuity: bool = False  # the first of a new run: its timestamps jump

    @property
    def name(self) -> str:
        """Its file's name, relative to the playlist."""
        return segment_name(self.sequence)


def _extinf(seconds: float) -> float:
    return round(seconds, 3)  # as the playlist writes it


def _date_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def playlist_text(
    segments: Sequence[HlsSegment],
    target_duration: int,
    discontinuity_sequence: int = 0,
    ended: bool = False,
) -> str:
    """A media playlist (HLS version 3: TS segments, decimal durations) of `segments`, whose
    sequence numbers follow one another."""
    first = segments[0].sequence if segments else 0
    if any(s.sequence != first + i for i, s in enumerate(segments)):
        raise ValueError("a playlist's segments must have consecutive sequence numbers")
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
    ]
    if discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_date_time(segment.started_at)}")
        lines.append(f"#EXTINF:{_extinf(segment.duration_s):.3f},")
        lines.append(segment.name)
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


class HlsPlaylist:
    """The sliding window of one run (no file work: it says which files may go)."""

    def __init__(
        self,
        window: int = HLS_WINDOW,
        min_target: int = 2,
        discontinuity_sequence: int = 0,
        retired: Iterable[str] = (),
    ) -> None:
        self.window = window
        self.segments: deque[HlsSegment] = deque()
        self.discontinuity_sequence = discontinuity_sequence
        # Never lowered: RFC 8216 wants it fixed, and a player's reload pace follows it.
        self.target_duration = min_target
        self._added = 0
        self._keep = KEEP_WINDOWS * window
        self._retired: deque[tuple[int, str]] = deque((self._keep, name) for name in retired)

    def add(self, segment: HlsSegment) -> list[str]:
        """List a finished segment; returns the files that may be deleted now.

        A segment whose number does not follow the last one (the writer lost one: a disk
        error) cannot share a playlist with the segments before it: they are let go, and it
        starts over as a discontinuity."""
        if self.segments and segment.sequence != self.segments[-1].sequence + 1:
            segment = dataclasses.replace(segment, discontinuity=True)
            self._slide(keep=0)
        self.segments.append(segment)
        self._added += 1
        self.target_duration = max(self.target_duration, math.ceil(_extinf(segment.duration_s)))
        self._slide(keep=self.window)
        due: list[str] = []
        while self._retired and self._retired[0][0] <= self._added:
            due.append(self._retired.popleft()[1])
        return due

    def _slide(self, keep: int) -> None:
        while len(self.segments) > keep:
            gone = self.segments.popleft()
            if gone.discontinuity:
                self.discontinuity_sequence += 1  # RFC 8216 6.2.2
            self._retired.append((self._added + self._keep, gone.name))

    def text(self, ended: bool = False) -> str:
        """The playlist as it stands."""
        return playlist_text(
            list(self.segments), self.target_duration, self.discontinuity_sequence, ended
        )

    def bitrate_kbps(self) -> float | None:
        """The segments' bitrate over the window (None before the first)."""
        seconds = sum(s.duration_s for s in self.segments)
        return sum(s.bytes for s in self.segments) * 8 / seconds / 1000 if seconds else None


class KeyframeGuard:
    """Keeps the program's GOPs within their length in time when frame ticks are skipped.

    Sees the program's video packets on their way to the writer (event loop). x264 makes a
    keyframe every `gop` frames; once a GOP has skipped a tick its keyframe will come late, so
    near the GOP's length in ticks the guard forces one. A GOP that skips nothing is left alone,
    so a program with CPU to spare keeps x264's own cadence. The GOP's age is the frame clock's
    tick now (`now`), not the packet's: on a busy event loop packets arrive in bursts, late.
    The request is made early enough for the next frame to come: `margin` ticks, or twice the
    longest gap between frames lately (this GOP and the one before) when that is more, up to
    half a GOP. A program that stalls for long gets shorter segments rather than longer ones.
    """

    def __init__(
        self,
        gop_ticks: int,
        margin_ticks: int,
        force: Callable[[], None],
        now: Callable[[], int] | None = None,  # the frame clock's tick; default: the packet's
    ) -> None:
        self.gop_ticks, self.margin_ticks = gop_ticks, margin_ticks
        self._force, self._now = force, now
        self.forced = 0  # keyframes asked for
        self._key: int | None = None  # the last keyframe's pts (frame ticks)
        self._last: int | None = None  # the last packet's
        self._frames = 0  # frames after the keyframe
        self._gap_before = self._gap_now = 1  # longest gaps (ticks): GOP before, this GOP
        self._asked = False

    def __call__(self, packet: EncodedPacket) -> None:
        """Note a video packet (before it is written)."""
        pts = packet.pts
        if pts is None:
            return
        if self._last is not None:
            self._gap_now = max(self._gap_now, pts - self._last)
        self._last = pts
        if packet.is_keyframe:
            self._key, self._frames, self._asked = pts, 0, False
            self._gap_before, self._gap_now = self._gap_now, 1
            return
        if self._key is None or self._asked:
            return
        self._frames += 1
        if pts - self._key == self._frames:
            return  # no tick skipped: x264's keyframe comes on time
        age = (self._now() if self._now is not None else pts) - self._key
        gap = max(self._gap_before, self._gap_now)
        margin = min(self.gop_ticks // 2, max(self.margin_ticks, 2 * gap))
        if age >= self.gop_ticks - margin:
            self._asked = True
            self.forced += 1
            self._force()


class Interleaver:
    """Hands video and audio packets on in time order (event loop).

    A packet is held until the other stream has one as late, or until its own stream is
    INTERLEAVE_WAIT_S ahead of it (the other stream has stalled or ended: no waiting for it).
    Both program clocks count from one origin, so their pts compare once made seconds.
    """

    def __init__(
        self,
        video: PacketSink,
        audio: PacketSink,
        video_rate: int,
        audio_rate: int,
        wait_s: float = INTERLEAVE_WAIT_S,
    ) -> None:
        self._sinks = (video, audio)
        self._rates = (video_rate, audio_rate)
        self._wait_s = wait_s
        self._held: tuple[deque[EncodedPacket], deque[EncodedPacket]] = (deque(), deque())

    def video(self, packet: EncodedPacket) -> None:
        """A video packet, in its stream's order."""
        self._add(0, packet)

    def audio(self, packet: EncodedPacket) -> None:
        """An audio packet, in its stream's order."""
        self._add(1, packet)

    def flush(self) -> None:
        """Hand on everything held, in time order (the streams have ended)."""
        while any(self._held):
            self._pop(self._next())

    def _seconds(self, stream: int, packet: EncodedPacket) -> float:
        return (packet.pts or 0) / self._rates[stream]

    def _next(self) -> int:
        video, audio = self._held
        if not audio:
            return 0
        if not video:
            return 1
        return 0 if self._seconds(0, video[0]) <= self._seconds(1, audio[0]) else 1

    def _pop(self, stream: int) -> None:
        self._sinks[stream](self._held[stream].popleft())

    def _add(self, stream: int, packet: EncodedPacket) -> None:
        held = self._held[stream]
        held.append(packet)
        while all(self._held):
            self._pop(self._next())
        newest = self._seconds(stream, packet)
        while held and newest - self._seconds(stream, held[0]) > self._wait_s:
            self._pop(stream)


@dataclasses.dataclass(frozen=True)
class _EarlierRun:
    """What a directory holds of an earlier run."""

    next_sequence: int
    discontinuity_sequence: int  # for this run's playlist
    listed: tuple[str, ...]  # segments its playlist lists (deleted later, like any)
    playlist: bool  # it wrote a playlist: this run's first segment is a discontinuity


def _earlier_run(directory: Path) -> _EarlierRun:
    """Read what an earlier run left in `directory`, removing what it never listed."""
    numbers = {
        path.name: int(match.group(1))
        for path in directory.iterdir()
        if (match := _SEGMENT.fullmatch(path.name))
    }
    playlist = directory / PLAYLIST
    found = playlist.exists()
    sequence, tags, listed = 0, 0, []
    if found:
        for line in playlist.read_text(errors="replace").splitlines():
            tag, _, value = line.partition(":")
            if tag == "#EXT-X-DISCONTINUITY-SEQUENCE" and value.isdecimal():
                sequence = int(value)
            elif line == "#EXT-X-DISCONTINUITY":
                tags += 1
            elif line in numbers:
                listed.append(line)
    for name in set(numbers) - set(listed):
        (directory / name).unlink(missing_ok=True)
    (directory / _TMP).unlink(missing_ok=True)
    return _EarlierRun(
        next_sequence=max(numbers.values(), default=-1) + 1,
        discontinuity_sequence=sequence + tags,
        listed=tuple(listed),
        playlist=found,
    )


class HlsOutput:
    """The program as HLS in `directory`, for as long as it runs (one tap, one timeline)."""

    def __init__(
        self,
        target: OutputTarget,
        source: ProgramSource,
        directory: Path,
        on_change: OutputListener | None = None,
        window: int = HLS_WINDOW,
    ) -> None:
        self.target = target
        self.source = source
        self.directory = directory
        self._on_change = on_change
        self._window = window
        self._state = OutputState.IDLE
        self._last_error: str | None = None
        self._live_since: float | None = None
        self._live_seconds = 0.0
        self._bitrate_kbps: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tap: ProgramTap | None = None
        self._recorder: SegmentRecorder | None = None
        self.guard: KeyframeGuard | None = None
        self._interleaver: Interleaver | None = None
        # Recorder thread only, from start() on:
        self._playlist = HlsPlaylist(window)
        self._discontinuity = False
        self._wall_origin = datetime.now(UTC)  # the program clocks' 0 on the wall clock

    async def start(self) -> None:
        """Prepare the directory (off the event loop), then open the tap."""
        if self._state is not OutputState.IDLE:
            return
        engine = self.source.engine
        if engine.origin is None:
            raise RuntimeError("the program's clocks have not started")
        self._loop = loop = asyncio.get_running_loop()
        self._set_state(OutputState.CONNECTING)
        try:
            self._recorder = await loop.run_in_executor(None, self._prepare)
        except OSError as exc:
            log.exception("HLS output %s cannot write into %s", self.target.id, self.directory)
            self._last_error = f"cannot write into the HLS directory: {exc}"
            self._set_state(OutputState.FAILED)
            return
        recorder = self._recorder
        fps = engine.fmt.fps
        guard = KeyframeGuard(
            round(engine.fmt.gop_seconds * fps),
            round(GUARD_MARGIN_S * fps),
            engine.force_keyframe,
            engine.tick_now,
        )
        self.guard = guard
        self._interleaver = order = Interleaver(recorder.write, recorder.write_audio, fps, RATE)

        def video(packet: EncodedPacket) -> None:
            guard(packet)
            order.video(packet)

        def audio(packet: EncodedPacket) -> None:
            if packet.pts is None or packet.pts >= 0:  # not the AAC encoder's priming
                order.audio(packet)

        # The segments keep the program clocks' own timestamps (the recorder's origins stay 0),
        # not the tap's timeline: the first packets a tap hands on can be older than its 0 (a
        # frame already being encoded when it opened, AAC's encoder delay), and the muxer
        # moves a file that starts before 0 as a whole, out of step with the next segment.
        # Loop time is monotonic: the program clocks' 0 on the wall clock, once.
        self._tap = self.source.tap(video, audio)
        self._wall_origin = datetime.now(UTC) - timedelta(seconds=loop.time() - engine.origin)

    def _prepare(self) -> SegmentRecorder:
        """The directory ready and the segment writer running (an executor thread)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        earlier = _earlier_run(self.directory)
        fmt = self.source.engine.fmt
        self._playlist = HlsPlaylist(
            self._window,
            min_target=math.ceil(fmt.gop_seconds),
            discontinuity_sequence=earlier.discontinuity_sequence,
            retired=earlier.listed,
        )
        self._discontinuity = earlier.playlist
        return SegmentRecorder(
            self.directory,
            SEGMENT_STREAM,
            VideoParams(width=fmt.width, height=fmt.height, fps=fmt.fps),
            segment_seconds=0.0,  # every keyframe starts a segment (see the module's doc)
            audio=AudioParams(extradata=self.source.audio.extradata),
            on_segment=self._on_segment,
            first_index=earlier.next_sequence,
        )

    def _on_segment(self, closed: ClosedSegment) -> None:
        """List a finished segment and delete what has been out of the window long enough
        (the recorder's thread)."""
        segment = HlsSegment(
            sequence=closed.index,
            duration_s=closed.duration_seconds,
            started_at=self._wall_origin + timedelta(seconds=closed.start_seconds),
            bytes=closed.bytes,
            discontinuity=self._discontinuity,
        )
        self._discontinuity = False
        due = self._playlist.add(segment)
        error: str | None = None
        try:
            self._write_playlist(ended=False)
        except OSError as exc:
            log.exception("HLS output %s could not write its playlist", self.target.id)
            error = f"cannot write the playlist: {exc}"
        for name in due:
            (self.directory / name).unlink(missing_ok=True)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
                self._loop.call_soon_threadsafe(self._listed, self._playlist.bitrate_kbps(), error)

    def _write_playlist(self, ended: bool) -> None:
        tmp = self.directory / _TMP
        tmp.write_text(self._playlist.text(ended))
        os.replace(tmp, self.directory / PLAYLIST)  # readers see the old one or the new one

    def _listed(self, bitrate_kbps: float | None, error: str | None) -> None:
        """A segment went into the playlist, or failed to (the event loop)."""
        if self._state in (OutputState.STOPPED, OutputState.FAILED):
            return  # the last segment, listed while stopping
        self._bitrate_kbps = bitrate_kbps
        changed = error != self._last_error
        self._last_error = error
        if self._state is OutputState.CONNECTING and error is None:
            self._live_since = time.monotonic()
            self._set_state(OutputState.LIVE)
        elif changed:
            self._notify()

    async def stop(self) -> None:
        """Write what the program has handed on, end the playlist, release the thread."""
        if self._state in (OutputState.STOPPED, OutputState.FAILED):
            return
        if self._live_since is not None:
            self._live_seconds = time.monotonic() - self._live_since
            self._live_since = None
        tap, self._tap = self._tap, None
        if tap is not None:
            await tap.close(drain=True)
        if self._interleaver is not None:
            self._interleaver.flush()
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._finish, recorder)
        self._bitrate_kbps = None
        self._set_state(OutputState.STOPPED)

    def _finish(self, recorder: SegmentRecorder) -> None:
        recorder.close()  # the last segment is listed on the way
        if self._playlist.segments:
            try:
                self._write_playlist(ended=True)
            except OSError:
                log.exception("HLS output %s could not end its playlist", self.target.id)

    def figures(self) -> OutputFigures:
        """Its state now; the bitrate is over the segments in the playlist."""
        live = self._live_seconds
        if self._live_since is not None:
            live = time.monotonic() - self._live_since
        return OutputFigures(
            id=self.target.id,
            kind=OutputKind.HLS,
            state=self._state,
            bitrate_kbps=round(self._bitrate_kbps, 1) if self._bitrate_kbps is not None else None,
            last_error=self._last_error,
            live_seconds=round(live, 1),
        )

    def _set_state(self, state: OutputState) -> None:
        if state is not self._state:
            self._state = state
            self._notify()

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change(self.figures())
