"""SDP checks and the one edit we make to our answers (bitrate hints for Chromium)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceCandidate
from aiortc.sdp import SessionDescription

from bridge.errors import BadOffer
from bridge.video_payloads import VideoCodec

MAX_SDP_BYTES = 64 * 1024
KINDS = ("audio", "video", "application")
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
MAX_PORT = 65535
MAX_PRIORITY = 2**32 - 1  # RFC 8445: a 32-bit number
MAX_COMPONENT = 256  # RFC 8445: 1 to 256


@dataclass(frozen=True)
class OfferedMedia:
    """One m-line of an offer: its mid, kind and whether the studio sends on it."""

    mid: str
    kind: str
    sends: bool
    receives: bool
    # Video: the codecs of the relay's that the m-line offers, in the offer's order (the
    # first is what a sending studio is asked to send).
    codecs: tuple[VideoCodec, ...] = ()


def inspect_offer(sdp: str, must_send: bool = True) -> list[OfferedMedia]:
    """The audio and video m-lines of an offer, or BadOffer with what is wrong (a studio's
    offer `must_send` something; a control room's may only watch)."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise BadOffer("The offer is empty")
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise BadOffer(f"The offer is larger than {MAX_SDP_BYTES // 1024} KiB")
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("The offer is not SDP (it must start with v=0)")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises assorted errors on hostile input
        raise BadOffer(f"The offer is not valid SDP: {type(exc).__name__}") from None
    media = []
    mids: set[str] = set()
    for m in parsed.media:
        if m.rtp.muxId in mids:  # the answer maps m-lines by mid: a repeat would cross them
            raise BadOffer(f"Two m-lines share a=mid:{m.rtp.muxId}; every mid must be unique")
        if m.rtp.muxId:
            mids.add(m.rtp.muxId)
        if m.kind not in KINDS:
            # aiortc answers any other kind as if it were a data channel, and fails.
            raise BadOffer(f"The bridge takes audio, video and data m-lines, not m={m.kind}")
        _check_candidates(m.ice_candidates)
        if m.kind == "application":
            continue
        if not m.rtp.muxId:
            raise BadOffer("Every audio and video m-line needs an a=mid")
        if m.ice is None or not m.ice.usernameFragment or not m.dtls or not m.dtls.fingerprints:
            raise BadOffer("The offer lacks ICE credentials or a DTLS fingerprint")
        # SDP's default would be sendrecv, but aiortc cannot answer an m-line without one
        # (browsers always write it).
        direction = m.direction
        if direction not in DIRECTIONS:
            raise BadOffer(
                f"The m-line of a=mid:{m.rtp.muxId} needs a direction "
                "(a=sendrecv, a=sendonly, a=recvonly or a=inactive)"
            )
        names = {c.mimeType.lower() for c in m.rtp.codecs}
        codecs = relayable_codecs(m.rtp.codecs) if m.kind == "video" else ()
        if m.kind == "video" and not codecs:
            # Packets pass through untouched: the bridge forwards what it can carry as it is.
            offered = ", ".join(sorted(n.split("/")[1].upper() for n in names)) or "none"
            raise BadOffer(
                "The bridge relays VP8 or H.264 (packetization-mode=1) video without "
                f"re-encoding; this offer has {offered}"
            )
        if m.kind == "audio" and "audio/opus" not in names:
            raise BadOffer("The bridge relays Opus audio; this offer has no Opus")
        media.append(
            OfferedMedia(
                mid=m.rtp.muxId,
                kind=m.kind,
                sends=direction in ("sendrecv", "sendonly"),
                receives=direction in ("sendrecv", "recvonly"),
                codecs=codecs,
            )
        )
    if not media:
        raise BadOffer("The offer has no audio or video")
    if must_send and not any(m.sends for m in media):
        raise BadOffer("The offer sends no media")
    return media


def relayable_codecs(offered: list[Any]) -> tuple[VideoCodec, ...]:
    """The relay's codecs among an m-line's, in the offer's order: VP8, and H.264 in
    packetization mode 1 (FU-A and STAP-A; mode 0 would limit every NAL unit to one packet)."""
    found: list[VideoCodec] = []
    for c in offered:
        codec = VideoCodec.of(c.mimeType)
        if codec is VideoCodec.H264 and str(c.parameters.get("packetization-mode", 0)) != "1":
            continue
        if codec is not None and codec not in found:
            found.append(codec)
    return tuple(found)


def _check_candidates(candidates: list[RTCIceCandidate]) -> None:
    """ICE candidates aiortc would use as they are: it checks none of their numbers, and a
    port past 65535 reaches the socket (asyncio's OverflowError on every connectivity check)."""
    for c in candidates:
        if not 0 <= c.port <= MAX_PORT:  # 0 or 9: a browser's active TCP candidate
            raise BadOffer(f"An a=candidate has port {c.port}; ports are 0 to {MAX_PORT}")
        if c.relatedPort is not None and not 0 <= c.relatedPort <= MAX_PORT:
            raise BadOffer(f"An a=candidate has rport {c.relatedPort}; ports are 0 to {MAX_PORT}")
        if not 0 <= c.priority <= MAX_PRIORITY:
            raise BadOffer(f"An a=candidate has priority {c.priority}; it must fit 32 bits")
        if not 1 <= c.component <= MAX_COMPONENT:
            raise BadOffer(f"An a=candidate has component {c.component}; it must be 1 to 256")


def add_bitrate_hints(sdp: str, mid: str, min_kbps: int, start_kbps: int, max_kbps: int) -> str:
    """Our answer with Chromium's start/min/max bitrate hints on the video m-line `mid`.

    Without them Chromium starts near 300 kbps and ramps up slowly towards a receiver that
    sends REMB (measured: 640x360 after 10 s); with them it sends 2 Mbps at once.
    """
    hints = (
        f"x-google-start-bitrate={start_kbps};x-google-min-bitrate={min_kbps};"
        f"x-google-max-bitrate={max_kbps}"
    )
    sections = re.split(r"(?=\r\nm=)", sdp)
    out = []
    for section in sections:
        if section.startswith("\r\nm=video") and f"\r\na=mid:{mid}\r\n" in section + "\r\n":
            section = _hint_video_codecs(section, hints)
        out.append(section)
    return "".join(out)


def _hint_video_codecs(section: str, hints: str) -> str:
    payload_types = re.findall(r"\r\na=rtpmap:(\d+) (?:VP8|VP9|H264|AV1)/", section)
    for pt in payload_types:
        fmtp = re.search(rf"\r\na=fmtp:{pt} ([^\r\n]*)", section)
        if fmtp:
            section = section.replace(fmtp.group(0), f"{fmtp.group(0)};{hints}")
        else:
            rtpmap = re.search(rf"\r\na=rtpmap:{pt} [^\r\n]*", section)
            assert rtpmap is not None
            section = section.replace(rtpmap.group(0), f"{rtpmap.group(0)}\r\na=fmtp:{pt} {hints}")
    return section
