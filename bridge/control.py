"""The control room's connections to a room: the producers' multiview and their talkback.

A control room connection is a peer like a studio's console, from the other side of the desk:
it receives every studio's own feed (forwarded packet by packet, as to the partners: no decode,
no encode) and the program (its one H.264 encode and its own mix), and it may send one thing,
the producer's microphone, which goes only into the mix-minus of the studios the producer talks
to (program.talkback). Several producers may watch at once; each connection is its own.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from typing import TYPE_CHECKING

from aiortc.rtp import RtpPacket

from bridge.errors import NoMicrophone, RoomClosed, UnknownControl, UnknownStudio
from bridge.session import Joined, StudioSession

if TYPE_CHECKING:  # the room owns its control room connections
    from bridge.room import Room

log = logging.getLogger("telebridge.bridge.control")

CONTROL_PREFIX = "control-"  # the owner id of a control room's slots (no studio id has it)


class ControlConnections:
    """A room's control room connections, by session id."""

    def __init__(self, room: Room) -> None:
        self._room = room
        self.sessions: dict[str, StudioSession] = {}
        self.names: dict[str, str] = {}

    async def connect(self, offer_sdp: str, name: str) -> Joined:
        """Answer a control room's offer: one receive pair per studio of the booking (in its
        order), one for the program, and its microphone if it sends one."""
        room = self._room
        production = room.production
        if room.closed:
            raise RoomClosed(f"The room of booking {room.spec.booking_id} is closed")
        session = StudioSession(
            room.spec,
            CONTROL_PREFIX + secrets.token_hex(4),
            self._closed,
            production.control_feed if production is not None else None,
            control=True,
        )
        try:
            answer = await session.answer(offer_sdp)
        except BaseException:
            await session.close()
            raise
        if room.closed:
            await session.close()
            raise RoomClosed(f"The room of booking {room.spec.booking_id} is closed")
        sid = session.session_id
        self.sessions[sid] = session
        self.names[sid] = name
        for slot in session.slots:
            source = room.feeds.get((slot.studio_id, slot.kind))
            if source is not None:
                source.attach(slot)
        microphone = session.feeds.get("audio")
        if production is not None:
            production.audio.talkback.add(sid, name)
            if microphone is not None:
                talkback = production.audio.talkback

                def listen(packet: RtpPacket) -> None:
                    talkback.on_packet(sid, packet.ssrc, packet.payload)

                microphone.listeners.append(listen)
        log.info("control room joined booking=%s session=%s", room.spec.booking_id, sid)
        return Joined(answer, sid, session.slot_info, session.program_info)

    def talk(self, session_id: str, studios: Collection[str]) -> None:
        """Talk from a control room connection to `studios` (empty: stop talking)."""
        session = self.sessions.get(session_id)
        if session is None:
            raise UnknownControl(f'No control room connection "{session_id}" in this room')
        if studios and "audio" not in session.feeds:
            raise NoMicrophone("This control room connection sends no microphone to talk with")
        known = {s.id for s in self._room.spec.studios}
        unknown = sorted(set(studios) - known)
        if unknown:
            raise UnknownStudio(f'Studio "{unknown[0]}" is not part of this telebridge')
        production = self._room.production
        if production is None:
            raise RoomClosed("This room composes no program to talk over")
        production.audio.talkback.talk(session_id, studios)

    def talking_to(self, studio_id: str) -> list[str]:
        """The names of the producers talking to a studio now."""
        production = self._room.production
        return production.audio.talkback.talking_to(studio_id) if production is not None else []

    def talking(self, session_id: str) -> frozenset[str]:
        """The studios a control room connection talks to now."""
        production = self._room.production
        talker = production.audio.talkback.talkers.get(session_id) if production else None
        return talker.targets if talker is not None else frozenset()

    async def disconnect(self, session_id: str) -> bool:
        """End a control room connection; False when there is none of that id."""
        session = self.sessions.get(session_id)
        if session is None:
            return False
        await session.close()
        return True

    async def close(self) -> None:
        """End every control room connection (the room closes)."""
        for session in list(self.sessions.values()):
            await session.close()

    def _closed(self, session: StudioSession) -> None:
        sid = session.session_id
        if self.sessions.pop(sid, None) is None:
            return
        self.names.pop(sid, None)
        production = self._room.production
        if production is not None:
            production.audio.talkback.remove(sid)
        log.info("control room left booking=%s session=%s", self._room.spec.booking_id, sid)
