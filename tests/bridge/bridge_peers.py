"""Real aiortc studios for tests: synthetic camera and tone, real RTP over the veth pair."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCCertificate,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from synthetic_media import CameraTrack, ToneTrack, video_codecs

from bridge.room import Room
from bridge.spec import RoomSpec, StudioSpec
from harness.peer_close import close_peer


class StudioClient:
    """A studio as an aiortc peer: sends its camera and tone, receives each partner's."""

    def __init__(
        self,
        studio_id: str,
        partners: int,
        shade: int,
        program_return: bool = False,
        sends: str = "video/VP8",
        receives: tuple[str, ...] = ("video/VP8", "video/H264"),
        certificate: RTCCertificate | None = None,
    ) -> None:
        """`sends`: the codec of its camera (aiortc encodes VP8 or H.264 Constrained
        Baseline); `receives`: the video codecs its partners' slots may negotiate;
        `certificate`: its DTLS certificate (aiortc's default is ECDSA)."""
        self.studio_id = studio_id
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        if certificate is not None:
            self.pc._RTCPeerConnection__certificates = [certificate]  # type: ignore[attr-defined]
        camera = self.pc.addTransceiver(CameraTrack(shade), direction="sendrecv")
        camera.setCodecPreferences(video_codecs(sends))
        self.pc.addTransceiver(ToneTrack(440 + shade), direction="sendrecv")
        for _ in range(partners + (1 if program_return else 0)):  # the console's layout
            partner = self.pc.addTransceiver("video", direction="recvonly")
            partner.setCodecPreferences(video_codecs(*receives))
            self.pc.addTransceiver("audio", direction="recvonly")
        self.tracks: dict[str, MediaStreamTrack] = {}

    async def join(self, room: Room) -> list[object]:
        """Offer, get the room's answer, and map received tracks to partner studios."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        joined = await room.connect(self.studio_id, self.pc.localDescription.sdp)
        slots = joined.slots
        await self.pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        for info in slots:
            if info.video_mid:
                self.tracks[f"{info.studio_id}/video"] = by_mid[info.video_mid].receiver.track
            if info.audio_mid:
                self.tracks[f"{info.studio_id}/audio"] = by_mid[info.audio_mid].receiver.track
        if joined.program is not None:
            for kind, mid in (
                ("video", joined.program.video_mid),
                ("audio", joined.program.audio_mid),
            ):
                if mid:
                    self.tracks[f"program/{kind}"] = by_mid[mid].receiver.track
        return slots

    async def close(self) -> None:
        await close_peer(self.pc)


def spec_for(*studios: str) -> RoomSpec:
    """A room that is open now."""
    now = datetime.now(UTC)
    return RoomSpec(
        booking_id="bk-test",
        title="Test bridge",
        studios=tuple(StudioSpec(s, s.upper()) for s in studios),
        opens_at=now - timedelta(minutes=5),
        on_air_at=now,
        off_air_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=1, minutes=10),
    )


FRAME_TIMEOUT = 10.0


async def frame_of(track: object) -> object:
    """The next frame of a received track (fails after FRAME_TIMEOUT)."""
    return await asyncio.wait_for(track.recv(), FRAME_TIMEOUT)  # type: ignore[attr-defined]


async def shade_of(track: object, frames: int = 8) -> float:
    """The median brightness of a received frame (each test studio has its own shade)."""
    frame = None
    for _ in range(frames):
        frame = await frame_of(track)
    return float(np.median(frame.to_ndarray(format="rgb24")))  # type: ignore[attr-defined]


def assert_no_codecs_on_server(room: Room) -> None:
    """The room's connections encode and decode nothing: packets are forwarded untouched."""
    for session in room.sessions.values():
        for t in session.pc.getTransceivers():
            assert t.sender._RTCRtpSender__encoder is None
            assert t.receiver._RTCRtpReceiver__decoder_thread is None
