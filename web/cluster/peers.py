"""Master control sees the whole cluster: every second each node reads the registry's nodes,
and the open rooms and alerts of the other live nodes, which master control shows beside its
own.

Nodes ask each other with a short-lived token signed by the secret they share (the same one
signs the join links, so every node of a cluster has it); `/api/cluster/live` answers only
that token, never a login."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from schedules.rules.placement import Node
from web.access.security import Signer
from web.cluster.node import ClusterNode
from web.errors import ApiError
from web.tasks import Repeating

log = logging.getLogger("telebridge.web.cluster")
NODE_TOKEN_HEADER = "X-Telebridge-Node-Token"
NODE_TOKEN_PURPOSE = "cluster-node"
NODE_TOKEN_SECONDS = 30
READ_EVERY_S = 1.0
READ_TIMEOUT = aiohttp.ClientTimeout(total=2, sock_connect=1)
JsonObject = dict[str, Any]


def node_token(signer: Signer, node_id: str) -> str:
    """What this node shows another node: its id, valid for NODE_TOKEN_SECONDS."""
    return signer.sign(
        NODE_TOKEN_PURPOSE, {"node": node_id, "until": int(time.time()) + NODE_TOKEN_SECONDS}
    )


def token_node(signer: Signer, token: str | None) -> str | None:
    """The node a token names, when it is genuine and not expired."""
    payload = signer.unsign(NODE_TOKEN_PURPOSE, token or "")
    if payload is None:
        return None
    node, until = payload.get("node"), payload.get("until")
    if not isinstance(node, str) or not isinstance(until, int) or until < time.time():
        return None
    return node


class PeerRooms:
    """The other live nodes' open rooms and active alerts, as they last answered, and every
    registered node as last read."""

    def __init__(
        self, cluster: ClusterNode, signer: Signer, session: aiohttp.ClientSession
    ) -> None:
        self.cluster = cluster
        self.signer = signer
        self.session = session
        self.rooms: list[JsonObject] = []
        self.alerts: list[JsonObject] = []
        self.nodes: list[Node] = []
        self.nodes_read_at: datetime | None = None  # by the nodes' wall clock
        # A database away: the last answers stand a while.
        self._reading = Repeating(self.read, READ_EVERY_S, "reading the peers' rooms", log)

    def start(self) -> None:
        self._reading.start()

    async def stop(self) -> None:
        await self._reading.stop()

    async def read(self) -> None:
        """Ask every other live node now (at once, each bounded)."""
        now = self.cluster.clock()
        nodes = await self.cluster.registry.nodes()
        self.nodes, self.nodes_read_at = nodes, now
        peers = [n for n in nodes if n.id != self.cluster.node_id and n.alive(now)]
        answers = await asyncio.gather(*(self._ask(n) for n in peers))
        rooms: list[JsonObject] = []
        alerts: list[JsonObject] = []
        for node, answer in zip(peers, answers, strict=True):
            if answer is None:
                continue
            rooms += [{**room, "node": node.id} for room in answer.get("rooms", [])]
            alerts += answer.get("alerts", [])
        self.rooms, self.alerts = rooms, alerts

    async def _ask(self, node: Node) -> JsonObject | None:
        headers = {NODE_TOKEN_HEADER: node_token(self.signer, self.cluster.node_id)}
        try:
            async with self.session.get(
                node.url.rstrip("/") + "/api/cluster/live", headers=headers, timeout=READ_TIMEOUT
            ) as resp:
                if resp.status != 200:
                    log.info("node %s answered %s for its rooms", node.id, resp.status)
                    return None
                answer: JsonObject = await resp.json()
                return answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.info("node %s did not say its rooms: %s", node.id, exc)
            return None


def require_node(request: web.Request, signer: Signer) -> str:
    """The node asking, or 403."""
    node = token_node(signer, request.headers.get(NODE_TOKEN_HEADER))
    if node is None:
        raise ApiError(403, "forbidden", "Only the nodes of this cluster may ask this")
    return node
