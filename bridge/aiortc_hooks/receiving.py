"""What aiortc does with a received RTP packet, taken over for the relay: each packet handed on
as it arrives (tap_receiver), read where the socket is read (srtp_reader), and the RTCP the
relay sends its sources (REMB, PLI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc import RTCRtpReceiver
from aiortc.codecs import depayload, is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

from bridge.aiortc_hooks.eager import run_eagerly
from bridge.aiortc_hooks.lost_packets import LostPackets
from bridge.aiortc_hooks.ntp import ntp_ms
from bridge.aiortc_hooks.pinned import require
from bridge.aiortc_hooks.rtp_packets import parse_rtp
from bridge.aiortc_hooks.srtp import RtpCipher

_RECEIVER_FIELDS = (
    "_RTCRtpReceiver__codecs",
    "_RTCRtpReceiver__rtx_ssrc",
    "_RTCRtpReceiver__remote_bitrate_estimator",
    "_RTCRtpReceiver__rtcp_ssrc",
    "_RTCRtpReceiver__remote_streams",
    "_RTCRtpReceiver__nack_generator",
)
# What a decoding receiver's packet goes through after ours (tap_receiver's decode_now).
_DECODER_FIELDS = (
    "_RTCRtpReceiver__jitter_buffer",
    "_RTCRtpReceiver__decoder_error",
    "_RTCRtpReceiver__decoder_queue",
    "_RTCRtpReceiver__decoder_thread",
    "_RTCRtpReceiver__timestamp_mapper",
)
_DTLS_FIELDS = (
    "_rtp_router",
    "_handle_rtcp_data",
    "_rtp_header_extensions_map",
    "_rx_srtp",
    "_state",
    "_RTCDtlsTransport__rx_bytes",
    "_RTCDtlsTransport__rx_packets",
    "_RTCDtlsTransport__tx_bytes",
    "_RTCDtlsTransport__tx_packets",
)


PacketListener = Callable[[RtpPacket], None]


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketListener, decode: bool = False) -> None:
    """Hand every RTP packet of `receiver` to `on_packet` as it arrives (RTX unwrapped).

    aiortc's bandwidth estimate is switched off (it held Chromium near 0.76 Mbps; we send our
    own REMB). Unless `decode` (the program needs the pictures), its decoder thread is stopped
    once started, and of aiortc's own handling of a packet only what a relay needs runs: the
    statistics its RTCP reports carry, and NACKs for lost packets. Parsing each payload and
    reassembling frames for a decoder that is not there was most of its cost per packet. With
    `decode` the packet then goes on as in aiortc, into its jitter buffer and, a frame once
    whole, to its decoder thread (a keyframe asked for when the buffer lost one or the decoder
    failed), but synchronously, where the socket is read, without aiortc's two coroutines a
    packet; the caller must read `receiver.track` continuously.
    """
    require(receiver, _RECEIVER_FIELDS + _DECODER_FIELDS)
    receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
    original_receive = receiver.receive
    codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    rtx_ssrcs: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
    streams: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    nacks: NackGenerator | None = None
    if receiver._RTCRtpReceiver__nack_generator is not None:  # type: ignore[attr-defined]
        # the same bookkeeping, cheaper per packet; aiortc's own handling (decode) uses it too
        nacks = receiver._RTCRtpReceiver__nack_generator = LostPackets()  # type: ignore[attr-defined]

    async def receive(parameters: Any) -> None:
        await original_receive(parameters)
        if not decode:
            receiver._RTCRtpReceiver__stop_decoder()  # type: ignore[attr-defined]
        _route_retransmissions(receiver, parameters)

    def unwrapped(packet: RtpPacket, codec: Any) -> RtpPacket | None:
        """The original packet inside an RTX one (None: not one we can unwrap)."""
        apt = codec.parameters.get("apt")
        original_ssrc = rtx_ssrcs.get(packet.ssrc)
        if original_ssrc is None or not isinstance(apt, int) or len(packet.payload) < 2:
            return None
        return unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)

    # payload type -> its codec and whether it is RTX (aiortc's check splits the mime type
    # each time); a renegotiation that gives the payload type another codec is noticed.
    retransmissions: dict[int, tuple[Any, bool]] = {}

    def relay_now(packet: RtpPacket) -> RtpPacket | None:
        """Count, unwrap, hand on, ask for what is missing; the packet handed on (a
        retransmission's original), None when it was not one to hand on."""
        codec = codecs.get(packet.payload_type)
        if codec is None or not receiver._enabled:
            return None
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        known = retransmissions.get(packet.payload_type)
        if known is None or known[0] is not codec:
            known = retransmissions[packet.payload_type] = (codec, is_rtx(codec))
        if known[1]:
            original = unwrapped(packet, codec)
            if original is None:
                return None
            packet = original
        on_packet(packet)
        if nacks is not None and nacks.add(packet):
            run_eagerly(receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing)), "a NACK")
        return packet

    # aiortc's parts a decoding receiver's packets go on to (made with the receiver, kept)
    r: Any = receiver
    jitter_buffer = r._RTCRtpReceiver__jitter_buffer
    decoder_failed = r._RTCRtpReceiver__decoder_error
    decoder_queue = r._RTCRtpReceiver__decoder_queue
    timestamps = r._RTCRtpReceiver__timestamp_mapper

    def decode_now(received: RtpPacket) -> None:
        packet = relay_now(received)  # a retransmission's original goes into the frames
        codec = codecs.get(packet.payload_type) if packet is not None else None
        if packet is None or codec is None:  # (an RTX packet's apt may name no codec)
            return
        try:
            packet._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
        except ValueError:
            return  # as aiortc does: a payload it cannot parse is dropped
        keyframe_lost, frame = jitter_buffer.add(packet)
        if decoder_failed.is_set():  # the decoder lost the picture: ask for a new one (RFC 4585)
            decoder_failed.clear()
            keyframe_lost = True
        if keyframe_lost:
            run_eagerly(receiver._send_rtcp_pli(packet.ssrc), "a keyframe request")
        if frame is not None and r._RTCRtpReceiver__decoder_thread is not None:
            frame.timestamp = timestamps.map(frame.timestamp)
            decoder_queue.put((codec, frame))

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        (decode_now if decode else relay_now)(packet)

    receiver.receive = receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    setattr(receiver, _HANDLED_IN_PLACE, decode_now if decode else relay_now)


