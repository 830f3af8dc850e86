"""Reading and writing a booking's graphics and the site's logo on one open connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from schedules import db
from schedules.graphics.record import ClockSetting, Logo, LowerThird, OnScreen

TEXTS = db.booking_lower_thirds
SCREEN = db.booking_graphics
LOGO = db.graphics_logo
LOGO_ROW = 1  # the site has one logo


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT on either database (both speak it)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def texts_of(conn: AsyncConnection, booking_id: str) -> tuple[LowerThird, ...]:
    """The booking's lower-third texts, the first stored first."""
    rows = await conn.execute(
        sa.select(TEXTS).where(TEXTS.c.booking_id == booking_id).order_by(TEXTS.c.id)
    )
    return tuple(LowerThird(r.studio_id, r.language, r.name, r.title) for r in rows)


async def put_text(
    conn: AsyncConnection, booking_id: str, text: LowerThird, by: str, at: datetime
) -> None:
    """Store a studio's text in one language; a text already stored there is replaced in
    place, so the order the languages were first stored in stays."""
    values = {"name": text.name, "title": text.title, "updated_by": by, "updated_at": at}
    statement = _insert(conn, TEXTS).values(
        booking_id=booking_id, studio_id=text.studio_id, language=text.language, **values
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[TEXTS.c.booking_id, TEXTS.c.studio_id, TEXTS.c.language],
            set_=values,
        )
    )


async def replace_texts(
    conn: AsyncConnection,
    booking_id: str,
    texts: Sequence[LowerThird],
    by: str,
    at: datetime,
) -> None:
    """Make `texts` the booking's texts: those left out go, the others are stored in place."""
    keep = {(t.studio_id, t.language) for t in texts}
    for old in await texts_of(conn, booking_id):
        if (old.studio_id, old.language) not in keep:
            await conn.execute(
                TEXTS.delete().where(
                    TEXTS.c.booking_id == booking_id,
                    TEXTS.c.studio_id == old.studio_id,
                    TEXTS.c.language == old.language,
                )
            )
    for text in texts:
        await put_text(conn, booking_id, text, by, at)


async def on_screen(conn: AsyncConnection, booking_id: str) -> OnScreen:
    """What the booking's program shows (nothing, for a booking never changed)."""
    row = (await conn.execute(sa.select(SCREEN).where(SCREEN.c.booking_id == booking_id))).first()
    if row is None:
        return OnScreen()
    return OnScreen(
        language=row.language,
        shown=tuple(row.shown),
        clock=ClockSetting(row.clock_zone, row.clock_label) if row.clock_zone else None,
        logo_visible=row.logo_visible,
        logo_corner=row.logo_corner,
    )


async def put_on_screen(
    conn: AsyncConnection, booking_id: str, screen: OnScreen, by: str, at: datetime
) -> None:
    """Store what the booking's program shows."""
    values = {
        "language": screen.language,
        "shown": list(screen.shown),
        "clock_zone": screen.clock.zone if screen.clock else None,
        "clock_label": screen.clock.label if screen.clock else "",
        "logo_visible": screen.logo_visible,
        "logo_corner": screen.logo_corner,
        "updated_by": by,
        "updated_at": at,
    }
    statement = _insert(conn, SCREEN).values(booking_id=booking_id, **values)
    await conn.execute(
        statement.on_conflict_do_update(index_elements=[SCREEN.c.booking_id], set_=values)
    )


async def logo(conn: AsyncConnection) -> Logo | None:
    """The site's logo, if one was uploaded."""
    row = (await conn.execute(sa.select(LOGO).where(LOGO.c.id == LOGO_ROW))).first()
    if row is None:
        return None
    return Logo(bytes(row.png), row.width, row.height, row.sha256, row.uploaded_by, row.uploaded_at)


async def put_logo(conn: AsyncConnection, picture: Logo, by: str, at: datetime) -> None:
    """Make `picture` the site's logo (replacing any)."""
    values = {
        "png": picture.png,
        "width": picture.width,
        "height": picture.height,
        "sha256": picture.sha256,
        "uploaded_by": by,
        "uploaded_at": at,
    }
    statement = _insert(conn, LOGO).values(id=LOGO_ROW, **values)
    await conn.execute(statement.on_conflict_do_update(index_elements=[LOGO.c.id], set_=values))


async def delete_logo(conn: AsyncConnection) -> bool:
    """Remove the site's logo; False when there was none."""
    result = await conn.execute(LOGO.delete().where(LOGO.c.id == LOGO_ROW))
    return bool(result.rowcount)


async def has_logo(conn: AsyncConnection) -> bool:
    """Whether the site has a logo (without reading the picture)."""
    found = await conn.execute(sa.select(LOGO.c.id).where(LOGO.c.id == LOGO_ROW))
    return found.first() is not None
