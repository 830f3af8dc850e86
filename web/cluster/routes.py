"""The route the nodes of a cluster ask each other (web/cluster/peers.py)."""

from __future__ import annotations

from aiohttp import web

from web.cluster.peers import require_node
from web.errors import ApiError
from web.live.live_json import room_json
from web.services import CLUSTER, MONITOR, SIGNER

routes = web.RouteTableDef()


@routes.get("/api/cluster/live")
async def cluster_live(request: web.Request) -> web.Response:
    """This node's open rooms and active alerts, for another node's master control."""
    cluster = request.app[CLUSTER]
    if cluster is None:
        raise ApiError(404, "not_found", "This server runs alone, not in a cluster")
    require_node(request, request.app[SIGNER])
    hub = request.app[MONITOR]
    return web.json_response(
        {
            "node": cluster.node_id,
            "rooms": [room_json(r) for r in hub.rooms if r.open],
            "alerts": [a.as_json() for a in hub.alerts.active.values()],
        }
    )
