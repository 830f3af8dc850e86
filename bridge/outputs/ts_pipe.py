"""The program into a push output's child: packets muxed into MPEG-TS, written as the pipe takes
them.

What is ours in a push output is small: a tap on the program, a bounded queue of packets, and a
MPEG-TS muxer whose bytes go into the child's stdin (TsPipe: ffmpeg for RTMP, srt-live-transmit
for SRT). It all runs on the event loop, and nothing in it blocks: the pipe is non-blocking, a
packet is muxed only when the pipe has taken everything muxed before it (about 12 us of work),
and while the child does not read, packets wait in the queue until the loop says the pipe is
writable again. When the destination stops taking data the queue fills (`overflowed`), and the
attempt (bridge.outputs.push) ends and retries.

Why not a writer thread, as before: woken for each of the program's 77 packets a second, with
the GIL changing hands each time, it spent several times what the muxing costs (bench/outputs.py
measures both: see the README).

Packets are copied before muxing, onto the tap's timeline, and nothing goes in before a video
keyframe, so the stream the child reads always starts decodable, with picture and sound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import av
from av.container import OutputContainer

from bridge.outputs.base import ProgramSource
from bridge.program.mixer import RATE
from bridge.program.tap import ProgramTap

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.outputs.ts_pipe")

QUEUE_PACKETS = 400  # about 5 s of program (30 video + 47 audio packets a second)
LISTEN_BACKLOG_PACKETS = 60  # waiting for an SRT caller: keep under 1 s, drop the rest
EARLY_AUDIO_PACKETS = 94  # 2 s of AAC frames kept until the first keyframe comes
VIDEO, AUDIO = 0, 1


def _copy(packet: EncodedPacket, origin: int, time_base: Fraction) -> EncodedPacket:
    """A private copy on the tap's timeline: muxing rescales timestamps in place, and the
    program's packets are shared with the other subscribers."""
    out = av.Packet(bytes(packet))
    out.pts = packet.pts - origin if packet.pts is not None else None
    out.dts = packet.dts - origin if packet.dts is not None else None
    out.time_base = time_base
    out.is_keyframe = packet.is_keyframe
    if packet.duration:
        out.duration = packet.duration
    return out


class _Muxed:
    """Where the muxer writes: the bytes of the packet being muxed, collected for the pipe.
    (`flush_packets` makes FFmpeg hand over each packet's TS at once.)"""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


