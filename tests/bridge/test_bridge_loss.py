"""Lost packets are repaired: NACK/RTX on both legs of the relay, PLI to the source, no stalls.

The network here never loses anything (no netem in the test kernel), so loss is made in-process,
on the wire: as a packet from the relay arrives at the subscriber (the relay has sent it and
kept it in aiortc's history), or as the source's packet leaves for the relay (nothing in the
relay sees it). aiortc's video
jitter buffer holds every frame behind a missing packet until the packet comes, so without a
working repair path the subscriber's picture freezes for seconds; these tests would notice.

The relay-to-subscriber test uses a two-studio room on purpose: an aiortc *client* (the test's
StudioClient) with two or more partner video slots discards every RTX packet it receives, because
aiortc's RtpRouter registers only the primary SSRCs of a receiver and routes an unknown SSRC by
payload type only when one receiver has it. Browsers route RTX by the answer's ssrc-group FID
(which the relay's answer carries), so this is a limit of the test client, not of the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
import time
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket, is_rtcp
from bridge_peers import StudioClient

import bridge.session
from bridge.relay import fanout as relay
from bridge.relay.fanout import Feed, Slot
from bridge.room import Room
from bridge.video_payloads import VideoCodec, starts_keyframe
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair

LOSS_EVERY = 15  # every 15th video packet is lost
LOSS_WINDOW = 3.0  # seconds of loss
MIN_FPS = 20.0  # the camera makes 30 fps; a stall behind one lost packet lasts seconds
MAX_GAP = 0.5  # seconds between two decoded frames, at most
FRAME_TIMEOUT = 10.0


class FrameLog:
    """Reads a received track all the time, noting when each decoded frame came out."""

    def __init__(self, track: object) -> None:
        self.track = track
        self.times: list[float] = []
        self.last: object = None
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.track.recv()  # type: ignore[attr-defined]
                self.times.append(time.monotonic())
                self.last = frame

    async def wait_for(self, frames: int, within: float = FRAME_TIMEOUT) -> None:
        """Wait until `frames` more frames have been decoded."""
        target = len(self.times) + frames
        await eventually(
            lambda: len(self.times) >= target,
            timeout=within,
            interval=0.02,
            message=f"{frames} more frames",
        )

    def count(self, start: float, end: float) -> int:
        return sum(1 for t in self.times if start <= t < end)

    def max_gap(self, start: float, end: float) -> float:
        """The longest time without a decoded frame between `start` and `end`."""
        marks = [start, *(t for t in self.times if start <= t < end), end]
        return max(b - a for a, b in itertools.pairwise(marks))

    def shade(self) -> float:
        """The median brightness of the last frame (each test studio has its own shade)."""
        return float(np.median(self.last.to_ndarray(format="rgb24")))  # type: ignore[attr-defined]

    def assert_fluent(self, start: float, end: float, what: str) -> None:
        frames, gap = self.count(start, end), self.max_gap(start, end)
        seconds = end - start
        assert frames >= MIN_FPS * seconds, f"{what}: {frames} frames in {seconds:.1f} s"
        assert gap < MAX_GAP, f"{what}: no frame for {gap:.2f} s"

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _slot(room: Room, owner: str, shown: str, kind: str = "video") -> Slot:
    """The slot on `owner`'s connection that shows `shown`."""
    session = room.sessions[owner]
    return next(s for s in session.slots if s.studio_id == shown and s.kind == kind)


def _camera_sender(client: StudioClient) -> object:
    return next(
        t.sender for t in client.pc.getTransceivers() if t.sender.track and t.kind == "video"
    )


def _receiver(client: StudioClient, infos: list[object], shown: str) -> object:
    """`client`'s receiver of the video slot that shows `shown`."""
    mid = next(i.video_mid for i in infos if i.studio_id == shown)  # type: ignore[attr-defined]
    return next(t.receiver for t in client.pc.getTransceivers() if t.mid == mid)


def _rtp_header(data: bytes) -> tuple[int, int, int] | None:
    """(payload type, sequence number, SSRC) of a plain RTP packet, None for RTCP."""
    if is_rtcp(data) or len(data) < 12:
        return None
    _flags, marker_pt, seq, _ts, ssrc = struct.unpack_from("!BBHII", data)
    return marker_pt & 0x7F, seq, ssrc


