"""The console puts the program away (or takes it back): the room stops composing a picture
nobody uses; the state poll says what the bridge has; bad bodies and wrong links are refused
and change nothing. (The media side, with real consoles: tests/bridge/test_program_demand.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from live_studios import Link, book
from webtools import ClockedApp, assert_error

from web.services import LIVE


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


async def _state(c: ClockedApp, link: Link) -> dict[str, Any]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    assert resp.status == 200, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def test_a_console_puts_the_program_away_and_takes_it_back(clocked: ClockedApp) -> None:
    c = clocked
    links = await book(c, c.clock() + timedelta(minutes=5))
    trend = links["trend"]
    url = f"/join/{trend.booking}/trend/program?token={trend.token}"
    assert (await _state(c, trend))["program_shown"] is True  # opens the room, shown
    room = c.client.app[LIVE].get(trend.booking)
    assert room is not None

    resp = await c.client.put(url, json={"shown": False})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"shown": False}
    assert (await _state(c, trend))["program_shown"] is False
    assert (await _state(c, links["dha"]))["program_shown"] is True  # the partner's own
    assert not room.program_shown("trend")

    for body in ({}, {"shown": "no"}, {"shown": 0}, {"shown": True, "off": True}, [False]):
        await assert_error(await c.client.put(url, json=body), 422, "invalid")
    await assert_error(await c.client.put(url, data=b"{not json"), 400, "invalid_json")
    wrong = f"/join/{trend.booking}/trend/program?token={links['dha'].token}"
    await assert_error(await c.client.put(wrong, json={"shown": True}), 403, "invalid_link")
    assert (await _state(c, trend))["program_shown"] is False  # nothing changed

    session = f"/join/{trend.booking}/trend/session?token={trend.token}"
    refused = await c.client.post(session, json={"sdp": "v=0", "program": "no"})
    await assert_error(refused, 422, "invalid")

    resp = await c.client.put(url, json={"shown": True})
    assert resp.status == 200, await resp.text()
    assert (await _state(c, trend))["program_shown"] is True
