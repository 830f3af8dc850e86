"""The relay's own RTP reading and writing agree with aiortc's, byte for byte and field by field."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from hypothesis import given
from hypothesis import strategies as st

from bridge.aiortc_hooks.rtp_packets import (
    ForwardedHeader,
    ReadRtpPacket,
    parse_rtp,
)

URIS = {
    "mid": "urn:ietf:params:rtp-hdrext:sdes:mid",
    "abs_send_time": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "audio_level": "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "transport_sequence_number": (
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    ),
}


def extensions_map(**ids: int) -> HeaderExtensionsMap:
    m = HeaderExtensionsMap()
    m.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=i, uri=URIS[name]) for name, i in ids.items()
            ]
        )
    )
    return m


BROWSER = extensions_map(mid=4, abs_send_time=2, audio_level=1, transport_sequence_number=3)

packets = st.builds(
    dict,
    payload_type=st.integers(0, 127),
    marker=st.integers(0, 1),
    sequence_number=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(min_size=0, max_size=64),
    csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=3),
    mid=st.one_of(st.none(), st.sampled_from(["0", "1", "12", "video"])),
    abs_send_time=st.one_of(st.none(), st.integers(0, 0xFFFFFF)),
    audio_level=st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 127))),
    twcc=st.one_of(st.none(), st.integers(0, 0xFFFF)),
    padding=st.integers(0, 8),
)


def aiortc_packet(p: dict) -> RtpPacket:  # type: ignore[type-arg]
    packet = RtpPacket(
        payload_type=p["payload_type"],
        marker=p["marker"],
        sequence_number=p["sequence_number"],
        timestamp=p["timestamp"],
        ssrc=p["ssrc"],
        payload=p["payload"],
    )
    packet.csrc = p["csrc"]
    packet.extensions.mid = p["mid"]
    packet.extensions.abs_send_time = p["abs_send_time"]
    packet.extensions.audio_level = p["audio_level"]
    packet.extensions.transport_sequence_number = p["twcc"]
    packet.padding_size = p["padding"]
    return packet


@given(packets)
def test_a_read_packet_has_every_field_aiortc_reads(p: dict) -> None:  # type: ignore[type-arg]
    data = aiortc_packet(p).serialize(BROWSER)
    ours, theirs = parse_rtp(data, BROWSER), RtpPacket.parse(data, BROWSER)
    assert isinstance(ours, ReadRtpPacket)
    for field in (
        "version",
        "payload_type",
        "marker",
        "sequence_number",
        "timestamp",
        "ssrc",
        "csrc",
        "payload",
        "padding_size",
    ):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.extensions == theirs.extensions
    assert ours.serialize(BROWSER)[:12] == data[:12]


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x60\x00",  # shorter than the fixed header
        b"\x40" + bytes(11),  # version 1
        b"\x82" + bytes(11) + bytes(4),  # two CSRCs announced, one there
        b"\x90" + bytes(11) + b"\xbe\xde",  # extension header cut
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x02" + bytes(4),  # extension body cut
        b"\xa0" + bytes(11) + b"\x00",  # padding of zero bytes
        b"\xa0" + bytes(11) + b"\x05",  # more padding than the packet holds
    ],
)
def test_what_aiortc_refuses_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        RtpPacket.parse(data, BROWSER)
    with pytest.raises(ValueError):
        parse_rtp(data, BROWSER)


def test_a_truncated_extension_element_reads_as_no_extensions() -> None:
    # The block's length is right but its one element claims more bytes than it holds:
    # aiortc refuses the packet; the relay forwards it and reads no extensions from it.
    data = b"\x90\x60\x00\x01" + bytes(8) + b"\xbe\xde\x00\x01" + b"\x1f\x00\x00\x00" + b"x"
    packet = parse_rtp(data, BROWSER)
    assert packet.payload == b"x"
    assert packet.extensions.audio_level is None


def forwarded_rtp(ids: Any, *fields: Any) -> bytes | None:
    """One packet forwarded by a sender of extension `ids`: (payload type, marker, sequence
    number, timestamp, ssrc, payload, mid, send time, level); None when they do not fit."""
    payload_type, marker, sequence_number, timestamp, ssrc, payload, mid, send_time, level = fields
    try:
        header = ForwardedHeader(ids, mid)
    except ValueError:
        return None
    packed = header.pack(payload_type, marker, sequence_number, timestamp, ssrc, send_time, level)
    return packed + bytes(payload)


# The extension ids a sender may negotiate (0: not at all), each within the one-byte form.
sender_ids = st.fixed_dictionaries(
    {
        "mid": st.integers(0, 14),
        "abs_send_time": st.integers(0, 14),
        "audio_level": st.integers(0, 14),
    }
).filter(lambda ids: len({i for i in ids.values() if i}) == len([i for i in ids.values() if i]))


@given(packets, sender_ids)
def test_a_forwarded_packet_is_what_aiortc_would_send(p: dict, negotiated: dict) -> None:  # type: ignore[type-arg]
    sender = extensions_map(**{name: i for name, i in negotiated.items() if i})
    ids = sender._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    p = {**p, "csrc": [], "twcc": None, "padding": 0, "abs_send_time": p["abs_send_time"] or 0}
    ours = forwarded_rtp(
        ids,
        p["payload_type"],
        p["marker"],
        p["sequence_number"],
        p["timestamp"],
        p["ssrc"],
        p["payload"],
        p["mid"],
        p["abs_send_time"],
        p["audio_level"],
    )
    assert ours == aiortc_packet(p).serialize(sender)


@given(st.lists(packets, min_size=2, max_size=5))
def test_one_sender_header_packs_packet_after_packet_as_aiortc(ps: list[dict]) -> None:  # type: ignore[type-arg]
    # A sender keeps its ForwardedHeader for every packet: nothing of one packet stays behind
    # in the next (a sound packet's level, its send time).
    sender = extensions_map(mid=1, abs_send_time=2, audio_level=3)
    header = ForwardedHeader(sender._HeaderExtensionsMap__ids, "1")  # type: ignore[attr-defined]
    for p in ps:
        p = {**p, "csrc": [], "twcc": None, "padding": 0, "mid": "1"}
        p["abs_send_time"] = p["abs_send_time"] or 0
        ours = header.pack(
            p["payload_type"],
            p["marker"],
            p["sequence_number"],
            p["timestamp"],
            p["ssrc"],
            p["abs_send_time"],
            p["audio_level"],
        )
        assert ours + p["payload"] == aiortc_packet(p).serialize(sender)


def test_extensions_the_one_byte_form_cannot_carry_are_left_to_aiortc() -> None:
    wide = extensions_map(mid=15, abs_send_time=3)
    ids = wide._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    assert forwarded_rtp(ids, 96, 0, 1, 2, 3, b"x", "0", 5, None) is None
    narrow = extensions_map(mid=1)._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    assert forwarded_rtp(narrow, 96, 0, 1, 2, 3, b"x", "m" * 17, 5, None) is None
    none = extensions_map()._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    plain = forwarded_rtp(none, 96, 1, 1, 2, 3, b"x", "0", 5, (True, 30))
    assert plain == RtpPacket(96, 1, 1, 2, 3, b"x").serialize(HeaderExtensionsMap())
