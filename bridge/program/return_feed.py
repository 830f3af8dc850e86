"""The return feed: the joint program sent back to a studio, as aiortc tracks.

The picture is the program's own H.264, encoded once for everyone (aiortc packetizes an
`av.Packet` without re-encoding); the sound is the studio's mix-minus (everyone but itself),
which aiortc encodes to Opus per studio, because every studio hears a different mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from numpy.typing import NDArray

from bridge.program.audio import TIME_BASE, ProgramAudio
from bridge.program.engine import EncodedPacket, ProgramEngine
from bridge.program.mixer import RATE

WAIT_SECONDS = 1.0  # how long recv waits before looking again whether the track has ended
KEYFRAME_INTERVAL = 1.0  # a viewer's keyframe requests are served at most this often
OPUS_FRAME = 960  # samples of one 20 ms Opus packet at 48 kHz


class ProgramVideoTrack(MediaStreamTrack):
    """The program's encoded H.264 packets for one viewer, starting at a keyframe.

    A viewer can put the program away and take it back (`pause`, `resume`) without a new
    connection: while paused the track holds no claim on the program (bridge.program.demand),
    so a room whose consoles show only their partners composes no picture.
    """

    kind = "video"

    def __init__(self, engine: ProgramEngine, viewer: str, shown: bool = True) -> None:
        super().__init__()
        self._engine = engine
        self._viewer = viewer
        self._queue: asyncio.Queue[EncodedPacket] | None = None
        self._resumed = asyncio.Event()
        self._started = False
        self._last_keyframe_request = -KEYFRAME_INTERVAL
        if shown:
            self.resume()

    @property
    def shown(self) -> bool:
        """Whether the viewer takes the program now."""
        return self._queue is not None

    def resume(self) -> None:
        """Take the program (again), from its next keyframe, asked for now."""
        if self._queue is not None or self.readyState != "live":
            return
        self._queue = self._engine.subscribe(self._viewer)
        self._started = False
        self._last_keyframe_request = -KEYFRAME_INTERVAL  # this one is never throttled
        self.request_keyframe()
        self._resumed.set()

    def pause(self) -> None:
        """Stop taking the program (the connection stays; nothing is sent meanwhile)."""
        queue, self._queue = self._queue, None
        self._resumed.clear()
        if queue is not None:
            self._engine.unsubscribe(queue)

    def request_keyframe(self) -> None:
        """The viewer lost a picture (PLI) or has just come: ask the program for a keyframe.

        Throttled, because every forced keyframe also lands in the recording.
        """
        now = time.monotonic()
        if self._queue is not None and now - self._last_keyframe_request >= KEYFRAME_INTERVAL:
            self._last_keyframe_request = now
            self._engine.force_keyframe()

    async def recv(self) -> EncodedPacket:
        """The next packet (the first one a keyframe); ends when the track is stopped."""
        while self.readyState == "live":
            queue = self._queue
            if queue is None:  # paused: wait to be resumed (or stopped)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._resumed.wait(), WAIT_SECONDS)
                continue
            try:
                packet = await asyncio.wait_for(queue.get(), WAIT_SECONDS)
            except TimeoutError:
                continue
            if queue is not self._queue:
                continue  # paused (and maybe resumed) meanwhile: start again from a keyframe
            if not self._started and not packet.is_keyframe:
                continue  # nothing decodes before the first keyframe
            self._started = True
            return packet
        raise MediaStreamError

    def stop(self) -> None:
        """Stop reading the program."""
        self.pause()
        super().stop()


class MixMinusTrack(MediaStreamTrack):
    """A studio's mix-minus as 20 ms PCM frames (aiortc's sender encodes them to Opus).

    The mixer works in AAC-sized blocks of 1024 samples; Opus takes 960. aiortc's encoder
    re-frames what it is given, but sends every packet of one `encode` call with the same RTP
    timestamp, so each 15th block (two packets at once) lost 20 ms at the receiver: a dropout
    three times a second in the operator's ear. The blocks are re-framed here instead, so each
    frame makes exactly one packet.
    """

    kind = "audio"

    def __init__(self, audio: ProgramAudio, studio_id: str, shown: bool = True) -> None:
        super().__init__()
        self._audio = audio
        self._studio_id = studio_id
        self._queue: asyncio.Queue[av.AudioFrame] | None = None
        self._resumed = asyncio.Event()
        self._pending: NDArray[np.int16] = np.empty(0, dtype=np.int16)  # < 960 + one block
        self._pts: int | None = None
        if shown:
            self.resume()

    def resume(self) -> None:
        """Take the mix (again); its timestamps follow the program's clock across the gap."""
        if self._queue is not None or self.readyState != "live":
            return
        self._queue = self._audio.subscribe_return(self._studio_id)
        self._pending, self._pts = np.empty(0, dtype=np.int16), None
        self._resumed.set()

    def pause(self) -> None:
        """Stop taking the mix (the operator listens to the partners directly)."""
        queue, self._queue = self._queue, None
        self._resumed.clear()
        if queue is not None:
            self._audio.unsubscribe_return(self._studio_id, queue)

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms of the studio's mix-minus; ends when the track is stopped."""
        while self.readyState == "live":
            queue = self._queue
            if queue is None:  # paused: wait to be resumed (or stopped)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._resumed.wait(), WAIT_SECONDS)
                continue
            if self._pending.size >= OPUS_FRAME:
                return self._frame()
            try:
                block = await asyncio.wait_for(queue.get(), WAIT_SECONDS)
            except TimeoutError:
                continue
            if queue is not self._queue:
                continue  # paused meanwhile: this block belongs to before the gap
            if self._pts is None:
                self._pts = int(block.pts or 0)
            samples = block.to_ndarray().reshape(-1).astype(np.int16)  # s16 mono
            self._pending = np.concatenate([self._pending, samples])
        raise MediaStreamError

    def _frame(self) -> av.AudioFrame:
        out, self._pending = self._pending[:OPUS_FRAME], self._pending[OPUS_FRAME:]
        frame = av.AudioFrame.from_ndarray(out.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.time_base = RATE, TIME_BASE
        frame.pts = self._pts
        self._pts = (self._pts or 0) + OPUS_FRAME
        return frame

    def stop(self) -> None:
        """Stop reading the mix."""
        self.pause()
        super().stop()
