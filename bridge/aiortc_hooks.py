"""Every hook on aiortc's private internals lives here, and only here.

Relaying RTP packet by packet (no decode, no re-encode, no waiting for whole frames) needs what
aiortc does not expose: the receiver's packets as they arrive, and a sender whose transport,
history (for NACKs) and RTCP reports we feed ourselves. aiortc is pinned (pyproject.toml); a
test drives two real peer connections through these hooks and fails loudly when an upgrade
moves anything (tests/bridge/test_aiortc_hooks.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiortc
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver, clock
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

PINNED_AIORTC = "1.16.0"

_RECEIVER_FIELDS = (
    "_RTCRtpReceiver__codecs",
    "_RTCRtpReceiver__rtx_ssrc",
    "_RTCRtpReceiver__remote_bitrate_estimator",
    "_RTCRtpReceiver__rtcp_ssrc",
)
_SENDER_FIELDS = (
    "_RTCRtpSender__rtp_history",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
)


class HookBroken(RuntimeError):
    """aiortc no longer has the internals this module hooks (an upgrade moved them)."""


def _require(obj: object, fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if not hasattr(obj, f)]
    if missing:
        raise HookBroken(
            f"aiortc {aiortc.__version__} lacks {', '.join(missing)} on {type(obj).__name__}; "
            f"bridge/aiortc_hooks.py was written for aiortc {PINNED_AIORTC}"
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


PacketListener = Callable[[RtpPacket], None]


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketListener, decode: bool = False) -> None:
    """Hand every RTP packet of `receiver` to `on_packet` as it arrives (RTX unwrapped).

    aiortc's own handling still runs after ours for statistics and NACKs, but its bandwidth
    estimate is switched off (it held Chromium near 0.76 Mbps; we send our own REMB). Unless
    `decode` (the program needs the pictures), its decoder thread is stopped once started:
    relaying decodes nothing, and an unread decoded track leaks memory. With `decode` the
    caller must read `receiver.track` continuously.
    """
    _require(receiver, _RECEIVER_FIELDS)
    receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
    original_handle = receiver._handle_rtp_packet
    original_receive = receiver.receive
    codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    rtx_ssrcs: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]

    async def receive(parameters: Any) -> None:
        await original_receive(parameters)
        if not decode:
            receiver._RTCRtpReceiver__stop_decoder()  # type: ignore[attr-defined]

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is not None and receiver._enabled:
            if not is_rtx(codec):
                on_packet(packet)
            else:
                apt = codec.parameters.get("apt")
                original_ssrc = rtx_ssrcs.get(packet.ssrc)
                if original_ssrc is not None and isinstance(apt, int) and len(packet.payload) >= 2:
                    on_packet(unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc))
        await original_handle(packet, arrival_time_ms)

    receiver.receive = receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


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


def restrict_codecs(transceiver: RTCRtpTransceiver, mime_type: str) -> bool:
    """Keep only `mime_type` (and its RTX) on a transceiver whose offer is already applied.

    aiortc applies `setCodecPreferences` only while it reads the remote description, and
    the transceivers of an offer exist only after that; this narrows what was negotiated, so
    the answer names, and the sender uses, that codec. False when the offer lacks it.
    """
    _require(transceiver, ("_codecs",))
    codecs: list[Any] = transceiver._codecs
    keep = [c for c in codecs if c.mimeType.lower() == mime_type.lower()]
    if not keep:
        return False
    payload_types = {c.payloadType for c in keep}
    rtx = [c for c in codecs if is_rtx(c) and c.parameters.get("apt") in payload_types]
    transceiver._codecs = keep + rtx
    return True


def candidate_types(pc: Any) -> tuple[str, str] | None:
    """(local, remote) candidate type of the connection's selected pair: host, srflx, prflx
    or relay; None until connected. aiortc's getStats does not report it."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        ice = getattr(dtls, "transport", None)
        connection = getattr(ice, "_connection", None)
        nominated = getattr(connection, "_nominated", None)
        if nominated:
            pair = nominated.get(1) or next(iter(nominated.values()))
            return str(pair.local_candidate.type), str(pair.remote_candidate.type)
    return None


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote end asks `sender` for a keyframe (PLI/FIR).

    aiortc only remembers such a request for its own encoder; a sender fed pre-encoded
    packets (the program's H.264) must pass it on to whoever encodes.
    """
    sender._send_keyframe = callback  # type: ignore[method-assign]


class ForwardingSender:
    """Writes already-encoded RTP payloads through an `RTCRtpSender` that holds an IdleTrack.

    Packets get the sender's SSRC, its negotiated payload type and MID; they go into aiortc's
    history so that the subscriber's NACKs are answered by aiortc's own retransmission code,
    and the sender reports (SR) count them.
    """

    def __init__(
        self, sender: RTCRtpSender, on_keyframe_request_callback: Callable[[], None]
    ) -> None:
        _require(sender, _SENDER_FIELDS)
        self.sender = sender
        self.payload_type: int | None = None
        self.mid: str | None = None
        original_send = sender.send

        async def send(parameters: Any) -> None:
            self.payload_type = parameters.codecs[0].payloadType
            self.mid = parameters.muxId
            await original_send(parameters)

        sender.send = send  # type: ignore[method-assign]
        # aiortc would force the next encoded frame to be a key frame; there is no encoder
        # here, so the request goes to the relay, which asks the source.
        on_keyframe_request(sender, on_keyframe_request_callback)

    @property
    def ready(self) -> bool:
        """Whether negotiation has given the sender its payload type."""
        return self.payload_type is not None

    async def write(
        self,
        packet: RtpPacket,
        sequence_number: int,
        timestamp: int,
    ) -> None:
        """Send `packet`'s payload with the given (rewritten) sequence number and timestamp."""
        if self.payload_type is None:
            return
        s = self.sender
        out = RtpPacket(
            payload_type=self.payload_type,
            marker=packet.marker,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=s._ssrc,
            payload=packet.payload,
        )
        out.extensions.mid = self.mid
        out.extensions.abs_send_time = (clock.current_ntp_time() >> 14) & 0x00FFFFFF
        out.extensions.audio_level = packet.extensions.audio_level
        history: dict[int, RtpPacket] = s._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        history[sequence_number % RTP_HISTORY_SIZE] = out
        data = out.serialize(s._RTCRtpSender__rtp_header_extensions_map)  # type: ignore[attr-defined]
        await s.transport._send_rtp(data)
        s._RTCRtpSender__ntp_timestamp = clock.current_ntp_time()  # type: ignore[attr-defined]
        s._RTCRtpSender__rtp_timestamp = timestamp  # type: ignore[attr-defined]
        s._RTCRtpSender__octet_count += len(packet.payload)  # type: ignore[attr-defined]
        s._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]
