"""WHIP ingest (RFC 9725): an encoder (OBS, GStreamer, a browser page) becomes a studio's source.

The bearer token is the studio's join token, and like the console it works only inside the
booking's join window (web.live.signaling checks both). The 201 names the session (`Location`)
and the STUN/TURN servers the console would get (`Link`, section 4.6). Trickle ICE and ICE
restarts are not supported: PATCH answers 405, so no `ETag` is handed out (it only serves
PATCH's `If-Match`). Browser-based clients get CORS on /whip/ only; the credential there is the
bearer token, never a cookie, so any origin may call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict

from schedules.model import Booking
from web.access.joinlinks import LINK_IDS, token_matches
from web.access.turn import console_ice_servers
from web.errors import ApiError, Handler
from web.live.signaling import connect, room_and_booking
from web.services import LIVE, SETTINGS, SIGNER
from web.settings import Settings

routes = web.RouteTableDef()
SDP_TYPE = "application/sdp"
PREFIX = "/whip/"
ENDPOINT = f"/whip/{LINK_IDS}"
SESSION_URL = f"{ENDPOINT}/{{session_id:[0-9a-f]{{16}}}}"

# What a session URL serves (the 405 to PATCH says so).
SESSION_ALLOW = "DELETE, OPTIONS"
# CORS. PATCH is let through the session URL's preflight although it is never served: a page
# then hears the 405 that tells a WHIP client "no trickle ICE" instead of a CORS failure.
ENDPOINT_CORS_METHODS = "POST, OPTIONS"
SESSION_CORS_METHODS = "DELETE, PATCH, OPTIONS"
CORS_REQUEST_HEADERS = "Authorization, Content-Type, If-Match"
CORS_EXPOSED_HEADERS = "Location, Link"
PREFLIGHT_MAX_AGE = "7200"  # seconds: Chromium keeps a preflight 2 h at most, whatever it says

# A URI the Link header can carry between < and >: printable ASCII without space, quotes and
# angle brackets. The settings are not checked (only `telebridge check` parses the URLs).
_LINK_URI = re.compile(r"^[!#-;=?-~]+$")
# What a quoted-string may hold (RFC 9110 section 5.6.4), obs-text left out.
_QUOTABLE = re.compile(r"^[\t\x20-\x7e]*$")


def bearer(request: web.Request) -> str:
    """The WHIP client's bearer token (the studio's join token), or 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "Send the studio's join token as a Bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def require_session_token(request: web.Request) -> None:
    """A request on a session URL carries this booking's and studio's join token, or 401/403.

    Not the join window: an encoder must be able to stop after its link has closed."""
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(request.app[SIGNER], bearer(request), booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join token is not valid")


async def read_offer(request: web.Request) -> str:
    """The SDP offer of a POST, or 415/400."""
    if request.content_type != SDP_TYPE:
        raise ApiError(415, "unsupported_media_type", f"The offer must be {SDP_TYPE}")
    try:
        return (await request.read()).decode()
    except UnicodeDecodeError:
        raise ApiError(400, "bad_offer", "The offer is not UTF-8 text") from None


@routes.post(ENDPOINT)
async def whip_publish(request: web.Request) -> web.Response:
    """WHIP ingest: an encoder (OBS, GStreamer) becomes the studio's source."""
    token = bearer(request)
    sdp = await read_offer(request)
    room, booking = await room_and_booking(request, token)
    studio_id = request.match_info["studio_id"]
    joined = await connect(room, studio_id, sdp)
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Location"] = (
        f"/whip/{quote(room.spec.booking_id)}/{quote(studio_id)}/{joined.session_id}"
    )
    headers["Cache-Control"] = "no-store"  # the Link headers carry TURN credentials
    for link in ice_links(request.app[SETTINGS], booking, studio_id):
        # One header per server: a client reading header lines sees each, and a browser's
        # fetch joins them with commas as RFC 8288 allows.
        headers.add("Link", link)
    return web.Response(
        status=201, body=joined.answer_sdp.encode(), content_type=SDP_TYPE, headers=headers
    )


