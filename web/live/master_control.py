"""Master control's routes: `/api/live`, `/ws/monitor`, thumbnails and `/metrics`.

All of them read the monitor's latest snapshot (web.live.monitor); none of them touches a room.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from web.access import forwarded
from web.access.auth import (
    CREDENTIAL,
    Credential,
    credential_problem,
    require,
    require_director,
    session_ends,
)
from web.cluster.peers import require_node
from web.errors import ApiError
from web.live.live_json import room_json
from web.live.metrics import CONTENT_TYPE, render_metrics
from web.live.monitor import MonitorClient
from web.services import CLUSTER, MONITOR, SIGNER
from web.tasks import cancel_and_wait

log = logging.getLogger("telebridge.web.api_live")
routes = web.RouteTableDef()

PING_SECONDS = 20.0
SEND_TIMEOUT_SECONDS = 10.0  # a client that cannot take a message in this long is cut off
# How often an open monitor checks its caller's session or token again: a logout on this server
# closes it at once, an expiry, a revocation or a logout on another server within this long.
RECHECK_SECONDS = 3.0
# The close code when the credential no longer stands (an application code, after HTTP's 401);
# the reason says which: "signed out", "session expired", "token revoked", "token expired".
CLOSE_SIGNED_OUT = 4401


@routes.get("/api/live")
async def live_rooms(request: web.Request) -> web.Response:
    """Every open room (and those starting within the hour) with each studio's health."""
    require_director(require(request))
    hub = request.app[MONITOR]
    return web.json_response(
        {
            "rooms": hub.rooms_json(),
            "alerts": hub.alerts_json(),
            "sampled_at": hub.sampled_at.isoformat() if hub.sampled_at else None,
            "nodes": hub.nodes_json(),
        }
    )


@routes.get("/api/cluster/live")
async def cluster_live(request: web.Request) -> web.Response:
    """This node's open rooms and active alerts, for another node's master control (the
    nodes of a cluster ask each other once a second: web/cluster/peers.py)."""
    cluster = request.app[CLUSTER]
    if cluster is None:
        raise ApiError(404, "not_found", "This server runs alone, not in a cluster")
    require_node(request, request.app[SIGNER])
    hub = request.app[MONITOR]
    return web.json_response(
        {
            "node": cluster.node_id,
            "rooms": [room_json(r) for r in hub.rooms if r.open],
            "alerts": hub.room_alerts_json(),
        }
    )


@routes.get(r"/api/live/{booking_id:[A-Za-z0-9_-]{1,40}}/{studio_id:[a-z0-9-]{1,63}}/thumbnail.jpg")
async def thumbnail(request: web.Request) -> web.Response:
    """The studio's latest thumbnail (made every few seconds by the monitor)."""
    require_director(require(request))
    key = (request.match_info["booking_id"], request.match_info["studio_id"])
    found = request.app[MONITOR].thumbnails.get(key)
    if found is None:
        raise ApiError(404, "not_found", "No picture from this studio yet")
    # The URL carries the version, so a browser may keep each one.
    return web.Response(
        body=found[1], content_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"}
    )


def _same_origin(request: web.Request) -> bool:
    """A browser's WebSocket must come from our own pages (cookies ride along otherwise)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: tools authenticate with a bearer token
    return urlsplit(origin).netloc == forwarded.host(request)


@routes.get("/ws/monitor")
async def monitor_socket(request: web.Request) -> web.WebSocketResponse:
    """Pushes a snapshot every second and alerts as they change; first a `hello` with history."""
    require_director(require(request))
    if not _same_origin(request):
        raise ApiError(403, "forbidden", "This WebSocket only serves this site's pages")
    hub = request.app[MONITOR]
    ws = web.WebSocketResponse(heartbeat=PING_SECONDS, max_msg_size=4096)
    await ws.prepare(request)
    client = MonitorClient()
    client.offer(hub.hello())
    hub.clients.add(client)
    writer = asyncio.ensure_future(_write(ws, client))
    guard = asyncio.ensure_future(_guard(ws, request.app, request[CREDENTIAL]))
    try:
        async for msg in ws:  # the page sends nothing; this waits for it to go
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.clients.discard(client)
        await cancel_and_wait(guard)
        await cancel_and_wait(writer)
        await ws.close()
    return ws


async def _guard(ws: web.WebSocketResponse, app: web.Application, credential: Credential) -> None:
    """Close the socket once its caller's credential no longer stands: the snapshots are for
    a signed-in producer, not for whoever keeps an old tab open."""
    with session_ends(app).watch(credential.digest) as logged_out:
        while not ws.closed:
            try:
                await asyncio.wait_for(logged_out.wait(), RECHECK_SECONDS)
                reason: str | None = "signed out"
            except TimeoutError:
                reason = await credential_problem(app, credential)
            if reason is not None:
                log.info("monitor client closed: %s", reason)
                await ws.close(code=CLOSE_SIGNED_OUT, message=reason.encode())
                return


async def _write(ws: web.WebSocketResponse, client: MonitorClient) -> None:
    while not ws.closed:
        message = await client.queue.get()
        try:
            await asyncio.wait_for(ws.send_str(message), SEND_TIMEOUT_SECONDS)
        except (TimeoutError, ConnectionError):
            log.info("monitor client too slow or gone; closing it")
            await ws.close()
            return


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: rooms, studios, recording, event-loop lag, process CPU and memory."""
    require_director(require(request))
    hub = request.app[MONITOR]
    body = render_metrics(hub.rooms, len(hub.clients), hub.loop_lag_s, hub.lag.worst_s)
    return web.Response(text=body, headers={"Content-Type": CONTENT_TYPE})
