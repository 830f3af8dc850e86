"""The hooks on aiortc's internals still fit the installed aiortc (fails loudly on upgrade)."""

from __future__ import annotations

import itertools

import aiortc
import pytest
from aiortc import RTCPeerConnection, RTCRtpTransceiver, VideoStreamTrack

from bridge import aiortc_hooks
from bridge.aiortc_hooks import ForwardingSender, HookBroken, IdleTrack, tap_receiver
from bridge.aiortc_hooks.sockets import drain_datagram_sockets, read_srtp_in_place
from harness.peer_close import close_peer


def test_aiortc_is_the_version_the_hooks_were_written_for() -> None:
    assert aiortc.__version__ == aiortc_hooks.PINNED_AIORTC, (
        f"aiortc {aiortc.__version__} is installed but bridge/aiortc_hooks/ hooks the "
        f"internals of {aiortc_hooks.PINNED_AIORTC}: re-read rtcrtpreceiver.py and "
        "rtcrtpsender.py, adapt the hooks, then move the pin in pyproject.toml and here"
    )


async def test_the_private_fields_the_hooks_use_exist() -> None:
    pc = RTCPeerConnection()
    try:
        video = pc.addTransceiver(IdleTrack("video"), direction="sendrecv")
        tap_receiver(video.receiver, lambda _p: None)  # raises HookBroken if fields moved
        ForwardingSender(video.sender, lambda: None)
        for name in (
            "_handle_rtp_packet",
            "_send_rtcp",
            "_send_rtcp_pli",
            "_send_rtcp_nack",
            "_send_keyframe",
        ):
            assert callable(getattr(video.receiver, name, None) or getattr(video.sender, name))
    finally:
        await close_peer(pc)


async def answered_relay(
    sender: RTCPeerConnection,
    relay: RTCPeerConnection,
    decode: bool = False,
    in_place: bool = False,
) -> tuple[RTCRtpTransceiver, list[int]]:
    """A source's video offered to a relay and answered, the relay's receiver tapped (the
    sequence numbers it hands on; `decode`: decoded too, as for the program), with `in_place`
    read where its socket is read (as the bridge's are); not connected until the source
    takes the answer, so that a test can hook what it watches first."""
    sender.addTrack(VideoStreamTrack())
    await sender.setLocalDescription(await sender.createOffer())
    await relay.setRemoteDescription(sender.localDescription)
    transceiver = relay.getTransceivers()[0]
    seen: list[int] = []
    tap_receiver(transceiver.receiver, lambda p: seen.append(p.sequence_number), decode=decode)
    await relay.setLocalDescription(await relay.createAnswer())
    if in_place:
        drain_datagram_sockets()
        read_srtp_in_place(transceiver.receiver.transport)
    return transceiver, seen


def test_a_missing_field_is_named_in_the_error() -> None:
    class NotAReceiver:
        pass

    with pytest.raises(HookBroken, match="_RTCRtpReceiver__codecs"):
        tap_receiver(NotAReceiver(), lambda _p: None)  # type: ignore[arg-type]


async def test_a_relayed_receiver_counts_and_hands_on_packets_but_assembles_no_frames() -> None:
    """Relaying (no decode) skips aiortc's payload parsing and frame assembly, most of its
    cost per packet, yet keeps what a relay needs: every packet handed on, and the receiver
    statistics its RTCP reports carry."""
    from harness.waiting import eventually

    sender, relay = RTCPeerConnection(), RTCPeerConnection()
    try:
        transceiver, seen = await answered_relay(sender, relay)
        await sender.setRemoteDescription(relay.localDescription)
        await eventually(lambda: len(seen) >= 100, timeout=30, message="100 packets relayed")
        receiver = transceiver.receiver
        streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        assert sum(s.packets_received for s in streams.values()) >= 100
        jitter = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
        assert jitter._origin is None, "packets went into the frame assembly"
    finally:
        await close_peer(sender)
        await close_peer(relay)


