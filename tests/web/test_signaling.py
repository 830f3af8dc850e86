"""Studios joining over HTTP: the console's session offer and WHIP, against the real app.

Real aiortc studios talk to the app through its signalling endpoints; media crosses the veth
pair of .ci/netns. Every refused request is sent while two studios are live, and both must go on
receiving each other's frames afterwards: nothing refused may touch the room.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from live_studios import Link, Studio, book, live_pair, offer_of, sees
from webtools import Client, ClockedApp, assert_error, check_table

from web.access.joinlinks import join_token
from web.services import LIVE, SIGNER

SDP = "application/sdp"
BAD_OFFER, INVALID_LINK = (400, "bad_offer"), (403, "invalid_link")
NOT_FOUND, UNAUTHORIZED = (404, "not_found"), (401, "unauthorized")
pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


Request = tuple[str, str, dict[str, Any]]  # method, path, keyword arguments


def console(link: Link, sdp: str | None = None, token: str | None = None, **kw: Any) -> Request:
    """The console's offer to `link` (or whatever body `kw` says)."""
    return "POST", link.session(token), kw or {"json": {"sdp": sdp}}


def whip(
    link: Link, body: str | bytes, token: str | None = None, ctype: str = SDP, auth: str = ""
) -> Request:
    """A WHIP offer to `link`, with its join token as bearer unless another is given."""
    headers = {"Authorization": auth or f"Bearer {token or link.token}", "Content-Type": ctype}
    return "POST", link.whip, {"data": body, "headers": headers}


async def send(client: Client, request: Request) -> Any:
    """The response to a request of a table."""
    method, path, kw = request
    return await client.request(method, path, **kw)


