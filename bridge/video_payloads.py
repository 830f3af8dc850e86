"""What the bridge reads in the video it relays untouched: VP8 and H.264 RTP payloads.

The relay never decodes a studio's picture, but it needs three facts from the bytes: which
codec a stream is (from what was negotiated), whether a packet starts a key frame (the ISO
recorder cuts there, the monitor reads the picture size there), and the picture's size. For
VP8 these are in the payload descriptor and the key frame header (RFC 7741, RFC 6386); for
H.264 in the NAL unit headers (RFC 6184: single NAL units, STAP-A, FU-A) and the sequence
parameter set (ITU-T H.264 section 7.3.2.1).
"""

from __future__ import annotations

from enum import Enum

from aiortc.codecs.h264 import H264PayloadDescriptor
from aiortc.codecs.vpx import vp8_depayload


class VideoCodec(Enum):
    """A video codec the bridge relays packet by packet (its RTP mime type)."""

    VP8 = "video/VP8"
    H264 = "video/H264"

    @property
    def label(self) -> str:
        """How people name it: VP8, H.264."""
        return "H.264" if self is VideoCodec.H264 else self.name

    @classmethod
    def of(cls, mime_type: str) -> VideoCodec | None:
        """The codec of a negotiated mime type, or None for one the bridge does not relay."""
        for codec in cls:
            if codec.value.lower() == mime_type.lower():
                return codec
        return None


NAL_SLICE, NAL_IDR, NAL_SPS, NAL_PPS = 1, 5, 7, 8
NAL_STAP_A, NAL_FU_A = 24, 28
START_CODE = b"\x00\x00\x00\x01"


def h264_nal_types(payload: bytes) -> list[int]:
    """The types of the NAL units an RTP payload starts (RFC 6184): one for a single NAL
    unit or the first fragment of an FU-A, each aggregated one of a STAP-A, none for the
    middle and end of a fragmented unit."""
    if len(payload) < 2:
        return []
    kind = payload[0] & 0x1F
    if kind == NAL_FU_A:
        return [payload[1] & 0x1F] if payload[1] & 0x80 else []
    if kind == NAL_STAP_A:
        return [unit[0] & 0x1F for unit in _stap_units(payload) if unit]
    return [kind] if 1 <= kind <= 23 else []


def _stap_units(payload: bytes) -> list[bytes]:
    units, pos = [], 1
    while pos + 2 <= len(payload):
        size = int.from_bytes(payload[pos : pos + 2], "big")
        pos += 2
        if size == 0 or pos + size > len(payload):
            break
        units.append(payload[pos : pos + size])
        pos += size
    return units


def h264_units(payload: bytes) -> list[bytes]:
    """The whole NAL units in one RTP payload (single NAL unit or STAP-A; an FU-A holds
    only a piece of one)."""
    if len(payload) < 2:
        return []
    kind = payload[0] & 0x1F
    if kind == NAL_STAP_A:
        return _stap_units(payload)
    return [payload] if 1 <= kind <= 23 else []


def starts_keyframe(codec: VideoCodec, payload: bytes) -> bool:
    """Whether this RTP payload begins a key frame (H.264: an SPS or IDR slice starts in it)."""
    if codec is VideoCodec.H264:
        return any(t in (NAL_IDR, NAL_SPS) for t in h264_nal_types(payload))
    return vp8_keyframe_size(payload) is not None


def keyframe_size(codec: VideoCodec, payload: bytes) -> tuple[int, int] | None:
    """The picture size when this RTP payload carries it: a VP8 key frame's start, or an
    H.264 SPS (browsers and encoders send one with every IDR)."""
    if codec is VideoCodec.VP8:
        return vp8_keyframe_size(payload)
    for unit in h264_units(payload):
        if unit[0] & 0x1F == NAL_SPS:
            return h264_sps_size(unit)
    return None


