"""The control room's connection to a room, with real aiortc peers: every studio's own feed and
the program arrive without any encode on the server, and talkback reaches only the chosen
studios' ears, over their ducked return, never the program."""

from __future__ import annotations

import asyncio
import dataclasses

import av
import numpy as np
import pytest
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from bridge_peers import StudioClient, spec_for
from synthetic_media import ToneTrack

from bridge.errors import UnknownControl, UnknownStudio
from bridge.program.talkback import DUCK_DB
from bridge.room import Room
from harness.peer_close import close_peer
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair

TALK_HZ = 1000.0  # the producer's tone; the studios send 480 Hz (Baku) and 640 Hz (Rome)
RATE = 48000


class ControlClient:
    """A control room as an aiortc peer: receives each studio and the program; may talk."""

    def __init__(self, studios: int, talk_hz: float | None = None) -> None:
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        for _ in range(studios + 1):  # one pair per studio, one for the program
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")
        if talk_hz is not None:
            self.pc.addTransceiver(ToneTrack(talk_hz), direction="sendonly")
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.session = ""

    async def join(self, room: Room, name: str = "Producer") -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        joined = await room.control.connect(self.pc.localDescription.sdp, name)
        self.session = joined.session_id
        await self.pc.setRemoteDescription(RTCSessionDescription(joined.answer_sdp, "answer"))
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        infos = [*joined.slots, *([joined.program] if joined.program else [])]
        for info in infos:
            if info.video_mid:
                self.tracks[f"{info.studio_id}/video"] = by_mid[info.video_mid].receiver.track
            if info.audio_mid:
                self.tracks[f"{info.studio_id}/audio"] = by_mid[info.audio_mid].receiver.track

    async def close(self) -> None:
        await close_peer(self.pc)


async def _shade(track: MediaStreamTrack, frames: int = 6) -> float:
    frame = None
    for _ in range(frames):
        frame = await asyncio.wait_for(track.recv(), 10.0)
    return float(np.median(frame.to_ndarray(format="rgb24")))  # type: ignore[union-attr]


async def _pcm(track: MediaStreamTrack, seconds: float) -> np.ndarray:
    """`seconds` of a received audio track, mono floats (the newest, after a settling second)."""
    chunks = []
    needed = int(seconds * RATE)
    got = 0
    while got < needed:
        frame = await asyncio.wait_for(track.recv(), 5.0)
        pcm = frame.to_ndarray().reshape(-1, len(frame.layout.channels)).mean(axis=1)
        chunks.append(pcm.astype(np.float32) / 32768)
        got += pcm.size
    return np.concatenate(chunks)


def _level(pcm: np.ndarray, hz: float, window: int = 1920) -> float:
    """A tone's amplitude: the median over 40 ms windows (robust to a dropped block)."""
    taper = np.hanning(window)
    wave = np.exp(-2j * np.pi * hz * np.arange(window) / RATE)
    levels = [
        abs(np.dot(pcm[i : i + window] * taper, wave)) * 2 / taper.sum()
        for i in range(0, pcm.size - window + 1, window)
    ]
    return float(np.median(levels))


async def _drain(track: MediaStreamTrack) -> None:
    """Read a track for ever (a received track nobody reads piles up)."""
    while True:
        await track.recv()


def _program_encoders(room: Room) -> int:
    assert room.production is not None
    return room.production.engine.counters.frames


async def test_the_control_room_sees_every_studio_and_the_program_with_no_encode() -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    control = ControlClient(2)
    try:
        await baku.join(room)
        await control.join(room)  # before Rome: its tile fills when Rome comes
        await rome.join(room)
        assert set(control.tracks) == {
            "baku/video",
            "baku/audio",
            "rome/video",
            "rome/audio",
            "program/video",
            "program/audio",
        }
        assert abs(await _shade(control.tracks["baku/video"]) - 40) < 20
        assert abs(await _shade(control.tracks["rome/video"]) - 200) < 20
        await asyncio.wait_for(control.tracks["rome/audio"].recv(), 10.0)
        program = await asyncio.wait_for(control.tracks["program/video"].recv(), 10.0)
        assert (program.width, program.height) == (1280, 720)
        room.switch_program("solo", "rome")

        async def rome_alone_on_air() -> bool:
            return abs(await _shade(control.tracks["program/video"], 1) - 200) < 25

        await eventually(rome_alone_on_air, timeout=10, interval=0, message="Rome solo")
        # Forwarded and passed through: nothing decoded or encoded for the control room.
        session = room.control.sessions[control.session]
        for t in session.pc.getTransceivers():
            encoder = t.sender._RTCRtpSender__encoder
            if t.kind == "video":
                assert encoder is None or getattr(encoder, "codec", None) is None
            assert t.receiver._RTCRtpReceiver__decoder_thread is None
        assert len(room.control.sessions) == 1
    finally:
        await control.close()
        await baku.close()
        await rome.close()
        await eventually(lambda: not room.control.sessions, timeout=10, message="control left")
        await room.close()


