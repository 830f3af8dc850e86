"""What the relay reads in H.264 and VP8 payloads, checked against real encoders' output."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder

from bridge.video_payloads import (
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    VideoCodec,
    annexb_units,
    frame_size,
    h264_nal_types,
    h264_parameter_sets,
    is_keyframe,
    keyframe_size,
    starts_keyframe,
)


def _x264(width: int, height: int, profile: str, frames: int = 3) -> list[bytes]:
    """Annex B access units from libx264 (the first one a key frame)."""
    codec = av.CodecContext.create("libx264", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, 30)
    codec.options = {"profile": profile, "tune": "zerolatency"}
    out = []
    for i in range(frames):
        picture = np.full((height, width, 3), (i * 40) % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    return out


@pytest.mark.parametrize(
    ("width", "height", "profile"),
    [
        (1280, 720, "baseline"),
        (1920, 1080, "main"),  # 1080 is not a multiple of 16: the SPS crops 8 lines
        (320, 180, "high"),
        (854, 480, "high"),  # odd width in macroblocks: cropped on the right
    ],
)
def test_the_size_is_read_from_the_sps_of_every_profile(
    width: int, height: int, profile: str
) -> None:
    units = _x264(width, height, profile)
    key, delta = units[0], units[1]
    assert is_keyframe(VideoCodec.H264, key) and not is_keyframe(VideoCodec.H264, delta)
    assert frame_size(VideoCodec.H264, key) == (width, height)
    assert frame_size(VideoCodec.H264, delta) is None
    sets = h264_parameter_sets(key)
    assert sets is not None
    assert [u[0] & 0x1F for u in annexb_units(sets)] == [NAL_SPS, NAL_PPS]
    assert h264_parameter_sets(delta) is None


def test_rtp_payloads_of_aiortc_h264_say_where_a_key_frame_starts() -> None:
    encoder = H264Encoder()
    picture = np.zeros((360, 640, 3), np.uint8)
    frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
    frame.pts, frame.time_base = 0, Fraction(1, 90000)
    key, _ = encoder.encode(frame, force_keyframe=True)
    frame.pts = 3000
    delta, _ = encoder.encode(frame)
    # The key frame's first packet aggregates SPS and PPS (STAP-A); its IDR slices follow,
    # fragmented (FU-A) where too large for one packet.
    assert NAL_SPS in h264_nal_types(key[0]) and NAL_PPS in h264_nal_types(key[0])
    assert starts_keyframe(VideoCodec.H264, key[0])
    assert keyframe_size(VideoCodec.H264, key[0]) == (640, 360)
    assert any(NAL_IDR in h264_nal_types(p) for p in key[1:])
    assert not any(starts_keyframe(VideoCodec.H264, p) for p in delta)
    assert all(keyframe_size(VideoCodec.H264, p) is None for p in [*key[1:], *delta])


def test_vp8_payloads_still_give_their_key_frame_size() -> None:
    encoder = Vp8Encoder()
    frame = av.VideoFrame.from_ndarray(np.zeros((360, 640, 3), np.uint8), format="rgb24")
    frame.pts, frame.time_base = 0, Fraction(1, 90000)
    key, _ = encoder.encode(frame, force_keyframe=True)
    assert starts_keyframe(VideoCodec.VP8, key[0])
    assert keyframe_size(VideoCodec.VP8, key[0]) == (640, 360)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x7c", b"\x18\x00", b"\x18\x00\x09\x67", b"\x1c\x00", b"\x00\x00\x00", b"\xff" * 40],
    ids=[
        "empty",
        "one byte",
        "STAP-A no length",
        "STAP-A truncated",
        "FU-A middle",
        "NAL 0",
        "junk",
    ],
)
def test_broken_payloads_give_no_key_frame_and_no_size(payload: bytes) -> None:
    assert not starts_keyframe(VideoCodec.H264, payload)
    assert keyframe_size(VideoCodec.H264, payload) is None


def test_a_truncated_sps_gives_no_size_rather_than_an_error() -> None:
    key = _x264(640, 360, "high")[0]
    sps = next(u for u in annexb_units(key) if u[0] & 0x1F == NAL_SPS)
    for cut in range(1, len(sps)):
        assert keyframe_size(VideoCodec.H264, sps[:cut]) in (None, (640, 360))
