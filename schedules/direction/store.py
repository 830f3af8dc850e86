"""Reading and writing a booking's cues and messages on one open connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schedules import db
from schedules.direction.record import Cue, CueKind, Message
from schedules.errors import NotFound

CUES = db.booking_cues
MESSAGES = db.booking_messages


def _cue(row: sa.Row[Any]) -> Cue:
    return Cue(
        studio_id=row.studio_id,
        kind=CueKind(row.kind),
        text=row.text,
        id=row.id,
        booking_id=row.booking_id,
        sent_by=row.sent_by,
        sent_at=row.sent_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
    )


def _message(row: sa.Row[Any]) -> Message:
    return Message(
        text=row.text,
        to_studio=row.to_studio,
        id=row.id,
        booking_id=row.booking_id,
        author=row.author,
        from_studio=row.from_studio,
        sent_at=row.sent_at,
    )


async def insert_cue(conn: AsyncConnection, cue: Cue) -> Cue:
    """Store a cue; returns it with its id."""
    result = await conn.execute(
        CUES.insert().values(
            booking_id=cue.booking_id,
            studio_id=cue.studio_id,
            kind=cue.kind.value,
            text=cue.text,
            sent_by=cue.sent_by,
            sent_at=cue.sent_at,
        )
    )
    return await get_cue(conn, cue.booking_id, int(result.inserted_primary_key[0]))  # type: ignore[index]


async def get_cue(conn: AsyncConnection, booking_id: str, cue_id: int) -> Cue:
    """One cue of the booking, or NotFound."""
    query = sa.select(CUES).where(CUES.c.booking_id == booking_id, CUES.c.id == cue_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("cue", str(cue_id))
    return _cue(row)


async def cues_of(
    conn: AsyncConnection, booking_id: str, studio_id: str | None = None, limit: int = 500
) -> list[Cue]:
    """The booking's cues (to one studio, or all), the newest last."""
    query = sa.select(CUES).where(CUES.c.booking_id == booking_id)
    if studio_id is not None:
        query = query.where(CUES.c.studio_id == studio_id)
    rows = await conn.execute(query.order_by(CUES.c.id.desc()).limit(limit))
    return [_cue(r) for r in reversed(rows.all())]


async def latest_cue(conn: AsyncConnection, booking_id: str, studio_id: str) -> Cue | None:
    """The newest cue to one studio (None: none yet): what its console shows, read once a
    second by every console, so one row and no more."""
    query = (
        sa.select(CUES)
        .where(CUES.c.booking_id == booking_id, CUES.c.studio_id == studio_id)
        .order_by(CUES.c.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _cue(row) if row is not None else None


async def latest_cues(conn: AsyncConnection, booking_id: str) -> list[Cue]:
    """The newest cue to each studio of the booking that has one, oldest first: what the
    control room shows next to each studio's cue buttons."""
    newest = (
        sa.select(sa.func.max(CUES.c.id))
        .where(CUES.c.booking_id == booking_id)
        .group_by(CUES.c.studio_id)
    )
    rows = await conn.execute(
        sa.select(CUES)
        .where(CUES.c.booking_id == booking_id, CUES.c.id.in_(newest))
        .order_by(CUES.c.id)
    )
    return [_cue(r) for r in rows]


async def acknowledge_cue(
    conn: AsyncConnection, booking_id: str, cue_id: int, by: str, at: datetime
) -> None:
    """Mark a cue as acknowledged, once: a second click keeps the first time."""
    await conn.execute(
        CUES.update()
        .where(
            CUES.c.booking_id == booking_id,
            CUES.c.id == cue_id,
            CUES.c.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=at, acknowledged_by=by)
    )


async def insert_message(conn: AsyncConnection, message: Message) -> Message:
    """Store a message; returns it with its id (ids grow: `after=` pages on them)."""
    result = await conn.execute(
        MESSAGES.insert().values(
            booking_id=message.booking_id,
            author=message.author,
            from_studio=message.from_studio,
            to_studio=message.to_studio,
            text=message.text,
            sent_at=message.sent_at,
        )
    )
    row = (
        await conn.execute(
            sa.select(MESSAGES).where(MESSAGES.c.id == result.inserted_primary_key[0])  # type: ignore[index]
        )
    ).one()
    return _message(row)


def _readable_by(reader_studio: str | None) -> sa.ColumnElement[bool]:
    """The messages a reader may see: production (None) all; a studio those to everyone and
    those between production and itself."""
    if reader_studio is None:
        return sa.true()
    return sa.or_(
        MESSAGES.c.to_studio.is_(None),
        MESSAGES.c.to_studio == reader_studio,
        MESSAGES.c.from_studio == reader_studio,
    )


async def last_message_id(
    conn: AsyncConnection, booking_id: str, reader_studio: str | None = None
) -> int:
    """The id of the newest message the reader may see (0: none): a console polls this and
    reads the messages only when it grows."""
    query = sa.select(sa.func.max(MESSAGES.c.id)).where(
        MESSAGES.c.booking_id == booking_id, _readable_by(reader_studio)
    )
    return int((await conn.execute(query)).scalar() or 0)


async def messages_of(
    conn: AsyncConnection,
    booking_id: str,
    *,
    after: int = 0,
    reader_studio: str | None = None,
    limit: int = 200,
) -> list[Message]:
    """The booking's messages after id `after` that `reader_studio` may read (None:
    production, which reads them all), oldest first, at most `limit`."""
    query = sa.select(MESSAGES).where(
        MESSAGES.c.booking_id == booking_id, MESSAGES.c.id > after, _readable_by(reader_studio)
    )
    rows = await conn.execute(query.order_by(MESSAGES.c.id).limit(limit))
    return [_message(r) for r in rows]
