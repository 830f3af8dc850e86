"""The monitor's figures of an incoming stream, from RTP packets made here (no network)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import RtpPacket

from bridge.stream_stats import StreamMeter
from bridge.video_payloads import vp8_keyframe_size


def _packet(seq: int, ts: int, marker: bool = True, payload: bytes = b"x" * 100) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        sequence_number=seq % 65536,
        timestamp=ts % (1 << 32),
        ssrc=1234,
        marker=marker,
        payload=payload,
    )


def test_loss_counts_what_never_came_in_time_and_retransmissions_do_not_hide_it() -> None:
    meter = StreamMeter("video", 90000)
    meter.window(0.0)
    for i in range(100):
        if i % 10 == 3:
            continue  # 10 of 100 lost on the way
        meter.on_packet(_packet(65500 + i, i * 3000), i / 30)  # crosses the wrap at 65535
    for i in range(3, 100, 10):
        meter.on_packet(_packet(65500 + i, i * 3000), 3.4)  # the late retransmissions
    window = meter.window(100 / 30)
    assert window.loss_pct == pytest.approx(10.0, abs=1.5)
    assert window.fps == pytest.approx(30.0 * 100 / 100, rel=0.15)  # every packet ends a frame
    assert window.kbps > 0


def test_a_reconnect_with_new_numbers_is_not_counted_as_loss() -> None:
    meter = StreamMeter("audio", 48000)
    meter.window(0.0)
    for i in range(50):
        meter.on_packet(_packet(100 + i, i * 960), i * 0.02)
    fresh = [
        RtpPacket(sequence_number=40000 + i, timestamp=5 + i * 960, ssrc=99, payload=b"y" * 60)
        for i in range(50)
    ]
    for i, packet in enumerate(fresh):
        meter.on_packet(packet, 1.0 + i * 0.02)
    assert meter.window(2.0).loss_pct == 0.0


def test_jitter_follows_uneven_arrival() -> None:
    steady, shaky = StreamMeter("audio", 48000), StreamMeter("audio", 48000)
    rng = np.random.default_rng(7)
    for i in range(500):
        steady.on_packet(_packet(i, i * 960), i * 0.02)
        shaky.on_packet(_packet(i, i * 960), i * 0.02 + float(rng.uniform(0, 0.03)))
    assert steady.window(10.0).jitter_ms < 0.1
    assert 3.0 < shaky.window(10.0).jitter_ms < 20.0


def test_the_picture_size_is_read_from_a_real_vp8_key_frame() -> None:
    encoder = Vp8Encoder()
    frame = av.VideoFrame.from_ndarray(np.zeros((360, 640, 3), np.uint8), format="rgb24")
    frame = frame.reformat(format="yuv420p")
    frame.pts, frame.time_base = 0, Fraction(1, 90000)
    payloads, _ts = encoder.encode(frame, force_keyframe=True)
    assert vp8_keyframe_size(payloads[0]) == (640, 360)
    assert all(vp8_keyframe_size(p) is None for p in payloads[1:])  # not a frame's start
    meter = StreamMeter("video", 90000)
    meter.on_packet(_packet(1, 0, payload=payloads[0]), 0.0)
    window = meter.window(1.0)
    assert (window.width, window.height) == (640, 360)
