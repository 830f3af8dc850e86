"""The schema's versions: each step that upgrades a database made by an older program, and
`migrate`, which creates a new database at today's schema or replays the missing steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schedules.tables import (
    api_token_uses,
    booking_cues,
    booking_graphics,
    booking_lower_thirds,
    booking_messages,
    booking_outputs,
    graphics_logo,
    metadata,
    nodes,
    recording_files,
    recordings,
    room_placements,
    schema_version,
)

Migration = Callable[[AsyncConnection], Awaitable[None]]


async def _v1_initial(conn: AsyncConnection) -> None:
    # Only ever reached by a database made before schema_version existed; a new database is
    # created whole from `metadata` (see migrate).
    await conn.run_sync(metadata.create_all)


async def _v2_booking_quality(conn: AsyncConnection) -> None:
    await conn.execute(
        sa.text("ALTER TABLE bookings ADD COLUMN quality VARCHAR(16) NOT NULL DEFAULT '720p30'")
    )


async def _v3_archive(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda c: metadata.create_all(c, tables=[recordings, recording_files]))


async def _v4_outputs(conn: AsyncConnection) -> None:
    await conn.execute(
        sa.text("ALTER TABLE bookings ADD COLUMN stream VARCHAR(16) NOT NULL DEFAULT 'private'")
    )
    await conn.run_sync(lambda c: metadata.create_all(c, tables=[booking_outputs]))


async def _v5_token_lifecycle(conn: AsyncConnection) -> None:
    # Tokens made before have no prefix: lists show them by id only. A table made by step 1
    # from today's `metadata` has the column already; a database without the table (the
    # migration tests' minimal ones) has nothing to add it to.
    def upgrade(c: sa.Connection) -> None:
        inspector = sa.inspect(c)
        if "api_tokens" not in inspector.get_table_names():
            return
        if "prefix" not in {col["name"] for col in inspector.get_columns("api_tokens")}:
            c.execute(sa.text("ALTER TABLE api_tokens ADD COLUMN prefix VARCHAR(16)"))
        metadata.create_all(c, tables=[api_token_uses])

    await conn.run_sync(upgrade)


async def _v6_direction(conn: AsyncConnection) -> None:
    # Cues and messages belong to bookings; a database without bookings (the migration tests'
    # minimal ones) has nothing to attach them to.
    def upgrade(c: sa.Connection) -> None:
        if "bookings" in sa.inspect(c).get_table_names():
            metadata.create_all(c, tables=[booking_cues, booking_messages])

    await conn.run_sync(upgrade)


async def _v7_graphics(conn: AsyncConnection) -> None:
    # Lower thirds and what is on screen belong to bookings; a database without bookings (the
    # migration tests' minimal ones) has nothing to attach them to. The logo is the site's.
    def upgrade(c: sa.Connection) -> None:
        tables = [graphics_logo]
        if "bookings" in sa.inspect(c).get_table_names():
            tables += [booking_lower_thirds, booking_graphics]
        metadata.create_all(c, tables=tables)

    await conn.run_sync(upgrade)


async def _v8_zones_and_reasons(conn: AsyncConnection) -> None:
    # The zone a booking was entered in, each login's own zone, and a studio's reason to
    # decline. A table made by step 1 from today's `metadata` has the columns already; a
    # database without the table (the migration tests' minimal ones) has nothing to add to.
    columns = (
        ("bookings", "zone", "VARCHAR(64) NOT NULL DEFAULT ''"),
        ("booking_studios", "decline_reason", "TEXT NOT NULL DEFAULT ''"),
        ("users", "time_zone", "VARCHAR(64) NOT NULL DEFAULT ''"),
    )

    def upgrade(c: sa.Connection) -> None:
        inspector = sa.inspect(c)
        tables = set(inspector.get_table_names())
        for table, column, ddl in columns:
            if table in tables and column not in {
                col["name"] for col in inspector.get_columns(table)
            }:
                c.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))

    await conn.run_sync(upgrade)


async def _v9_file_locations(conn: AsyncConnection) -> None:
    # Where each recording file lives: NULL (the default, and every file recorded before) is
    # the recording server's disk. A table made by step 1 or 3 from today's `metadata` has the
    # column already; a database without the table has nothing to add it to.
    def upgrade(c: sa.Connection) -> None:
        inspector = sa.inspect(c)
        if "recording_files" not in inspector.get_table_names():
            return
        if "location" not in {col["name"] for col in inspector.get_columns("recording_files")}:
            c.execute(sa.text("ALTER TABLE recording_files ADD COLUMN location VARCHAR(1000)"))

    await conn.run_sync(upgrade)


async def _v10_nodes(conn: AsyncConnection) -> None:
    # The cluster's nodes, which one owns each open room (schedules/cluster/registry.py), and
    # which one holds a recording's files. A table made by step 1 or 3 from today's `metadata`
    # has the column already; a database without the table has nothing to add it to.
    def upgrade(c: sa.Connection) -> None:
        metadata.create_all(c, tables=[nodes, room_placements])
        inspector = sa.inspect(c)
        if "recordings" not in inspector.get_table_names():
            return
        if "node_id" not in {col["name"] for col in inspector.get_columns("recordings")}:
            c.execute(sa.text("ALTER TABLE recordings ADD COLUMN node_id VARCHAR(64)"))

    await conn.run_sync(upgrade)


# Append only: a deployed database replays every step above its stored version.
MIGRATIONS: list[Migration] = [
    _v1_initial,
    _v2_booking_quality,
    _v3_archive,
    _v4_outputs,
    _v5_token_lifecycle,
    _v6_direction,
    _v7_graphics,
    _v8_zones_and_reasons,
    _v9_file_locations,
    _v10_nodes,
]
SCHEMA_VERSION = len(MIGRATIONS)
# Any constant of our own: two servers starting together on one PostgreSQL migrate in turn.
MIGRATION_LOCK = 0x7E1EB81D


async def migrate(engine: AsyncEngine) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION; returns the version it found."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        await conn.run_sync(lambda c: schema_version.create(c, checkfirst=True))
        found = (await conn.execute(sa.select(schema_version.c.version))).scalar()
        current = int(found or 0)
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema {current} is newer than this program ({SCHEMA_VERSION})"
            )
        if found is None:
            await conn.run_sync(metadata.create_all)  # a new database: today's schema at once
        else:
            for step in MIGRATIONS[current:]:
                await step(conn)
        if found is None:
            await conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        elif current != SCHEMA_VERSION:
            await conn.execute(schema_version.update().values(version=SCHEMA_VERSION))
    return current
