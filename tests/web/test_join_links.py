"""Join links on a clock the test moves: not yet, open, closed, refused, cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from webtools import ClockedApp, assert_error

from schedules.model import DEFAULT_TEARDOWN_MINUTES as TEARDOWN
from web.access.joinlinks import join_path
from web.services import SETTINGS, SIGNER

FMT = "%Y-%m-%dT%H:%M:%SZ"


async def book(c: ClockedApp, starts: datetime, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "Caspian energy week",
        "studios": ["trend", "dha"],
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
        **extra,
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    booking: dict[str, Any] = (await resp.json())["booking"]
    return booking


async def links(c: ClockedApp, booking_id: str) -> dict[str, str]:
    """Studio id to the join link's path and query, as the producer gets them."""
    resp = await c.client.get(
        f"/api/bookings/{booking_id}/join-links", headers=c.headers["producer"]
    )
    assert resp.status == 200
    out = {}
    for link in (await resp.json())["links"]:
        parts = urlsplit(link["url"])
        out[link["studio"]] = f"{parts.path}?{parts.query}"
    return out


async def visit(c: ClockedApp, path: str) -> tuple[int, str]:
    resp = await c.client.get(path)
    return resp.status, await resp.text()


async def test_link_says_when_it_opens_then_opens_then_closes(clocked: ClockedApp) -> None:
    c = clocked
    starts = c.clock() + timedelta(hours=3)
    b = await book(c, starts, setup_minutes=15)
    trend = (await links(c, b["id"]))["trend"]
    grace = c.app[SETTINGS].join_grace_minutes

    status, text = await visit(c, trend)
    assert status == 200
    assert "opens" in text
    c.clock.set(starts - timedelta(minutes=15, seconds=1))
    status, text = await visit(c, trend)
    assert (status, "opens" in text) == (200, True)

    c.clock.set(starts - timedelta(minutes=15))  # setup (line check) starts
    status, text = await visit(c, trend)
    assert status == 200
    assert "opens" not in text

    c.clock.set(starts + timedelta(hours=1, minutes=TEARDOWN + grace) - timedelta(seconds=1))
    status, _ = await visit(c, trend)
    assert status == 200

    c.clock.set(starts + timedelta(hours=1, minutes=TEARDOWN + grace))
    status, _ = await visit(c, trend)
    assert status == 410
    c.clock.advance(days=30)
    status, _ = await visit(c, trend)
    assert status == 410


async def test_link_shows_the_opening_time_on_the_studios_clock(clocked: ClockedApp) -> None:
    c = clocked
    # 11:00 UTC: line check from 10:45 UTC, which is 14:45 in Baku and 13:45 in Istanbul.
    starts = c.clock().replace(hour=11, minute=0) + timedelta(days=2)
    b = await book(c, starts, setup_minutes=15)
    paths = await links(c, b["id"])
    _, trend = await visit(c, paths["trend"])
    _, dha = await visit(c, paths["dha"])
    assert "14:45" in trend
    assert "13:45" in dha


async def test_link_refuses_another_studio_or_booking(clocked: ClockedApp) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=5)  # open now
    b = await book(c, starts)
    other = await book(c, starts + timedelta(days=1))
    mine = await links(c, b["id"])
    theirs = await links(c, other["id"])
    assert (await visit(c, mine["trend"]))[0] == 200

    token_of = {sid: p.split("?token=")[1] for sid, p in mine.items()}
    signer = c.app[SIGNER]
    refused = {
        "trend's token on dha": f"/join/{b['id']}/dha?token={token_of['trend']}",
        "other booking's token": f"/join/{b['id']}/trend?token=" + theirs["trend"].split("=")[1],
        "forged token": f"/join/{b['id']}/trend?token=abc.def",
        "no token": f"/join/{b['id']}/trend",
        "empty token": f"/join/{b['id']}/trend?token=",
    }
    for case, path in refused.items():
        status, text = await visit(c, path)
        assert status == 403, f"{case}: {status}"
        assert "not valid" in text, case
        resp = await c.client.get(path, headers={"Accept": "application/json"})
        await assert_error(resp, 403, "invalid_link")
    # Well signed for a studio the booking does not have: only a studio taken out of the
    # booking holds such a link, and it is told so (tests/web/test_studio_changes.py).
    for case, path in {
        "signed for a studio not in it": join_path(signer, b["id"], "kabar"),
        "signed for an unknown studio": join_path(signer, b["id"], "nowhere"),
    }.items():
        status, text = await visit(c, path)
        assert status == 403, f"{case}: {status}"
        assert "no longer part of this booking" in text, case
        resp = await c.client.get(path, headers={"Accept": "application/json"})
        await assert_error(resp, 403, "studio_removed")
    # A well-signed link of a booking that does not exist.
    resp = await c.client.get(
        join_path(signer, "0000000000", "trend"), headers={"Accept": "application/json"}
    )
    await assert_error(resp, 404, "not_found")


async def test_cancelled_or_declined_booking_links_are_gone(clocked: ClockedApp) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=5)
    cancelled = await book(c, starts)
    path = (await links(c, cancelled["id"]))["trend"]
    assert (await visit(c, path))[0] == 200
    resp = await c.client.post(
        f"/api/bookings/{cancelled['id']}/cancel", headers=c.headers["producer"]
    )
    assert resp.status == 200
    assert (await visit(c, path))[0] == 410
    # Gone for good, at any time, for every studio.
    for moment in (starts - timedelta(days=1), starts + timedelta(minutes=30)):
        c.clock.set(moment)
        for p in (await links(c, cancelled["id"])).values():
            assert (await visit(c, p))[0] == 410

    c.clock.set(starts - timedelta(hours=1))
    declined = await book(c, starts + timedelta(days=3))
    resp = await c.client.post(
        f"/api/bookings/{declined['id']}/decline",
        json={"studio": "dha"},
        headers=c.headers["admin"],
    )
    assert resp.status == 200
    for p in (await links(c, declined["id"])).values():
        assert (await visit(c, p))[0] == 410


async def test_join_links_api_window_follows_the_booking(clocked: ClockedApp) -> None:
    c = clocked
    starts = c.clock() + timedelta(days=1, hours=5)
    b = await book(c, starts, setup_minutes=30)
    resp = await c.client.get(f"/api/bookings/{b['id']}/join-links", headers=c.headers["operator"])
    (link,) = (await resp.json())["links"]
    grace = c.app[SETTINGS].join_grace_minutes
    assert link["valid_from"] == (starts - timedelta(minutes=30)).strftime(FMT)
    assert link["valid_until"] == (starts + timedelta(hours=1, minutes=TEARDOWN + grace)).strftime(
        FMT
    )
    # Rescheduling moves the window; the link itself (sent out already) stays the same.
    before = await links(c, b["id"])
    later = starts + timedelta(hours=2)
    resp = await c.client.patch(
        f"/api/bookings/{b['id']}",
        json={
            "starts_at": later.strftime(FMT),
            "ends_at": (later + timedelta(hours=1)).strftime(FMT),
        },
        headers=c.headers["producer"],
    )
    assert resp.status == 200, await resp.text()
    assert await links(c, b["id"]) == before
    c.clock.set(starts)  # the old start: now before the new window
    status, text = await visit(c, before["trend"])
    assert status == 200 and "opens" in text
