"""One database per test on either backend: a SQLite file, or a PostgreSQL database.

Each PostgreSQL test database is a copy of a template built once per session (CREATE DATABASE
... TEMPLATE takes about 40 ms against about 300 ms for migrating a new one), and is dropped
afterwards, connections and all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pg_server import PgServer, pg_bindir, running_pg
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import db

BACKENDS = ("sqlite", "postgresql")
_numbers = itertools.count(1)


def run_aside(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine on its own event loop in its own thread (never the test's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, make()).result()  # type: ignore[arg-type]


def require_postgres() -> None:
    """Skip without PostgreSQL's binaries on a laptop; fail in CI, which installs them."""
    if pg_bindir() is None:
        message = "PostgreSQL is not installed (Debian's postgresql package)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)


@contextlib.contextmanager
def session_cluster() -> Iterator[PgServer]:
    """The session's cluster, with the `migrated` template (today's schema, no rows)."""
    require_postgres()
    with running_pg() as pg:
        make_template(pg, "migrated", db.migrate)
        yield pg


def make_template(pg: PgServer, name: str, fill: Callable[[AsyncEngine], Awaitable[Any]]) -> None:
    """Create database `name` and fill it through an engine, once."""
    pg.sql(f"CREATE DATABASE {name}")

    async def run() -> None:
        engine = db.make_engine(pg.url(name))
        try:
            await fill(engine)
        finally:
            await engine.dispose()

    run_aside(run)


@contextlib.contextmanager
def copy_of(pg: PgServer, template: str) -> Iterator[str]:
    """A new database copied from `template`; yields its URL and drops it afterwards."""
    name = f"t{next(_numbers)}_{os.getpid()}"
    pg.sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield pg.url(name)
    finally:
        # FORCE: an app a test never ran (so never disposed) may still hold connections.
        with contextlib.suppress(Exception):
            pg.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