def ice_links(settings: Settings, booking: Booking | None, studio_id: str) -> Iterator[str]:
    """The Link header values naming the encoder's STUN/TURN servers (RFC 9725 section 4.6):
    those the console gets, with the same time-limited TURN credentials."""
    if booking is not None:
        servers = console_ice_servers(settings, booking, studio_id)
    else:
        servers = servers_without_booking(settings)
    for server in servers:
        link = ice_link(server)
        if link is not None:
            yield link


def servers_without_booking(settings: Settings) -> list[dict[str, Any]]:
    """The servers that can be named while the database is down and the booking unknown:
    STUN, and TURN with static credentials. Per-console TURN credentials are signed with the
    booking's end, so they are left out rather than guessed (the server is the reachable side
    of every connection; TURN only helps an encoder behind a strict firewall)."""
    out: list[dict[str, Any]] = []
    for url in settings.ice_server_urls:
        if not url.startswith(("turn:", "turns:")):
            out.append({"urls": url})
        elif not settings.turn_secret:
            entry = {"urls": url}
            if settings.turn_username:
                entry |= {"username": settings.turn_username, "credential": settings.turn_password}
            out.append(entry)
    return out


def ice_link(server: Mapping[str, Any]) -> str | None:
    """One `rel="ice-server"` link value, or None for a setting no header can carry (left out
    rather than failing the encoder's connection)."""
    url = str(server["urls"])
    if not _LINK_URI.match(url):
        return None
    parts = [f"<{url}>", 'rel="ice-server"']
    if "username" in server:
        username, credential = str(server["username"]), str(server["credential"])
        if not (_QUOTABLE.match(username) and _QUOTABLE.match(credential)):
            return None
        parts += [
            f"username={quoted(username)}",
            f"credential={quoted(credential)}",
            'credential-type="password"',
        ]
    return "; ".join(parts)


def quoted(value: str) -> str:
    """`value` as an HTTP quoted-string (RFC 9110 section 5.6.4)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@routes.delete(SESSION_URL)
async def whip_end(request: web.Request) -> web.Response:
    """End a WHIP session (the encoder stops)."""
    require_session_token(request)
    room = request.app[LIVE].get(request.match_info["booking_id"])
    studio_id, session_id = request.match_info["studio_id"], request.match_info["session_id"]
    if room is None or not await room.disconnect(studio_id, session_id):
        raise ApiError(404, "not_found", "No such WHIP session")
    return web.Response(status=200)


@routes.patch(SESSION_URL)
async def whip_patch(request: web.Request) -> web.Response:
    """Trickle ICE and ICE restarts: not supported, so 405 (RFC 9725 section 4.3.1); the
    client then sends its candidates in the offer and restarts with a new POST. The token is
    checked first, as on DELETE: a stranger learns nothing of the session URL."""
    require_session_token(request)
    raise ApiError(
        405,
        "method_not_allowed",
        "Trickle ICE and ICE restarts are not supported: send every candidate in the offer, "
        "and POST a new offer to restart",
        headers={"Allow": SESSION_ALLOW},
    )


@routes.route("OPTIONS", ENDPOINT)
async def preflight_endpoint(_request: web.Request) -> web.Response:
    """CORS preflight of the POST (no token: a browser sends none with a preflight)."""
    return preflight(ENDPOINT_CORS_METHODS)


@routes.route("OPTIONS", SESSION_URL)
async def preflight_session(_request: web.Request) -> web.Response:
    """CORS preflight of the DELETE (and of a PATCH, to hear its 405)."""
    return preflight(SESSION_CORS_METHODS)


def preflight(methods: str) -> web.Response:
    """204 with what a page may send to this URL."""
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        },
    )


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer under /whip/ (errors too: this sits outside the error middleware) may be
    read by a page of any origin, with its Location and Link. `*` is safe: the credential is
    the bearer token the page itself holds. No route here reads a cookie, and a browser does
    not let a page read a `*` answer to a request it sent cookies with."""
    response = await handler(request)
    if request.path.startswith(PREFIX):
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        response.headers.setdefault("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS)
    return response
