"""Cues and chat of a booking: validated against its studios, kept with it, read by who may.

Nothing here touches the live room: the web side hands what is stored to the consoles and the
control room, so a cue or a message can never stop the program, the recording or the relay.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schedules import store
from schedules.direction import store as direction_store
from schedules.direction.parse import parse_cue, parse_message
from schedules.direction.record import Cue, Message
from schedules.errors import InvalidTransition, NotFound
from schedules.model import Booking, BookingStatus
from schedules.service import Clock

# A booking called off or refused takes no new cues or messages (its history stays readable);
# one that has been on air takes them until its teardown ends: the studios are still on the
# line after air ("that's a wrap"), and the room is open for them.
CALLED_OFF = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED})


def closed_to_direction(booking: Booking, now: datetime) -> bool:
    """Whether the booking takes no more cues or chat at `now`."""
    if booking.status in CALLED_OFF:
        return True
    return booking.status is BookingStatus.COMPLETED and now >= booking.busy_until


PAGE = 200  # messages per read: a console catching up after a drop pages on `after`
HISTORY = 5000  # cues and messages each on the audit log's page


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
        async with self._write_lock, self.engine.begin() as conn:
            booking = await _locked_booking(conn, booking_id)
            draft = parse_cue(data, _studio_ids(booking))
            if closed_to_direction(booking, self.clock()):
                raise InvalidTransition(booking.status.value, "cue a studio of")
            cue = Cue(
                draft.studio_id,
                draft.kind,
                draft.text,
                booking_id=booking_id,
                sent_by=sent_by,
                sent_at=self.clock(),
            )
            return await direction_store.insert_cue(conn, cue)

    async def cues(self, booking_id: str, studio_id: str | None = None) -> list[Cue]:
        """The booking's cues, to one studio or all, oldest first (NotFound: no booking)."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await direction_store.cues_of(conn, booking_id, studio_id)

    async def latest_cues(self, booking_id: str) -> list[Cue]:
        """The newest cue to each studio that has one (NotFound: no booking)."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await direction_store.latest_cues(conn, booking_id)

    async def console_view(self, booking_id: str, studio_id: str) -> tuple[Cue | None, int]:
        """What a console's state poll shows: the newest cue to the studio and the newest
        message id it may read (0: none). Every console asks once a second, and its caller
        has just read the booking to check the join link: one connection, two one-row reads,
        and no second read of the booking."""
        async with self.engine.connect() as conn:
            cue = await direction_store.latest_cue(conn, booking_id, studio_id)
            last = await direction_store.last_message_id(conn, booking_id, studio_id)
        return cue, last

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
        async with self._write_lock, self.engine.begin() as conn:
            booking = await _locked_booking(conn, booking_id)
            studio_ids = _studio_ids(booking)
            if from_studio is not None and from_studio not in studio_ids:
                raise NotFound("studio", from_studio)
            draft = parse_message(data, studio_ids, from_studio=from_studio)
            if closed_to_direction(booking, self.clock()):
                raise InvalidTransition(booking.status.value, "write in the chat of")
            message = Message(
                draft.text,
                draft.to_studio,
                booking_id=booking_id,
                author=author,
                from_studio=from_studio,
                sent_at=self.clock(),
            )
            return await direction_store.insert_message(conn, message)

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

    async def history(
        self, booking_id: str, reader_studio: str | None = None
    ) -> tuple[list[Cue], list[Message]]:
        """Everything the reader may see of the booking's direction, for its audit log: the
        cues (production: all; a studio: its own) and the messages, each oldest first, each at
        most HISTORY (a show's worth many times over)."""
        async with self.engine.connect() as conn:
            cues = await direction_store.cues_of(conn, booking_id, reader_studio, limit=HISTORY)
            messages = await direction_store.messages_of(
                conn, booking_id, reader_studio=reader_studio, limit=HISTORY
            )
        return cues, messages


async def _locked_booking(conn: AsyncConnection, booking_id: str) -> Booking:
    """The booking, read under its row lock in the writing transaction: a cancellation
    committed by another server at the same moment either comes first (and is seen here) or
    waits for this write, so nothing is ever stored on a booking already over."""
    await store.lock_booking(conn, booking_id)
    return await store.get_booking(conn, booking_id)
