"""Master control's routes: `/api/live`, `/ws/monitor`, thumbnails and `/metrics`.

All of them read the monitor's latest snapshot (web.live.monitor); none of them touches a room.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from web.access import forwarded
from web.access.auth import require, require_director
from web.errors import ApiError
from web.live.live_json import room_json
from web.live.metrics import CONTENT_TYPE, render_metrics
from web.live.monitor import MonitorClient
from web.services import MONITOR
from web.tasks import cancel_and_wait

log = logging.getLogger("telebridge.web.api_live")
routes = web.RouteTableDef()

PING_SECONDS = 20.0
SEND_TIMEOUT_SECONDS = 10.0  # a client that cannot take a message in this long is cut off


@routes.get("/api/live")
async def live_rooms(request: web.Request) -> web.Response:
    """Every open room (and those starting within the hour) with each studio's health."""
    require_director(require(request))
    hub = request.app[MONITOR]
    return web.json_response(
        {
            "rooms": [room_json(r) for r in hub.rooms],
            "alerts": [a.as_json() for a in hub.alerts.active.values()],
            "sampled_at": hub.sampled_at.isoformat() if hub.sampled_at else None,
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
    try:
        async for msg in ws:  # the page sends nothing; this waits for it to go
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.clients.discard(client)
        await cancel_and_wait(writer)
        await ws.close()
    return ws


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