def _route_retransmissions(receiver: RTCRtpReceiver, parameters: Any) -> None:
    """Route the receiver's RTX stream to it by SSRC, as its own stream is.

    aiortc routes a packet by its SSRC, or by its payload type when a single receiver has that
    type, and never by MID; it registers the SSRCs of the streams the remote description
    announces but not of their RTX streams. So a retransmission whose RTX payload type another
    m-line negotiated too was dropped: a console receiving a partner (VP8 and H.264) and the
    program (H.264) has H.264's RTX type on both, and every repair of the program was lost.
    ORTC's matching rules put a receiver's RTX SSRCs in its SSRC table for this reason
    (w3c-cg/ortc#368); JSEP routes by MID first (rtcweb-wg/jsep#223).
    """
    transport = receiver.transport
    if transport is None:
        return
    table: dict[int, Any] = transport._rtp_router.ssrc_table
    for encoding in parameters.encodings:
        if encoding.rtx is not None:
            table.setdefault(encoding.rtx.ssrc, receiver)


# The attribute of a receiver whose packets are handled where they are read (see srtp_reader):
# a tapped one's. An attribute, not a weak mapping: looked up on every packet.
_HANDLED_IN_PLACE = "_telebridge_handle_rtp_now"


def srtp_reader(dtls: RTCDtlsTransport) -> Callable[[bytes], bool]:
    """What reads `dtls`'s SRTP and SRTCP the moment its socket is read, instead of aiortc.

    aiortc queues every datagram for a task of the DTLS transport, which decrypts and parses
    it and awaits the receiver's handler through four coroutines: at about 280 packets a
    second a stream, that path cost more than the packet's own work (decrypting, parsing,
    counting, forwarding). The reader does the same steps synchronously and hands the packet
    to a tapped receiver's handler (tap_receiver: relaying, and decoding for the program) at
    once; an untapped receiver's handler is aiortc's coroutine, run eagerly (eager.py), and so
    is aiortc's handling of RTCP (reports, NACKs, keyframe requests; a few a second a stream,
    but each woke that task too). It returns False when the packet is not its to take (the
    handshake is not done, or the transport closed): aiortc's queue then takes it.
    """
    require(dtls, _DTLS_FIELDS)
    router = dtls._rtp_router
    ssrc_table, payload_type_table = router.ssrc_table, router.payload_type_table
    extensions = dtls._rtp_header_extensions_map

    cipher: RtpCipher | None = None  # of the transport's SRTP session, once it has one

    def read(data: bytes) -> bool:
        nonlocal cipher
        srtp = dtls._rx_srtp
        if srtp is None or dtls._state is not DtlsState.CONNECTED:
            return False
        if cipher is None or cipher.session is not srtp:
            cipher = RtpCipher(srtp)
        dtls._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
        dtls._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
        # RTCP's packet types take the second byte to 192-208 (RFC 5761); RTP's do not.
        if len(data) > 1 and 191 < data[1] < 209:
            try:
                rtcp = srtp.unprotect_rtcp(data)
            except pylibsrtp.Error:
                return True  # as aiortc does
            run_eagerly(dtls._handle_rtcp_data(rtcp), "handling RTCP")
            return True
        try:
            packet = parse_rtp(cipher.unprotect(data), extensions)
        except (pylibsrtp.Error, ValueError):
            return True  # as aiortc does: a packet that fails to decrypt or parse is dropped
        # aiortc's route_rtp, its first case first: a known SSRC of a known payload type
        receiver = ssrc_table.get(packet.ssrc)
        if receiver is None or receiver not in payload_type_table.get(packet.payload_type, ()):
            receiver = router.route_rtp(packet)
            if receiver is None:
                return True
        handle = getattr(receiver, _HANDLED_IN_PLACE, None)
        if handle is not None:
            handle(packet)
        else:
            handling = receiver._handle_rtp_packet(packet, arrival_time_ms=ntp_ms())
            run_eagerly(handling, "handling an RTP packet")
        return True

    return read


async def send_remb(receiver: RTCRtpReceiver, bitrate_bps: int, media_ssrcs: list[int]) -> None:
    """Tell the sending browser how much it may send (REMB), from the receiver's RTCP SSRC."""
    rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
    if rtcp_ssrc is None or not media_ssrcs:
        return
    packet = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate_bps, media_ssrcs)
    )
    await receiver._send_rtcp(packet)


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the source for a keyframe (PLI)."""
    await receiver._send_rtcp_pli(media_ssrc)
