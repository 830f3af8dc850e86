"""The schema (SQLAlchemy Core), its migrations, and the engine for SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone; we store UTC and say so)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

studios = sa.Table(
    "studios",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("series_id", sa.String(32), nullable=True, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    # Stored so that the conflict query is one indexed range test.
    sa.Column("busy_from", UTCDateTime, nullable=False, index=True),
    sa.Column("busy_until", UTCDateTime, nullable=False, index=True),
    sa.Column("setup_minutes", sa.Integer, nullable=False),
    sa.Column("teardown_minutes", sa.Integer, nullable=False),
    sa.Column("record", sa.Boolean, nullable=False),
    sa.Column("layout", sa.String(32), nullable=False),
    sa.Column("quality", sa.String(16), nullable=False, server_default="720p30"),
    sa.Column("stream", sa.String(16), nullable=False, server_default="private"),
    # The IANA zone the producer entered the times in ("" before schema 8: shown in the
    # viewer's zone), so that the form shows and edits them as they were typed.
    sa.Column("zone", sa.String(64), nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

booking_studios = sa.Table(
    "booking_studios",
    metadata,
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("studio_id", sa.String(64), sa.ForeignKey("studios.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("answer", sa.String(16), nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=True),
    # Why the studio declined, in its operator's words ("" when it has not declined).
    sa.Column("decline_reason", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_booking_studios_studio", "studio_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("booking_id", sa.String(32), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("studio_id", sa.String(64), sa.ForeignKey("studios.id"), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    # The IANA zone pages show times in for this login ("" = the default: an operator's
    # studio's zone, otherwise the site's setting).
    sa.Column("time_zone", sa.String(64), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("studio_id", sa.String(64), sa.ForeignKey("studios.id"), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    # The token's first characters, to name it in lists; too few to use it (see the digest).
    sa.Column("prefix", sa.String(16), nullable=True),
)

# When each API token was last used, to the minute. Apart from the token's own row, which is
# written when the token is made and revoked: its uses are frequent small writes.
api_token_uses = sa.Table(
    "api_token_uses",
    metadata,
    sa.Column(
        "token_id",
        sa.Integer,
        sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("last_used_at", UTCDateTime, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("booking_id", sa.String(32), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("studios", sa.JSON, nullable=False),  # the studio ids that took part
    sa.Column("status", sa.String(16), nullable=False),  # recording | finished | failed
    sa.Column("directory", sa.String(300), nullable=False),  # relative to the recordings root
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("parts", sa.Integer, nullable=False),
)

recording_files = sa.Table(
    "recording_files",
    metadata,
    sa.Column(
        "recording_id",
        sa.String(32),
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(100), primary_key=True),  # file name inside the directory
    sa.Column("kind", sa.String(16), nullable=False),  # program | iso
    sa.Column("studio_id", sa.String(64), nullable=True),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
)

booking_outputs = sa.Table(
    "booking_outputs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # rtmp | srt | hls
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("url", sa.String(1000), nullable=False),
    # Secrets: stored to be used, never shown again (pages, API, logs and audit log mask them).
    sa.Column("stream_key", sa.String(512), nullable=True),
    sa.Column("passphrase", sa.String(79), nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The producer's direction of a show, kept with the booking (schedules/direction/).
booking_cues = sa.Table(
    "booking_cues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("studio_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("text", sa.String(200), nullable=False),
    sa.Column("sent_by", sa.String(200), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime, nullable=True),
    sa.Column("acknowledged_by", sa.String(200), nullable=True),
)

booking_messages = sa.Table(
    "booking_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("from_studio", sa.String(64), nullable=True),  # None: production
    sa.Column("to_studio", sa.String(64), nullable=True),  # None: everyone in the booking
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
)

# The program's graphics (schedules/graphics/): a booking's lower-third texts, per studio and
# language, the first stored first (its language is the one shown unless the producer picks
# another) ...
booking_lower_thirds = sa.Table(
    "booking_lower_thirds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("studio_id", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("booking_id", "studio_id", "language", name="uq_booking_lower_thirds"),
)

# ... what the producer has put on screen (kept, so that a room opened later, or again after a
# restart, shows it) ...
booking_graphics = sa.Table(
    "booking_graphics",
    metadata,
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("language", sa.String(8), nullable=True),  # None: the first stored
    sa.Column("shown", sa.JSON, nullable=False),  # the studios whose lower third is on
    sa.Column("clock_zone", sa.String(64), nullable=True),  # None: no clock
    sa.Column("clock_label", sa.String(40), nullable=False),
    sa.Column("logo_visible", sa.Boolean, nullable=False),
    sa.Column("logo_corner", sa.String(16), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# ... and the site's logo, one picture. A row rather than a file in the data directory: every
# server on one database (the design's several nodes) shows the same logo, a backup of the
# database holds it, and at most 1 MB it costs a database nothing.
graphics_logo = sa.Table(
    "graphics_logo",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("png", sa.LargeBinary, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("uploaded_by", sa.String(200), nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
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
]
SCHEMA_VERSION = len(MIGRATIONS)


def sqlite_url(path: str) -> str:
    """The async SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


# Every wait on the database has a bound (seconds): opening a connection, waiting for a studio's
# lock behind another server's booking, and any one statement.
CONNECT_TIMEOUT = 5
LOCK_TIMEOUT = 10
STATEMENT_TIMEOUT = 30
# Any constant of our own: two servers starting together on one PostgreSQL migrate in turn.
MIGRATION_LOCK = 0x7E1EB81D


def postgres_url(url: str) -> str:
    """`url` with the asyncpg driver when it names PostgreSQL without a driver."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> AsyncEngine:
    """An async engine for `url`; PostgreSQL URLs are given the asyncpg driver."""
    url = postgres_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 15}
    else:
        kwargs["pool_pre_ping"] = True  # a server restart leaves dead connections in the pool
        kwargs["pool_timeout"] = CONNECT_TIMEOUT
        # READ COMMITTED whatever the server's default: the conflict check runs after the
        # studios' locks are granted and must see every booking committed before that
        # (under REPEATABLE READ it would read the snapshot from before the wait).
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["connect_args"] = {
            "timeout": CONNECT_TIMEOUT,
            "server_settings": {
                "lock_timeout": f"{LOCK_TIMEOUT}s",
                "statement_timeout": f"{STATEMENT_TIMEOUT}s",
                "application_name": "telebridge",
            },
        }
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

    return engine


async def ping(engine: AsyncEngine, within_s: float = CONNECT_TIMEOUT) -> None:
    """Raise unless the database answers a trivial query within `within_s` seconds."""
    async with asyncio.timeout(within_s), engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


def safe_url(url: str) -> str:
    """The URL without its password, for logs and `telebridge check`."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparsable database URL)"


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
