"""Shared fixtures for the booking domain: a real database (SQLite and PostgreSQL), a fixed clock,
partner studios."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from databases import copy_of, make_template, run_aside
from pg_server import PgServer
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import db
from schedules.model import Booking, Studio
from schedules.service import BookingService

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# The program layouts a booking may ask for: bridge declares them and web hands them to the
# service; the domain takes whatever list it is given.
LAYOUTS = ("auto", "side-by-side", "grid", "solo", "pip")

PARTNERS: list[dict[str, str]] = [
    {
        "id": "trend",
        "name": "Trend",
        "organisation": "Trend News Agency",
        "city": "Baku",
        "timezone": "Asia/Baku",
    },
    {
        "id": "dha",
        "name": "DHA",
        "organisation": "Demirören Haber Ajansı",
        "city": "Istanbul",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "albayrak",
        "name": "Albayrak Media",
        "organisation": "Albayrak Media",
        "city": "Istanbul",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "qazcontent",
        "name": "Qazcontent",
        "organisation": "Qazcontent",
        "city": "Astana",
        "timezone": "Asia/Almaty",
    },
    {
        "id": "kabar",
        "name": "Kabar",
        "organisation": "Kabar",
        "city": "Bishkek",
        "timezone": "Asia/Bishkek",
    },
    {
        "id": "uza",
        "name": "UzA",
        "organisation": "UzA",
        "city": "Tashkent",
        "timezone": "Asia/Tashkent",
    },
    {
        "id": "azertac",
        "name": "AZERTAC",
        "organisation": "AZERTAC",
        "city": "Baku",
        "timezone": "Asia/Baku",
    },
    {
        "id": "aa",
        "name": "Anadolu Ajansı",
        "organisation": "Anadolu Ajansı",
        "city": "Ankara",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "ansa",
        "name": "ANSA",
        "organisation": "ANSA",
        "city": "Rome",
        "timezone": "Europe/Rome",
    },
]


class FixedClock:
    """A clock that stands still unless a test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def booking_body(**overrides: Any) -> dict[str, Any]:
    """A valid booking body (trend + dha, 2026-12-01 14:00-15:00 UTC) with `overrides`."""
    body: dict[str, Any] = {
        "title": "Caspian morning",
        "studios": ["trend", "dha"],
        "starts_at": "2026-12-01T14:00:00Z",
        "ends_at": "2026-12-01T15:00:00Z",
    }
    body.update(overrides)
    return body


@pytest.fixture
def body() -> Callable[..., dict[str, Any]]:
    """`booking_body` for tests (conftest is not importable as a module)."""
    return booking_body


@pytest.fixture
def layouts() -> tuple[str, ...]:
    """The layouts the service is given."""
    return LAYOUTS


@pytest.fixture
def partners() -> list[dict[str, str]]:
    """The partner studios' fields, as `add_studio` takes them."""
    return [dict(p) for p in PARTNERS]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def seed(engine: AsyncEngine) -> None:
    """Migrate an empty database and add the partner studios through the service."""
    await db.migrate(engine)
    service = BookingService(engine, clock=FixedClock(), layouts=LAYOUTS)
    for partner in PARTNERS:
        await service.add_studio(partner)


async def _build_template(path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(str(path)))
    try:
        await seed(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded SQLite file, built once and copied for each test.

    Migrating and seeding a file costs about 35 ms, a copy about 5; over a few hundred tests
    that is the difference between a slow and a quick suite. Its own thread gives it its own
    event loop, so it never touches the loop pytest-asyncio runs the tests on.
    """
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    run_aside(lambda: _build_template(path))
    return path


@pytest.fixture(scope="session")
def pg_seeded(pg_cluster: PgServer) -> PgServer:
    """The session's PostgreSQL server with a `seeded` template (schema and partners)."""
    make_template(pg_cluster, "seeded", seed)
    return pg_cluster


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema) on this test's backend."""
    if backend == "sqlite":
        yield db.sqlite_url(str(tmp_path / "empty.db"))
        return
    with copy_of(request.getfixturevalue("pg_cluster"), "template0") as url:
        yield url


@pytest.fixture
def engine_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own database with the partner studios, on its backend."""
    if backend == "sqlite":
        path = tmp_path / "t.db"
        shutil.copyfile(request.getfixturevalue("seeded_db"), path)
        yield db.sqlite_url(str(path))
        return
    with copy_of(request.getfixturevalue("pg_seeded"), "seeded") as url:
        yield url


@pytest.fixture
async def engine(engine_url: str) -> AsyncIterator[AsyncEngine]:
    """A real database of this test's own (SQLite file or PostgreSQL), with the partners."""
    eng = db.make_engine(engine_url)
    if eng.dialect.name == "sqlite":
        # A throwaway file needs no durability, and an fsync per commit would dominate the run.
        @sa.event.listens_for(eng.sync_engine, "connect")
        def _no_fsync(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.close()

    try:
        assert await db.migrate(eng) == db.SCHEMA_VERSION  # already current: nothing to do
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def service(engine: AsyncEngine, clock: FixedClock) -> BookingService:
    return BookingService(engine, clock=clock, layouts=LAYOUTS)


@pytest.fixture
async def studios(service: BookingService) -> dict[str, Studio]:
    return await service.studios_by_id()


@pytest.fixture
def book(service: BookingService) -> Callable[..., Awaitable[Booking]]:
    """Create one booking from `booking_body(**overrides)` and return it."""

    async def _book(actor: str = "producer", **overrides: Any) -> Booking:
        result = await service.create(booking_body(**overrides), actor)
        assert len(result.created) == 1
        return result.created[0]

    return _book


@pytest.fixture
def counts(engine: AsyncEngine) -> Callable[[], Awaitable[tuple[int, int, int]]]:
    """(bookings, booking studios, audit events) rows in the database."""

    async def _counts() -> tuple[int, int, int]:
        async with engine.connect() as conn:
            out = []
            for table in (db.bookings, db.booking_studios, db.audit_events):
                n = (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar()
                out.append(int(n or 0))
        return out[0], out[1], out[2]

    return _counts
