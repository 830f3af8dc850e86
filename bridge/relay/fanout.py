"""Packet-by-packet relay: one studio's RTP goes to each partner as it arrives.

A `Feed` is one studio's incoming track (video or audio). A `Slot` is one outgoing track on a
partner's connection that shows that studio. The feed hands each packet to every slot at once,
and the slot sends it on there and then, to the partner's socket, when its connection can take
it so (a direct candidate pair, nothing waiting). Otherwise (a TURN pair, whose client sends
through coroutines) the packet waits in the slot's bounded queue, which the slot drains into
its connection: a slow partner only ever drops its own packets (and then asks for a keyframe)
and never holds the others back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import RTCRtpSender
from aiortc.rtp import RtpPacket

from bridge.aiortc_hooks import ForwardingSender, IdleTrack
from bridge.relay.rewrite import StreamRewriter
from bridge.stream_stats import StreamMeter
from bridge.video_payloads import VideoCodec

log = logging.getLogger("telebridge.bridge.relay")

CLOCK_RATES = {"video": 90000, "audio": 48000}
SLOT_QUEUE_PACKETS = 512  # about 2 s of 720p video at 2 Mbps; beyond it a partner is too slow
KEYFRAME_REQUEST_INTERVAL = 0.5  # seconds between keyframe requests sent to one source


class Feed:
    """One studio's incoming track, fanned out to the slots that show it."""

    def __init__(
        self,
        studio_id: str,
        kind: str,
        request_keyframe: Callable[[int], Awaitable[None]],
        monotonic: Callable[[], float] = time.monotonic,
        codec: VideoCodec | None = None,
    ) -> None:
        self.studio_id = studio_id
        self.kind = kind
        self.codec = codec  # video: what the studio sends, as negotiated (None for sound)
        self._request_keyframe = request_keyframe
        self._monotonic = monotonic
        self.slots: list[Slot] = []
        # Listeners that take every packet as it arrives, on the loop: ISO recorders.
        self.listeners: list[Callable[[RtpPacket], None]] = []
        # what it has received (aiortc's getStats mislabels it): the monitor reads it
        self.meter = StreamMeter(kind, CLOCK_RATES.get(kind, 90000), codec or VideoCodec.VP8)
        self.ssrc: int | None = None
        self._last_keyframe_request = -1e9
        self._pending_keyframe: asyncio.Task[None] | None = None

    def on_packet(self, packet: RtpPacket) -> None:
        """Called for each RTP packet as it arrives: count it, hand it to every slot."""
        self.ssrc = packet.ssrc
        self.meter.on_packet(packet, self._monotonic())
        for slot in self.slots:
            slot.offer(packet, self.codec)
        for listener in self.listeners:
            listener(packet)

    def want_keyframe(self) -> None:
        """A partner needs a keyframe: ask the source, at most every KEYFRAME_REQUEST_INTERVAL."""
        if self.kind != "video" or self.ssrc is None:
            return
        now = self._monotonic()
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL:
            return
        if self._pending_keyframe is not None and not self._pending_keyframe.done():
            return
        self._last_keyframe_request = now
        self._pending_keyframe = asyncio.ensure_future(self._request_keyframe(self.ssrc))

    def attach(self, slot: Slot) -> None:
        """Start showing this feed in `slot` (a new subscriber asks for a keyframe at once)."""
        if slot.feed is not None and slot.feed is not self:
            slot.feed.detach(slot)
        slot.feed = self
        if slot not in self.slots:
            self.slots.append(slot)
        self.want_keyframe()

    def detach(self, slot: Slot) -> None:
        """Stop showing this feed in `slot`."""
        if slot in self.slots:
            self.slots.remove(slot)
        if slot.feed is self:
            slot.feed = None


@dataclass
class SlotCounters:
    """What a slot has sent and dropped."""

    sent: int = 0
    dropped: int = 0
    unplayable: int = 0  # packets of a codec the partner did not negotiate
    refused: int = 0  # packets the connection could not send (and the slot went on)


