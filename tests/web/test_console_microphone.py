"""The console's cough key: the studio's microphone off reaches the producer's sound desk
(`/api/bookings/{id}/program`) and the console's own state; bad bodies and wrong links are
refused and change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from live_studios import Link, book
from webtools import ClockedApp, assert_error


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


async def _desk(c: ClockedApp, booking: str) -> dict[str, Any]:
    resp = await c.client.get(f"/api/bookings/{booking}/program", headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    audio: dict[str, Any] = (await resp.json())["program"]["audio"]
    return audio


async def _state(c: ClockedApp, link: Link) -> dict[str, Any]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    assert resp.status == 200, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def test_the_cough_key_reaches_the_sound_desk(clocked: ClockedApp) -> None:
    c = clocked
    links = await book(c, c.clock() + timedelta(minutes=5))
    trend = links["trend"]
    url = f"/join/{trend.booking}/trend/microphone?token={trend.token}"
    assert (await _state(c, trend))["mic_off"] is False  # opens the room, microphone on
    assert (await _desk(c, trend.booking))["trend"]["mic_off"] is False

    resp = await c.client.put(url, json={"off": True})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"off": True}
    desk = await _desk(c, trend.booking)
    assert (desk["trend"]["mic_off"], desk["dha"]["mic_off"]) == (True, False)
    assert (await _state(c, trend))["mic_off"] is True

    for body in ({}, {"off": "yes"}, {"off": 1}, {"off": True, "gain_db": 3}, [True]):
        await assert_error(await c.client.put(url, json=body), 422, "invalid")
    await assert_error(await c.client.put(url, data=b"{not json"), 400, "invalid_json")
    wrong = f"/join/{trend.booking}/trend/microphone?token={links['dha'].token}"
    await assert_error(await c.client.put(wrong, json={"off": False}), 403, "invalid_link")
    assert (await _desk(c, trend.booking))["trend"]["mic_off"] is True  # nothing changed

    resp = await c.client.put(url, json={"off": False})
    assert resp.status == 200, await resp.text()
    assert (await _desk(c, trend.booking))["trend"]["mic_off"] is False
