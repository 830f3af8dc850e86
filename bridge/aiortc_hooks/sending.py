"""Senders the relay writes already-encoded RTP into: an idle track so that aiortc builds no
encoder, and the forwarding sender that numbers, keeps (for NACKs) and sends each packet.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from aioice.ice import StunProtocol
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import (
    RTP_HISTORY_SIZE,
    RtpPacket,
    wrap_rtx,
)

from bridge.aiortc_hooks.ntp import ntp_time
from bridge.aiortc_hooks.pinned import require
from bridge.aiortc_hooks.rtp_packets import ForwardedHeader
from bridge.aiortc_hooks.sockets import send_datagram
from bridge.aiortc_hooks.srtp import RtpCipher

_SENDER_FIELDS = (
    "_RTCRtpSender__rtp_history",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
)


class IdleTrack(MediaStreamTrack):
    """A sender's track that never yields a frame, so aiortc never builds an encoder for it.

    The relay writes packets into the sender itself (`ForwardingSender`); the sender still
    negotiates, runs RTCP and answers NACKs from the history we fill.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped = asyncio.Event()

    async def recv(self) -> Any:
        """Wait until stopped; then end the track."""
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        """End the track (the sender's RTP loop then ends)."""
        self._stopped.set()
        super().stop()


def _direct_route(dtls: RTCDtlsTransport) -> tuple[Any, Any] | None:
    """(asyncio datagram transport, remote address) of the connection's selected candidate
    pair when it is direct; None when not connected or relayed through TURN (whose client
    sends through coroutines of its own)."""
    if dtls._state is not DtlsState.CONNECTED:
        return None
    nominated = dtls.transport._connection._nominated
    pair = nominated.get(1)
    if pair is None:
        return None
    protocol = pair.protocol
    if type(protocol) is not StunProtocol or protocol.transport is None:
        return None
    return protocol.transport, pair.remote_addr


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote end asks `sender` for a keyframe (PLI/FIR).

    aiortc only remembers such a request for its own encoder; a sender fed pre-encoded
    packets (the program's H.264) must pass it on to whoever encodes.
    """
    sender._send_keyframe = callback  # type: ignore[method-assign]


class ForwardingSender:
    """Writes already-encoded RTP payloads through an `RTCRtpSender` that holds an IdleTrack.

    Packets get the sender's SSRC, the payload type negotiated for their codec and the MID;
    they go into aiortc's history so that the subscriber's NACKs are answered, and the
    sender reports (SR) count them. One slot may carry VP8 from one studio and H.264 after
    it reconnects from an encoder: each packet takes its codec's payload type, and a
    retransmission its codec's RTX payload type (aiortc knows only the first codec's).
    """

    def __init__(
        self, sender: RTCRtpSender, on_keyframe_request_callback: Callable[[], None]
    ) -> None:
        require(sender, _SENDER_FIELDS)
        self.sender = sender
        self.payload_type: int | None = None  # the first negotiated codec's
        self.mid: str | None = None
        self._payload_types: dict[str, int] = {}  # lower-case mime type -> payload type
        self._rtx: dict[int, int] = {}  # payload type -> its RTX payload type
        self._rtx_sequence = random.randrange(1 << 16)
        self._sound = sender.kind == "audio"  # its packets carry their level on
        self._cipher: RtpCipher | None = None  # of the transport's SRTP session (write_now)
        self._header: ForwardedHeader | None = None  # packs each packet's header, once negotiated
        original_send = sender.send

        async def send(parameters: Any) -> None:
            codecs = parameters.codecs
            self.payload_type = codecs[0].payloadType
            self.mid = parameters.muxId
            for codec in codecs:
                if is_rtx(codec):
                    self._rtx.setdefault(codec.parameters.get("apt"), codec.payloadType)
                else:
                    self._payload_types.setdefault(codec.mimeType.lower(), codec.payloadType)
            await original_send(parameters)
            extensions = sender._RTCRtpSender__rtp_header_extensions_map  # type: ignore[attr-defined]
            try:  # negotiated once (aiortc configures the map on the first send only)
                self._header = ForwardedHeader(extensions._HeaderExtensionsMap__ids, self.mid)
            except ValueError:
                self._header = None

        sender.send = send  # type: ignore[method-assign]
        sender._retransmit = self._retransmit  # type: ignore[method-assign]
        # aiortc would force the next encoded frame to be a key frame; there is no encoder
        # here, so the request goes to the relay, which asks the source.
        on_keyframe_request(sender, on_keyframe_request_callback)

    @property
    def ready(self) -> bool:
        """Whether negotiation has given the sender its payload type."""
        return self.payload_type is not None

    def payload_type_for(self, mime_type: str | None) -> int | None:
        """The payload type this subscriber negotiated for `mime_type` (None: the first
        codec's); None when it did not negotiate that codec or negotiation is not done."""
        if mime_type is None:
            return self.payload_type
        return self._payload_types.get(mime_type.lower())

    def write_now(
        self,
        packet: RtpPacket,
        sequence_number: int,
        timestamp: int,
        payload_type: int | None = None,
    ) -> bool:
        """As `write`, at once: protected and handed to the socket without the event loop
        (aiortc's send path is three coroutines deep). False, and nothing done, when the
        connection cannot take it so (not connected, or a TURN pair): then `write` it."""
        dtls = self.sender.transport
        route = _direct_route(dtls)
        if route is None:
            return False
        data = self._outgoing(packet, sequence_number, timestamp, payload_type)
        if data is None:
            return True
        cipher = self._cipher
        if cipher is None or cipher.session is not dtls._tx_srtp:
            cipher = self._cipher = RtpCipher(dtls._tx_srtp)
        protected = cipher.protect(data)
        transport, address = route
        send_datagram(transport, protected, address)
        dtls._RTCDtlsTransport__tx_bytes += len(protected)  # type: ignore[attr-defined]
        dtls._RTCDtlsTransport__tx_packets += 1  # type: ignore[attr-defined]
        return True

    async def write(
        self,
        packet: RtpPacket,
        sequence_number: int,
        timestamp: int,
        payload_type: int | None = None,
    ) -> None:
        """Send `packet`'s payload with the given (rewritten) sequence number and timestamp,
        as `payload_type` (default: the first negotiated codec's)."""
        data = self._outgoing(packet, sequence_number, timestamp, payload_type)
        if data is not None:
            await self.sender.transport._send_rtp(data)

    def _outgoing(
        self,
        packet: RtpPacket,
        sequence_number: int,
        timestamp: int,
        payload_type: int | None,
    ) -> bytes | None:
        """The packet as this sender sends it, serialized (kept in the history for NACKs,
        counted in the sender reports); None before negotiation."""
        payload_type = payload_type if payload_type is not None else self.payload_type
        if payload_type is None:
            return None
        s = self.sender
        now_ntp = ntp_time()
        abs_send_time = (now_ntp >> 14) & 0x00FFFFFF
        audio_level = packet.extensions.audio_level if self._sound else None
        header = self._header
        if header is not None:
            data = (
                header.pack(
                    payload_type,
                    packet.marker,
                    sequence_number,
                    timestamp,
                    s._ssrc,
                    abs_send_time,
                    audio_level,
                )
                + packet.payload
            )
        else:  # not negotiated yet, or extensions the one-byte form cannot carry: aiortc's way
            out = RtpPacket(
                payload_type=payload_type,
                marker=packet.marker,
                sequence_number=sequence_number,
                timestamp=timestamp,
                ssrc=s._ssrc,
                payload=packet.payload,
            )
            out.extensions.mid = self.mid
            out.extensions.abs_send_time = abs_send_time
            out.extensions.audio_level = audio_level
            data = out.serialize(s._RTCRtpSender__rtp_header_extensions_map)  # type: ignore[attr-defined]
        # The history keeps what was sent, parsed again only for a NACK (a few a second).
        history: dict[int, bytes] = s._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        history[sequence_number % RTP_HISTORY_SIZE] = data
        s._RTCRtpSender__ntp_timestamp = now_ntp  # type: ignore[attr-defined]
        s._RTCRtpSender__rtp_timestamp = timestamp  # type: ignore[attr-defined]
        s._RTCRtpSender__octet_count += len(packet.payload)  # type: ignore[attr-defined]
        s._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]
        return data

    async def _retransmit(self, sequence_number: int) -> None:
        """Resend a packet the subscriber reported lost (NACK), wrapped in the RTX payload
        type negotiated for its own codec, or as it was when that codec has no RTX."""
        s = self.sender
        history: dict[int, bytes] = s._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        extensions_map = s._RTCRtpSender__rtp_header_extensions_map  # type: ignore[attr-defined]
        sent = history.get(sequence_number % RTP_HISTORY_SIZE)
        if sent is None:
            return
        packet = RtpPacket.parse(sent, extensions_map)
        if packet.sequence_number != sequence_number:
            return
        rtx = self._rtx.get(packet.payload_type)
        if rtx is not None:
            packet = wrap_rtx(
                packet, payload_type=rtx, sequence_number=self._rtx_sequence, ssrc=s._rtx_ssrc
            )
            self._rtx_sequence = (self._rtx_sequence + 1) % (1 << 16)
        await s.transport._send_rtp(packet.serialize(extensions_map))
