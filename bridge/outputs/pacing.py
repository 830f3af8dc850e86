"""Pacing the program's packets for HLS segments: keyframes on time, streams in time order.

The HLS writer cuts a segment at every keyframe: the program's GOP is 2 s, and a keyframe
forced in between (a new recording, an output, a studio's PLI) restarts x264's GOP, so cutting
on every keyframe is what keeps every segment within 2 s. x264 counts its GOP in frames, though,
and a program short of CPU skips frame ticks (60 frames took 3.7 s on a loaded test machine):
KeyframeGuard asks for the keyframe on time when that happens. The writer puts each packet in
the segment open when it arrives, and the program's picture and sound reach the tap on their
own schedules (a loaded machine had them 0.2 s apart), so an Interleaver hands them on in time
order first: each segment then holds the sound of its own span. Both run on the event loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from bridge.program.engine import EncodedPacket
from bridge.program.tap import PacketSink

GUARD_MARGIN_S = 0.2  # a GOP that skipped ticks gets its keyframe asked for this much early
INTERLEAVE_WAIT_S = 1.0  # a stream is held back no longer than this for the other one


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
