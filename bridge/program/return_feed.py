"""The return feed: the joint program sent back to a studio's console, or to a control room.

The picture is the program's own H.264, encoded once for everyone and cut into RTP payloads
once (`ProgramPackets`); the sound is a mix (the studio's mix-minus, or the program's own mix
for a control room), encoded to Opus once per mix on the program's sound worker
(program.mix_minus). Both reach each connection the way the relay forwards a partner's packets
(relay.fanout.Slot): written into an aiortc sender that holds an idle track, numbered on that
connection's own stream, kept for its NACKs and sent at once on a direct path. aiortc's own
sender packetized the picture again for every viewer and took every packet of picture and sound
through its coroutines: about as much of the event loop as the whole relay of the room.

A viewer can put the program away and take it back (`pause`, `resume`) without a new
connection: while paused it holds no claim on the program (bridge.program.demand), so a room
whose consoles show only their partners composes no picture.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.rtp import RtpPacket

from bridge.program.audio import ProgramAudio
from bridge.program.demand import Claim
from bridge.program.engine import EncodedPacket, ProgramEngine
from bridge.program.mix_minus import SoundPacket
from bridge.relay.fanout import Slot
from bridge.relay.rewrite import SEQ_MOD, TS_MOD
from bridge.video_payloads import VideoCodec

KEYFRAME_INTERVAL = 1.0  # a viewer's keyframe requests are served at most this often
SOURCE = "the program"  # what a return slot shows (in the relay's log lines)


@dataclass
class _Viewer:
    slot: Slot
    claim: Claim
    waiting: bool = True  # for a keyframe: nothing before it decodes
    asked: bool = False  # whether a keyframe was asked for since its connection could send


class ProgramPackets:
    """The program's picture as RTP packets, made once, handed to every viewer's slot.

    The packets are numbered on a stream of their own (one SSRC, sequence numbers, the 90 kHz
    clock); each slot maps them onto its connection's stream, so a viewer that pauses and
    resumes sees one stream that simply goes on. A viewer starts at a keyframe, asked for
    when its connection can first send (the one asked for on joining went by while it was
    still connecting): until it comes, its slot gets nothing (a decoder given pictures without
    their reference shows garbage, or nothing, and asks again).
    """

    def __init__(self, engine: ProgramEngine) -> None:
        self._engine = engine
        self._packetizer = H264Encoder()  # only its packetizer is used: no encoder is opened
        self._ssrc = random.getrandbits(32)
        self._sequence = random.randrange(SEQ_MOD)
        self._viewers: list[_Viewer] = []

    @property
    def engine(self) -> ProgramEngine:
        """The program engine whose packets these are."""
        return self._engine

    def attach(self, slot: Slot, user: str) -> None:
        """Send the program to `slot` from its next keyframe on; `user` claims the program
        meanwhile (it is composed while anyone watches)."""
        if any(v.slot is slot for v in self._viewers):
            return
        if not self._viewers:
            self._engine.listeners.append(self._on_packet)
        self._viewers.append(_Viewer(slot, self._engine.demand.claim(user)))
        slot.rewriter.restart()  # what it skipped meanwhile is no loss on its stream

    def detach(self, slot: Slot) -> None:
        """Stop sending the program to `slot` (and let go of its claim)."""
        viewer = next((v for v in self._viewers if v.slot is slot), None)
        if viewer is None:
            return
        self._viewers.remove(viewer)
        viewer.claim.release()
        if not self._viewers:
            self._engine.listeners.remove(self._on_packet)

    def _on_packet(self, packet: EncodedPacket) -> None:
        payloads, timestamp = self._packetizer.pack(packet)
        if not payloads:
            return
        keyframe = packet.is_keyframe
        slots = []
        for viewer in self._viewers:
            if viewer.waiting:
                if not viewer.slot.sender.ready:
                    continue  # still connecting
                if not keyframe:
                    if not viewer.asked:
                        viewer.asked = True
                        self._engine.force_keyframe()
                    continue
                viewer.waiting = False
            slots.append(viewer.slot)
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            rtp = RtpPacket(
                marker=int(i == last),
                sequence_number=self._sequence,
                timestamp=timestamp % TS_MOD,
                ssrc=self._ssrc,
                payload=payload,
            )
            self._sequence = (self._sequence + 1) % SEQ_MOD
            for slot in slots:
                slot.offer(rtp, VideoCodec.H264)


class ReturnPicture:
    """The program's picture on one connection, through its sender."""

    def __init__(
        self,
        packets: ProgramPackets,
        sender: RTCRtpSender,
        owner_id: str,
        user: str,
        shown: bool = True,
    ) -> None:
        self._packets = packets
        self._user = user
        self._shown = False
        self._last_keyframe_request = -KEYFRAME_INTERVAL
        self.slot = Slot.on_sender(sender, owner_id, SOURCE, "video", self.request_keyframe)
        self.slot.start()
        if shown:
            self.resume()

    @property
    def shown(self) -> bool:
        """Whether the viewer takes the program now."""
        return self._shown

    def resume(self) -> None:
        """Take the program (again), from its next keyframe, asked for now."""
        if self._shown:
            return
        self._shown = True
        self._packets.attach(self.slot, self._user)
        self._last_keyframe_request = -KEYFRAME_INTERVAL  # this one is never throttled
        self.request_keyframe()

    def pause(self) -> None:
        """Stop taking the program (the connection stays; nothing is sent meanwhile)."""
        if self._shown:
            self._shown = False
            self._packets.detach(self.slot)

    def request_keyframe(self) -> None:
        """The viewer lost a picture (PLI) or has just come: ask the program for a keyframe.

        Throttled, because every forced keyframe also lands in the recording.
        """
        now = time.monotonic()
        if self._shown and now - self._last_keyframe_request >= KEYFRAME_INTERVAL:
            self._last_keyframe_request = now
            self._packets.engine.force_keyframe()

    async def close(self) -> None:
        """Stop sending for good (the connection closes)."""
        self.pause()
        await self.slot.stop()


