"""Studios that send H.264 (encoders, OBS, GStreamer) beside browsers that send VP8: relayed
packet by packet in each studio's own codec, composed into the program, recorded as they came.

The studios are real aiortc peers encoding H.264 (libx264, Constrained Baseline) or VP8.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc import RTCCertificate
from aiortc.rtcdtlstransport import generate_certificate
from bridge_peers import (
    StudioClient,
    assert_no_codecs_on_server,
    shade_of,
    spec_for,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from bridge.room import Room
from bridge.video_payloads import VideoCodec
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


async def test_an_h264_studio_and_a_vp8_studio_see_each_other_in_their_own_codecs(
    room_factory,
) -> None:
    room = room_factory("baku", "rome")
    baku = StudioClient("baku", 1, shade=40, sends="video/H264")
    rome = StudioClient("rome", 1, shade=200)  # a browser: sends VP8, receives both
    try:
        await baku.join(room)
        await rome.join(room)
        assert room.feeds[("baku", "video")].codec is VideoCodec.H264
        assert room.feeds[("rome", "video")].codec is VideoCodec.VP8
        assert abs(await shade_of(rome.tracks["baku/video"]) - 40) < 20
        assert abs(await shade_of(baku.tracks["rome/video"]) - 200) < 20
        assert_no_codecs_on_server(room)  # forwarded, never transcoded
        # The monitor reads the H.264 picture's size from its parameter sets.
        await eventually(
            lambda: room.feeds[("baku", "video")].meter.size == (320, 180),
            timeout=10,
            message="the H.264 studio's size",
        )
    finally:
        await baku.close()
        await rome.close()


async def test_a_partner_that_cannot_receive_h264_is_told_so_rather_than_shown_black(
    room_factory,
) -> None:
    room = room_factory("baku", "rome")
    baku = StudioClient("baku", 1, shade=40, sends="video/H264")
    rome = StudioClient("rome", 1, shade=200, receives=("video/VP8",))
    try:
        await baku.join(room)
        await rome.join(room)
        slot = next(s for s in room.sessions["rome"].slots if s.kind == "video")
        await eventually(
            lambda: slot.unplayable_codec is VideoCodec.H264,
            timeout=10,
            message="the slot knows its partner cannot play H.264",
        )
        assert slot.counters.sent == 0
        assert abs(await shade_of(baku.tracks["rome/video"]) - 200) < 20  # the other way works
    finally:
        await baku.close()
        await rome.close()


async def test_a_studio_with_an_rsa_certificate_completes_dtls(room_factory) -> None:
    # Encoders such as GStreamer's webrtcbin present RSA certificates; aiortc alone offers
    # only ECDSA suites and the handshake fails with "no shared cipher".
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = RTCCertificate(key=key, cert=generate_certificate(key))
    room = room_factory("baku", "rome")
    baku = StudioClient("baku", 1, shade=40, certificate=certificate)
    rome = StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)
        assert abs(await shade_of(rome.tracks["baku/video"]) - 40) < 20
    finally:
        await baku.close()
        await rome.close()


async def test_an_h264_studio_is_composed_and_its_iso_recorded_without_reencoding(
    tmp_path: Path,
) -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    baku = StudioClient("baku", 1, shade=40, sends="video/H264")
    rome = StudioClient("rome", 1, shade=200)
    try:
        await baku.join(room)
        await rome.join(room)

        async def both_in_program() -> bool:
            return all([await room.thumbnail(s) is not None for s in ("baku", "rome")])

        await eventually(both_in_program, timeout=20, message="both pictures in the program")
        assert room.start_recording(tmp_path / "rec")
        await asyncio.sleep(4.0)  # stays: four seconds recorded
        room.switch_program("solo", "baku")
        await asyncio.sleep(1.5)  # stays: Baku alone on air, recorded
        files = await room.stop_recording()
    finally:
        await baku.close()
        await rome.close()
        await room.close()
    by_name = {f.name: f for f in files}
    assert set(by_name) == {"program.mp4", "iso-baku.mp4", "iso-rome.webm"}
    iso = by_name["iso-baku.mp4"]
    assert (iso.kind, iso.studio_id, iso.media_type) == ("iso", "baku", "video/mp4")
    with av.open(str(iso.path)) as container:
        video = container.streams.video[0]
        # The studio's own H.264 as it was sent: aiortc encodes it in the Baseline profile
        # (the program's own encode of the same size is in the High profile).
        assert video.codec_context.name == "h264"
        assert video.codec_context.profile in ("Baseline", "Constrained Baseline")
        # The header (avcC) declares the studio's own parameter sets, not an encoder's.
        avcc = video.codec_context.extradata
        assert avcc is not None and avcc[0] == 1 and avcc[1] == 0x42, avcc[:4].hex()
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        assert container.streams.audio[0].codec_context.name in ("opus", "libopus")
        frames = list(container.decode(video=0))
    keys = [f.time for f in frames if f.key_frame] + [frames[-1].time]
    assert max(b - a for a, b in itertools.pairwise(keys)) < 3.2, keys
    assert abs(int(np.median(frames[-1].to_ndarray(format="rgb24"))) - 40) < 25
    assert abs(iso.duration_s - by_name["program.mp4"].duration_s) < 0.8  # one timeline
    # The program shows the H.264 studio, decoded like any other.
    with av.open(str(by_name["program.mp4"].path)) as container:
        last = list(container.decode(video=0))[-5].to_ndarray(format="rgb24")
    assert abs(int(np.median(last[100:620, 100:1180])) - 40) < 25
