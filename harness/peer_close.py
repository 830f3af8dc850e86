"""Closing an aiortc peer of a test or a bench without letting it hold the run up."""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import RTCPeerConnection

# aiortc's close can wait for ever on a transport that never ends (aiortc issue #283); the
# server bounds its own closes (bridge/session.py), and the test's peers are given as long.
PEER_CLOSE_TIMEOUT_S = 10.0


async def close_peer(pc: RTCPeerConnection) -> None:
    """Close `pc`, giving up after PEER_CLOSE_TIMEOUT_S (its sockets go with the process)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(pc.close(), PEER_CLOSE_TIMEOUT_S)
