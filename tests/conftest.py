"""Shared fixtures: a real app on a real database, with the demo partners.

Every test that stores anything runs twice: on SQLite in tmp_path and on a real PostgreSQL
server that the session starts on loopback (tests/pg_server.py).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from databases import BACKENDS, copy_of, session_cluster
from helpers import in_test_network
from pg_server import PgServer
from shared_pool import POOLED, SharedPool, claims_directory, pooled_last

from schedules.timeutil import utc_now
from web.access.security import new_token, token_digest
from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, BOOKINGS
from web.settings import Settings

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
ROLES = ("admin", "producer", "operator", "viewer")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session (skipped without its binaries, not in CI)."""
    with session_cluster() as pg:
        yield pg


@pytest.fixture
def shared_database(pg_cluster: PgServer) -> Iterator[str]:
    """A fresh migrated PostgreSQL database that several server processes share."""
    with copy_of(pg_cluster, "migrated") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database this run of the test stores into."""
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """Empty for SQLite in the data dir, else a fresh PostgreSQL database with today's schema."""
    if backend == "sqlite":
        yield ""
        return
    pg: PgServer = request.getfixturevalue("pg_cluster")
    with copy_of(pg, "migrated") as url:
        yield url


# scrypt at 2^10, not the default 2^17 (nor the 2^14 a deployment may set at least): each app
# seeds a dozen demo logins and the suite makes over a thousand apps, at 80 ms a hash at 2^14
# on this machine that is minutes (tests/web/test_auth.py checks the default work factor on an
# app of its own). Below what the setting accepts: set past its check.
TEST_PASSWORD_COST = 10


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test: its own data dir and database, and a fixed signing key."""
    loaded = Settings.load(
        {}, data_dir=tmp_path / "data", secret="test-secret", database_url=database_url
    )
    return replace(loaded, password_cost=TEST_PASSWORD_COST)


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    """The whole app with the demo studios and logins seeded."""
    application = await make_app(settings)
    await seed_demo(application[BOOKINGS], application[ACCOUNTS], utc_now())
    return application


@pytest.fixture
async def client(
    app: web.Application,
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
) -> TestClient[Any, Any]:
    """An in-process HTTP client of the app."""
    return await aiohttp_client(app)


@pytest.fixture
async def tokens(app: web.Application) -> dict[str, str]:
    """One bearer token per role; the operator's is bound to the Trend studio."""
    out: dict[str, str] = {}
    for role in ROLES:
        token = new_token()
        studio = "trend" if role == "operator" else None
        await app[ACCOUNTS].add_token(
            token_digest(token), f"{role}-bot", role, datetime.now(UTC), studio_id=studio
        )
        out[role] = token
    return out


@pytest.fixture
def test_network() -> None:
    """Skip (fail in CI) unless WebRTC traffic stays inside the test network namespace."""
    if not in_test_network():
        if os.environ.get("CI"):
            pytest.fail("WebRTC tests must run in the test network namespace (.ci/netns)")
        pytest.skip("WebRTC tests need the test network: run them under .ci/netns as root")


# Bridge tests that run nothing in real time (numbers, geometry, mixing, remuxing files): they
# go with the storage and page tests.
OFFLINE_BRIDGE_TESTS = frozenset(
    {
        "test_rewrite.py",
        "test_program_layout.py",
        "test_mixer.py",
        "test_finalize_crash.py",
        "test_program_graphics.py",
        "test_recording_parts.py",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    directory = claims_directory()
    if directory is not None:
        config.pluginmanager.register(SharedPool(directory), "telebridge-shared-pool")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `media` every test that moves real media or runs Chromium: the bridge's, the
    browsers' and the WebRTC ones. .ci/run runs them in one process, one at a time, beside a
    second process with the storage, HTTP and page tests (`-m "not media"`) at a lower
    priority: as they would run alone on a machine with one core busy, the load they are
    written to pass under. (Chromium at the lower priority beside them starves: even the pages
    that connect nothing stay with them.) The media tests that drive no Chromium are also
    `pooled`: the page process takes them too once its own are done (tests/shared_pool.py)."""
    for item in items:
        path = item.path.as_posix()
        browser = "/tests/browser/" in path
        if item.path.name in OFFLINE_BRIDGE_TESTS:
            continue
        if (
            browser
            or "/tests/bridge/" in path
            or "test_network" in getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.media)
            if not browser:
                item.add_marker(getattr(pytest.mark, POOLED))
    if claims_directory() is not None:
        pooled_last(items)


SERVER_LOG_LINES = 40


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that ran servers (harness/server.py) reports what they warned of: on a
    loaded machine the server's log (a blocked event loop, a refused packet) says why."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if not report.failed or call.when != "call" or not isinstance(tmp_path, Path):
        return
    for log_path in sorted(tmp_path.rglob("server.log")):
        lines = log_path.read_text(errors="replace").splitlines()
        said = [line for line in lines if "WARNING" in line or "ERROR" in line or "Error" in line]
        if said:
            report.sections.append(
                (f"{log_path.relative_to(tmp_path)} warned", "\n".join(said[-SERVER_LOG_LINES:]))
            )
