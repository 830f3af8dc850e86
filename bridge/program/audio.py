"""The program's sound: the studios' Opus decoded, mixed, encoded once as AAC, and mix-minus.

The studios' audio is taken from the relay's taps as Opus packets (not from aiortc's decoded
track, whose jitter buffer waits for four packets first): they queue per studio in a bounded
inbox, and a block clock on the event loop hands each block of BLOCK samples (one AAC frame)
to one worker thread that decodes the inboxes, mixes (program.mixer) and encodes. The program's
AAC packets go to subscribers (the recorder) and each studio's mix-minus, as PCM frames, goes to
its return feed. The block clock shares its origin with the program's frame clock, so a packet's
time in the program is the same moment for sound and picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from aiortc.rtp import RtpPacket

from bridge.program.mixer import RATE, AudioMixer, Samples, to_int16

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.program_audio")

BLOCK = 1024  # samples per block: exactly one AAC frame (21.3 ms at 48 kHz)
TIME_BASE = Fraction(1, RATE)
INBOX_PACKETS = 50  # one second of 20 ms Opus packets per studio
SUBSCRIBER_QUEUE_PACKETS = 500  # 10 s of AAC frames
RETURN_QUEUE_FRAMES = 10  # 210 ms of a studio's mix-minus; a stalled sender loses the oldest


def make_aac_encoder(kbps: int = 128) -> av.AudioCodecContext:
    """FFmpeg's AAC-LC encoder, stereo 48 kHz, one BLOCK per frame."""
    codec = av.CodecContext.create("aac", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate = RATE
    codec.layout = "stereo"
    codec.format = "fltp"
    codec.bit_rate = kbps * 1000
    codec.time_base = TIME_BASE
    codec.open()
    return codec


def _opus_decoder() -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "r")
    assert isinstance(codec, av.AudioCodecContext)
    codec.format = "fltp"
    codec.layout = "stereo"
    codec.sample_rate = RATE
    return codec


def _mono(frame: av.AudioFrame) -> Samples:
    """A decoded frame as mono float samples."""
    planes = frame.to_ndarray().astype(np.float32)  # fltp: (channels, samples)
    if frame.format.name == "s16":
        planes = planes.reshape(-1, len(frame.layout.channels)).T / 32768.0
    return np.asarray(planes.mean(axis=0), dtype=np.float32)


