"""Cues and chat of a booking: validated against its studios, kept with it, read by who may.

Nothing here touches the live room: the web side hands what is stored to the consoles and the
control room, so a cue or a message can never stop the program, the recording or the relay.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import store
from schedules.direction import store as direction_store
from schedules.direction.parse import parse_cue, parse_message
from schedules.direction.record import Cue, Message
from schedules.errors import InvalidTransition, NotFound
from schedules.model import Booking, BookingStatus
from schedules.service import Clock

# A booking that is over, called off or refused takes no new cues or messages (its history
# stays readable).
FINAL = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED, BookingStatus.COMPLETED})
PAGE = 200  # messages per read: a console catching up after a drop pages on `after`


def _studio_ids(booking: Booking) -> tuple[str, ...]:
    return tuple(s.studio_id for s in booking.studios)


class DirectionService:
    """Cues and messages on the booking service's database, under its write lock."""

    def __init__(self, engine: AsyncEngine, clock: Clock, write_lock: asyncio.Lock) -> None:
        self.engine = engine
        self.clock = clock
        self._write_lock = write_lock

    async def send_cue(self, booking_id: str, data: object, sent_by: str) -> Cue:
        """Validate and store a cue to one of the booking's studios."""
        async with self.engine.connect() as conn:
            booking = await store.get_booking(conn, booking_id)
        draft = parse_cue(data, _studio_ids(booking))
        if booking.status in FINAL:
            raise InvalidTransition(booking.status.value, "cue a studio of")
        cue = Cue(
            draft.studio_id,
            draft.kind,
            draft.text,
            booking_id=booking_id,
            sent_by=sent_by,
            sent_at=self.clock(),
        )
        async with self._write_lock, self.engine.begin() as conn:
            return await direction_store.insert_cue(conn, cue)

    async def cues(self, booking_id: str, studio_id: str | None = None) -> list[Cue]:
        """The booking's cues, to one studio or all, oldest first (NotFound: no booking)."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await direction_store.cues_of(conn, booking_id, studio_id)

    async def acknowledge(self, booking_id: str, cue_id: int, studio_id: str, by: str) -> Cue:
        """The studio's operator has seen the cue; NotFound unless it was sent to that studio.
        Acknowledging twice keeps the first time."""
        async with self._write_lock, self.engine.begin() as conn:
            cue = await direction_store.get_cue(conn, booking_id, cue_id)
            if cue.studio_id != studio_id:
                raise NotFound("cue", str(cue_id))
            await direction_store.acknowledge_cue(conn, booking_id, cue_id, by, self.clock())
            return await direction_store.get_cue(conn, booking_id, cue_id)

    async def post_message(
        self, booking_id: str, data: object, author: str, from_studio: str | None
    ) -> Message:
        """Validate and store a message from production (`from_studio` None) or a studio."""
        async with self.engine.connect() as conn:
            booking = await store.get_booking(conn, booking_id)
        studio_ids = _studio_ids(booking)
        if from_studio is not None and from_studio not in studio_ids:
            raise NotFound("studio", from_studio)
        draft = parse_message(data, studio_ids, from_studio=from_studio)
        if booking.status in FINAL:
            raise InvalidTransition(booking.status.value, "write in the chat of")
        message = Message(
            draft.text,
            draft.to_studio,
            booking_id=booking_id,
            author=author,
            from_studio=from_studio,
            sent_at=self.clock(),
        )
        async with self._write_lock, self.engine.begin() as conn:
            return await direction_store.insert_message(conn, message)

    async def last_message_id(self, booking_id: str, reader_studio: str | None = None) -> int:
        """The newest message id the reader may see (0: none yet)."""
        async with self.engine.connect() as conn:
            return await direction_store.last_message_id(conn, booking_id, reader_studio)

    async def messages(
        self, booking_id: str, *, after: int = 0, reader_studio: str | None = None
    ) -> list[Message]:
        """The messages after id `after` that the reader may see (None: production reads
        all), oldest first, at most PAGE of them."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await direction_store.messages_of(
                conn, booking_id, after=after, reader_studio=reader_studio, limit=PAGE
            )
