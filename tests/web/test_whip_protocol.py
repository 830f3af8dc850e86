"""What WHIP encoders rely on beyond the offer and answer (RFC 9725), against the real app.

The 201's Link headers name the STUN/TURN servers the studio's console gets, TURN with the same
time-limited credentials; PATCH (trickle ICE, ICE restarts) answers 405; browser-based clients
get CORS on /whip/ only. The encoders are real aiortc peers on the veth pair of .ci/netns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from live_studios import Link, Studio, book, sees
from webtools import ClockedApp, assert_error

from schedules.model import DEFAULT_TEARDOWN_MINUTES as TEARDOWN
from schedules.outage import DatabaseUnavailable
from web.access.turn import rest_credentials
from web.services import LIVE, OUTAGE, SETTINGS
from web.settings import Settings

SDP = "application/sdp"
SECRET = "north-wind"
STUN = "stun:stun.example.org:3478"
TURN = "turn:turn.example.org:3478?transport=udp"
TURNS = "turns:turn.example.org:5349?transport=tcp"
PAGE = "https://encoder-page.example.net"  # a browser-based WHIP client on another site
ORIGIN = {"Origin": PAGE}
webrtc = pytest.mark.usefixtures("test_network")  # media on the test veth pair

# One link-value of RFC 8288 (its parameters quoted or not), and one parameter of it.
LINK_VALUE = re.compile(
    r'\s*<([^>]*)>((?:\s*;\s*[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,\s]*))*)\s*(?:,|$)'
)
LINK_PARAM = re.compile(r';\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,\s]*))')


@pytest.fixture
def backend() -> str:
    """The database plays no part here."""
    return "sqlite"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """STUN and TURN configured, TURN with per-console credentials (coturn's shared secret)."""
    return Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": f"{STUN},{TURN},{TURNS}",
            "TELEBRIDGE_TURN_SECRET": SECRET,
        },
        data_dir=tmp_path / "data",
        secret="test-secret",
        database_url=database_url,
        password_cost=14,  # as tests/conftest.py's settings: the demo logins hash fast
    )


@pytest.fixture
def c(clocked: ClockedApp) -> ClockedApp:
    """The app, its own peers without the STUN server above: nothing answers it on the test
    network, and aioice would wait for it before every answer (the Link headers come from the
    settings, not from this)."""
    clocked.app[LIVE].ice_servers = ()
    return clocked


def whip_headers(link: Link, token: str | None = None, **more: str) -> dict[str, str]:
    """A WHIP client's headers: the join token as bearer, and `more`."""
    return {"Authorization": f"Bearer {token or link.token}", **more}


async def publish(c: ClockedApp, encoder: Studio, link: Link, **headers: str) -> Any:
    """POST the encoder's offer to the studio's WHIP endpoint; the 201, its answer set."""
    resp = await c.client.post(
        link.whip,
        data=await encoder.offer(),
        headers=whip_headers(link, **{"Content-Type": SDP, **headers}),
    )
    answer = await resp.text()
    assert (resp.status, resp.content_type) == (201, SDP), answer
    await encoder.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return resp


def parse_links(values: list[str]) -> list[tuple[str, dict[str, str]]]:
    """The (URI, parameters) of Link header values, repeated headers or comma-joined."""
    text, out, at = ", ".join(values), [], 0
    while at < len(text):
        m = LINK_VALUE.match(text, at)
        assert m and m.end() > at, f"not a Link header value at {text[at:]!r}"
        params = {
            p[1]: p[3] if p[2] is None else re.sub(r"\\(.)", r"\1", p[2])
            for p in LINK_PARAM.finditer(m[2])
        }
        out.append((m[1], params))
        at = m.end()
    return out


def turn_links(user: str, expires: datetime) -> list[tuple[str, dict[str, str]]]:
    """The links a studio's encoder should get: STUN, and TURN with its own credentials."""
    username, credential = rest_credentials(SECRET, user, expires)
    turn = {
        "rel": "ice-server",
        "username": username,
        "credential": credential,
        "credential-type": "password",
    }
    return [(STUN, {"rel": "ice-server"}), (TURN, turn), (TURNS, turn)]


def methods(value: str | None) -> set[str]:
    """The names of a comma-separated header value, in lower case."""
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def cors_readable(resp: Any) -> None:
    """A page of any origin may read this answer and its Location and Link."""
    assert resp.headers.get("Access-Control-Allow-Origin") == "*", dict(resp.headers)
    assert {"location", "link"} <= methods(resp.headers.get("Access-Control-Expose-Headers"))


@webrtc
async def test_the_201_names_the_session_and_the_ice_servers_of_the_console(
    c: ClockedApp, studios: Callable[..., Studio]
) -> None:
    starts = c.clock() + timedelta(minutes=5)
    ln = await book(c, starts)
    booking = ln["dha"].booking
    trend = studios("trend", 40)
    await trend.join(c.client, ln["trend"])
    encoder = studios("dha", 160, partners=0, send="sendonly")
    resp = await publish(c, encoder, ln["dha"])

    session = resp.headers["Location"].rsplit("/", 1)[1]
    assert resp.headers["Location"] == f"/whip/{booking}/dha/{session}"
    closes = starts + timedelta(hours=1, minutes=TEARDOWN + c.app[SETTINGS].join_grace_minutes)
    links = resp.headers.getall("Link")
    assert len(links) == 3, links  # one header per server
    assert parse_links(links) == turn_links(f"{booking}.dha", closes)
    # The same servers and credentials as the studio's console gets.
    state = await c.client.get(f"/join/{booking}/dha/state", params={"token": ln["dha"].token})
    console = (await state.json())["ice_servers"]
    assert [(s["urls"], s.get("username")) for s in console] == [
        (url, params.get("username")) for url, params in parse_links(links)
    ]
    assert "ETag" not in resp.headers  # only PATCH would need it, and PATCH is not served
    assert resp.headers["Cache-Control"] == "no-store"  # it carries TURN credentials
    await sees(trend, encoder)  # and the encoder is on