@dataclass
class AudioCounters:
    """What the program's sound has done; the monitor reads these."""

    blocks: int = 0
    dropped_blocks: int = 0  # the worker was still busy when the clock struck
    packets_in: int = 0
    decode_errors: int = 0
    busy_seconds: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class ProgramAudio:
    """Mixes the studios' sound on a block clock; AAC for the program, PCM mix-minus back."""

    def __init__(self, studio_ids: Sequence[str], kbps: int = 128) -> None:
        self.studio_ids = list(studio_ids)
        self.mixer = AudioMixer(self.studio_ids)
        self.encoder = make_aac_encoder(kbps)
        self.counters = AudioCounters()
        self.subscribers: list[asyncio.Queue[EncodedPacket]] = []
        self.returns: dict[str, list[asyncio.Queue[av.AudioFrame]]] = {
            sid: [] for sid in self.studio_ids
        }
        self._inbox: dict[str, deque[bytes]] = {
            sid: deque(maxlen=INBOX_PACKETS) for sid in self.studio_ids
        }
        self._decoders: dict[str, av.AudioCodecContext] = {}
        self._ssrc: dict[str, int] = {}
        # One thread: decoders and the encoder keep state from block to block.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="program-audio")
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        self._block_index = 0

    @property
    def extradata(self) -> bytes | None:
        """The AAC AudioSpecificConfig the recorder's muxer needs."""
        return bytes(self.encoder.extradata) if self.encoder.extradata else None

    def on_packet(self, studio_id: str, packet: RtpPacket) -> None:
        """A studio's Opus packet as it arrives (event loop; only queues it)."""
        inbox = self._inbox.get(studio_id)
        if inbox is None or not packet.payload:
            return
        if self._ssrc.get(studio_id) != packet.ssrc:  # a reconnect: a fresh decoder
            self._ssrc[studio_id] = packet.ssrc
            inbox.append(b"")  # tells the worker to reset this studio's decoder
        inbox.append(packet.payload)
        self.counters.packets_in += 1

    def set_gain(self, studio_id: str, gain_db: float, muted: bool | None = None) -> None:
        """The producer's gain and mute for a studio (from the next block)."""
        self.mixer.set_gain(studio_id, gain_db, muted)

    def subscribe(self) -> asyncio.Queue[EncodedPacket]:
        """A bounded queue that receives every AAC packet of the program from now on."""
        queue: asyncio.Queue[EncodedPacket] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_PACKETS)
        self.subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EncodedPacket]) -> None:
        """Stop feeding a subscriber's queue."""
        if queue in self.subscribers:
            self.subscribers.remove(queue)

    def subscribe_return(self, studio_id: str) -> asyncio.Queue[av.AudioFrame]:
        """A bounded queue of the studio's mix-minus (everyone but itself), as PCM frames."""
        queue: asyncio.Queue[av.AudioFrame] = asyncio.Queue(maxsize=RETURN_QUEUE_FRAMES)
        self.returns.setdefault(studio_id, []).append(queue)
        return queue

    def unsubscribe_return(self, studio_id: str, queue: asyncio.Queue[av.AudioFrame]) -> None:
        """Stop feeding a return queue."""
        queues = self.returns.get(studio_id, [])
        if queue in queues:
            queues.remove(queue)

    def start(self, origin: float) -> None:
        """Start the block clock; `origin` is the loop time the program's clocks count from."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._clock(origin))

    def block_now(self, origin: float) -> int:
        """The block the clock is at (for a recording that starts now)."""
        return round((asyncio.get_running_loop().time() - origin) * RATE / BLOCK)

    async def stop(self) -> None:
        """Stop the clock, flush the encoder and release the worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        loop = asyncio.get_running_loop()
        packets = await loop.run_in_executor(self._worker, lambda: list(self.encoder.encode(None)))
        self._publish((packets, {}))
        self._worker.shutdown(wait=True)

    async def _clock(self, origin: float) -> None:
        loop = asyncio.get_running_loop()
        period = BLOCK / RATE
        next_tick = loop.time()
        while True:
            # Blocks are stamped by the clock, like the program's frames: a dropped block is
            # a gap in time, never a shift of what follows.
            index = round((loop.time() - origin) / period)
            next_tick += period
            if self._busy:
                self.counters.dropped_blocks += 1
            else:
                self._busy = True
                future = loop.run_in_executor(self._worker, self.render, index)
                future.add_done_callback(self._rendered)
            delay = next_tick - loop.time()
            if delay < -period:  # the loop itself stalled: skip ahead instead of bursting
                next_tick = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    def _rendered(self, future: asyncio.Future[Any]) -> None:
        self._busy = False
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.error("program audio block failed: %s", error)
            return
        self._publish(future.result())

    def render(self, index: int) -> tuple[list[EncodedPacket], dict[str, av.AudioFrame]]:
        """Decode what arrived, mix one block, encode it (worker thread)."""
        started = time.perf_counter()
        for sid in self.studio_ids:
            self._decode_inbox(sid)
        program, minus = self.mixer.mix(BLOCK)
        index = max(index, self._block_index)
        self._block_index = index + 1
        pts = index * BLOCK
        stereo = np.vstack([program, program])
        frame = av.AudioFrame.from_ndarray(stereo, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, pts, TIME_BASE
        packets = list(self.encoder.encode(frame))
        returns: dict[str, av.AudioFrame] = {}
        for sid, samples in minus.items():
            if not self.returns.get(sid):
                continue
            mono = to_int16(samples).reshape(1, -1)
            pcm = av.AudioFrame.from_ndarray(mono, format="s16", layout="mono")
            pcm.sample_rate, pcm.pts, pcm.time_base = RATE, pts, TIME_BASE
            returns[sid] = pcm
        self.counters.blocks += 1
        self.counters.busy_seconds += time.perf_counter() - started
        return packets, returns

    def _decode_inbox(self, studio_id: str) -> None:
        inbox = self._inbox[studio_id]
        while inbox:
            payload = inbox.popleft()
            if not payload:
                self._decoders.pop(studio_id, None)
                continue
            decoder = self._decoders.get(studio_id)
            if decoder is None:
                decoder = self._decoders[studio_id] = _opus_decoder()
            try:
                for frame in decoder.decode(av.Packet(payload)):
                    self.mixer.push(studio_id, _mono(frame))
            except av.FFmpegError:
                self.counters.decode_errors += 1

    def _publish(self, result: tuple[list[EncodedPacket], dict[str, av.AudioFrame]]) -> None:
        packets, returns = result
        for packet in packets:
            for queue in self.subscribers:
                _put_dropping_oldest(queue, packet)
        for sid, frame in returns.items():
            for ret in self.returns.get(sid, []):
                _put_dropping_oldest(ret, frame)

    def close(self) -> None:
        """Release the worker thread (for callers that used `render` directly)."""
        self._worker.shutdown(wait=True)


def _put_dropping_oldest(queue: asyncio.Queue[Any], item: Any) -> None:
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(item)
