"""The control room's live channel over the API: its connection, talkback, the tiles' state,
and the page; with real aiortc studios in an open room."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from live_studios import Link, Studio, book, live_pair, offer_of
from webtools import ClockedApp, assert_error

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair

WATCHING = (("video", "recvonly"), ("audio", "recvonly")) * 3  # two studios and the program


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


async def _console(c: ClockedApp, link: Link) -> dict[str, Any]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_control_room_connects_talks_to_one_studio_and_shows_the_tiles(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    links, _trend, _dha = await live_pair(c, studios)
    booking = links["trend"].booking
    base = f"/api/bookings/{booking}"
    producer = c.headers["producer"]

    # Who may: producers and admins; nobody else, and nobody for a booking they cannot see.
    offer = await offer_of(*WATCHING, ("audio", "sendonly"))
    for role, status, code in (("operator", 403, "forbidden"), ("viewer", 403, "forbidden")):
        resp = await c.client.post(
            f"{base}/control/session", json={"sdp": offer}, headers=c.headers[role]
        )
        await assert_error(resp, status, code)
    resp = await c.client.post(f"{base}/control/session", json={"sdp": offer})
    await assert_error(resp, 401, "unauthorized")
    resp = await c.client.post(
        "/api/bookings/nosuchbooking/control/session", json={"sdp": offer}, headers=producer
    )
    assert resp.status == 404
    # What is wrong with the offer, said clearly.
    for body, status, code in (
        ({}, 422, "invalid"),
        ({"sdp": 42}, 422, "invalid"),
        ({"sdp": "hello"}, 400, "bad_offer"),
        ({"sdp": offer.replace("a=fingerprint", "a=fingerprunt")}, 400, "bad_offer"),
    ):
        resp = await c.client.post(f"{base}/control/session", json=body, headers=producer)
        await assert_error(resp, status, code)

    resp = await c.client.post(f"{base}/control/session", json={"sdp": offer}, headers=producer)
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    session = answer["session"]
    assert [s["studio"] for s in answer["slots"]] == ["trend", "dha"]
    assert all(s["video_mid"] and s["audio_mid"] for s in answer["slots"])
    assert answer["program"]["video_mid"] and answer["program"]["audio_mid"]
    assert "m=audio" in answer["sdp"]

    # Talkback: to DHA only; its console says who talks, Trend's says nobody.
    talk = f"{base}/talkback"
    for body, field in (
        ({"studios": ["dha"]}, "session"),
        ({"session": session}, "studios"),
        ({"session": session, "studios": "dha"}, "studios"),
        ({"session": session, "studios": ["kabar"]}, "studios"),
    ):
        resp = await c.client.post(talk, json=body, headers=producer)
        await assert_error(resp, 422, "invalid", fields=[field])
    resp = await c.client.post(talk, json={"session": "0" * 16, "studios": []}, headers=producer)
    await assert_error(resp, 404, "not_found")
    resp = await c.client.post(
        talk, json={"session": session, "studios": ["dha"]}, headers=c.headers["operator"]
    )
    await assert_error(resp, 403, "forbidden")
    resp = await c.client.post(
        talk, json={"session": session, "studios": ["dha"]}, headers=producer
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["talkback"]["studios"] == ["dha"]
    assert (await _console(c, links["dha"]))["talkback"] == ["producer-bot"]
    assert (await _console(c, links["trend"]))["talkback"] == []

    resp = await c.client.get(f"{base}/control", headers=producer)
    assert resp.status == 200, await resp.text()
    doc = await resp.json()
    assert doc["program"]["layout"] == "auto"
    assert doc["producers"] == ["producer-bot"]
    tiles = {s["id"]: s for s in doc["studios"]}
    assert tiles["trend"]["connected"] and tiles["dha"]["connected"]
    assert tiles["trend"]["on_program"] and tiles["dha"]["on_program"]
    assert tiles["dha"]["talkback"] == ["producer-bot"] and tiles["trend"]["talkback"] == []
    resp = await c.client.get(f"{base}/control", headers=c.headers["operator"])
    await assert_error(resp, 403, "forbidden")

    # A second producer opens the control room beside the first; each connection is its own.
    resp = await c.client.post(
        f"{base}/control/session",
        json={"sdp": await offer_of(*WATCHING)},
        headers=c.headers["admin"],
    )
    assert resp.status == 200, await resp.text()
    other = (await resp.json())["session"]
    assert other != session
    doc = await (await c.client.get(f"{base}/control", headers=producer)).json()
    assert doc["producers"] == ["admin-bot", "producer-bot"]
    # It watches only: it sends no microphone, so it cannot talk.
    resp = await c.client.post(talk, json={"session": other, "studios": ["dha"]}, headers=producer)
    await assert_error(resp, 409, "no_microphone")
    resp = await c.client.delete(f"{base}/control/session/{other}", headers=producer)
    assert resp.status == 204

    resp = await c.client.post(talk, json={"session": session, "studios": []}, headers=producer)
    assert (await resp.json())["talkback"]["studios"] == []
    assert (await _console(c, links["dha"]))["talkback"] == []

    resp = await c.client.delete(f"{base}/control/session/{session}", headers=producer)
    assert resp.status == 204
    resp = await c.client.delete(f"{base}/control/session/{session}", headers=producer)
    await assert_error(resp, 404, "not_found")
    resp = await c.client.get(f"{base}/control", headers=producer)
    assert (await resp.json())["producers"] == []

    # The page: the program, a tile per studio with its key, the talkback; producers only.
    resp = await c.client.get(f"/bookings/{booking}/control", headers=producer)
    assert resp.status == 200, await resp.text()
    page = await resp.text()
    assert 'id="mv-program"' in page and 'data-tile="trend"' in page and 'data-tile="dha"' in page
    assert 'id="ptt"' in page and 'id="live-control"' in page
    resp = await c.client.get(f"/bookings/{booking}/control", headers=c.headers["operator"])
    assert resp.status == 403


async def test_a_room_not_open_yet_says_so(clocked: ClockedApp) -> None:
    c = clocked
    links = await book(c, c.clock() + timedelta(days=1))
    booking = links["trend"].booking
    offer = await offer_of(*WATCHING)
    resp = await c.client.post(
        f"/api/bookings/{booking}/control/session",
        json={"sdp": offer},
        headers=c.headers["producer"],
    )
    await assert_error(resp, 409, "room_not_open")
    resp = await c.client.get(f"/bookings/{booking}/control", headers=c.headers["producer"])
    assert resp.status == 200
    assert 'id="control-closed"' in await resp.text()
