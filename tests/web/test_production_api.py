"""The producer's live controls over the API, and the consoles' tally."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from live_studios import Link, Studio, book, live_pair
from webtools import ClockedApp, assert_error

from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


async def _tally(c: ClockedApp, link: Link) -> dict[str, Any]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_layout_switches_and_tally_follow_the_producer(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    links, _trend, _dha = await live_pair(c, studios)
    program = f"/api/bookings/{links['trend'].booking}/program"
    assert (await _tally(c, links["trend"]))["on_program"] is True
    assert (await _tally(c, links["dha"]))["on_program"] is True

    resp = await c.client.post(
        program, json={"layout": "solo", "studio": "dha"}, headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()
    # In solo the studio on screen is on air; the other is on standby.
    assert (await _tally(c, links["dha"]))["on_program"] is True
    assert (await _tally(c, links["trend"]))["on_program"] is False

    for body, field in [
        ({"layout": "mosaic"}, "layout"),
        ({"layout": "solo"}, "studio"),
        ({"layout": "grid", "studio": "kabar"}, "studio"),
    ]:
        resp = await c.client.post(program, json=body, headers=c.headers["producer"])
        await assert_error(resp, 422, "invalid", fields=[field])
    resp = await c.client.post(program, json={"layout": "grid"}, headers=c.headers["operator"])
    await assert_error(resp, 403, "forbidden")

    base = f"/api/bookings/{links['trend'].booking}/recording"
    resp = await c.client.post(f"{base}/start", headers=c.headers["producer"])
    assert (await resp.json())["started"] is True
    assert (await _tally(c, links["trend"]))["recording"] is True
    # Stays: a second of program is recorded (the forced first keyframe and more), from the
    # confirmed start; what follows waits for its condition.
    await asyncio.sleep(1.0)
    resp = await c.client.post(f"{base}/stop", headers=c.headers["producer"])
    assert (await resp.json())["stopped"] is True
    assert (await _tally(c, links["trend"]))["recording"] is False
    actions: list[str] = []

    async def finished_in_audit() -> bool:
        events = await (
            await c.client.get(
                f"/api/bookings/{links['trend'].booking}/audit", headers=c.headers["producer"]
            )
        ).json()
        actions[:] = [e["action"] for e in events["events"]]
        return "recording finished" in actions

    # The bridge's reports reach the audit log through a queue.
    await eventually(
        finished_in_audit, message=lambda: f"'recording finished' in the audit log ({actions})"
    )
    assert "switched the program" in actions
    assert "recording started" in actions and "recording finished" in actions


async def test_controls_of_a_room_that_is_not_open_are_refused(clocked: ClockedApp) -> None:
    c = clocked
    links = await book(c, c.clock() + timedelta(days=2))  # its window opens in two days
    booking = links["trend"].booking
    for path, body in [
        ("program", {"layout": "grid"}),
        ("recording/start", {}),
        ("recording/stop", {}),
    ]:
        resp = await c.client.post(
            f"/api/bookings/{booking}/{path}", json=body, headers=c.headers["producer"]
        )
        await assert_error(resp, 409, "room_not_open")
