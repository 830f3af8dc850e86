"""The program into a push output's child: packets muxed into MPEG-TS on a thread, piped.

What is ours in a push output is small: a tap on the program, a bounded queue, and one thread
that muxes the packets into MPEG-TS and writes them into the child's stdin (TsPipe: ffmpeg for
RTMP, srt-live-transmit for SRT). The event loop only queues; when the destination stops taking
data the writer thread blocks on the pipe, the queue fills (`overflowed`), and the attempt
(bridge.outputs.push) ends and retries. FFmpeg writes the pipe itself (its `pipe:` protocol),
each packet's TS at once: no Python runs per write, and the thread holds the GIL only to hand
a packet to the muxer.
Packets are copied before muxing, onto the tap's timeline, and nothing goes in before a video
keyframe, so the stream the child reads always starts decodable, with picture and sound.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

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
_STOP = object()
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


class TsPipe:
    """The program's packets muxed into MPEG-TS on a thread, written into a pipe.

    `video` and `audio` are called on the event loop and never block: a full queue is
    remembered (`overflowed`) for the attempt to end, not waited on. The thread blocks on the
    pipe when the child does not read; killing it breaks the pipe and ends the thread.
    """

    def __init__(self, fd: int, source: ProgramSource, name: str, listener: bool) -> None:
        fmt = source.engine.fmt
        self._size, self._fps = (fmt.width, fmt.height), fmt.fps
        self._extradata = source.audio.extradata
        self._fd = fd
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PACKETS)
        self._origins = (0, 0)
        self.waiting = listener  # for an SRT caller: keep only a short backlog meanwhile
        # Nothing at all until the destination is there (srt-live-transmit as listener drops
        # what it reads before its caller comes): then a fresh stream from a key frame.
        self.holding = False
        self._resync = True  # nothing goes in before a video keyframe (a decodable start)
        self._early_audio: deque[EncodedPacket] = deque(maxlen=EARLY_AUDIO_PACKETS)
        self.overflowed = False
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"output-{name}", daemon=True)
        self._thread.start()

    def set_origins(self, tap: ProgramTap) -> None:
        """Count timestamps from the tap's 0 (both clocks), before its first packet."""
        self._origins = (tap.timeline.video_origin, tap.timeline.audio_origin)

    def video(self, packet: EncodedPacket) -> None:
        """Queue a program video packet (event loop)."""
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
        """Queue a program audio packet (event loop)."""
        if self.holding:
            return
        if self._resync:
            self._early_audio.append(packet)
        else:
            self._put(AUDIO, packet)

    def _put(self, index: int, packet: EncodedPacket) -> None:
        if self.waiting and self._queue.qsize() >= LISTEN_BACKLOG_PACKETS:
            # No caller yet: what is queued would reach it late. Start over at a keyframe.
            self._drain()
            self._resync = True
            self._early_audio.clear()
            (self.video if index == VIDEO else self.audio)(packet)
            return
        try:
            self._queue.put_nowait((index, packet))
        except queue.Full:
            self.overflowed = True

    def _drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def close(self) -> None:
        """Let the thread end the stream (what is queued is dropped; the rest is flushed)."""
        self._drain()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)

    def join(self, timeout: float) -> bool:
        """Wait for the thread (blocking: call off the loop); whether it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        container: OutputContainer | None = None
        streams: list[Any] = []
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                index, packet = cast(tuple[int, EncodedPacket], item)
                if container is None:
                    container, streams = self._open()
                base = Fraction(1, self._fps) if index == VIDEO else Fraction(1, RATE)
                out = _copy(packet, self._origins[index], base)
                out.stream = streams[index]
                try:
                    container.mux(out)
                except OSError:
                    raise  # the pipe: the child is gone
                except Exception:  # a packet the muxer refused must not end the stream
                    log.exception("output writer could not mux a packet")
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.debug("output writer ended: %s", self.failure)
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.close()
            with contextlib.suppress(OSError):
                os.close(self._fd)  # FFmpeg's pipe protocol leaves it open

    def _open(self) -> tuple[OutputContainer, list[Any]]:
        # A video PES with its length written ends where it says: the demuxer (ffmpeg's, then
        # the destination's) hands the picture on at once instead of waiting for the next
        # picture's first TS packet to know it ended (a frame of delay each, 33 ms at 30 fps).
        # Each packet's TS is written (flushed) as soon as it is muxed: no muxer delay.
        container = av.open(
            f"pipe:{self._fd}",
            "w",
            format="mpegts",
            options={"omit_video_pes_length": "0", "flush_packets": "1"},
        )
        video = container.add_stream("h264", rate=self._fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = self._size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, self._fps)
        audio = container.add_stream("aac", rate=RATE)
        assert isinstance(audio, av.AudioStream)
        audio.codec_context.layout = "stereo"
        audio.time_base = Fraction(1, RATE)
        if self._extradata:
            audio.codec_context.extradata = self._extradata
        return container, [video, audio]
