"""RTP packets read and written for the relay with less work than aiortc's RtpPacket does.

aiortc parses every header extension of every packet it reads (the relay reads one: a sound
packet's level) and serializes a forwarded packet's through generic lists and `struct` calls
per extension. At about 280 packets a second a stream both were a visible part of the relay's
time: a read packet's extensions are parsed only when asked for, and a forwarded packet's
three (mid, abs-send-time, audio level) are packed directly, byte for byte as aiortc packs them.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

RTP_HEADER = struct.Struct("!BBHLL")
EXTENSION_HEADER = struct.Struct("!HH")
ONE_BYTE_PROFILE = 0xBEDE  # RFC 8285: one-byte header extensions
MAX_ONE_BYTE_ID = 14
MAX_ONE_BYTE_LENGTH = 16


class ReadRtpPacket(RtpPacket):
    """An RtpPacket whose header extensions are parsed the first time they are read."""

    _extensions: HeaderExtensions | None
    _raw_extensions: tuple[HeaderExtensionsMap, int, bytes] | None

    @property
    def extensions(self) -> HeaderExtensions:
        """The header extensions (parsed now, if not yet)."""
        if self._extensions is None:
            self._extensions = HeaderExtensions()
            if self._raw_extensions is not None:
                extensions_map, profile, value = self._raw_extensions
                with contextlib.suppress(ValueError):  # truncated: the packet itself is fine
                    self._extensions = extensions_map.get(profile, value)
        return self._extensions

    @extensions.setter
    def extensions(self, value: HeaderExtensions) -> None:
        self._extensions = value


def parse_rtp(data: bytes, extensions_map: HeaderExtensionsMap) -> ReadRtpPacket:
    """`RtpPacket.parse`, the same checks and fields, but the extensions left for later.

    Raises ValueError for what aiortc refuses: too short, not version 2, truncated CSRCs or
    extension block, bad padding."""
    if len(data) < RTP_HEADER.size:
        raise ValueError("RTP packet is shorter than its fixed header")
    first, marker_type, sequence_number, timestamp, ssrc = RTP_HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise ValueError("RTP packet has invalid version")
    packet = ReadRtpPacket.__new__(ReadRtpPacket)  # aiortc's __init__ would build unused parts
    packet.version = 2
    packet.marker = marker_type >> 7
    packet.payload_type = marker_type & 0x7F
    packet.sequence_number = sequence_number
    packet.timestamp = timestamp
    packet.ssrc = ssrc
    packet.padding_size = 0
    packet._extensions = None
    packet._raw_extensions = None
    pos = RTP_HEADER.size
    csrc_count = first & 0x0F
    if csrc_count:
        if len(data) < pos + 4 * csrc_count:
            raise ValueError("RTP packet has truncated CSRC")
        packet.csrc = list(struct.unpack_from(f"!{csrc_count}L", data, pos))
        pos += 4 * csrc_count
    else:
        packet.csrc = []
    if first & 0x10:
        if len(data) < pos + 4:
            raise ValueError("RTP packet has truncated extension profile / length")
        profile, words = EXTENSION_HEADER.unpack_from(data, pos)
        pos += 4
        end = pos + 4 * words
        if len(data) < end:
            raise ValueError("RTP packet has truncated extension value")
        packet._raw_extensions = (extensions_map, profile, data[pos:end])
        pos = end
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > len(data) - pos:
            raise ValueError("RTP packet padding length is invalid")
        packet.padding_size = padding
        packet.payload = data[pos:-padding]
    else:
        packet.payload = data[pos:]
    return packet


def forwarded_rtp(
    ids: Any,
    payload_type: int,
    marker: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    mid: str | None,
    abs_send_time: int,
    audio_level: tuple[bool, int] | None,
) -> bytes | None:
    """A forwarded packet serialized as `RtpPacket.serialize` would (with `ids`, the header
    extension ids its sender negotiated): the mid, the send time and a sound packet's level,
    in RFC 8285's one-byte form. None when they do not fit that form (an id over 14, a mid
    over 16 bytes): then aiortc's general serializing is needed."""
    body = b""
    if mid is not None and ids.mid:
        raw = mid.encode("utf8")
        if ids.mid > MAX_ONE_BYTE_ID or not 0 < len(raw) <= MAX_ONE_BYTE_LENGTH:
            return None
        body += bytes(((ids.mid << 4) | (len(raw) - 1),)) + raw
    if ids.abs_send_time:
        if ids.abs_send_time > MAX_ONE_BYTE_ID:
            return None
        body += bytes(
            (
                (ids.abs_send_time << 4) | 2,
                (abs_send_time >> 16) & 0xFF,
                (abs_send_time >> 8) & 0xFF,
                abs_send_time & 0xFF,
            )
        )
    if audio_level is not None and ids.audio_level:
        if ids.audio_level > MAX_ONE_BYTE_ID:
            return None
        voice, level = audio_level
        body += bytes((ids.audio_level << 4, (0x80 if voice else 0) | (level & 0x7F)))
    first = 0x80
    if body:
        first |= 0x10
        body += b"\x00" * (-len(body) % 4)
        body = EXTENSION_HEADER.pack(ONE_BYTE_PROFILE, len(body) // 4) + body
    header = RTP_HEADER.pack(first, (marker << 7) | payload_type, sequence_number, timestamp, ssrc)
    return header + body + payload
