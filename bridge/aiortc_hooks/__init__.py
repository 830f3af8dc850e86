"""Every hook on aiortc's private internals (and aioice's and pylibsrtp's below it) lives here,
and only here.

Relaying RTP packet by packet (no decode, no re-encode, no waiting for whole frames) needs what
aiortc does not expose: the receiver's packets as they arrive, and a sender whose transport,
history (for NACKs) and RTCP reports we feed ourselves; carrying many streams on one event loop
needs its sockets read in bursts and its packets handled where they are read. aiortc is pinned
(pyproject.toml, `pinned.py`); tests drive real peer connections through these hooks and fail
loudly when an upgrade moves anything (tests/bridge/test_aiortc_hooks.py,
tests/bridge/test_aiortc_sockets.py).

- `receiving.py`: a receiver's packets handed on as they arrive, and read where the socket is
  (its retransmissions routed to it by their SSRC, which aiortc does not do)
- `sending.py`: the forwarding sender (already-encoded RTP in, NACKs answered from its history)
- `negotiation.py`: codecs, H.264 profiles and DTLS suites aiortc negotiates; the chosen pair
- `sockets.py`: how aiortc's UDP sockets are read and written
- `srtp.py`: how large a packet SRTP protects, and its per-packet calls made lean
- `rtp_packets.py`: RTP read and written with less work than aiortc's RtpPacket
- `lost_packets.py`: aiortc's NACK bookkeeping with less work per packet
- `eager.py`: aiortc's coroutines run at once as far as they go without waiting
"""

from bridge.aiortc_hooks.negotiation import (
    accept_h264_profiles,
    accept_rsa_peers,
    candidate_types,
    restrict_codecs,
)
from bridge.aiortc_hooks.pinned import PINNED_AIORTC, HookBroken
from bridge.aiortc_hooks.receiving import (
    PacketListener,
    request_keyframe,
    send_remb,
    srtp_reader,
    tap_receiver,
)
from bridge.aiortc_hooks.sending import (
    ForwardingSender,
    IdleTrack,
)

__all__ = [
    "PINNED_AIORTC",
    "ForwardingSender",
    "HookBroken",
    "IdleTrack",
    "PacketListener",
    "accept_h264_profiles",
    "accept_rsa_peers",
    "candidate_types",
    "request_keyframe",
    "restrict_codecs",
    "send_remb",
    "srtp_reader",
    "tap_receiver",
]
