"""Fixtures for the bridge tests: rooms that are closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bridge_peers import spec_for

from bridge.room import Room


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
