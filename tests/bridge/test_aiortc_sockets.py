"""aiortc's sockets, hooked: read in bursts, RTP told from STUN, sent direct."""

from __future__ import annotations

import asyncio
import os
import socket

import aioice
import pytest
from aioice.ice import StunProtocol

import bridge.session  # noqa: F401  # installs the hooks, as the bridge does
from bridge.aiortc_hooks.sockets import DATAGRAM_BYTES, DATAGRAMS_PER_WAKEUP


class Counting(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received += 1


async def test_one_wake_up_reads_what_waits_in_the_socket_not_one_datagram() -> None:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Counting, local_addr=("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        address = transport.get_extra_info("sockname")
        # A burst as a key frame makes it: more datagrams than one wake-up reads.
        for _ in range(DATAGRAMS_PER_WAKEUP + 10):
            sender.sendto(b"x" * 1200, address)
        # The loop has not run since: this is one wake-up of the socket, called as the
        # selector would. asyncio alone reads one datagram here.
        transport._read_ready()  # type: ignore[attr-defined]
        assert protocol.received == DATAGRAMS_PER_WAKEUP
        transport._read_ready()  # type: ignore[attr-defined]
        assert protocol.received == DATAGRAMS_PER_WAKEUP + 10
        transport._read_ready()  # nothing left: returns at once  # type: ignore[attr-defined]
        assert protocol.received == DATAGRAMS_PER_WAKEUP + 10
    finally:
        sender.close()
        transport.close()


async def test_the_largest_udp_datagram_is_read_whole() -> None:
    # The read asks for DATAGRAM_BYTES, not asyncio's 256 KiB (allocated for every datagram):
    # still enough for anything UDP carries.
    sizes: list[int] = []

    class Sizes(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            sizes.append(len(data))

    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Sizes, local_addr=("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        largest = 65_507  # 65,535 less the IPv4 and UDP headers
        assert largest <= DATAGRAM_BYTES
        sender.sendto(os.urandom(largest), transport.get_extra_info("sockname"))
        sender.sendto(b"next", transport.get_extra_info("sockname"))
        transport._read_ready()  # type: ignore[attr-defined]
        assert sizes == [largest, 4]
    finally:
        sender.close()
        transport.close()


async def _ice_socket() -> tuple[aioice.Connection, asyncio.DatagramTransport, tuple[str, int]]:
    """An aioice connection's host-candidate socket on loopback, and its address."""
    connection = aioice.Connection(ice_controlling=True)
    protocol = StunProtocol(connection)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: protocol, local_addr=("127.0.0.1", 0)
    )
    host, port = transport.get_extra_info("sockname")
    protocol.local_candidate = aioice.Candidate(
        foundation="1", component=1, transport="udp", priority=1, host=host, port=port, type="host"
    )
    return connection, transport, (host, port)


async def test_rtp_reaches_the_ice_connection_even_where_it_reads_as_stun() -> None:
    # aioice tries its STUN parser on every datagram. A PCMA packet (payload type 8) whose
    # sequence number happens to equal its length less 20 parses as a STUN CreatePermission
    # request, and was lost; the first byte (RFC 7983) says what it is, and the loop goes by it.
    connection, transport, (host, port) = await _ice_socket()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        payload = bytes(160)
        size = 12 + len(payload)
        packet = bytes([0x80, 8]) + (size - 20).to_bytes(2, "big") + bytes(8) + payload
        sender.sendto(packet, (host, port))
        rtcp = bytes([0x80, 200, 0, 6]) + bytes(24)  # a sender report's size and type
        sender.sendto(rtcp, (host, port))
        # (Loopback delivers at once, and the loop has not run since: called as the selector
        # would.)
        transport._read_ready()  # type: ignore[attr-defined]
        queue = connection._queue
        assert queue.get_nowait() == (packet, 1)
        assert queue.get_nowait() == (rtcp, 1)
    finally:
        sender.close()
        transport.close()
        await connection.close()


async def test_a_datagram_that_breaks_its_handling_costs_itself_not_the_burst(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A STUN binding request whose PRIORITY attribute holds 2 bytes, not 4: aioice's parser
    # raises struct.error, which it does not catch (seen from Janus's ICE). The RTP packet
    # read in the same wake-up after it still reaches the ICE connection.
    connection, transport, (host, port) = await _ice_socket()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        attribute = (0x0024).to_bytes(2, "big") + (2).to_bytes(2, "big") + b"\x00\x01\x00\x00"
        broken = (
            (0x0001).to_bytes(2, "big")  # binding request
            + len(attribute).to_bytes(2, "big")
            + (0x2112A442).to_bytes(4, "big")  # magic cookie
            + os.urandom(12)  # transaction id
            + attribute
        )
        rtp = bytes([0x80, 96, 0, 1]) + bytes(8) + b"payload"
        sender.sendto(broken, (host, port))
        sender.sendto(rtp, (host, port))
        with caplog.at_level("WARNING", logger="telebridge.bridge.sockets"):
            transport._read_ready()  # type: ignore[attr-defined]
        assert connection._queue.get_nowait() == (rtp, 1)
        assert "could not be handled" in caplog.text
    finally:
        sender.close()
        transport.close()
        await connection.close()


async def test_a_datagram_goes_straight_to_the_socket_unless_others_wait_before_it() -> None:
    from bridge.aiortc_hooks.sockets import send_datagram

    loop = asyncio.get_running_loop()
    transport, _protocol = await loop.create_datagram_endpoint(
        Counting, local_addr=("127.0.0.1", 0)
    )
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    try:
        address = receiver.getsockname()
        send_datagram(transport, b"first", address)
        assert receiver.recv(100) == b"first"
        # Something waits in the transport's buffer (its socket was full): the next datagram
        # goes behind it, not past it.
        waiting = transport._buffer  # type: ignore[attr-defined]
        waiting.append((b"waiting", address))
        send_datagram(transport, b"second", address)
        assert [d for d, _a in waiting] == [b"waiting", b"second"]
        waiting.clear()
    finally:
        receiver.close()
        transport.close()
