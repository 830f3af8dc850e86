"""The database as the rest of the code reaches it: the engine for SQLite or PostgreSQL (its
URL, timeouts and pragmas), and the tables (schedules/tables.py) and `migrate`
(schedules/migrations.py), re-exported so that callers write `db.bookings`, `db.migrate`."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from schedules.migrations import SCHEMA_VERSION, migrate
from schedules.tables import (
    api_token_uses,
    api_tokens,
    audit_events,
    booking_cues,
    booking_graphics,
    booking_lower_thirds,
    booking_messages,
    booking_outputs,
    booking_studios,
    bookings,
    graphics_logo,
    nodes,
    recording_files,
    recordings,
    room_placements,
    schema_version,
    sessions,
    studios,
    users,
)

# The engine's names, and the tables and `migrate` from the modules below: listed, because
# only listed names count as exported under mypy --strict.
__all__ = [
    "CONNECT_TIMEOUT",
    "LOCK_TIMEOUT",
    "SCHEMA_VERSION",
    "STATEMENT_TIMEOUT",
    "api_token_uses",
    "api_tokens",
    "audit_events",
    "booking_cues",
    "booking_graphics",
    "booking_lower_thirds",
    "booking_messages",
    "booking_outputs",
    "booking_studios",
    "bookings",
    "graphics_logo",
    "make_engine",
    "migrate",
    "nodes",
    "ping",
    "postgres_url",
    "recording_files",
    "recordings",
    "room_placements",
    "safe_url",
    "schema_version",
    "sessions",
    "sqlite_url",
    "studios",
    "users",
]


def sqlite_url(path: str) -> str:
    """The async SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


# Every wait on the database has a bound (seconds): opening a connection, waiting for a studio's
# lock behind another server's booking, and any one statement.
CONNECT_TIMEOUT = 5
LOCK_TIMEOUT = 10
STATEMENT_TIMEOUT = 30


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
