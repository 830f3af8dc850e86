"""Fixtures for the web tests: a guard against server errors, an app on a movable clock."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from helpers import bearer
from live_studios import studios as studios  # the fixture, for every web test
from webtools import ClockedApp, MovableClock

from web.access.security import new_token, token_digest
from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, BOOKINGS
from web.settings import Settings


@pytest.fixture(autouse=True)
def no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which the app logged an unhandled error (it answered 500).

    The app's warnings are captured too, so that a failing test shows them (a recording whose
    archive entry waits, a database that did not answer)."""
    caplog.set_level(logging.WARNING, logger="telebridge")
    yield
    crashes = [
        r.getMessage()
        for when in ("setup", "call")
        for r in caplog.get_records(when)
        if r.name == "telebridge.web" and r.levelno >= logging.ERROR
    ]
    assert not crashes, f"the app crashed (500): {crashes}"


@pytest.fixture
def headers(tokens: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers per role (operator bound to Trend), and none for anonymous."""
    out = {role: bearer(token) for role, token in tokens.items()}
    out["anonymous"] = {}
    return out


# A Tuesday morning in winter; no zone involved switches its clocks near it.
FIXED_NOW = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
async def clocked(
    settings: Settings,
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
) -> ClockedApp:
    """The whole app with the demo seeded, on a clock fixed at FIXED_NOW until moved."""
    clock = MovableClock(FIXED_NOW)
    app = await make_app(settings, clock=clock)
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], clock())
    headers: dict[str, dict[str, str]] = {}
    for role in ("admin", "producer", "operator", "viewer"):
        token = new_token()
        studio = "trend" if role == "operator" else None
        await app[ACCOUNTS].add_token(
            token_digest(token), f"{role}-bot", role, clock(), studio_id=studio
        )
        headers[role] = bearer(token)
    return ClockedApp(app, await aiohttp_client(app), clock, headers)
