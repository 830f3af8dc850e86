"""What aiortc negotiates, widened or narrowed: codecs kept on a transceiver, the H.264 profiles
it accepts, the DTLS suites for RSA peers, and which candidate pair it chose.
"""

from __future__ import annotations

from typing import Any

import aiortc
from aiortc import (
    RTCCertificate,
    RTCRtpCodecParameters,
    RTCRtpTransceiver,
)
from aiortc import codecs as aiortc_codecs
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import SRTP_AES128_CM_SHA1_80
from OpenSSL import SSL

from bridge.aiortc_hooks.pinned import PINNED_AIORTC, HookBroken, require

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


def restrict_codecs(transceiver: RTCRtpTransceiver, *mime_types: str) -> bool:
    """Keep only `mime_types` (and their RTX) on a transceiver whose offer is already applied.

    aiortc applies `setCodecPreferences` only while it reads the remote description, and
    the transceivers of an offer exist only after that; this narrows what was negotiated, so
    the answer names, and the sender uses, those codecs (in the offer's order). False when
    the offer has none of them.
    """
    require(transceiver, ("_codecs",))
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
            f"bridge/aiortc_hooks/ was written for aiortc {PINNED_AIORTC}'s "
            f"{', '.join(AIORTC_DTLS_CIPHERS)}"
        )
    suites = ":".join(AIORTC_DTLS_CIPHERS + RSA_DTLS_CIPHERS).encode()

    def create_accepting_rsa(self: RTCCertificate, srtp_profiles: Any) -> SSL.Context:
        ctx = create(self, srtp_profiles)
        ctx.set_cipher_list(suites)
        return ctx

    create_accepting_rsa.accepts_rsa_peers = True  # type: ignore[attr-defined]
    RTCCertificate._create_ssl_context = create_accepting_rsa  # type: ignore[method-assign]
