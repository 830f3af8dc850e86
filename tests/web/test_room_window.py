"""A show's room stays open for the whole window its join links promise: after the show (when
the booking is completed) to the teardown's end plus the grace, and not a second longer; the
console's state, the join page and the join-links API agree on that moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from live_studios import Link, book
from webtools import ClockedApp, assert_error

from schedules.model import DEFAULT_TEARDOWN_MINUTES as TEARDOWN
from web.services import LIVE, SETTINGS


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _state(c: ClockedApp, link: Link) -> tuple[int, dict[str, object]]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    return resp.status, await resp.json()


async def _status(c: ClockedApp, booking: str) -> str:
    resp = await c.client.get(f"/api/bookings/{booking}", headers=c.headers["producer"])
    return str((await resp.json())["booking"]["status"])


async def test_a_completed_show_keeps_its_room_until_the_window_its_links_promise(
    clocked: ClockedApp,
) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=5)
    links = await book(c, starts)
    trend = links["trend"]
    grace = c.app[SETTINGS].join_grace_minutes
    closes = starts + timedelta(hours=1, minutes=TEARDOWN + grace)
    for studio in ("trend", "dha"):  # confirmed, so that the autopilot takes it on air
        resp = await c.client.post(
            f"/api/bookings/{trend.booking}/confirm",
            json={"studio": studio},
            headers=c.headers["admin"],
        )
        assert resp.status == 200, await resp.text()

    await c.app[LIVE].tick()
    assert c.app[LIVE].get(trend.booking) is not None  # the line check: open
    status, doc = await _state(c, trend)
    assert status == 200
    assert _utc(str(doc["closes_at"])) == closes
    resp = await c.client.get(
        f"/api/bookings/{trend.booking}/join-links", headers=c.headers["producer"]
    )
    (api_link,) = [x for x in (await resp.json())["links"] if x["studio"] == "trend"]
    assert _utc(api_link["valid_until"]) == closes  # the API says the same moment

    # The show ends: the booking is completed, and the room stays for the teardown and grace.
    c.clock.set(starts + timedelta(hours=1, seconds=1))
    await c.app[LIVE].tick()
    assert await _status(c, trend.booking) == "completed"
    assert c.app[LIVE].get(trend.booking) is not None
    status, doc = await _state(c, trend)
    assert status == 200, doc
    assert doc["recording"] is False  # the recording stopped with the show
    page = await c.client.get(f"/join/{trend.booking}/trend?token={trend.token}")
    assert page.status == 200  # the link still opens the console

    c.clock.set(closes - timedelta(seconds=1))
    await c.app[LIVE].tick()
    assert c.app[LIVE].get(trend.booking) is not None

    # The window's end: the room closes, and every answer about the link says it has closed.
    c.clock.set(closes)
    await c.app[LIVE].tick()
    assert c.app[LIVE].get(trend.booking) is None
    await assert_error(
        await c.client.get(f"/join/{trend.booking}/trend/state?token={trend.token}"),
        403,
        "link_closed",
    )
    assert c.app[LIVE].get(trend.booking) is None  # a refused state request opens nothing
    page = await c.client.get(f"/join/{trend.booking}/trend?token={trend.token}")
    assert page.status == 410
    # "It was valid until …": the same moment, on Trend's (Baku's) wall clock.
    assert closes.astimezone(ZoneInfo("Asia/Baku")).strftime("%H:%M") in await page.text()
