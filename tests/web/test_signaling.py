"""Studios joining over HTTP: the console's session offer and WHIP, against the real app.

Real aiortc studios talk to the app through its signalling endpoints; media crosses the veth
pair of .ci/netns. Every refused request is sent while two studios are live, and both must go on
receiving each other's frames afterwards: nothing refused may touch the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from synthetic_media import CameraTrack, ToneTrack
from webtools import Client, ClockedApp, assert_error, check_table

from web.joinlinks import join_token
from web.state import STATE

FMT = "%Y-%m-%dT%H:%M:%SZ"
FRAME_TIMEOUT = 10.0
SDP = "application/sdp"
SHADE_TOLERANCE = 20
BAD_OFFER, INVALID_LINK = (400, "bad_offer"), (403, "invalid_link")
NOT_FOUND, UNAUTHORIZED = (404, "not_found"), (401, "unauthorized")
pytestmark = pytest.mark.usefixtures("test_network")


@dataclass(frozen=True)
class Link:
    """One studio's join link, split into what the signalling endpoints take."""

    booking: str
    studio: str
    token: str

    def session(self, token: str | None = None) -> str:
        """The console's offer endpoint, with this link's token unless another is given."""
        return f"/join/{self.booking}/{self.studio}/session?token={quote(token or self.token)}"

    def leave(self, session: str | None) -> str:
        """The console's Leave of one of its connections."""
        return f"/join/{self.booking}/{self.studio}/session/{session}?token={quote(self.token)}"

    @property
    def whip(self) -> str:
        return f"/whip/{self.booking}/{self.studio}"


class Studio:
    """A studio as an aiortc peer that joins over HTTP; reads every partner track it gets."""

    def __init__(
        self, studio_id: str, shade: int, partners: int = 1, send: str = "sendrecv"
    ) -> None:
        self.studio_id, self.shade = studio_id, shade
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.pc.addTransceiver(CameraTrack(shade), direction=send)
        self.pc.addTransceiver(ToneTrack(440 + shade), direction=send)
        for _ in range(partners):
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")
        self.seen: dict[str, list[float]] = {}  # "partner/kind" -> one entry per frame
        self.session: str | None = None
        self.answer: dict[str, Any] = {}  # the console's last answer document
        self._readers: list[asyncio.Task[None]] = []

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def join(self, client: Client, link: Link) -> None:
        """The console's way in: POST the offer as JSON, set the answer, read partner tracks."""
        resp = await client.post(link.session(), json={"sdp": await self.offer()})
        assert resp.status == 200, await resp.text()
        doc: dict[str, Any] = await resp.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(doc["sdp"], "answer"))
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        for slot in doc["slots"]:
            for kind in ("video", "audio"):
                if slot[f"{kind}_mid"]:
                    track = by_mid[slot[f"{kind}_mid"]].receiver.track
                    self._read(f"{slot['studio']}/{kind}", track)
        self.session, self.answer = doc["session"], doc

    def _read(self, key: str, track: Any) -> None:
        seen = self.seen.setdefault(key, [])

        async def run() -> None:
            with contextlib.suppress(MediaStreamError):  # the connection closed
                while True:
                    frame = await track.recv()
                    if track.kind == "audio":
                        seen.append(float(frame.sample_rate))
                    else:  # the median brightness: each studio's camera has its own shade
                        seen.append(float(np.median(frame.to_ndarray(format="rgb24")[::6, ::6])))

        self._readers.append(asyncio.ensure_future(run()))

    async def fresh(self, key: str, frames: int = 3) -> float:
        """The last of `frames` frames of `key` that arrive from now on (not a backlog)."""
        seen = self.seen[key]
        start, deadline = len(seen), time.monotonic() + FRAME_TIMEOUT
        while len(seen) < start + frames:
            assert time.monotonic() < deadline, f"{self.studio_id} got no new {key} frames"
            await asyncio.sleep(0.01)
        return seen[-1]

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.pc.close()


async def sees(viewer: Studio, source: Studio, within: float = 0.0) -> None:
    """`viewer` receives `source`'s camera now (waiting up to `within` s for a switch)."""
    deadline = time.monotonic() + within
    while True:
        shade = await viewer.fresh(f"{source.studio_id}/video")
        if abs(shade - source.shade) < SHADE_TOLERANCE:
            return
        assert time.monotonic() < deadline, f"{viewer.studio_id} sees shade {shade}"