@webrtc
async def test_a_page_of_another_site_publishes_reads_its_location_and_stops(
    c: ClockedApp, studios: Callable[..., Studio]
) -> None:
    ln = await book(c, c.clock() + timedelta(minutes=5))
    encoder = studios("dha", 160, partners=0, send="sendonly")
    resp = await publish(c, encoder, ln["dha"], **ORIGIN)
    cors_readable(resp)
    location = resp.headers["Location"]
    room = c.app[LIVE].get(ln["dha"].booking)
    assert room is not None and room.sessions["dha"].session_id == location.rsplit("/", 1)[1]

    resp = await c.client.delete(location, headers=whip_headers(ln["dha"], **ORIGIN))
    assert resp.status == 200, await resp.text()
    cors_readable(resp)
    assert "dha" not in room.sessions  # DELETE still ends the session
    gone = await c.client.delete(location, headers=whip_headers(ln["dha"], **ORIGIN))
    await assert_error(gone, 404, "not_found")
    cors_readable(gone)  # errors too: a page can tell why


@webrtc
async def test_patch_answers_405_and_wrong_tokens_are_refused_first(
    c: ClockedApp, studios: Callable[..., Studio]
) -> None:
    ln = await book(c, c.clock() + timedelta(minutes=5))
    dha = ln["dha"]
    encoder = studios("dha", 160, partners=0, send="sendonly")
    location = (await publish(c, encoder, dha)).headers["Location"]
    session = location.rsplit("/", 1)[1]
    # What a trickling client sends (RFC 9725 section 4.3.1).
    fragment = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\n"
    trickle = {"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*"}

    async def patch(headers: dict[str, str]) -> Any:
        return await c.client.patch(location, data=fragment, headers={**trickle, **headers})

    resp = await patch(whip_headers(dha, **ORIGIN))
    await assert_error(resp, 405, "method_not_allowed")
    assert methods(resp.headers.get("Allow")) == {"delete", "options"}
    cors_readable(resp)
    # A wrong token is refused before anything is said of the session, on PATCH as on DELETE.
    trends = whip_headers(dha, token=ln["trend"].token)
    await assert_error(await patch(trends), 403, "invalid_link")
    await assert_error(await patch({}), 401, "unauthorized")
    await assert_error(await c.client.delete(location, headers=trends), 403, "invalid_link")
    await assert_error(await c.client.delete(location), 401, "unauthorized")
    room = c.app[LIVE].get(dha.booking)
    assert room is not None and room.sessions["dha"].session_id == session


async def test_preflights_need_no_token_and_pages_read_whip_errors(c: ClockedApp) -> None:
    endpoint, session_url = "/whip/3fe197950e/trend", f"/whip/3fe197950e/trend/{'0' * 16}"
    wanted = {endpoint: {"post", "options"}, session_url: {"delete", "patch", "options"}}
    for path, allowed in wanted.items():
        resp = await c.client.options(
            path,
            headers={
                **ORIGIN,
                "Access-Control-Request-Method": "DELETE" if path == session_url else "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert resp.status == 204, await resp.text()
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert methods(resp.headers["Access-Control-Allow-Methods"]) == allowed
        assert methods(resp.headers["Access-Control-Allow-Headers"]) == {
            "authorization",
            "content-type",
            "if-match",
        }
        assert int(resp.headers["Access-Control-Max-Age"]) > 0
        assert "Link" not in resp.headers  # credentials only for the token's holder
        assert "Set-Cookie" not in resp.headers
    # A page can read why it was refused.
    refused = await c.client.post(endpoint, data="v=0\r\n", headers={**ORIGIN, "Content-Type": SDP})
    await assert_error(refused, 401, "unauthorized")
    cors_readable(refused)
    # Only /whip/: the rest of the API stays same-origin.
    api = await c.client.get("/api/studios", headers={**ORIGIN, **c.headers["viewer"]})
    assert api.status == 200
    assert "Access-Control-Allow-Origin" not in api.headers


@webrtc
async def test_while_the_database_is_down_the_201_names_what_needs_no_booking(
    c: ClockedApp, studios: Callable[..., Studio], monkeypatch: pytest.MonkeyPatch
) -> None:
    ln = await book(c, c.clock() + timedelta(minutes=5))
    trend = studios("trend", 40)
    await trend.join(c.client, ln["trend"])  # the room is open

    async def database_down(_booking_id: str) -> Any:
        raise DatabaseUnavailable(ConnectionError("connection refused"))

    monkeypatch.setattr(c.app[OUTAGE], "booking_now", database_down)
    encoder = studios("dha", 160, partners=0, send="sendonly")
    resp = await publish(c, encoder, ln["dha"])
    # STUN needs no credentials; the per-console TURN ones are signed with the booking's end.
    assert parse_links(resp.headers.getall("Link")) == [(STUN, {"rel": "ice-server"})]
    await sees(trend, encoder)
