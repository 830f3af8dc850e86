"""Packet loss on a console's link, both ways, made in-process (this kernel has no `tc netem`).

Every Nth original RTP packet of video a console sends is dropped before SRTP, as if lost on
its way to the relay, and every Nth one it receives is dropped before its receiver sees it, as
if lost on the way back. Retransmissions (RTX) always get through, so each loss is repaired
when the other side does its part: the relay's NACKs and the console's RTX upstream, the
console's NACKs and the relay's RTX downstream, through the relay's own receiving, reframing
and decoding. What the consoles still count as lost is what a repair missed. Sound is left
whole: WebRTC repairs no lost sound packet (no NACK for Opus; a browser conceals the gap), so a
loss there would only be a loss. The sending peers are the same for Telebridge and Janus, so
both relays meet the same loss.
"""

from __future__ import annotations

import struct
from collections import Counter
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.codecs import is_rtx

_LOSSY = "_bench_lossy"  # marks a transport or receiver already made lossy


def loss_every(percent: float) -> int:
    """Every how many packets a link loses one, for `percent` (0: never)."""
    return max(2, round(100 / percent)) if percent > 0 else 0


def lose_every(pc: RTCPeerConnection, period: int) -> None:
    """Drop every `period`-th original RTP packet of video `pc` sends and receives, per
    stream."""
    video = [t for t in pc.getTransceivers() if t.kind == "video"]
    for transceiver in video:
        dtls = transceiver.sender.transport
        if dtls is not None and not getattr(dtls, _LOSSY, False):
            originals = {t.sender._ssrc for t in video}  # not their RTX SSRCs
            _lose_sent(dtls, originals, period)
        if not getattr(transceiver.receiver, _LOSSY, False):
            _lose_received(transceiver.receiver, period)


def _lose_sent(dtls: Any, originals: set[int], period: int) -> None:
    send_rtp = dtls._send_rtp
    counts: Counter[int] = Counter()

    async def lossy(data: bytes) -> None:
        if len(data) >= 12:
            (ssrc,) = struct.unpack_from("!I", data, 8)
            if ssrc in originals:
                counts[ssrc] += 1
                if counts[ssrc] % period == period // 2:
                    return  # lost on the way: the relay's NACK brings it again, as RTX
        await send_rtp(data)

    dtls._send_rtp = lossy
    setattr(dtls, _LOSSY, True)


def _lose_received(receiver: Any, period: int) -> None:
    handle = receiver._handle_rtp_packet
    codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs
    counts: Counter[int] = Counter()

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is not None and not is_rtx(codec):
            counts[packet.ssrc] += 1
            if counts[packet.ssrc] % period == period // 2:
                return  # lost on the way back: this console's NACK brings it again
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = lossy
    setattr(receiver, _LOSSY, True)
