"""The return feed: the joint program sent back to a studio, as aiortc tracks.

The picture is the program's own H.264, encoded once for everyone (aiortc packetizes an
`av.Packet` without re-encoding); the sound is the studio's mix-minus (everyone but itself),
which aiortc encodes to Opus per studio, because every studio hears a different mix.
"""

from __future__ import annotations

import asyncio
import time

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from bridge.program import EncodedPacket, ProgramEngine
from bridge.program_audio import ProgramAudio

WAIT_SECONDS = 1.0  # how long recv waits before looking again whether the track has ended
KEYFRAME_INTERVAL = 1.0  # a viewer's keyframe requests are served at most this often


class ProgramVideoTrack(MediaStreamTrack):
    """The program's encoded H.264 packets for one viewer, starting at a keyframe."""

    kind = "video"

    def __init__(self, engine: ProgramEngine) -> None:
        super().__init__()
        self._engine = engine
        self._queue = engine.subscribe()
        self._started = False
        self._last_keyframe_request = -KEYFRAME_INTERVAL
        self.request_keyframe()

    def request_keyframe(self) -> None:
        """The viewer lost a picture (PLI) or has just come: ask the program for a keyframe.

        Throttled, because every forced keyframe also lands in the recording.
        """
        now = time.monotonic()
        if now - self._last_keyframe_request >= KEYFRAME_INTERVAL:
            self._last_keyframe_request = now
            self._engine.force_keyframe()

    async def recv(self) -> EncodedPacket:
        """The next packet (the first one a keyframe); ends when the track is stopped."""
        while self.readyState == "live":
            try:
                packet = await asyncio.wait_for(self._queue.get(), WAIT_SECONDS)
            except TimeoutError:
                continue
            if not self._started and not packet.is_keyframe:
                continue  # nothing decodes before the first keyframe
            self._started = True
            return packet
        raise MediaStreamError

    def stop(self) -> None:
        """Stop reading the program."""
        self._engine.unsubscribe(self._queue)
        super().stop()


class MixMinusTrack(MediaStreamTrack):
    """A studio's mix-minus as PCM frames (aiortc's sender encodes them to Opus)."""

    kind = "audio"

    def __init__(self, audio: ProgramAudio, studio_id: str) -> None:
        super().__init__()
        self._audio = audio
        self._studio_id = studio_id
        self._queue = audio.subscribe_return(studio_id)

    async def recv(self) -> av.AudioFrame:
        """The next block of the studio's mix-minus; ends when the track is stopped."""
        while self.readyState == "live":
            try:
                return await asyncio.wait_for(self._queue.get(), WAIT_SECONDS)
            except TimeoutError:
                continue
        raise MediaStreamError

    def stop(self) -> None:
        """Stop reading the mix."""
        self._audio.unsubscribe_return(self._studio_id, self._queue)
        super().stop()
