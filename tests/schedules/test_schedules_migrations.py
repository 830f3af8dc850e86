"""Schema migrations: a database of an older version is upgraded in place, rows kept."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import db

V1_BOOKINGS = """CREATE TABLE bookings (
    id VARCHAR(32) PRIMARY KEY, series_id VARCHAR(32), title VARCHAR(200) NOT NULL,
    status VARCHAR(16) NOT NULL, starts_at TIMESTAMP NOT NULL, ends_at TIMESTAMP NOT NULL,
    busy_from TIMESTAMP NOT NULL, busy_until TIMESTAMP NOT NULL, setup_minutes INTEGER NOT NULL,
    teardown_minutes INTEGER NOT NULL, record BOOLEAN NOT NULL, layout VARCHAR(32) NOT NULL,
    notes TEXT NOT NULL, sequence INTEGER NOT NULL, created_by VARCHAR(200) NOT NULL,
    created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)"""


async def _version_1_with_a_booking(engine: AsyncEngine) -> None:
    """A database as schema 1 left it, with one booking in it."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE schema_version (version INTEGER NOT NULL)"))
        await conn.execute(sa.text("INSERT INTO schema_version VALUES (1)"))
        await conn.execute(sa.text(V1_BOOKINGS))
        await conn.execute(
            sa.text(
                "INSERT INTO bookings VALUES ('b1', NULL, 'Old show', 'confirmed', "
                "'2026-12-01 10:00:00', '2026-12-01 11:00:00', '2026-12-01 09:45:00', "
                "'2026-12-01 11:05:00', 15, 5, TRUE, 'auto', '', 0, 'x', "
                "'2026-11-01 10:00:00', '2026-11-01 10:00:00')"
            )
        )


async def test_a_version_1_database_gains_the_quality_column(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    try:
        await _version_1_with_a_booking(engine)
        assert await db.migrate(engine) == 1
        async with engine.connect() as conn:
            version = (await conn.execute(sa.text("SELECT version FROM schema_version"))).scalar()
            quality = (await conn.execute(sa.text("SELECT quality FROM bookings"))).scalar()
        assert (version, quality) == (db.SCHEMA_VERSION, "720p30")
        assert await db.migrate(engine) == db.SCHEMA_VERSION  # a second start changes nothing
    finally:
        await engine.dispose()


async def test_a_new_database_is_created_at_the_current_version(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    try:
        assert await db.migrate(engine) == 0
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("bookings")}
            )
        assert "quality" in columns
    finally:
        await engine.dispose()


async def test_a_version_1_database_gains_the_zone_column_empty(empty_database: str) -> None:
    """Schema 8: bookings entered before it have no remembered zone ("" = the viewer's)."""
    engine = db.make_engine(empty_database)
    try:
        await _version_1_with_a_booking(engine)
        await db.migrate(engine)
        async with engine.connect() as conn:
            zone = (await conn.execute(sa.text("SELECT zone FROM bookings"))).scalar()
        assert zone == ""
    finally:
        await engine.dispose()