async def test_relayed_rtp_is_handled_where_the_socket_is_read_not_queued() -> None:
    """With read_srtp_in_place the relay's packets reach its tap from the socket read itself:
    none goes through aiortc's queue and the DTLS transport's task (the measured cost), and
    what the tap is handed is the same packet stream. The source's RTCP (its sender
    reports) is handled there too."""
    from harness.waiting import eventually

    sender, relay = RTCPeerConnection(), RTCPeerConnection()
    try:
        transceiver, seen = await answered_relay(sender, relay, in_place=True)
        dtls = transceiver.receiver.transport
        queued: list[int] = []
        handle_rtp_data = dtls._handle_rtp_data

        async def counting(data: bytes, arrival_time_ms: int) -> None:
            queued.append(len(data))
            await handle_rtp_data(data, arrival_time_ms)

        dtls._handle_rtp_data = counting  # type: ignore[method-assign]
        connection = dtls.transport._connection
        queued_media: list[bytes] = []  # RTP or RTCP that reached aioice's queue
        data_received = connection.data_received

        def counting_received(data: bytes, component: int) -> None:
            if 127 < data[0] < 192:
                queued_media.append(data)
            data_received(data, component)

        connection.data_received = counting_received  # type: ignore[method-assign]
        rtcp: list[int] = []
        handle_rtcp_data = dtls._handle_rtcp_data

        async def counting_rtcp(data: bytes) -> None:
            rtcp.append(len(data))
            await handle_rtcp_data(data)

        dtls._handle_rtcp_data = counting_rtcp  # type: ignore[method-assign]
        await sender.setRemoteDescription(relay.localDescription)
        # A packet that came before the handshake was done may have waited in the queue.
        await eventually(lambda: len(seen) >= 10, timeout=30, message="10 packets relayed")
        queued.clear()
        queued_media.clear()
        rtcp.clear()
        first = len(seen)
        await eventually(lambda: len(seen) >= first + 100, timeout=30, message="100 more")
        await eventually(lambda: len(rtcp) >= 2, timeout=30, message="two sender reports")
        assert queued == [], f"{len(queued)} of 100 packets went through aiortc's queue"
        assert queued_media == [], f"{len(queued_media)} RTP/RTCP went through aioice's queue"
        later = seen[first:]
        assert all((b - a) % (1 << 16) == 1 for a, b in itertools.pairwise(later)), later
        streams = transceiver.receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        assert sum(s.packets_received for s in streams.values()) >= 100
    finally:
        await close_peer(sender)
        await close_peer(relay)


async def test_a_closed_relayed_connection_is_freed() -> None:
    """What read_srtp_in_place keeps of a connection (its reader, the read loop's route)
    goes with it: a day of studios reconnecting must not keep every closed connection,
    its transports and its senders' packet histories."""
    import gc
    import weakref

    from harness.waiting import eventually

    sender, relay = RTCPeerConnection(), RTCPeerConnection()
    transceiver, seen = await answered_relay(sender, relay, in_place=True)
    dtls = transceiver.receiver.transport
    await sender.setRemoteDescription(relay.localDescription)
    await eventually(lambda: len(seen) >= 10, timeout=30, message="10 packets relayed")
    freed = [weakref.ref(dtls), weakref.ref(dtls.transport._connection)]
    del dtls, transceiver
    await close_peer(sender)
    await close_peer(relay)
    del relay

    def collected() -> bool:
        gc.collect()
        return all(ref() is None for ref in freed)

    await eventually(collected, timeout=10, message="the closed connection freed")


async def test_a_decoding_receiver_is_handled_in_place_and_asks_again_for_a_lost_picture() -> None:
    """The program's receivers (decode) take the same in-place path as the relay's: every
    packet handed on, whole frames to aiortc's decoder thread, none through aiortc's
    coroutines; and a picture the decoder lost is asked for again (PLI) at the next packet."""
    import asyncio

    import av

    from harness.waiting import eventually

    sender, relay = RTCPeerConnection(), RTCPeerConnection()
    try:
        transceiver, seen = await answered_relay(sender, relay, decode=True, in_place=True)
        receiver = transceiver.receiver
        through_aiortc: list[int] = []
        handle = receiver._handle_rtp_packet

        async def counting(packet, arrival_time_ms):  # type: ignore[no-untyped-def]
            through_aiortc.append(packet.sequence_number)
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = counting  # type: ignore[method-assign]
        keyframes_asked: list[float] = []
        source = sender.getSenders()[0]
        send_keyframe = source._send_keyframe

        def asked() -> None:
            keyframes_asked.append(asyncio.get_running_loop().time())
            send_keyframe()

        source._send_keyframe = asked  # type: ignore[method-assign]
        await sender.setRemoteDescription(relay.localDescription)
        await eventually(lambda: len(seen) >= 10, timeout=30, message="10 packets handed on")
        through_aiortc.clear()  # a packet from before the handshake was done may have queued
        frames = [await asyncio.wait_for(receiver.track.recv(), 10) for _ in range(10)]
        assert all(isinstance(f, av.VideoFrame) and f.width == 640 for f in frames)
        assert through_aiortc == [], f"{len(through_aiortc)} packets took aiortc's coroutines"
        keyframes_asked.clear()
        receiver._RTCRtpReceiver__decoder_error.set()  # type: ignore[attr-defined]
        await eventually(lambda: keyframes_asked, timeout=10, message="a PLI at the source")
    finally:
        await close_peer(sender)
        await close_peer(relay)


