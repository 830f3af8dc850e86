"""Every hook on aiortc's private internals lives here, and only here.

Relaying RTP packet by packet (no decode, no re-encode, no waiting for whole frames) needs what
aiortc does not expose: the receiver's packets as they arrive, and a sender whose transport,
history (for NACKs) and RTCP reports we feed ourselves. aiortc is pinned (pyproject.toml); a
test drives two real peer connections through these hooks and fails loudly when an upgrade
moves anything (tests/bridge/test_aiortc_hooks.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import aiortc
from aiortc import (
    MediaStreamTrack,
    RTCCertificate,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    clock,
)
from aiortc import codecs as aiortc_codecs
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import SRTP_AES128_CM_SHA1_80
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
    wrap_rtx,
)
from OpenSSL import SSL

PINNED_AIORTC = "1.16.0"

_RECEIVER_FIELDS = (
    "_RTCRtpReceiver__codecs",
    "_RTCRtpReceiver__rtx_ssrc",
    "_RTCRtpReceiver__remote_bitrate_estimator",
    "_RTCRtpReceiver__rtcp_ssrc",
    "_RTCRtpReceiver__remote_streams",
    "_RTCRtpReceiver__nack_generator",
)
_SENDER_FIELDS = (
    "_RTCRtpSender__rtp_history",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
)


# aiortc offers only ECDSA suites. In a WHIP session the encoder offers and aiortc answers
# "active", so aiortc is the DTLS client and the encoder's certificate picks the suite: an
# RSA one (GStreamer's webrtcbin, libdatachannel) shares none of them ("no shared cipher").
# Its own suites stay first, so what browsers negotiate (ECDSA) does not change.
AIORTC_DTLS_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
)
RSA_DTLS_CIPHERS = (
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
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

    aiortc's bandwidth estimate is switched off (it held Chromium near 0.76 Mbps; we send our
    own REMB). Unless `decode` (the program needs the pictures), its decoder thread is stopped
    once started, and of aiortc's own handling of a packet only what a relay needs runs: the
    statistics its RTCP reports carry, and NACKs for lost packets. Parsing each payload and
    reassembling frames for a decoder that is not there was most of its cost per packet. With
    `decode` aiortc's whole handling runs after ours, and the caller must read
    `receiver.track` continuously.
    """
    _require(receiver, _RECEIVER_FIELDS)
    receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
    original_handle = receiver._handle_rtp_packet
    original_receive = receiver.receive
    codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    rtx_ssrcs: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
    streams: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    nacks: NackGenerator | None = receiver._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]

    async def receive(parameters: Any) -> None:
        await original_receive(parameters)
        if not decode:
            receiver._RTCRtpReceiver__stop_decoder()  # type: ignore[attr-defined]

    def unwrapped(packet: RtpPacket, codec: Any) -> RtpPacket | None:
        """The original packet inside an RTX one (None: not one we can unwrap)."""
        apt = codec.parameters.get("apt")
        original_ssrc = rtx_ssrcs.get(packet.ssrc)
        if original_ssrc is None or not isinstance(apt, int) or len(packet.payload) < 2:
            return None
        return unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is not None and receiver._enabled:
            original = unwrapped(packet, codec) if is_rtx(codec) else packet
            if original is not None:
                on_packet(original)
        await original_handle(packet, arrival_time_ms)

    # payload type -> its codec and whether it is RTX (aiortc's check splits the mime type
    # each time); a renegotiation that gives the payload type another codec is noticed.
    retransmissions: dict[int, tuple[Any, bool]] = {}

    async def relay(packet: RtpPacket, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is None or not receiver._enabled:
            return
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
                return
            packet = original
        on_packet(packet)
        if nacks is not None and nacks.add(packet):
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))

    receiver.receive = receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = handle if decode else relay  # type: ignore[method-assign]


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


def restrict_codecs(transceiver: RTCRtpTransceiver, *mime_types: str) -> bool:
    """Keep only `mime_types` (and their RTX) on a transceiver whose offer is already applied.

    aiortc applies `setCodecPreferences` only while it reads the remote description, and
    the transceivers of an offer exist only after that; this narrows what was negotiated, so
    the answer names, and the sender uses, those codecs (in the offer's order). False when
    the offer has none of them.
    """
    _require(transceiver, ("_codecs",))
    codecs: list[Any] = transceiver._codecs
    wanted = {m.lower() for m in mime_types}
    keep = [c for c in codecs if c.mimeType.lower() in wanted]
    if not keep:
        return False
    payload_types = {c.payloadType for c in keep}
    rtx = [c for c in codecs if is_rtx(c) and c.parameters.get("apt") in payload_types]
    transceiver._codecs = keep + rtx
    return True


# aiortc negotiates H.264 only in its Constrained Baseline and Baseline profiles, which it can
# encode. The relay never encodes a studio's picture, and the program decodes any profile, so
# an encoder's Main or High (OBS, vMix, GStreamer's x264) is taken as offered.
EXTRA_H264_PROFILES = ("4d001f", "640c1f", "64001f")  # Main, Constrained High, High


