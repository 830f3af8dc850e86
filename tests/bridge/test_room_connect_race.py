"""Two offers of one studio at once (a console reloading while its old page still offers, an
encoder retrying): the room ends with one connection, and the studio's feeds in the room, its
program sound and its recorder, are that connection's."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from bridge_peers import StudioClient, spec_for

from bridge.room import Room
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair

SLOW_CLOSE_S = 1.0  # a first connection whose close takes this long (a peer gone silent)


async def test_an_offer_while_the_previous_replacement_waits_leaves_the_newest_wired() -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    first, second, third = (StudioClient("baku", 1, shade=40) for _ in range(3))
    try:
        await first.join(room)
        oldest = room.sessions["baku"]
        close = oldest.close

        async def slow_close() -> None:
            await asyncio.sleep(SLOW_CLOSE_S)
            await close()

        oldest.close = slow_close  # type: ignore[method-assign]
        # The second replaces the first and waits for its close; the third comes meanwhile.
        joining = asyncio.ensure_future(second.join(room))
        await eventually(lambda: room.sessions["baku"] is not oldest, timeout=10, interval=0)
        await third.join(room)
        await joining
        session = room.sessions["baku"]
        for kind in ("video", "audio"):
            assert room.feeds[("baku", kind)] is session.feeds[kind], kind
        # The program hears the studio through its live feed, once.
        assert len(room.feeds[("baku", "audio")].listeners) == 1
    finally:
        for c in (first, second, third):
            await c.close()
        await room.close()
