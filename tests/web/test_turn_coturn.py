"""The consoles' TURN credentials against a real coturn (Debian's, started on loopback): they
allocate; the same password under another booking's name, or after the expiry, is refused.

The coturn runs as deployed (tests/turn_server.py): started by deploy/coturn-entrypoint.sh and
with deploy/turnserver.conf's peer rules, so these tests also hold that the secret stays off its
command line, that relays reach public addresses and the server's own but no private, loopback
or link-local one, in IPv4 and IPv6, and that there are no TCP relays."""

from __future__ import annotations

import asyncio
import socket
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aioice import stun, turn
from turn_server import TurnServer, running_turn

from web.access.turn import rest_credentials


@pytest.fixture(scope="module")
def coturn() -> Iterator[TurnServer]:
    with running_turn("127.0.0.1", secret="coturn-test-secret") as server:
        yield server


@pytest.fixture(scope="module")
def coturn6() -> Iterator[TurnServer]:
    """A coturn on IPv6 loopback (skipped on a host without IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with running_turn("::1", secret="coturn-test-secret") as server:
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


def test_the_secret_reaches_coturn_in_a_private_file_not_on_its_command_line(
    coturn: TurnServer,
) -> None:
    proc = Path(f"/proc/{coturn.proc.pid}")
    if not proc.exists():
        pytest.skip("no /proc here")
    # Every user of the host may read another process's command line (`ps`).
    command = (proc / "cmdline").read_bytes().split(b"\0")
    assert command[0].endswith(b"turnserver"), command
    assert coturn.secret.encode() not in b" ".join(command), command
    assert coturn.secret.encode() not in (proc / "environ").read_bytes()
    # ... it is in the config coturn reads, which only coturn's user may read.
    assert str(coturn.config).encode() in command
    assert f"static-auth-secret={coturn.secret}\n" in coturn.config.read_text()
    assert stat.S_IMODE(coturn.config.stat().st_mode) == 0o600
    # And coturn took it: test_a_consoles_credentials_allocate_until_they_expire allocates.


async def permission(server: TurnServer, peers: list[str]) -> dict[str, int | None]:
    """Ask one allocation's permission for each peer: None when granted, else the error code
    (403 when the peer's address is forbidden)."""
    username, password = rest_credentials(
        server.secret, "b7.trend", datetime.now(UTC) + timedelta(hours=1)
    )
    address = (server.address, server.port)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_datagram_endpoint(
        lambda: turn.TurnClientUdpProtocol(
            address, username, password, lifetime=600, channel_refresh_time=500
        ),
        remote_addr=address,
    )
    out: dict[str, int | None] = {}
    try:
        async with asyncio.timeout(10):
            await client.connect()
            for peer in peers:
                request = stun.Message(
                    message_method=stun.Method.CREATE_PERMISSION,
                    message_class=stun.Class.REQUEST,
                )
                request.attributes["XOR-PEER-ADDRESS"] = (peer, 0)
                try:
                    await client.request_with_retry(request)
                    out[peer] = None
                except stun.TransactionFailed as exc:
                    out[peer] = exc.response.error_code
    finally:
        await client.delete()
    return out


FORBIDDEN = 403

# (peer, allowed?) for a coturn on 127.0.0.1 that may relay to its own server, 127.0.0.1.
IPV4_PEERS = [
    ("127.0.0.1", True),  # the server's own address (allowed-peer-ip)
    ("8.8.8.8", True),  # anywhere public
    ("127.0.0.2", False),  # the rest of loopback
    ("10.1.2.3", False),
    ("172.16.0.1", False),
    ("172.31.255.254", False),
    ("192.168.1.1", False),
    ("169.254.169.254", False),  # cloud metadata
    ("100.64.0.1", False),  # shared (CGNAT)
    ("0.1.2.3", False),
    ("0.0.0.0", False),
    ("198.18.0.1", False),  # benchmarking
    ("224.0.0.1", False),  # multicast
    ("255.255.255.255", False),
]


async def test_relays_reach_public_addresses_and_the_servers_own_only(
    coturn: TurnServer,
) -> None:
    got = await permission(coturn, [peer for peer, _ in IPV4_PEERS])
    want = {peer: None if allowed else FORBIDDEN for peer, allowed in IPV4_PEERS}
    assert got == want


IPV6_PEERS = [
    ("::1", True),  # the server's own address (allowed-peer-ip)
    ("2001:4860:4860::8888", True),  # anywhere public
    ("::", False),
    ("::0.0.0.2", False),  # IPv4-compatible
    ("fc00::1", False),  # unique local
    ("fd12:3456::1", False),
    ("fe80::1", False),  # link-local
    ("::ffff:10.0.0.1", False),  # IPv4-mapped private
    ("::ffff:127.0.0.1", False),
    ("64:ff9b::a00:1", False),  # 10.0.0.1 through NAT64
    ("ff02::1", False),  # multicast
]


async def test_ipv6_relays_reach_public_addresses_and_the_servers_own_only(
    coturn6: TurnServer,
) -> None:
    got = await permission(coturn6, [peer for peer, _ in IPV6_PEERS])
    want = {peer: None if allowed else FORBIDDEN for peer, allowed in IPV6_PEERS}
    assert got == want


async def test_tcp_relays_are_refused(coturn: TurnServer) -> None:
    """An allocation that would relay TCP (RFC 6062): coturn would be a TCP proxy."""
    username, password = rest_credentials(
        coturn.secret, "b7.trend", datetime.now(UTC) + timedelta(hours=1)
    )
    address = (coturn.address, coturn.port)
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(
        lambda: turn.TurnClientTcpProtocol(
            address, username, password, lifetime=600, channel_refresh_time=500
        ),
        *address,
    )
    request = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.REQUEST)
    request.attributes["REQUESTED-TRANSPORT"] = 6 << 24  # TCP (UDP is 17 << 24)
    try:
        async with asyncio.timeout(10):
            with pytest.raises(stun.TransactionFailed) as failed:
                await client.request_with_retry(request)
    finally:
        transport.close()
    assert failed.value.response.error_code == 442  # Unsupported Transport Protocol