async def test_a_decoding_receiver_puts_a_retransmission_into_its_frames_as_the_original() -> None:
    """A packet lost on the way in is NACKed and comes again as RTX (its own SSRC, sequence
    numbers and payload type): what goes into the frames to decode is the original packet it
    carries, in its place, never the wrapper."""
    from aiortc.rtp import RtpPacket

    from bridge.aiortc_hooks.receiving import _HANDLED_IN_PLACE
    from harness.waiting import eventually

    sender, relay = RTCPeerConnection(), RTCPeerConnection()
    try:
        transceiver, _seen = await answered_relay(sender, relay, decode=True, in_place=True)
        receiver = transceiver.receiver
        handle_now = getattr(receiver, _HANDLED_IN_PLACE)
        media_ssrc: list[int] = []
        count, dropped = [0], []

        # Every 10th packet of the picture lost once, never the first: a receiver NACKs only
        # what is missing after the first packet it saw (1 run in 10 dropped that one, and
        # waited for a repair nobody asked for).
        def lossy(packet: RtpPacket) -> None:
            if not media_ssrc:
                media_ssrc.append(packet.ssrc)
            first_time = packet.ssrc == media_ssrc[0] and packet.sequence_number not in dropped
            if first_time:
                count[0] += 1
                if count[0] % 10 == 5 and len(dropped) < 5:
                    dropped.append(packet.sequence_number)
                    return
            handle_now(packet)

        setattr(receiver, _HANDLED_IN_PLACE, lossy)
        framed: list[tuple[int, int]] = []  # (ssrc, sequence number) into the jitter buffer
        jitter = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
        add = jitter.add

        def noting(packet: RtpPacket):  # type: ignore[no-untyped-def]
            framed.append((packet.ssrc, packet.sequence_number))
            return add(packet)

        jitter.add = noting
        await sender.setRemoteDescription(relay.localDescription)
        await eventually(lambda: len(dropped) >= 5, timeout=30, message="five packets lost")
        await eventually(
            lambda: set(dropped) <= {seq for _ssrc, seq in framed},
            timeout=10,
            message="every lost packet repaired into the frames",
        )
        assert {ssrc for ssrc, _seq in framed} == {media_ssrc[0]}, "an RTX wrapper went in"
    finally:
        await close_peer(sender)
        await close_peer(relay)


async def test_a_retransmission_reaches_its_receiver_when_another_m_line_shares_its_type() -> None:
    """Two video m-lines negotiate the same codecs, so the same RTX payload type (a console's
    partner and its program): aiortc routes by SSRC, or by payload type only when one receiver
    has it, and did not know the RTX streams' SSRCs, so each retransmission was dropped. A
    tapped receiver is told its RTX stream: every packet lost on the way comes back."""
    import struct

    from harness.waiting import eventually

    sender, relay = RTCPeerConnection(), RTCPeerConnection()
    try:
        sender.addTrack(VideoStreamTrack())
        sender.addTrack(VideoStreamTrack())
        await sender.setLocalDescription(await sender.createOffer())
        await relay.setRemoteDescription(sender.localDescription)
        seen: dict[str, set[int]] = {}
        for transceiver in relay.getTransceivers():
            arrived = seen.setdefault(str(transceiver.mid), set())
            tap_receiver(
                transceiver.receiver, lambda p, arrived=arrived: arrived.add(p.sequence_number)
            )
        await relay.setLocalDescription(await relay.createAnswer())
        first = sender.getSenders()[0]
        dtls = first.transport
        send_rtp = dtls._send_rtp
        count, dropped = [0], []

        async def lossy(data: bytes) -> None:  # every 10th packet of the first stream, once
            (ssrc,) = struct.unpack_from("!I", data, 8)
            (sequence,) = struct.unpack_from("!H", data, 2)
            if ssrc == first._ssrc:
                count[0] += 1
                if count[0] % 10 == 5 and len(dropped) < 5:
                    dropped.append(sequence)
                    return
            await send_rtp(data)

        dtls._send_rtp = lossy  # type: ignore[method-assign]
        await sender.setRemoteDescription(relay.localDescription)
        await eventually(lambda: len(dropped) >= 5, timeout=30, message="five packets lost")
        lost_mid = str(relay.getTransceivers()[0].mid)
        await eventually(
            lambda: set(dropped) <= seen[lost_mid],
            timeout=10,
            message="every lost packet retransmitted to its receiver",
        )
    finally:
        await close_peer(sender)
        await close_peer(relay)
