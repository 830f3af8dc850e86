"""The consoles' TURN credentials against a real coturn (Debian's, started on loopback): they
allocate; the same password under another booking's name, or after the expiry, is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aioice import stun, turn
from turn_server import TurnServer, running_turn

from web.access.turn import rest_credentials


@pytest.fixture(scope="module")
def coturn() -> Iterator[TurnServer]:
    with running_turn("127.0.0.1", secret="coturn-test-secret") as server:
        yield server


async def allocate(server: TurnServer, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation with these credentials (deleted again); raises what aioice raises."""
    async with asyncio.timeout(5):
        transport, _ = await turn.create_turn_endpoint(
            asyncio.DatagramProtocol,
            server_addr=(server.address, server.port),
            username=username,
            password=password,
        )
    relayed: tuple[str, int] = transport.get_extra_info("sockname")
    transport.close()
    await asyncio.sleep(0.05)  # let the deletion go out
    return relayed


async def refused(server: TurnServer, username: str, password: str) -> int | None:
    with pytest.raises(stun.TransactionFailed) as failed:
        await allocate(server, username, password)
    return failed.value.response.error_code


async def test_a_consoles_credentials_allocate_until_they_expire(coturn: TurnServer) -> None:
    ends = datetime.now(UTC) + timedelta(minutes=70)
    username, password = rest_credentials(coturn.secret, "b7.trend", ends)
    before = coturn.allocations()
    relayed = await allocate(coturn, username, password)
    assert relayed[0] == coturn.address
    assert coturn.allocations() == before + 1

    # Another booking's studio with this password: the HMAC no longer matches.
    stamp = username.split(":", 1)[0]
    assert await refused(coturn, f"{stamp}:b8.trend", password) == 401
    # Another studio of the same booking, likewise.
    assert await refused(coturn, f"{stamp}:b7.dha", password) == 401
    # A later expiry written into the name (to stretch the credential): refused.
    assert await refused(coturn, f"{int(stamp) + 3600}:b7.trend", password) == 401


async def test_credentials_past_their_expiry_are_refused(coturn: TurnServer) -> None:
    ended = datetime.now(UTC) - timedelta(seconds=5)  # the booking ended plus its grace
    username, password = rest_credentials(coturn.secret, "b7.trend", ended)
    assert await refused(coturn, username, password) == 401
    # The same booking and studio, still valid: fine.
    await allocate(coturn, *rest_credentials(coturn.secret, "b7.trend", ended + timedelta(hours=1)))


async def test_credentials_made_with_another_secret_are_refused(coturn: TurnServer) -> None:
    username, password = rest_credentials(
        "not-the-secret", "b7.trend", datetime.now(UTC) + timedelta(hours=1)
    )
    assert await refused(coturn, username, password) == 401
