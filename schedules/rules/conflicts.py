"""Double bookings: the overlap rule, the studios' row locks that make bookers take turns, and
the list of bookings in the way.

A studio is busy from a booking's setup start to its teardown end (`busy_from`, `busy_until`),
and two bookings of one studio conflict when those windows overlap. Windows are half-open, so
one booking's teardown may end the very minute the next one's setup starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schedules import db
from schedules.errors import ConflictItem
from schedules.model import BLOCKING_STATUSES, Booking, PartnerAnswer


def overlapping(busy_from: datetime, busy_until: datetime) -> sa.ColumnElement[bool]:
    """Stored bookings whose busy window overlaps [busy_from, busy_until)."""
    b = db.bookings
    return sa.and_(b.c.busy_from < busy_until, b.c.busy_until > busy_from)


async def lock_studios(conn: AsyncConnection, ids: Sequence[str]) -> None:
    """Lock the studios' rows (PostgreSQL) so that two servers never double-book one.

    The studio's row is the mutex of its calendar: whoever holds it checks for conflicts and
    inserts, and the next booker of that studio waits, then (READ COMMITTED: a fresh snapshot
    per statement) sees what the first one committed. Sorted order keeps two bookings of
    overlapping studio sets from deadlocking. FOR NO KEY UPDATE, not FOR UPDATE: it excludes
    other bookers but not the key-share locks that foreign keys take, so confirming or
    cancelling an unrelated booking of the studio never waits. SQLite has no row locks; there
    the service's own lock and SQLite's single writer do the same job.
    """
    if conn.dialect.name == "sqlite" or not ids:
        return
    await conn.execute(
        sa.select(db.studios.c.id)
        .where(db.studios.c.id.in_(sorted(set(ids))))
        .order_by(db.studios.c.id)
        .with_for_update(key_share=True)
    )


async def find_conflicts(conn: AsyncConnection, booking: Booking) -> list[ConflictItem]:
    """The other blocking bookings that hold any of `booking`'s studios while it needs them.

    Studios that declined hold nothing, neither `booking`'s own nor the other bookings': a
    booking of three or more studios may go on without one that declined (see lifecycle).
    Run it under `lock_studios` of the same studios, in the transaction that stores `booking`.
    """
    b, bs = db.bookings, db.booking_studios
    declined = PartnerAnswer.DECLINED
    needed = [s.studio_id for s in booking.studios if s.answer is not declined]
    query = (
        sa.select(
            b.c.id,
            bs.c.studio_id,
            b.c.title,
            b.c.starts_at,
            b.c.ends_at,
            b.c.busy_from,
            b.c.busy_until,
        )
        .join(bs, bs.c.booking_id == b.c.id)
        .where(
            bs.c.studio_id.in_(needed),
            bs.c.answer != declined.value,
            b.c.status.in_([s.value for s in BLOCKING_STATUSES]),
            overlapping(booking.busy_from, booking.busy_until),
            # An edit may overlap the booking's own old window.
            b.c.id != booking.id,
        )
        .order_by(b.c.starts_at, bs.c.studio_id)
    )
    rows = await conn.execute(query)
    return [
        ConflictItem(
            booking_id=r.id,
            studio_id=r.studio_id,
            title=r.title,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            busy_from=r.busy_from,
            busy_until=r.busy_until,
        )
        for r in rows
    ]