def vp8_keyframe_size(payload: bytes) -> tuple[int, int] | None:
    """Width and height when this RTP payload starts a VP8 key frame (RFC 7741, RFC 6386)."""
    if not payload:
        return None
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return None  # not the start of partition 0: most packets, told by their first byte
    offset = 1
    if first & 0x80:  # X: extended control bits follow
        if len(payload) < 2:
            return None
        ext = payload[1]
        offset = 2
        if ext & 0x80:  # I: picture id, one or two bytes
            offset += 2 if len(payload) > offset and payload[offset] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            offset += 1
        if ext & 0x30:  # T or K: TID/KEYIDX
            offset += 1
    if len(payload) < offset + 10 or payload[offset] & 0x01:
        return None  # not the start of a key frame
    if payload[offset + 3 : offset + 6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(payload[offset + 6 : offset + 8], "little") & 0x3FFF
    height = int.from_bytes(payload[offset + 8 : offset + 10], "little") & 0x3FFF
    return width, height


def depayload(codec: VideoCodec, payload: bytes) -> bytes:
    """One RTP payload's share of the frame: VP8's partition bytes, or H.264 Annex B (start
    codes before each NAL unit). ValueError for a payload that is not of the codec."""
    if codec is VideoCodec.H264:
        return H264PayloadDescriptor.parse(payload)[1]
    return vp8_depayload(payload)


def annexb_units(frame: bytes) -> list[bytes]:
    """The NAL units of an Annex B frame (split on its 3- and 4-byte start codes)."""
    units, start = [], -1
    i = 0
    while (i := frame.find(b"\x00\x00\x01", i)) >= 0:
        if start >= 0:
            end = i - 1 if frame[i - 1] == 0 else i
            units.append(frame[start:end])
        i += 3
        start = i
    if start >= 0:
        units.append(frame[start:])
    return [u for u in units if u]


def is_keyframe(codec: VideoCodec, frame: bytes) -> bool:
    """Whether a whole frame (VP8 bytes, or H.264 Annex B) is a key frame."""
    if codec is VideoCodec.H264:
        return any(u[0] & 0x1F == NAL_IDR for u in annexb_units(frame))
    return bool(frame) and not frame[0] & 0x01  # VP8: the P bit of the first byte is 0


def frame_size(codec: VideoCodec, keyframe: bytes) -> tuple[int, int] | None:
    """Width and height from a whole key frame (VP8 header, or the SPS of an H.264 one)."""
    if codec is VideoCodec.H264:
        for unit in annexb_units(keyframe):
            if unit[0] & 0x1F == NAL_SPS:
                return h264_sps_size(unit)
        return None
    if len(keyframe) < 10 or keyframe[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(keyframe[6:8], "little") & 0x3FFF
    height = int.from_bytes(keyframe[8:10], "little") & 0x3FFF
    return width, height


def h264_parameter_sets(frame: bytes) -> bytes | None:
    """The SPS and PPS of an H.264 key frame as Annex B (what a muxer takes as extradata)."""
    sps = [u for u in annexb_units(frame) if u[0] & 0x1F == NAL_SPS]
    pps = [u for u in annexb_units(frame) if u[0] & 0x1F == NAL_PPS]
    if not sps or not pps:
        return None
    return b"".join(START_CODE + u for u in (sps[0], pps[0]))


class _Bits:
    """An H.264 RBSP read bit by bit (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data.replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def bit(self) -> int:
        if self.pos >= len(self.data) * 8:
            raise ValueError("the SPS ended early")
        byte = self.data[self.pos // 8]
        self.pos += 1
        return (byte >> (7 - (self.pos - 1) % 8)) & 1

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = value << 1 | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("an exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code % 2 else -(code // 2)


HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def h264_sps_size(sps: bytes) -> tuple[int, int] | None:
    """The cropped picture size an SPS NAL unit describes, or None when it cannot be read."""
    try:
        return _sps_size(_Bits(sps[1:]))
    except (ValueError, IndexError):
        return None


def _sps_size(r: _Bits) -> tuple[int, int]:
    profile = r.bits(8)
    r.bits(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    chroma_format = 1
    if profile in HIGH_PROFILES:
        chroma_format = r.ue()
        if chroma_format == 3:
            r.bit()  # separate_colour_plane_flag
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.bit()  # qpprime_y_zero_transform_bypass_flag
        if r.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format != 3 else 12):
                if r.bit():
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    order_type = r.ue()
    if order_type == 0:
        r.ue()
    elif order_type == 1:
        r.bit()
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.bit()  # gaps_in_frame_num_value_allowed_flag
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.bit()
    if not frame_mbs_only:
        r.bit()  # mb_adaptive_frame_field_flag
    r.bit()  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = height_units * 16 * (2 - frame_mbs_only)
    if r.bit():  # frame_cropping_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        crop_x = 2 if chroma_format in (1, 2) else 1
        crop_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    return width, height


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + r.se() + 256) % 256
        last = following or last