@pytest.fixture
async def studios() -> AsyncIterator[Callable[..., Studio]]:
    """Make studios; every peer connection is closed after the test, whatever happened."""
    made: list[Studio] = []

    def make(studio_id: str, shade: int, **kw: Any) -> Studio:
        made.append(Studio(studio_id, shade, **kw))
        return made[-1]

    try:
        yield make
    finally:
        await asyncio.gather(*(s.close() for s in made))


async def offer_of(*media: tuple[str, str], channel: bool = False) -> str:
    """The offer of a throw-away peer with these (kind, direction) transceivers."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        for kind, direction in media:
            pc.addTransceiver(kind, direction=direction)
        if channel:
            pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def book(
    c: ClockedApp, starts: datetime, studios: tuple[str, ...] = ("trend", "dha")
) -> dict[str, Link]:
    """Book an hour with a 15 min line check as the producer; its join links, per studio."""
    body = {
        "title": "Caspian energy week",
        "studios": list(studios),
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
        "setup_minutes": 15,
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    path = f"/api/bookings/{(await resp.json())['booking']['id']}/join-links"
    resp = await c.client.get(path, headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    out = {}
    for link in (await resp.json())["links"]:
        url = urlsplit(link["url"])
        booking, studio = url.path.split("/")[2:4]
        out[link["studio"]] = Link(booking, studio, parse_qs(url.query)["token"][0])
    return out


async def live_pair(
    c: ClockedApp, studios: Callable[..., Studio]
) -> tuple[dict[str, Link], Studio, Studio]:
    """A booking open now (starts in 5 min, 15 min line check), Trend and DHA joined and live."""
    ln = await book(c, c.clock() + timedelta(minutes=5))
    trend, dha = studios("trend", 40), studios("dha", 200)
    await trend.join(c.client, ln["trend"])
    await dha.join(c.client, ln["dha"])
    await sees(trend, dha)
    await sees(dha, trend)
    return ln, trend, dha


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
    room = c.app[STATE].live.get(ln["dha"].booking)
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
    room = c.app[STATE].live.get(ln["dha"].booking)
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
        "video without vp8": re.sub(r"VP8/90000", "XYZ/90000", real),
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
    signer = c.app[STATE].signer
    b = ln["trend"].booking
    unbooked, nowhere = Link(b, "kabar", ""), Link("0" * 10, "trend", "")
    closed = (403, "link_closed")
    attempts: list[tuple[str, Link, str | None, tuple[int, str]]] = [
        ("another studio's token", ln["dha"], ln["trend"].token, INVALID_LINK),
        ("another booking's token", ln["trend"], later["trend"].token, INVALID_LINK),
        ("forged token", ln["trend"], "abc.def", INVALID_LINK),
        ("tampered token", ln["trend"], ln["trend"].token[:-2] + "xx", INVALID_LINK),
        ("studio not booked", unbooked, join_token(signer, b, "kabar"), INVALID_LINK),
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
    assert not {later["trend"].booking, nowhere.booking} & set(c.app[STATE].live.rooms)


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
    assert resp.headers["ETag"] == f'"{session}"'
    await encoder.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await sees(trend, encoder)
    assert await trend.fresh("dha/audio") == 48000
    room = c.app[STATE].live.get(booking)
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
    room = c.app[STATE].live.get(ln["dha"].booking)
    assert room is not None
    again = studios("dha", 120)  # the operator reloads the console page
    await again.join(c.client, ln["dha"])
    assert again.session != dha.session
    assert room.sessions["dha"].session_id == again.session
    await sees(trend, again, within=5)
    await sees(again, trend)
    # The old page's Leave ends nothing any more; the new one's does.
    await assert_error(await c.client.delete(ln["dha"].leave(dha.session)), *NOT_FOUND)
    await sees(trend, again)
    resp = await c.client.delete(ln["dha"].leave(again.session))
    assert resp.status == 204, await resp.text()
    assert set(room.sessions) == {"trend"}
