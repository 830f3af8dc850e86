"""The program's sound: the studios' Opus decoded, mixed, encoded once as AAC, and mix-minus.

The studios' audio is taken from the relay's taps as Opus packets (not from aiortc's decoded
track, whose jitter buffer waits for four packets first): they queue per studio in a bounded
inbox, and a block clock (program.clock) on the event loop hands the blocks of BLOCK samples
(one AAC frame each) to one worker thread that decodes the inboxes, mixes (program.mixer) and
encodes. The program's AAC packets go to subscribers (the recorder) and each studio's
mix-minus, encoded to Opus once (program.mix_minus), to the listeners of its return feed.
The block clock shares its origin with the program's frame clock, so a packet's time in the
program is the same moment for sound and picture.

Sound cannot skip a block the way the picture skips a frame: a block left out is a hole in the
program, and the studios' samples it would have taken stay in the mixer's buffers until they
are cut away there (a second dropout, in everyone's mix-minus). So a tick that finds the worker
busy is dropped like any clock tick, but its block is owed: a following job mixes it, ahead
of its own, once the studios' samples for it are there (AudioMixer.spare_blocks; at most
CATCH_UP_BLOCKS, within OWED_JOBS jobs). What is not made up becomes a hole (counted), as
before: samples that are late as well (the whole machine was busy, not only the worker) are
not taken from the jitter buffers, and time the event loop stalled through is not owed (the
studios' packets wait behind the same stall).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

import av
import numpy as np
from aiortc.rtp import RtpPacket

from bridge.program.clock import TickClock
from bridge.program.mix_minus import MixMinusEncoder, SoundPacket
from bridge.program.mixer import RATE, AudioMixer, Samples, mono_samples, to_int16
from bridge.program.talkback import Talkback

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet


T = TypeVar("T")


@dataclass(frozen=True)
class AudioBlocks:
    """What one job of the block clock made."""

    packets: list[EncodedPacket]  # the program's AAC
    blocks: list[int]  # the index of each block mixed, in order (a late job makes several)
    returns: dict[str, list[SoundPacket]]  # each listened-to mix, as Opus


# Takes a mix's Opus packets as they are made, on the event loop (a return feed's sender).
ReturnListener = Callable[[list[SoundPacket]], None]

BLOCK = 1024  # samples per block: exactly one AAC frame (21.3 ms at 48 kHz)
CATCH_UP_BLOCKS = 8  # 171 ms: more late blocks at once are a hole (the mixer holds 200 ms)
OWED_JOBS = 3  # a late block whose samples are not there within three more jobs is a hole
TIME_BASE = Fraction(1, RATE)
INBOX_PACKETS = 50  # one second of 20 ms Opus packets per studio
SUBSCRIBER_QUEUE_PACKETS = 500  # 10 s of AAC frames
# The return key of the program's own mix, as the control room hears it (no studio has this id).
PROGRAM_MIX = ""


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


@dataclass
class AudioCounters:
    """What the program's sound has done; the monitor reads these."""

    blocks: int = 0
    dropped_blocks: int = 0  # holes in the program's sound: late blocks not made up
    packets_in: int = 0
    decode_errors: int = 0
    busy_seconds: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class ProgramAudio:
    """Mixes the studios' sound on a block clock; AAC for the program, PCM mix-minus back."""

    def __init__(self, studio_ids: Sequence[str], kbps: int = 128) -> None:
        self.studio_ids = list(studio_ids)
        self.mixer = AudioMixer(self.studio_ids)
        self.talkback = Talkback()  # the producers' voices, into chosen mix-minus only
        self._aac_kbps = kbps
        self.encoder = make_aac_encoder(kbps)
        # Whether the encoder went without blocks since its last packet (nobody subscribed):
        # the next subscriber gets a fresh one, primed as at the start (worker thread only).
        self._aac_idle = False
        self.counters = AudioCounters()
        self.subscribers: list[asyncio.Queue[EncodedPacket]] = []
        self.returns: dict[str, list[ReturnListener]] = {sid: [] for sid in self.studio_ids}
        # The Opus encoder of each mix someone listens to (worker thread only).
        self._return_encoders: dict[str, MixMinusEncoder] = {}
        self._inbox: dict[str, deque[bytes]] = {
            sid: deque(maxlen=INBOX_PACKETS) for sid in self.studio_ids
        }
        self._decoders: dict[str, av.AudioCodecContext] = {}
        self._ssrc: dict[str, int] = {}
        # Its one worker thread: decoders and the encoder keep state from block to block.
        self.clock = TickClock("program-audio", BLOCK / RATE, self._block_job, self._publish)
        self._next_block: int | None = None  # the block after the last one made
        self._dropped_seen = 0  # the clock's dropped ticks already owed
        # Per block owed for a dropped tick: the last job that may still make it.
        self._owed: deque[int] = deque()
        self._jobs = 0

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

    def add_studio(self, studio_id: str) -> None:
        """Take a studio's sound into the program from now on (a studio added to the room)."""
        if studio_id in self.studio_ids:
            return
        # Replaced, never changed in place: the worker decodes and mixes from these while the
        # event loop changes them. The inbox comes before the id the worker walks by.
        self.mixer.add(studio_id)
        self._inbox = {**self._inbox, studio_id: deque(maxlen=INBOX_PACKETS)}
        self.returns = {**self.returns, studio_id: self.returns.get(studio_id, [])}
        self.studio_ids = [*self.studio_ids, studio_id]

    def remove_studio(self, studio_id: str) -> None:
        """Leave a studio's sound out of the program from the next block (and everyone's
        mix-minus); what it still had queued is dropped."""
        self.studio_ids = [sid for sid in self.studio_ids if sid != studio_id]
        self._inbox = {sid: q for sid, q in self._inbox.items() if sid != studio_id}
        self.returns = {sid: q for sid, q in self.returns.items() if sid != studio_id}
        self.mixer.remove(studio_id)
        # Back again later, its first packet must reset the decoder the worker may still hold.
        self._ssrc.pop(studio_id, None)

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

    def listen_return(self, studio_id: str, listener: ReturnListener) -> None:
        """Hand the studio's mix-minus (everyone but itself), as Opus packets, to `listener`
        from the next block on; PROGRAM_MIX gives the program's own mix. A mix nobody listens
        to is not encoded."""
        self.returns.setdefault(studio_id, []).append(listener)

    def unlisten_return(self, studio_id: str, listener: ReturnListener) -> None:
        """Stop handing a mix to `listener`."""
        listeners = self.returns.get(studio_id, [])
        if listener in listeners:
            listeners.remove(listener)

    def start(self, origin: float) -> None:
        """Start the block clock; `origin` is the loop time the program's clocks count from."""
        self.clock.start(origin)

    async def stop(self) -> None:
        """Stop the clock, flush the encoder and release the worker."""
        await self.clock.stop()
        packets = await self.clock.on_worker(lambda: list(self.encoder.encode(None)))
        self._publish(AudioBlocks(packets, [], {}))
        self.clock.close()

    def _block_job(self, tick: int) -> Callable[[], AudioBlocks]:
        late = self.clock.dropped - self._dropped_seen  # ticks dropped since the last job
        self._dropped_seen = self.clock.dropped
        return functools.partial(self.render, tick, late)

    def render(self, index: int, late: int = 0) -> AudioBlocks:
        """Decode what arrived; mix and encode the blocks owed for ticks that found the worker
        busy (`late` more of them now), as far as the studios' samples for them are there,
        and the block of clock tick `index` (worker thread)."""
        started = time.perf_counter()
        for sid in self.studio_ids:
            self._decode_inbox(sid)
        self.talkback.decode()
        made_up = self._make_up(late)
        owed = len(self._owed) + made_up  # the late blocks, made now or still to come
        # Stamped in the order mixed, the blocks still owed next: holes and stalls of the
        # loop are gaps in time, never a shift of what follows.
        first = index - owed
        if self._next_block is not None:
            first = max(first, self._next_block)
        packets: list[EncodedPacket] = []
        returns: dict[str, list[SoundPacket]] = {}
        blocks = list(range(first, first + made_up + 1))
        for block in blocks:
            packets += self._mix_block(block, returns)
        self._next_block = first + made_up + 1
        self.counters.busy_seconds += time.perf_counter() - started
        return AudioBlocks(packets, blocks, returns)

    def _make_up(self, late: int) -> int:
        """How many owed blocks to mix now; those too old or too many become holes."""
        self._jobs += 1
        self._owed.extend([self._jobs + OWED_JOBS] * late)
        while self._owed and (self._owed[0] < self._jobs or len(self._owed) >= CATCH_UP_BLOCKS):
            self._owed.popleft()
            self.counters.dropped_blocks += 1
        made_up = self.mixer.spare_blocks(len(self._owed), BLOCK)
        for _ in range(made_up):
            self._owed.popleft()
        return made_up

    def _mix_block(self, index: int, returns: dict[str, list[SoundPacket]]) -> list[EncodedPacket]:
        """Mix block `index`, add each listened-to mix-minus to `returns` (Opus); its AAC
        packets."""
        program, minus = self.mixer.mix(BLOCK)
        pts = index * BLOCK
        packets = self._encode_program(program, pts)
        # After the program is made: talkback reaches the chosen studios' ears, nothing else.
        self.talkback.apply(minus, BLOCK)
        minus[PROGRAM_MIX] = program
        for sid, samples in minus.items():
            if not self.returns.get(sid):
                # Not listened to: not encoded. A listener that comes back gets a fresh
                # encoder (its sender re-bases its stream on the new timestamps).
                self._return_encoders.pop(sid, None)
                continue
            encoder = self._return_encoders.get(sid)
            if encoder is None:
                encoder = self._return_encoders[sid] = MixMinusEncoder(pts)
            returns.setdefault(sid, []).extend(encoder.encode(to_int16(samples)))
        for gone in [sid for sid in self._return_encoders if sid not in minus]:
            del self._return_encoders[gone]  # a studio taken out of the room
        self.counters.blocks += 1
        return packets

    def _encode_program(self, program: Samples, pts: int) -> list[EncodedPacket]:
        """The program's AAC, encoded only while subscribed to (the recording, an output):
        a telebridge that nobody records or publishes pays nothing for it."""
        if not self.subscribers:
            self._aac_idle = True
            return []
        if self._aac_idle:  # the same configuration, so the same extradata
            self.encoder = make_aac_encoder(self._aac_kbps)
            self._aac_idle = False
        stereo = np.vstack([program, program])
        frame = av.AudioFrame.from_ndarray(stereo, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, pts, TIME_BASE
        return list(self.encoder.encode(frame))

    def _decode_inbox(self, studio_id: str) -> None:
        inbox = self._inbox.get(studio_id)  # None: removed since this job began
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
                    self.mixer.push(studio_id, mono_samples(frame))
            except av.FFmpegError:
                self.counters.decode_errors += 1

    def _publish(self, result: AudioBlocks) -> None:
        for packet in result.packets:
            for queue in self.subscribers:
                _put_dropping_oldest(queue, packet)
        for sid, sound in result.returns.items():
            if sound:
                for listener in tuple(self.returns.get(sid, ())):
                    listener(sound)

    def close(self) -> None:
        """Release the worker thread (for callers that used `render` directly)."""
        self.clock.close()


def _put_dropping_oldest(queue: asyncio.Queue[T], item: T) -> None:
    if queue.full():
        _drop_oldest(queue, 1)
    queue.put_nowait(item)


def _drop_oldest(queue: asyncio.Queue[T], count: int) -> None:
    for _ in range(count):
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