def accept_h264_profiles() -> None:
    """Add the H.264 Main and High profiles to what aiortc negotiates (idempotent)."""
    video = aiortc_codecs.CODECS["video"]
    offered = {
        str(c.parameters.get("profile-level-id", "")).lower()
        for c in video
        if c.mimeType.lower() == "video/h264"
    }
    if not offered:
        raise HookBroken(f"aiortc {aiortc.__version__} lists no H.264 codec of its own")
    next_pt = max(c.payloadType or 0 for c in video) + 1
    for profile in EXTRA_H264_PROFILES:
        if profile in offered:
            continue
        template = next(c for c in video if c.mimeType.lower() == "video/h264")
        video.append(
            RTCRtpCodecParameters(
                mimeType="video/H264",
                clockRate=90000,
                payloadType=next_pt,
                rtcpFeedback=list(template.rtcpFeedback),
                parameters={**template.parameters, "profile-level-id": profile},
            )
        )
        video.append(
            RTCRtpCodecParameters(
                mimeType="video/rtx",
                clockRate=90000,
                payloadType=next_pt + 1,
                parameters={"apt": next_pt},
            )
        )
        next_pt += 2


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

    Packets get the sender's SSRC, the payload type negotiated for their codec and the MID;
    they go into aiortc's history so that the subscriber's NACKs are answered, and the
    sender reports (SR) count them. One slot may carry VP8 from one studio and H.264 after
    it reconnects from an encoder: each packet takes its codec's payload type, and a
    retransmission its codec's RTX payload type (aiortc knows only the first codec's).
    """

    def __init__(
        self, sender: RTCRtpSender, on_keyframe_request_callback: Callable[[], None]
    ) -> None:
        _require(sender, _SENDER_FIELDS)
        self.sender = sender
        self.payload_type: int | None = None  # the first negotiated codec's
        self.mid: str | None = None
        self._payload_types: dict[str, int] = {}  # lower-case mime type -> payload type
        self._rtx: dict[int, int] = {}  # payload type -> its RTX payload type
        self._rtx_sequence = random.randrange(1 << 16)
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

    async def write(
        self,
        packet: RtpPacket,
        sequence_number: int,
        timestamp: int,
        payload_type: int | None = None,
    ) -> None:
        """Send `packet`'s payload with the given (rewritten) sequence number and timestamp,
        as `payload_type` (default: the first negotiated codec's)."""
        payload_type = payload_type if payload_type is not None else self.payload_type
        if payload_type is None:
            return
        s = self.sender
        out = RtpPacket(
            payload_type=payload_type,
            marker=packet.marker,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=s._ssrc,
            payload=packet.payload,
        )
        now_ntp = clock.current_ntp_time()
        out.extensions.mid = self.mid
        out.extensions.abs_send_time = (now_ntp >> 14) & 0x00FFFFFF
        out.extensions.audio_level = packet.extensions.audio_level
        history: dict[int, RtpPacket] = s._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        history[sequence_number % RTP_HISTORY_SIZE] = out
        data = out.serialize(s._RTCRtpSender__rtp_header_extensions_map)  # type: ignore[attr-defined]
        await s.transport._send_rtp(data)
        s._RTCRtpSender__ntp_timestamp = now_ntp  # type: ignore[attr-defined]
        s._RTCRtpSender__rtp_timestamp = timestamp  # type: ignore[attr-defined]
        s._RTCRtpSender__octet_count += len(packet.payload)  # type: ignore[attr-defined]
        s._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]

    async def _retransmit(self, sequence_number: int) -> None:
        """Resend a packet the subscriber reported lost (NACK), wrapped in the RTX payload
        type negotiated for its own codec, or as it was when that codec has no RTX."""
        s = self.sender
        history: dict[int, RtpPacket] = s._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        packet = history.get(sequence_number % RTP_HISTORY_SIZE)
        if packet is None or packet.sequence_number != sequence_number:
            return
        rtx = self._rtx.get(packet.payload_type)
        if rtx is not None:
            packet = wrap_rtx(
                packet, payload_type=rtx, sequence_number=self._rtx_sequence, ssrc=s._rtx_ssrc
            )
            self._rtx_sequence = (self._rtx_sequence + 1) % (1 << 16)
        data = packet.serialize(s._RTCRtpSender__rtp_header_extensions_map)  # type: ignore[attr-defined]
        await s.transport._send_rtp(data)


def _cipher_names(ctx: SSL.Context) -> tuple[str, ...]:
    """The TLS 1.2 suites a context offers (OpenSSL adds its TLS 1.3 ones, unused by DTLS)."""
    return tuple(n for n in SSL.Connection(ctx).get_cipher_list() if not n.startswith("TLS_"))


def accept_rsa_peers() -> None:
    """Let aiortc's DTLS take peers whose certificate is RSA (idempotent).

    Wraps `RTCCertificate._create_ssl_context`: aiortc's context with its own suites followed
    by ECDHE-RSA AES-GCM and ChaCha20. Checked first on a throwaway context (OpenSSL freezes
    a context once read): one that offers other suites than aiortc was pinned with means an
    upgrade changed them, and HookBroken beats a silent change of what is negotiated.
    """
    create = RTCCertificate._create_ssl_context
    if getattr(create, "accepts_rsa_peers", False):
        return
    probe = create(RTCCertificate.generateCertificate(), [SRTP_AES128_CM_SHA1_80])
    offered = _cipher_names(probe)
    if offered != AIORTC_DTLS_CIPHERS:
        raise HookBroken(
            f"aiortc {aiortc.__version__} offers the DTLS suites {', '.join(offered)}; "
            f"bridge/aiortc_hooks.py was written for aiortc {PINNED_AIORTC}'s "
            f"{', '.join(AIORTC_DTLS_CIPHERS)}"
        )
    suites = ":".join(AIORTC_DTLS_CIPHERS + RSA_DTLS_CIPHERS).encode()

    def create_accepting_rsa(self: RTCCertificate, srtp_profiles: Any) -> SSL.Context:
        ctx = create(self, srtp_profiles)
        ctx.set_cipher_list(suites)
        return ctx

    create_accepting_rsa.accepts_rsa_peers = True  # type: ignore[attr-defined]
    RTCCertificate._create_ssl_context = create_accepting_rsa  # type: ignore[method-assign]
