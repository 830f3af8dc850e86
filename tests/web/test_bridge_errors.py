"""Every error the bridge raises on purpose is a 4xx wherever it escapes (issue 12), not only
from the signalling routes: the error middleware maps each kind to its status and code.

A real room (one that composes no program, so its production calls refuse) behind the app's
real error middleware; the handlers do nothing but call the room.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from webtools import assert_error

from bridge.errors import BridgeError
from bridge.room import Room
from bridge.spec import RoomSpec, StudioSpec
from web.errors import BRIDGE_ERRORS, error_middleware

Client = TestClient[Any, Any]


def kinds(base: type[BridgeError] = BridgeError) -> set[type[BridgeError]]:
    """Every subclass of `base`, however deep."""
    out: set[type[BridgeError]] = set()
    for sub in base.__subclasses__():
        out |= {sub, *kinds(sub)}
    return out


def test_every_kind_of_bridge_error_has_its_own_status() -> None:
    mapped = {kind for kind, _status, _code in BRIDGE_ERRORS}
    assert kinds() <= mapped, f"no status for {kinds() - mapped}: add it to web/errors.py"
    assert all(400 <= status < 500 for _kind, status, _code in BRIDGE_ERRORS)


async def no_page(_request: web.Request, _status: int, _message: str) -> web.StreamResponse:
    raise AssertionError("every route here is an API route: JSON errors, never a page")


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    now = datetime.now(UTC)
    spec = RoomSpec(
        booking_id="b1",
        title="Errors",
        studios=(StudioSpec("trend", "Trend"), StudioSpec("dha", "DHA")),
        opens_at=now,
        on_air_at=now,
        off_air_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=2),
        program=False,
    )
    made = Room(spec)
    yield made
    await made.close()


@pytest.fixture
async def client(
    room: Room, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    async def connect(request: web.Request) -> web.Response:
        await room.connect(request.match_info["studio"], await request.text())
        return web.Response(status=200)

    async def program(_request: web.Request) -> web.Response:
        room.switch_program("grid")
        return web.Response(status=200)

    async def close(_request: web.Request) -> web.Response:
        await room.close()
        return web.Response(status=204)

    app = web.Application(middlewares=[error_middleware(no_page)])
    app.router.add_post("/api/room/{studio}/offer", connect)
    app.router.add_post("/api/room/program", program)
    app.router.add_post("/api/room/close", close)
    return await aiohttp_client(app)


async def test_bridge_errors_from_any_route_are_their_4xx(client: Client) -> None:
    await assert_error(await client.post("/api/room/trend/offer", data="hello"), 400, "bad_offer")
    await assert_error(await client.post("/api/room/nobody/offer", data="v=0"), 404, "not_found")
    # A room that composes no program cannot switch it.
    await assert_error(await client.post("/api/room/program"), 409, "room_closed")
    assert (await client.post("/api/room/close")).status == 204
    await assert_error(await client.post("/api/room/trend/offer", data="v=0"), 409, "room_closed")