async def test_talkback_reaches_only_the_chosen_studio_over_a_ducked_return() -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    baku = StudioClient("baku", 1, shade=40, program_return=True)
    rome = StudioClient("rome", 1, shade=200, program_return=True)
    control = ControlClient(2, talk_hz=TALK_HZ)
    assert room.production is not None
    aac = room.production.audio.subscribe()  # what the recorder and every output encode from
    drains: list[asyncio.Task[None]] = []
    try:
        await baku.join(room)
        await rome.join(room)
        await control.join(room, "Leyla (producer)")
        drains = [
            asyncio.ensure_future(_drain(control.tracks[k]))
            for k in ("baku/video", "rome/video", "baku/audio", "rome/audio", "program/video")
        ]
        drains += [asyncio.ensure_future(_drain(c.tracks["program/video"])) for c in (baku, rome)]

        async def talkback_arrives() -> bool:
            talker = room.production.audio.talkback.talkers.get(control.session)  # type: ignore[union-attr]
            return talker is not None and talker.buffer.size > 0

        await eventually(talkback_arrives, timeout=20, interval=0.1, message="talkback audio")
        with pytest.raises(UnknownStudio):
            room.control.talk(control.session, ["nowhere"])
        with pytest.raises(UnknownControl):
            room.control.talk("0" * 16, ["baku"])

        quiet = await _pcm(baku.tracks["program/audio"], 2.0)
        room.control.talk(control.session, ["baku"])
        assert room.control.talking_to("baku") == ["Leyla (producer)"]
        assert room.control.talking_to("rome") == []
        while not aac.empty():
            aac.get_nowait()
        await _pcm(baku.tracks["program/audio"], 0.5)  # what was queued before the button
        baku_talk, rome_talk = await asyncio.gather(
            _pcm(baku.tracks["program/audio"], 2.0), _pcm(rome.tracks["program/audio"], 2.0)
        )
        program_talk = await _program_pcm(aac, room.production.audio.extradata)
        room.control.talk(control.session, [])
        assert room.control.talking_to("baku") == []
    finally:
        for task in drains:
            task.cancel()
        await control.close()
        await baku.close()
        await rome.close()
        await room.close()
    # Baku hears the producer, over Rome's tone lowered by 12 dB.
    talk_level = _level(baku_talk, TALK_HZ)
    assert talk_level > 0.05, talk_level
    rome_before, rome_during = _level(quiet, 640), _level(baku_talk, 640)
    assert rome_before > 0.01, rome_before
    duck_db = 20 * np.log10(rome_during / rome_before)
    assert abs(duck_db - DUCK_DB) < 2.0, duck_db
    # Rome, not chosen, does not; nor does the program (and so the recording and outputs).
    assert _level(rome_talk, TALK_HZ) < talk_level / 100, _level(rome_talk, TALK_HZ)
    assert _level(program_talk, TALK_HZ) < talk_level / 100, _level(program_talk, TALK_HZ)
    assert _level(program_talk, 480) > 0.01  # the program itself was there to measure
    print(f"\ntalkback {talk_level:.3f}, return ducked by {duck_db:.1f} dB")


async def _program_pcm(queue: asyncio.Queue[av.Packet], extradata: bytes | None) -> np.ndarray:
    """The program's AAC as the recorder gets it, decoded: mono floats."""
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = extradata
    chunks = []
    while not queue.empty():
        for frame in decoder.decode(queue.get_nowait()):  # type: ignore[attr-defined]
            chunks.append(frame.to_ndarray().astype(np.float32).mean(axis=0))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