class ReturnSound:
    """A mix (a studio's mix-minus, or the program's own) on one connection, through its
    sender, as the program's sound worker encoded it."""

    def __init__(
        self,
        audio: ProgramAudio,
        mix: str,
        sender: RTCRtpSender,
        owner_id: str,
        shown: bool = True,
    ) -> None:
        self._audio = audio
        self._mix = mix
        self._shown = False
        self._ssrc = random.getrandbits(32)
        self._sequence = random.randrange(SEQ_MOD)
        self.slot = Slot.on_sender(sender, owner_id, SOURCE, "audio")  # no feed: no keyframes
        self.slot.start()
        if shown:
            self.resume()

    def resume(self) -> None:
        """Take the mix (again); its stream goes on across the gap."""
        if self._shown:
            return
        self._shown = True
        self.slot.rewriter.restart()
        self._audio.listen_return(self._mix, self._on_sound)

    def pause(self) -> None:
        """Stop taking the mix (the operator listens to the partners directly)."""
        if self._shown:
            self._shown = False
            self._audio.unlisten_return(self._mix, self._on_sound)

    def _on_sound(self, packets: list[SoundPacket]) -> None:
        for sound in packets:
            rtp = RtpPacket(
                sequence_number=self._sequence,
                timestamp=sound.timestamp % TS_MOD,
                ssrc=self._ssrc,
                payload=sound.payload,
            )
            rtp.extensions.audio_level = (False, sound.level)
            self._sequence = (self._sequence + 1) % SEQ_MOD
            self.slot.offer(rtp)

    async def close(self) -> None:
        """Stop sending for good (the connection closes)."""
        self.pause()
        await self.slot.stop()


class ReturnFeed:
    """What goes back on one connection: the program's picture and a mix, shown or put away
    together (either may be missing: a connection that did not ask for it)."""

    def __init__(self, picture: ReturnPicture | None, sound: ReturnSound | None) -> None:
        self.picture = picture
        self.sound = sound

    def resume(self) -> None:
        """Send the program back (again)."""
        for part in (self.picture, self.sound):
            if part is not None:
                part.resume()

    def pause(self) -> None:
        """Stop sending it (the connection and its m-lines stay)."""
        for part in (self.picture, self.sound):
            if part is not None:
                part.pause()

    async def close(self) -> None:
        """Stop for good (the connection closes)."""
        for part in (self.picture, self.sound):
            if part is not None:
                await part.close()