class TsPipe:
    """The program's packets muxed into MPEG-TS and written into a pipe, on the event loop.

    `video` and `audio` never block: what the pipe cannot take yet waits in a bounded queue (a
    full queue is remembered, `overflowed`, for the attempt to end), and goes in when the loop
    says the pipe is writable. A pipe whose reader is gone sets `failure`.
    """

    # CPU seconds spent muxing and writing, by all of this process's pipes (bench/outputs.py
    # reads it: the event loop's other work hides it otherwise).
    cpu_seconds = 0.0

    def __init__(self, fd: int, source: ProgramSource, name: str, listener: bool) -> None:
        fmt = source.engine.fmt
        self._size, self._fps = (fmt.width, fmt.height), fmt.fps
        self._time_bases = (Fraction(1, fmt.fps), Fraction(1, RATE))
        self._extradata = source.audio.extradata
        self._fd = fd
        os.set_blocking(fd, False)
        self._name = name
        self._loop = asyncio.get_running_loop()
        self._queue: deque[tuple[int, EncodedPacket]] = deque()
        self._unwritten = memoryview(b"")  # muxed, and not yet taken by the pipe
        self._awaiting_pipe = False  # the loop watches the pipe for room
        self._muxed = _Muxed()
        self._container: OutputContainer | None = None
        self._streams: list[Any] = []
        self._origins = (0, 0)
        self.waiting = listener  # for an SRT caller: keep only a short backlog meanwhile
        # Nothing at all until the destination is there (srt-live-transmit as listener drops
        # what it reads before its caller comes): then a fresh stream from a key frame.
        self.holding = False
        self._resync = True  # nothing goes in before a video keyframe (a decodable start)
        self._early_audio: deque[EncodedPacket] = deque(maxlen=EARLY_AUDIO_PACKETS)
        self.overflowed = False
        self.failure: str | None = None
        self._closed = False

    def set_origins(self, tap: ProgramTap) -> None:
        """Count timestamps from the tap's 0 (both clocks), before its first packet."""
        self._origins = (tap.timeline.video_origin, tap.timeline.audio_origin)

    def video(self, packet: EncodedPacket) -> None:
        """Take a program video packet."""
        if self.holding:
            return
        if not self._resync:
            self._put(VIDEO, packet)
            return
        if not packet.is_keyframe or packet.pts is None:
            return
        self._resync = False
        self._put(VIDEO, packet)
        # The picture's worker may run behind the sound's: the sound of the keyframe's moment
        # can have come first. It goes in too, so the stream starts with picture and sound.
        (video_origin, audio_origin), fps = self._origins, self._fps
        start = (packet.pts - video_origin) * RATE // fps + audio_origin
        for early in self._early_audio:
            if early.pts is not None and early.pts >= start:
                self._put(AUDIO, early)
        self._early_audio.clear()

    def audio(self, packet: EncodedPacket) -> None:
        """Take a program audio packet."""
        if self.holding:
            return
        if self._resync:
            self._early_audio.append(packet)
        else:
            self._put(AUDIO, packet)

    def _put(self, index: int, packet: EncodedPacket) -> None:
        if self._closed or self.failure is not None:
            return
        if self.waiting and len(self._queue) >= LISTEN_BACKLOG_PACKETS:
            # No caller yet: what is queued would reach it late. Start over at a keyframe.
            self._queue.clear()
            self._resync = True
            self._early_audio.clear()
            (self.video if index == VIDEO else self.audio)(packet)
            return
        if len(self._queue) >= QUEUE_PACKETS:
            self.overflowed = True
            return
        self._queue.append((index, packet))
        if not self._awaiting_pipe:
            self._feed()

    def _feed(self) -> None:
        """Write what the pipe takes now; what is queued is muxed once all before it is in."""
        began = time.thread_time()
        try:
            while True:
                while self._unwritten:
                    written = os.write(self._fd, self._unwritten)
                    self._unwritten = self._unwritten[written:]
                if not self._queue:
                    self._watch_pipe(False)
                    return
                while self._queue:
                    self._mux(*self._queue.popleft())
                self._take_muxed()
        except BlockingIOError:  # the pipe is full: go on when the child has read some
            self._watch_pipe(True)
        except OSError as exc:  # the child is gone (EPIPE): the attempt ends
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            TsPipe.cpu_seconds += time.thread_time() - began

    def _watch_pipe(self, on: bool) -> None:
        if on != self._awaiting_pipe:
            self._awaiting_pipe = on
            if on:
                self._loop.add_writer(self._fd, self._feed)
            else:
                self._loop.remove_writer(self._fd)

    def _mux(self, index: int, packet: EncodedPacket) -> None:
        if self._container is None:
            self._container, self._streams = self._open()
        out = _copy(packet, self._origins[index], self._time_bases[index])
        out.stream = self._streams[index]
        try:
            self._container.mux(out)
        except OSError:
            raise
        except Exception:  # a packet the muxer refused must not end the stream
            log.exception("output %s could not mux a packet", self._name)

    def _take_muxed(self) -> None:
        if self._muxed.data:
            data, self._muxed.data = self._muxed.data, bytearray()
            self._unwritten = memoryview(data)

    def _fail(self, failure: str) -> None:
        self.failure = failure
        self._queue.clear()
        log.debug("output %s writer ended: %s", self._name, failure)
        self.close()

    def close(self) -> None:
        """End the stream: what waits is dropped, the muxer's last bytes go in if the pipe
        takes them now, and the pipe is closed (the child reads its end of input)."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._watch_pipe(False)
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            if not self._unwritten:
                self._take_muxed()
        with contextlib.suppress(OSError):
            while self._unwritten:
                self._unwritten = self._unwritten[os.write(self._fd, self._unwritten) :]
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _open(self) -> tuple[OutputContainer, list[Any]]:
        # A video PES with its length written ends where it says: the demuxer (ffmpeg's, then
        # the destination's) hands the picture on at once instead of waiting for the next
        # picture's first TS packet to know it ended (a frame of delay each, 33 ms at 30 fps).
        # Each packet's TS is handed over as soon as it is muxed: no muxer delay.
        container = av.open(
            self._muxed,
            "w",
            format="mpegts",
            options={"omit_video_pes_length": "0", "flush_packets": "1"},
        )
        video = container.add_stream("h264", rate=self._fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = self._size
        video.pix_fmt = "yuv420p"
        video.time_base = self._time_bases[VIDEO]
        audio = container.add_stream("aac", rate=RATE)
        assert isinstance(audio, av.AudioStream)
        audio.codec_context.layout = "stereo"
        audio.time_base = self._time_bases[AUDIO]
        if self._extradata:
            audio.codec_context.extradata = self._extradata
        return container, [video, audio]