async def check_refused(
    client: Client, table: list[tuple[str, Request, int, str]], *live: tuple[Studio, Studio]
) -> None:
    """Each request gets exactly its error, and every (viewer, source) still sees live media.

    Once a case has cut the media, later cases check only their answers (the table names the
    culprit instead of waiting out FRAME_TIMEOUT for every case after it).
    """
    lost: list[bool] = []

    def case(request: Request, status: int, code: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            resp = await send(client, request)
            await assert_error(resp, status, code, fields=["sdp"] if status == 422 else [])
            if lost:
                return
            try:
                for viewer, source in live:
                    await sees(viewer, source)
            except AssertionError:
                lost.append(True)
                raise

        return run

    await check_table((name, case(req, status, code)) for name, req, status, code in table)


async def test_two_studios_join_by_their_links_and_see_and_hear_each_other(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln, trend, dha = await live_pair(c, studios)  # both saw each other's camera
    assert set(ln) == {"trend", "dha"}
    doc = trend.answer
    assert doc["type"] == "answer" and re.fullmatch(r"[0-9a-f]{16}", doc["session"])
    assert [s["studio"] for s in doc["slots"]] == ["dha"]
    assert doc["slots"][0]["video_mid"] and doc["slots"][0]["audio_mid"]
    assert "x-google-start-bitrate=" in doc["sdp"]  # Chromium sends its full rate at once
    assert await trend.fresh("dha/audio") == await dha.fresh("trend/audio") == 48000
    room = c.app[LIVE].get(ln["dha"].booking)
    assert room is not None
    sessions = {s: v.session_id for s, v in room.sessions.items()}
    assert sessions == {"trend": trend.session, "dha": dha.session}
    # The console's Leave ends that connection at once.
    resp = await c.client.delete(ln["dha"].leave(dha.session))
    assert resp.status == 204, await resp.text()
    assert set(room.sessions) == {"trend"}


async def test_refused_offers_and_bodies_leave_the_live_room_alone(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln, trend, dha = await live_pair(c, studios)
    room = c.app[LIVE].get(ln["dha"].booking)
    assert room is not None
    real = str(dha.pc.localDescription.sdp)
    rng = random.Random(7)
    noise = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789=:/ \r\n", k=100_000))
    offers = {
        "not sdp": "hello, bridge",
        "empty": "",
        "blank": " \r\n",
        "no media": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "no ice credentials": re.sub(r"a=ice-(ufrag|pwd):[^\r\n]*\r\n", "", real),
        "no dtls fingerprint": re.sub(r"a=fingerprint:[^\r\n]*\r\n", "", real),
        "no mid": re.sub(r"a=mid:[^\r\n]*\r\n", "", real),
        "two m-lines, one mid": real.replace("a=mid:1\r\n", "a=mid:0\r\n"),
        "video in no codec the bridge relays": re.sub(r"(VP8|H264)/90000", "XYZ/90000", real),
        # Issue 12's two 500s (more in test_bad_sdp.py): aiortc could not answer them.
        "no direction": re.sub(r"a=(sendrecv|recvonly)\r\n", "", real),
        "m=text": real.replace("m=audio", "m=text", 1),
        "100 KB garbage": noise,
        "100 KB garbage after v=0": "v=0\r\n" + noise,
        "data channel only": await offer_of(channel=True),
        "receive only": await offer_of(("video", "recvonly"), ("audio", "recvonly")),
    }
    link = ln["dha"]  # the live studio itself: a refused offer must not replace its session
    json_type = {"Content-Type": "application/json"}
    table = [(f"console: {k}", console(link, v), *BAD_OFFER) for k, v in offers.items()]
    table += [(f"whip: {k}", whip(link, v), *BAD_OFFER) for k, v in offers.items()]
    bad_json = (400, "invalid_json")
    table += [
        ("whip: not utf-8", whip(link, rng.randbytes(100_000)), *BAD_OFFER),
        ("not json", console(link, data=b'{"sdp": ', headers=json_type), *bad_json),
        ("not utf-8", console(link, data=b'{"sdp": "\xff"}', headers=json_type), *bad_json),
        ("no body", console(link, headers=json_type), *bad_json),
        ("missing sdp", console(link, json={"offer": real}), 422, "invalid"),
        ("sdp not a string", console(link, json={"sdp": 5}), 422, "invalid"),
        ("sdp null", console(link, json={"sdp": None}), 422, "invalid"),
        ("body a list", console(link, json=[real]), 422, "invalid"),
    ]
    await check_refused(c.client, table, (trend, dha), (dha, trend))
    assert room.sessions["dha"].session_id == dha.session  # never replaced by a refused offer


async def test_refused_links_and_closed_windows_leave_the_live_room_alone(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ended = await book(c, c.clock() + timedelta(minutes=5), ("kabar", "uza"))
    c.clock.advance(hours=2)  # past that booking's end + grace; the live pair opens now
    ln, trend, dha = await live_pair(c, studios)
    later = await book(c, c.clock() + timedelta(days=3))
    cancelled = await book(c, c.clock() + timedelta(minutes=5), ("aa", "ansa"))
    cancel = f"/api/bookings/{cancelled['aa'].booking}/cancel"
    assert (await c.client.post(cancel, headers=c.headers["producer"])).status == 200
    signer = c.app[SIGNER]
    b = ln["trend"].booking
    unbooked, nowhere = Link(b, "kabar", ""), Link("0" * 10, "trend", "")
    closed = (403, "link_closed")
    attempts: list[tuple[str, Link, str | None, tuple[int, str]]] = [
        ("another studio's token", ln["dha"], ln["trend"].token, INVALID_LINK),
        ("another booking's token", ln["trend"], later["trend"].token, INVALID_LINK),
        ("forged token", ln["trend"], "abc.def", INVALID_LINK),
        ("tampered token", ln["trend"], ln["trend"].token[:-2] + "xx", INVALID_LINK),
        ("studio not booked", unbooked, join_token(signer, b, "kabar"), (403, "studio_removed")),
        ("unknown booking", nowhere, join_token(signer, "0" * 10, "trend"), NOT_FOUND),
        ("not open yet", later["trend"], None, (403, "not_open_yet")),
        ("window closed", ended["kabar"], None, closed),
        ("cancelled", cancelled["aa"], None, closed),
    ]
    offer = await offer_of(("video", "sendrecv"), ("audio", "sendrecv"))
    table = []
    for name, link, token, error in attempts:
        table.append((f"console: {name}", console(link, offer, token), *error))
        table.append((f"whip: {name}", whip(link, offer, token), *error))
    await check_refused(c.client, table, (trend, dha), (dha, trend))
    assert not {later["trend"].booking, nowhere.booking} & set(c.app[LIVE].rooms)


async def test_whip_publisher_is_relayed_until_its_location_is_deleted(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln = await book(c, c.clock() + timedelta(minutes=5))
    booking = ln["trend"].booking
    trend = studios("trend", 40)
    await trend.join(c.client, ln["trend"])
    encoder = studios("dha", 160, partners=0, send="sendonly")
    offer = await encoder.offer()
    resp = await send(c.client, whip(ln["dha"], offer))
    answer = await resp.text()
    assert (resp.status, resp.content_type) == (201, SDP), answer
    location = resp.headers["Location"]
    session = location.rsplit("/", 1)[1]
    assert location == f"/whip/{booking}/dha/{session}"
    await encoder.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await sees(trend, encoder)
    assert await trend.fresh("dha/audio") == 48000
    room = c.app[LIVE].get(booking)
    assert room is not None and room.sessions["dha"].session_id == session

    dha, auth = ln["dha"], {"Authorization": f"Bearer {ln['dha'].token}"}
    bare: Request = ("POST", dha.whip, {"data": offer, "headers": {"Content-Type": SDP}})
    wrong_type = (415, "unsupported_media_type")
    trends = {"Authorization": f"Bearer {ln['trend'].token}"}
    table = [
        ("no Authorization", bare, *UNAUTHORIZED),
        ("Basic credentials", whip(dha, offer, auth="Basic ZGhhOmRoYQ=="), *UNAUTHORIZED),
        ("empty bearer", whip(dha, offer, auth="Bearer "), *UNAUTHORIZED),
        ("JSON content type", whip(dha, offer, ctype="application/json"), *wrong_type),
        ("text content type", whip(dha, offer, ctype="text/plain"), *wrong_type),
        ("DELETE unknown", ("DELETE", f"{dha.whip}/{'0' * 16}", {"headers": auth}), *NOT_FOUND),
        ("DELETE, trend's token", ("DELETE", location, {"headers": trends}), *INVALID_LINK),
    ]
    await check_refused(c.client, table, (trend, encoder))
    assert room.sessions["dha"].session_id == session
    resp = await send(c.client, bare)
    assert resp.headers.get("WWW-Authenticate") == "Bearer"

    resp = await c.client.delete(location, headers=auth)
    assert resp.status == 200, await resp.text()
    assert "dha" not in room.sessions and "trend" in room.sessions
    await assert_error(await c.client.delete(location, headers=auth), 404, "not_found")


async def test_a_second_console_connection_replaces_the_first(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln, trend, dha = await live_pair(c, studios)
    room = c.app[LIVE].get(ln["dha"].booking)
    assert room is not None
    again = studios("dha", 120)  # the operator reloads the console page
    await again.join(c.client, ln["dha"])
    assert again.session != dha.session
    assert room.sessions["dha"].session_id == again.session
    await sees(trend, again, within=5)
    await sees(again, trend)
    # Each console's poll, naming its connection, says whether it is still the studio's: the
    # old page learns that another console took its place (and steps back, not fighting).
    link = ln["dha"]
    for session, in_room, replaced in [(again.session, True, False), (dha.session, False, True)]:
        resp = await c.client.get(
            f"/join/{link.booking}/dha/state?token={link.token}&session={session}"
        )
        doc = await resp.json()
        assert (doc["session_in_room"], doc["replaced"]) == (in_room, replaced), doc
    resp = await c.client.get(f"/join/{link.booking}/dha/state?token={link.token}")
    assert "session_in_room" not in (await resp.json())  # a poll that names none
    # The old page's Leave ends nothing any more; the new one's does.
    await assert_error(await c.client.delete(ln["dha"].leave(dha.session)), *NOT_FOUND)
    await sees(trend, again)
    resp = await c.client.delete(ln["dha"].leave(again.session))
    assert resp.status == 204, await resp.text()
    assert set(room.sessions) == {"trend"}
    # Gone from the room (left, or the room was reopened elsewhere): not replaced, so a
    # console that did not leave offers again at once.
    resp = await c.client.get(
        f"/join/{link.booking}/dha/state?token={link.token}&session={again.session}"
    )
    doc = await resp.json()
    assert (doc["session_in_room"], doc["replaced"]) == (False, False), doc
