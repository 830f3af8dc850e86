"""The layout a booking was made with is the program's layout when its room opens (it started
on `auto` whatever was booked), and the consoles' tally and the producer's controls say so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from live_studios import FMT, join_links
from webtools import ClockedApp


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


@pytest.mark.parametrize("layout", ["side-by-side", "grid", "solo"])
async def test_the_room_opens_on_the_booked_layout(clocked: ClockedApp, layout: str) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=5)
    body = {
        "title": "Caspian energy week",
        "studios": ["trend", "dha"],
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
        "layout": layout,
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    booking = (await resp.json())["booking"]["id"]
    links = await join_links(c, booking)
    # A console's first state request opens the room (the autopilot would a second later).
    trend = links["trend"]
    resp = await c.client.get(f"/join/{booking}/trend/state?token={trend.token}")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["layout"] == layout
    resp = await c.client.get(f"/api/bookings/{booking}/program", headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    program = (await resp.json())["program"]
    assert program["layout"] == layout
    if layout == "solo":  # on the first booked studio
        assert program["studio"] == "trend"
