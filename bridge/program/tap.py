"""A tap on the program's encoded picture and sound, on a timeline that starts at the tap.

Everything that carries the program somewhere (the recording, each live output) takes the same
H.264 and AAC packets the engines made, without encoding again: a tap subscribes to both, asks
for a keyframe so what it carries starts on a picture that decodes by itself, and hands every
packet on, in the order it arrives, to its sinks. Its timeline's 0 is the moment it was opened,
the same moment for picture and sound (both program clocks count from one origin), so whatever
it feeds is in lip sync by construction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bridge.cancelling import cancel_and_wait
from bridge.program.audio import ProgramAudio
from bridge.program.engine import EncodedPacket, ProgramEngine
from bridge.program.mixer import RATE

PacketSink = Callable[[EncodedPacket], None]


@dataclass(frozen=True)
class TapTimeline:
    """Where the tap's 0 is on each program clock: subtract from a packet's pts and dts."""

    video_origin: int  # in frame ticks
    audio_origin: int  # in samples


class ProgramTap:
    """The program's packets from now on, handed to `video` and `audio` on the event loop."""

    def __init__(
        self,
        engine: ProgramEngine,
        audio: ProgramAudio,
        video: PacketSink,
        audio_sink: PacketSink,
        user: str,
    ) -> None:
        tick = engine.tick_now()
        self.timeline = TapTimeline(tick, tick * RATE // engine.fmt.fps)
        self._engine, self._program_audio = engine, audio
        self._video = engine.subscribe(user)  # the picture is composed while the tap is open
        self._audio = audio.subscribe()
        self._sinks = (video, audio_sink)
        engine.force_keyframe()
        self._tasks = [
            asyncio.ensure_future(self._pump(self._video, video)),
            asyncio.ensure_future(self._pump(self._audio, audio_sink)),
        ]

    @staticmethod
    async def _pump(queue: asyncio.Queue[EncodedPacket], sink: PacketSink) -> None:
        while True:
            sink(await queue.get())

    async def close(self, drain: bool) -> None:
        """Stop; with `drain`, what is already encoded is still handed on first."""
        for task in self._tasks:
            await cancel_and_wait(task)
        if drain:
            video, audio = self._sinks
            while not self._video.empty():
                video(self._video.get_nowait())
            while not self._audio.empty():
                audio(self._audio.get_nowait())
        self._engine.unsubscribe(self._video)
        self._program_audio.unsubscribe(self._audio)
