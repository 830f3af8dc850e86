"""Reading and writing studios, bookings and audit events on one open connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schedules import db
from schedules.errors import DuplicateId, NotFound
from schedules.fields import columns_of, from_columns
from schedules.model import (
    AuditEvent,
    Booking,
    BookingStatus,
    BookingStudio,
    PartnerAnswer,
    Studio,
)


def _studio(row: sa.Row[Any]) -> Studio:
    return Studio(
        id=row.id,
        name=row.name,
        organisation=row.organisation,
        city=row.city,
        timezone=row.timezone,
    )


async def list_studios(conn: AsyncConnection) -> list[Studio]:
    """Every studio, by organisation and name."""
    rows = await conn.execute(
        sa.select(db.studios).order_by(db.studios.c.organisation, db.studios.c.name)
    )
    return [_studio(r) for r in rows]


async def get_studios(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Studio]:
    """The studios among `ids` that exist, by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await conn.execute(sa.select(db.studios).where(db.studios.c.id.in_(wanted)))
    return {r.id: _studio(r) for r in rows}


async def insert_studio(conn: AsyncConnection, studio: Studio, now: datetime) -> None:
    """Store a new studio; DuplicateId when its id is taken."""
    exists = await conn.execute(sa.select(db.studios.c.id).where(db.studios.c.id == studio.id))
    if exists.first() is not None:
        raise DuplicateId("studio", studio.id)
    await conn.execute(
        db.studios.insert().values(
            id=studio.id,
            name=studio.name,
            organisation=studio.organisation,
            city=studio.city,
            timezone=studio.timezone,
            created_at=now,
        )
    )


async def lock_booking(conn: AsyncConnection, booking_id: str) -> None:
    """Lock one booking's row (PostgreSQL) before reading it to change it.

    Without it two servers could read the same booking, each change it (two partners
    confirming at once), and the second write would silently undo the first.
    """
    if conn.dialect.name == "sqlite":
        return
    await conn.execute(
        sa.select(db.bookings.c.id).where(db.bookings.c.id == booking_id).with_for_update()
    )


async def insert_booking(conn: AsyncConnection, booking: Booking) -> None:
    """Store a new booking with its studios."""
    await conn.execute(db.bookings.insert().values(id=booking.id, **columns_of(booking)))
    await _write_studios(conn, booking)


async def update_booking(conn: AsyncConnection, booking: Booking) -> None:
    """Overwrite a stored booking and its studios with `booking`."""
    await conn.execute(
        db.bookings.update().where(db.bookings.c.id == booking.id).values(**columns_of(booking))
    )
    await conn.execute(
        db.booking_studios.delete().where(db.booking_studios.c.booking_id == booking.id)
    )
    await _write_studios(conn, booking)


async def _write_studios(conn: AsyncConnection, booking: Booking) -> None:
    await conn.execute(
        db.booking_studios.insert(),
        [
            {
                "booking_id": booking.id,
                "studio_id": s.studio_id,
                "position": i,
                "answer": s.answer.value,
                "answered_at": s.answered_at,
                "decline_reason": s.decline_reason,
            }
            for i, s in enumerate(booking.studios)
        ],
    )


async def get_booking(conn: AsyncConnection, booking_id: str) -> Booking:
    """The stored booking, or NotFound."""
    found = await query_bookings(conn, ids=[booking_id])
    if not found:
        raise NotFound("booking", booking_id)
    return found[0]


async def query_bookings(
    conn: AsyncConnection,
    *,
    ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    studio_ids: Sequence[str] | None = None,
    statuses: Sequence[BookingStatus] | None = None,
    limit: int = 1000,
) -> list[Booking]:
    """Bookings by start time; `start`/`end` select those whose busy window overlaps them."""
    b, bs = db.bookings, db.booking_studios
    query = sa.select(b).order_by(b.c.starts_at, b.c.id).limit(limit)
    if ids is not None:
        query = query.where(b.c.id.in_(list(ids)))
    if start is not None:
        query = query.where(b.c.busy_until > start)
    if end is not None:
        query = query.where(b.c.busy_from < end)
    if statuses is not None:
        query = query.where(b.c.status.in_([s.value for s in statuses]))
    if studio_ids is not None:
        query = query.where(
            b.c.id.in_(sa.select(bs.c.booking_id).where(bs.c.studio_id.in_(list(studio_ids))))
        )
    rows = list(await conn.execute(query))
    if not rows:
        return []
    parts: dict[str, list[BookingStudio]] = defaultdict(list)
    part_rows = await conn.execute(
        sa.select(bs)
        .where(bs.c.booking_id.in_([r.id for r in rows]))
        .order_by(bs.c.booking_id, bs.c.position)
    )
    for p in part_rows:
        parts[p.booking_id].append(
            BookingStudio(
                studio_id=p.studio_id,
                answer=PartnerAnswer(p.answer),
                answered_at=p.answered_at,
                decline_reason=p.decline_reason,
            )
        )
    return [Booking(id=r.id, studios=tuple(parts[r.id]), **from_columns(r._mapping)) for r in rows]


async def append_audit(conn: AsyncConnection, event: AuditEvent) -> None:
    """Add one event to the audit log."""
    await conn.execute(
        db.audit_events.insert().values(
            booking_id=event.booking_id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            details=event.details,
        )
    )


async def audit_of(conn: AsyncConnection, booking_id: str) -> list[AuditEvent]:
    """A booking's audit log, oldest first."""
    a = db.audit_events
    rows = await conn.execute(
        sa.select(a).where(a.c.booking_id == booking_id).order_by(a.c.at, a.c.id)
    )
    return [
        AuditEvent(
            booking_id=r.booking_id, at=r.at, actor=r.actor, action=r.action, details=r.details
        )
        for r in rows
    ]
