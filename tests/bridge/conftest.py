"""Fixtures for the bridge tests: rooms that are closed after each test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from bridge_peers import has_host_address, spec_for

from bridge.room import Room


@pytest.fixture(autouse=True)
def _need_host_address() -> None:
    if not has_host_address():
        if os.environ.get("CI"):
            pytest.fail("no non-loopback address: CI must run the tests under .ci/netns")
        pytest.skip("no non-loopback address: run under .ci/netns (as .ci/run does)")


@pytest.fixture
async def room_factory() -> AsyncIterator[object]:
    rooms: list[Room] = []

    def make(*studios: str, events: list[object] | None = None) -> Room:
        room = Room(spec_for(*studios), on_event=(events.append if events is not None else None))
        rooms.append(room)
        return room

    yield make
    for room in rooms:
        await room.close()
