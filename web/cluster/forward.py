"""A room's requests go to the node that owns it: signalling, WHIP, the control room, the
production controls, HLS and thumbnails.

Studios and producers reach any node (one public address in front of all of them); a node that
does not own the booking's room passes the request on to the one that does, over the nodes' own
addresses, and passes its answer back. The browser sees one origin (no redirects, no CORS), and
its media still flows to the owner directly: the SDP answer carries the owner's candidates.
A request is passed on once at most (a header marks it), and one whose owner does not answer is
served here as if the room were not open.
"""

from __future__ import annotations

import logging
import re

import aiohttp
from aiohttp import web

from schedules.rules.placement import Node
from web.access.forwarded import client_address
from web.cluster.node import ClusterNode, NoNodeFree, RoomElsewhere
from web.errors import ApiError, Handler
from web.services import ARCHIVE, CLUSTER, CLUSTER_CLIENT

log = logging.getLogger("telebridge.web.cluster")
# Marks a request one node passed to another (its value: the node that passed it on).
HOP_HEADER = "X-Telebridge-Node"
# Paths whose booking's room answers them. Everything under a booking's API path goes too: the
# owner serves the stored parts alike and is the one whose room follows an edit at once.
ROOM_PATH = re.compile(
    r"^/(?:join|whip|live|api/live|api/bookings)/(?P<booking>[A-Za-z0-9_-]{1,40})/"
)
# A recording's files and poster, and its deletion: on the disk of the node that finished it
# (unless stored).
ARCHIVE_PATH = re.compile(
    r"^/(?:api/recordings|recordings|archive)/(?P<recording>[0-9a-f]{12})(?:/|$)"
)
# Headers that belong to one hop (RFC 9110 7.6.1), and those aiohttp writes itself.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
        "Date",
        "Server",
    )
)
FORWARD_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=2)


@web.middleware
async def to_room_owner(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pass a room's request to the node that owns the room, else serve it here."""
    cluster: ClusterNode | None = request.app.get(CLUSTER)
    if cluster is None:
        return await handler(request)
    passed_on = HOP_HEADER in request.headers
    stored = ARCHIVE_PATH.match(request.path)
    if stored is not None and not passed_on:
        holder = await _holder(request, cluster, stored["recording"])
        if holder is not None:
            return await _forward(request, holder.url, cluster.node_id)
    match = ROOM_PATH.match(request.path)
    if match is None:
        return await handler(request)
    if not passed_on:
        try:
            owner = await cluster.owner_elsewhere(match["booking"])
        except Exception:  # the database away: the request goes its own way here
            owner = None
        if owner is not None:
            return await _forward(request, owner.url, cluster.node_id)
    try:
        return await handler(request)
    except NoNodeFree as full:
        raise ApiError(
            503, "no_node_free", "No node of this service has room for this telebridge now"
        ) from full
    except RoomElsewhere as moved:  # placed on another node as this one tried to open it
        if passed_on:
            raise ApiError(
                503, "room_moving", "This telebridge's room is moving; try again"
            ) from moved
        return await _forward(request, moved.node.url, cluster.node_id)


async def _holder(request: web.Request, cluster: ClusterNode, recording_id: str) -> Node | None:
    """The live node other than this one whose disk holds the recording's files; None when
    this node serves them (its own, the object store's, or none: the route says why)."""
    try:
        node_id = await request.app[ARCHIVE].node_of(recording_id)
        return await cluster.live_node(node_id) if node_id else None
    except Exception:  # the database away: the route answers it as it can
        return None


async def _forward(request: web.Request, base_url: str, node_id: str) -> web.StreamResponse:
    """The owner's answer to the same request, streamed back."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    headers[HOP_HEADER] = node_id
    forwarded_for = request.headers.get("X-Forwarded-For")
    browser = client_address(request)
    headers["X-Forwarded-For"] = f"{forwarded_for}, {browser}" if forwarded_for else browser
    body = await request.read() if request.body_exists else None
    url = base_url.rstrip("/") + request.rel_url.raw_path_qs
    session: aiohttp.ClientSession = request.app[CLUSTER_CLIENT]
    try:
        async with session.request(
            request.method, url, headers=headers, data=body, allow_redirects=False
        ) as answer:
            response = web.StreamResponse(status=answer.status, reason=answer.reason)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            if answer.content_length is not None:
                response.content_length = answer.content_length
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning(
            "node at %s did not answer %s %s: %s", base_url, request.method, request.path, exc
        )
        raise ApiError(
            503, "room_node_unreachable", "This telebridge's room is on a node that does not answer"
        ) from exc


def client_session() -> aiohttp.ClientSession:
    """The session a node passes requests on with (compressed bodies pass through as sent)."""
    return aiohttp.ClientSession(timeout=FORWARD_TIMEOUT, auto_decompress=False)