def _spy(
    calls: list[tuple[float, tuple[object, ...]]], original: Callable[..., Awaitable[None]]
) -> Callable[..., Awaitable[None]]:
    """An async spy that notes (time, args) and calls through."""

    async def spy(*args: object) -> None:
        calls.append((time.monotonic(), args))
        await original(*args)

    return spy


SOURCE_CODECS = pytest.mark.parametrize("codec", ["video/VP8", "video/H264"])


@SOURCE_CODECS
async def test_loss_between_relay_and_subscriber_is_repaired_by_rtx(
    room_factory, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    room = room_factory("baku", "rome")
    baku = StudioClient("baku", 1, shade=40)
    rome = StudioClient("rome", 1, shade=200, sends=codec)
    log: FrameLog | None = None
    try:
        infos = await baku.join(room)
        await rome.join(room)
        log = FrameLog(baku.tracks["rome/video"])
        await log.wait_for(10)

        forwarding = _slot(room, "baku", "rome").sender
        sender = forwarding.sender  # the relay's sender towards Baku
        rtx_before = forwarding._rtx_sequence  # its RTX numbering: one per retransmission
        retransmitted: list[tuple[float, tuple[object, ...]]] = []
        monkeypatch.setattr(sender, "_retransmit", _spy(retransmitted, sender._retransmit))

        # The wire from the relay to Baku loses every 15th packet of the slot's video stream:
        # dropped as it arrives at Baku (decrypted), after the relay sent it and kept it in
        # aiortc's history. Retransmissions (the RTX SSRC) always get through.
        arrivals = _receiver(baku, infos, "rome").transport
        handle_rtp_data = arrivals._handle_rtp_data
        sent, dropped = [0], []
        losing = [False]

        async def lossy_arrival(data: bytes, arrival_time_ms: int) -> None:
            header = _rtp_header(data)
            if losing[0] and header is not None and header[2] == sender._ssrc:
                sent[0] += 1
                if sent[0] % LOSS_EVERY == 0:
                    dropped.append(header[1])
                    return
            await handle_rtp_data(data, arrival_time_ms)

        monkeypatch.setattr(arrivals, "_handle_rtp_data", lossy_arrival)

        # What reaches Baku's receiver on the retransmission (RTX) SSRC.
        receiver = _receiver(baku, infos, "rome")
        rtx_arrived: list[int] = []
        handle = receiver._handle_rtp_packet

        async def counting_handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            if packet.ssrc == sender._rtx_ssrc:
                rtx_arrived.append(packet.sequence_number)
            await handle(packet, arrival_time_ms)

        monkeypatch.setattr(receiver, "_handle_rtp_packet", counting_handle)

        start = time.monotonic()
        losing[0] = True
        await asyncio.sleep(LOSS_WINDOW)  # stays: the window of loss that is measured
        losing[0] = False
        end = time.monotonic()

        assert len(dropped) >= 5, f"only {sent[0]} packets in {LOSS_WINDOW} s"
        log.assert_fluent(start, end, "Baku's picture of Rome under 1/15 loss")
        assert abs(log.shade() - 200) < 20

        def nacked() -> set[object]:
            return {args[0] for _t, args in retransmitted}

        await eventually(
            lambda: set(dropped) <= nacked(), timeout=1.0, message="every lost packet NACKed"
        )
        rtx_sent = (forwarding._rtx_sequence - rtx_before) % 65536
        assert rtx_sent >= len(dropped), "the relay did not retransmit as RTX"
        await eventually(
            lambda: len(rtx_arrived) >= len(dropped), timeout=1.0, message="RTX reaching Baku"
        )
    finally:
        if log is not None:
            await log.stop()
        await baku.close()
        await rome.close()


@SOURCE_CODECS
async def test_loss_between_source_and_relay_is_nacked_upstream_and_repaired(
    room_factory, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    room = room_factory("baku", "rome")
    baku = StudioClient("baku", 1, shade=40)
    rome = StudioClient("rome", 1, shade=200, sends=codec)
    log: FrameLog | None = None
    try:
        await baku.join(room)
        await rome.join(room)
        log = FrameLog(baku.tracks["rome/video"])
        await log.wait_for(10)

        receiver = room.sessions["rome"].receivers["video"]  # the relay's receiver of Rome
        nacks: list[tuple[float, tuple[object, ...]]] = []
        monkeypatch.setattr(receiver, "_send_rtcp_nack", _spy(nacks, receiver._send_rtcp_nack))

        forwarded: list[int] = []
        slot = _slot(room, "baku", "rome")
        offer = slot.offer

        def noting_offer(packet: RtpPacket, codec: object = None) -> None:
            forwarded.append(packet.sequence_number)
            offer(packet, codec)  # type: ignore[arg-type]

        monkeypatch.setattr(slot, "offer", noting_offer)

        # Every 15th media packet Rome sends is lost on the wire, before anything in the
        # relay sees it; retransmissions (RTX, an SSRC of their own) always get through.
        camera = _camera_sender(rome)
        departures = camera.transport  # type: ignore[attr-defined]
        send_rtp = departures._send_rtp
        arrived, dropped, rtx_arrived = [0], [], [0]
        losing = [False]

        async def lossy_departure(data: bytes) -> None:
            header = _rtp_header(data)
            if header is not None and header[2] == camera._rtx_ssrc:  # type: ignore[attr-defined]
                rtx_arrived[0] += 1
            elif losing[0] and header is not None and header[2] == camera._ssrc:  # type: ignore[attr-defined]
                arrived[0] += 1
                if arrived[0] % LOSS_EVERY == 0:
                    dropped.append(header[1])
                    return
            await send_rtp(data)

        monkeypatch.setattr(departures, "_send_rtp", lossy_departure)

        start = time.monotonic()
        losing[0] = True
        await asyncio.sleep(LOSS_WINDOW)  # stays: the window of loss that is measured
        losing[0] = False
        end = time.monotonic()

        assert len(dropped) >= 5, f"only {arrived[0]} packets in {LOSS_WINDOW} s"
        log.assert_fluent(start, end, "Baku's picture of Rome under 1/15 upstream loss")
        assert abs(log.shade() - 200) < 20
        source_ssrc = _camera_sender(rome)._ssrc  # type: ignore[attr-defined]

        def nacked() -> set[object]:
            return {seq for _t, (ssrc, lost) in nacks if ssrc == source_ssrc for seq in lost}

        await eventually(
            lambda: set(dropped) <= nacked(),
            timeout=1.0,
            message="every lost packet NACKed upstream",
        )
        await eventually(
            lambda: set(dropped) <= set(forwarded),
            timeout=1.0,
            message="the repairs forwarded to Baku",
        )
        assert rtx_arrived[0] >= len(dropped), "Rome's repairs did not come as RTX"
    finally:
        if log is not None:
            await log.stop()
        await baku.close()
        await rome.close()


@SOURCE_CODECS
async def test_a_subscribers_picture_loss_reaches_the_source_throttled(
    room_factory, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    room = room_factory("baku", "rome")
    baku = StudioClient("baku", 1, shade=40)
    rome = StudioClient("rome", 1, shade=200, sends=codec)
    source_codec = VideoCodec.of(codec)
    assert source_codec is not None
    requests: list[tuple[float, tuple[object, ...]]] = []
    monkeypatch.setattr(
        bridge.session, "request_keyframe", _spy(requests, bridge.session.request_keyframe)
    )
    wanted: list[float] = []
    want_keyframe = Feed.want_keyframe

    def noting_want_keyframe(self: Feed) -> None:
        if self.studio_id == "rome" and self.kind == "video":
            wanted.append(time.monotonic())
        want_keyframe(self)

    monkeypatch.setattr(Feed, "want_keyframe", noting_want_keyframe)
    camera = _camera_sender(rome)
    keyframes_asked: list[float] = []
    send_keyframe = camera._send_keyframe  # type: ignore[attr-defined]

    def noting_send_keyframe() -> None:
        keyframes_asked.append(time.monotonic())
        send_keyframe()

    monkeypatch.setattr(camera, "_send_keyframe", noting_send_keyframe)
    log: FrameLog | None = None
    try:
        infos = await baku.join(room)
        await rome.join(room)
        log = FrameLog(baku.tracks["rome/video"])
        await log.wait_for(10)
        slot = _slot(room, "baku", "rome")
        keyframes: list[float] = []
        offer = slot.offer

        def noting_offer(packet: RtpPacket, packet_codec: object = None) -> None:
            if starts_keyframe(source_codec, packet.payload):
                keyframes.append(time.monotonic())
            offer(packet, packet_codec)  # type: ignore[arg-type]

        monkeypatch.setattr(slot, "offer", noting_offer)
        # Baku's receiver of its Rome slot, and the SSRC the relay sends that slot with.
        pli_from = _receiver(baku, infos, "rome")
        media_ssrc = slot.sender.sender._ssrc

        async def quiet() -> float:
            """Wait until the relay has not asked Rome for a keyframe for over 0.5 s."""
            await eventually(
                lambda: not requests or time.monotonic() - requests[-1][0] > 0.6,
                timeout=3.0,
                message="the relay to stop asking Rome for keyframes",
            )
            return time.monotonic()

        # One PLI from Baku: the relay asks Rome, Rome's encoder is told, a keyframe comes.
        asked = await quiet()
        await pli_from._send_rtcp_pli(media_ssrc)
        await eventually(
            lambda: any(t > asked for t in keyframes_asked), timeout=2.0, message="Rome asked"
        )
        source_ssrc = camera._ssrc  # type: ignore[attr-defined]
        assert [args[1] for t, args in requests if t > asked] == [source_ssrc]
        assert [t for t in wanted if t > asked], "Baku's PLI did not reach Rome's feed"
        await eventually(
            lambda: any(t > asked for t in keyframes),
            timeout=2.0,
            message="a keyframe reaching Baku",
        )

        # A burst of ten PLIs: at most two requests reach Rome within half a second.
        burst = await quiet()
        for _ in range(10):
            await pli_from._send_rtcp_pli(media_ssrc)
        await eventually(
            lambda: len([t for t in wanted if t > burst]) >= 10,
            timeout=2.0,
            message="all ten PLIs at Rome's feed",
        )
        # Each window starts at the first request of the burst (late on a loaded machine).
        first = await eventually(
            lambda: next((t for t, _args in requests if t > burst), None),
            timeout=2.0,
            message="the burst's first request",
        )
        first_told = await eventually(
            lambda: next((t for t in keyframes_asked if t > burst), None),
            timeout=2.0,
            message="Rome told of the burst",
        )
        # Stays: the half second the requests are counted in must pass.
        await asyncio.sleep(max(0.0, max(first, first_told) + 0.5 - time.monotonic()))
        in_window = [t for t, _args in requests if first <= t <= first + 0.5]
        assert 1 <= len(in_window) <= 2, in_window
        rome_told = [t for t in keyframes_asked if first_told <= t <= first_told + 0.5]
        assert 1 <= len(rome_told) <= 2, rome_told
    finally:
        if log is not None:
            await log.stop()
        await baku.close()
        await rome.close()


async def test_a_slow_subscriber_never_stalls_the_others(
    room_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real queue (512 packets) takes ~15 s to fill at this camera's ~30 packets/s.
    monkeypatch.setattr(relay, "SLOT_QUEUE_PACKETS", 16)
    room = room_factory("baku", "istanbul", "astana")
    clients = {
        "baku": StudioClient("baku", 2, shade=30),
        "istanbul": StudioClient("istanbul", 2, shade=120),
        "astana": StudioClient("astana", 2, shade=220),
    }
    logs: list[FrameLog] = []
    try:
        for c in clients.values():
            await c.join(room)
        # Istanbul watches Astana (the same feed as Baku's slow slot); Baku watches Istanbul
        # (another slot on the same slow connection).
        istanbul_sees_astana = FrameLog(clients["istanbul"].tracks["astana/video"])
        baku_sees_istanbul = FrameLog(clients["baku"].tracks["istanbul/video"])
        logs += [istanbul_sees_astana, baku_sees_istanbul]
        await istanbul_sees_astana.wait_for(10)
        await baku_sees_istanbul.wait_for(10)

        slow = _slot(room, "baku", "astana")
        assert slow.queue.maxsize == 16
        write = slow.sender.write
        # A connection that cannot take a packet at once (a TURN pair, say) goes through the
        # slot's queue; this one takes 0.2 s a packet.
        monkeypatch.setattr(slow.sender, "write_now", lambda *_args: False)

        async def slow_write(
            packet: RtpPacket, sequence_number: int, timestamp: int, payload_type: int | None
        ) -> None:
            await asyncio.sleep(0.2)
            await write(packet, sequence_number, timestamp, payload_type)

        monkeypatch.setattr(slow.sender, "write", slow_write)
        dropped_before = slow.counters.dropped
        slots = room.sessions["istanbul"].slots + room.sessions["baku"].slots
        others = [s for s in slots if s is not slow]
        others_dropped = sum(s.counters.dropped for s in others)

        start = time.monotonic()
        # Stays: the window in which the slow slot drops and the others must not stall.
        await asyncio.sleep(LOSS_WINDOW / 2)
        dropped_midway = slow.counters.dropped
        await asyncio.sleep(LOSS_WINDOW / 2)
        end = time.monotonic()

        assert dropped_midway - dropped_before >= 5, "the slow slot's queue did not fill"
        assert slow.counters.dropped - dropped_midway >= 15, "the slow slot stopped dropping"
        assert sum(s.counters.dropped for s in others) == others_dropped
        istanbul_sees_astana.assert_fluent(start, end, "Istanbul's picture of Astana")
        baku_sees_istanbul.assert_fluent(start, end, "Baku's picture of Istanbul")
        assert abs(istanbul_sees_astana.shade() - 220) < 20
        assert abs(baku_sees_istanbul.shade() - 120) < 20
    finally:
        for log in logs:
            await log.stop()
        for c in clients.values():
            await c.close()


async def test_a_packet_the_connection_refuses_costs_that_packet_not_the_slot(
    room_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A packet SRTP or the socket refuses (too long, say) used to end the slot's task, and
    # the partner's picture of that studio stopped for good, silently. Now the slot goes on
    # and asks the source for a key frame (the partner's decoder lost a packet).
    room = room_factory("baku", "rome")
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    log: FrameLog | None = None
    try:
        await baku.join(room)
        await rome.join(room)
        log = FrameLog(baku.tracks["rome/video"])
        await log.wait_for(10)
        slot = _slot(room, "baku", "rome")
        write, write_now = slot.sender.write, slot.sender.write_now
        refused = [0]
        asked: list[float] = []
        want_keyframe = Feed.want_keyframe

        def noting_want_keyframe(self: Feed) -> None:
            asked.append(time.monotonic())
            want_keyframe(self)

        monkeypatch.setattr(Feed, "want_keyframe", noting_want_keyframe)

        async def refusing_write(
            packet: RtpPacket, sequence_number: int, timestamp: int, payload_type: int | None
        ) -> None:
            if refused[0] < 3:
                refused[0] += 1
                raise ValueError("packet is too long")
            await write(packet, sequence_number, timestamp, payload_type)

        def refusing_write_now(
            packet: RtpPacket, sequence_number: int, timestamp: int, payload_type: int | None
        ) -> bool:
            if refused[0] < 3:
                refused[0] += 1
                raise ValueError("packet is too long")
            return write_now(packet, sequence_number, timestamp, payload_type)

        start = time.monotonic()
        monkeypatch.setattr(slot.sender, "write", refusing_write)
        monkeypatch.setattr(slot.sender, "write_now", refusing_write_now)
        await eventually(lambda: slot.counters.refused == 3, timeout=5, message="3 refused")
        sent = slot.counters.sent
        await eventually(
            lambda: slot.counters.sent > sent + 30, timeout=5, message="the slot going on"
        )
        assert [t for t in asked if t > start], "no key frame asked of Rome"
    finally:
        if log is not None:
            await log.stop()
        await baku.close()
        await rome.close()