@dataclass
class Slot:
    """One outgoing track on a partner's connection that shows one studio."""

    owner_id: str  # the studio whose connection this slot is on
    studio_id: str  # the studio shown in it
    kind: str
    sender: ForwardingSender
    clock_rate: int
    feed: Feed | None = None
    counters: SlotCounters = field(default_factory=SlotCounters)

    @classmethod
    def on_sender(
        cls,
        sender: RTCRtpSender,
        owner_id: str,
        studio_id: str,
        kind: str,
        on_keyframe_request: Callable[[], None] | None = None,
    ) -> Slot:
        """A slot that writes into `sender`, given an idle track (aiortc builds no encoder
        for it). A keyframe request from the subscriber goes to `on_keyframe_request`; by
        default to the feed the slot shows then."""
        sender.replaceTrack(IdleTrack(kind))

        def ask_the_feed() -> None:  # `slot` is made below, before any request can come
            if slot.feed is not None:
                slot.feed.want_keyframe()

        forwarding = ForwardingSender(sender, on_keyframe_request or ask_the_feed)
        slot = cls(owner_id, studio_id, kind, forwarding, CLOCK_RATES[kind])
        return slot

    def __post_init__(self) -> None:
        self.rewriter = StreamRewriter(self.clock_rate)
        # codec -> the payload type negotiated for it (asked of the sender once, not per packet)
        self._payload_types: dict[VideoCodec | None, int] = {}
        self.queue: asyncio.Queue[tuple[RtpPacket, VideoCodec | None]] = asyncio.Queue(
            maxsize=SLOT_QUEUE_PACKETS
        )
        self._task: asyncio.Task[None] | None = None
        # The studio's codec when the partner cannot receive it (it negotiated only others):
        # its console says so rather than showing a black tile.
        self.unplayable_codec: VideoCodec | None = None

    def offer(self, packet: RtpPacket, codec: VideoCodec | None = None) -> None:
        """Send a packet (of `codec`, for video) at once when the connection can take it
        there and then (nothing waits before it); else queue it, and when the partner's
        queue is full, drop it and ask for a keyframe."""
        if self._task is not None and self.queue.empty() and self._send_now(packet, codec):
            return
        try:
            self.queue.put_nowait((packet, codec))
        except asyncio.QueueFull:
            self.counters.dropped += 1
            if self.feed is not None:
                self.feed.want_keyframe()

    def start(self) -> None:
        """Start draining the queue into the partner's connection."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop draining (the connection is closing)."""
        if self.feed is not None:
            self.feed.detach(self)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _outgoing(
        self, packet: RtpPacket, codec: VideoCodec | None
    ) -> tuple[int, int, int | None] | None:
        """The packet's (sequence number, timestamp, payload type) on this partner's stream;
        None when it is not sent (negotiation not done, or a codec the partner lacks)."""
        payload_type = self._payload_types.get(codec)
        if payload_type is None:
            if not self.sender.ready:
                return None  # negotiation is not done: nothing can be sent yet, nor judged
            payload_type = self.sender.payload_type_for(codec.value if codec else None)
            if payload_type is None and codec is not None:
                self.unplayable_codec = codec
                self.counters.unplayable += 1
                return None
            if payload_type is not None:  # negotiated once: it stays
                self._payload_types[codec] = payload_type
        self.unplayable_codec = None
        seq, ts = self.rewriter.map(packet.ssrc, packet.sequence_number, packet.timestamp)
        return seq, ts, payload_type

    def _send_now(self, packet: RtpPacket, codec: VideoCodec | None) -> bool:
        """Send the packet there and then; False when the connection cannot take it so
        (then it waits in the queue: mapping it again there gives the same numbers)."""
        outgoing = self._outgoing(packet, codec)
        if outgoing is None:
            return True
        try:
            if not self.sender.write_now(packet, *outgoing):
                return False
        except Exception as exc:  # one packet SRTP or the socket refused: not the slot
            self._refused(packet, exc)
            return True
        self.counters.sent += 1
        return True

    async def _run(self) -> None:
        while True:
            packet, codec = await self.queue.get()
            outgoing = self._outgoing(packet, codec)
            if outgoing is None:
                continue
            try:
                await self.sender.write(packet, *outgoing)
            except ConnectionError:
                return  # the partner's connection closed; its session cleans up
            except Exception as exc:  # one packet SRTP or the socket refused: not the slot
                self._refused(packet, exc)
                continue
            self.counters.sent += 1

    def _refused(self, packet: RtpPacket, exc: Exception) -> None:
        self.counters.refused += 1
        if self.feed is not None:  # the partner's decoder lost a packet: resync it
            self.feed.want_keyframe()
        if self.counters.refused == 1 or self.counters.refused % 1000 == 0:
            log.warning(
                "relaying %s's %s to %s: a packet of %d bytes was refused (%s: %s), %d so far",
                self.studio_id,
                self.kind,
                self.owner_id,
                len(packet.payload),
                type(exc).__name__,
                exc,
                self.counters.refused,
            )
