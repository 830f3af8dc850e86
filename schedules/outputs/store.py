"""Reading and writing a booking's outputs on one open connection."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schedules import db
from schedules.errors import NotFound
from schedules.outputs.record import Output, OutputKind

T = db.booking_outputs


def _output(row: sa.Row[Any]) -> Output:
    return Output(
        kind=OutputKind(row.kind),
        name=row.name,
        url=row.url,
        key=row.stream_key,
        passphrase=row.passphrase,
        latency_ms=row.latency_ms,
        id=row.id,
        booking_id=row.booking_id,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def outputs_of(conn: AsyncConnection, booking_id: str) -> list[Output]:
    """The booking's outputs in the order they were added."""
    rows = await conn.execute(
        sa.select(T).where(T.c.booking_id == booking_id).order_by(T.c.position, T.c.id)
    )
    return [_output(r) for r in rows]


async def get_output(conn: AsyncConnection, booking_id: str, output_id: str) -> Output:
    """One output of the booking, or NotFound."""
    row = (
        await conn.execute(sa.select(T).where(T.c.booking_id == booking_id, T.c.id == output_id))
    ).first()
    if row is None:
        raise NotFound("output", output_id)
    return _output(row)


async def insert_output(conn: AsyncConnection, output: Output, position: int) -> None:
    """Store a new output after the booking's others."""
    await conn.execute(
        T.insert().values(
            id=output.id,
            booking_id=output.booking_id,
            position=position,
            kind=output.kind.value,
            name=output.name,
            url=output.url,
            stream_key=output.key,
            passphrase=output.passphrase,
            latency_ms=output.latency_ms,
            created_by=output.created_by,
            created_at=output.created_at,
        )
    )


async def delete_output(conn: AsyncConnection, booking_id: str, output_id: str) -> None:
    """Remove an output of the booking (NotFound when there is none)."""
    result = await conn.execute(T.delete().where(T.c.booking_id == booking_id, T.c.id == output_id))
    if result.rowcount == 0:
        raise NotFound("output", output_id)
