"""HLS of the program for partners' web pages: MPEG-TS segments and a sliding playlist.

The program's own H.264 and AAC are remuxed (never encoded again) by a SegmentRecorder on its
own thread, which cuts a segment at every keyframe; the packets reach it through a KeyframeGuard
and an Interleaver (bridge.outputs.pacing: why every keyframe, and why in time order). When the
recorder has closed a segment, the same thread lists it (bridge.outputs.playlist: the names, the
window, the text): the playlist is written whole to a temporary file that then replaces
`index.m3u8` (os.replace), so a reader, or a server killed mid-write, only ever sees a playlist
of complete segments. Files that leave the window are deleted a couple of windows later, since
a viewer may still be fetching them.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.outputs.base import OutputListener, ProgramSource
from bridge.outputs.pacing import GUARD_MARGIN_S, Interleaver, KeyframeGuard
from bridge.outputs.playlist import (
    HLS_WINDOW,
    PLAYLIST,
    PLAYLIST_TMP,
    SEGMENT_FILE,
    SEGMENT_STREAM,
    HlsPlaylist,
    HlsSegment,
)
from bridge.program.engine import EncodedPacket
from bridge.program.mixer import RATE
from bridge.program.tap import ProgramTap
from bridge.recording.recorder import (
    AudioParams,
    ClosedSegment,
    SegmentRecorder,
    VideoParams,
)
from bridge.spec import OutputFigures, OutputKind, OutputState, OutputTarget

log = logging.getLogger("telebridge.bridge.hls")


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
        if (match := SEGMENT_FILE.fullmatch(path.name))
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
    (directory / PLAYLIST_TMP).unlink(missing_ok=True)
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
        self._tap = self.source.tap(video, audio, f"output {self.target.id}")
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
        tmp = self.directory / PLAYLIST_TMP
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
