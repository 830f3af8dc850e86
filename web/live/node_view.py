"""The cluster's nodes as master control shows them: each node's state, rooms and heartbeat.

Read from the registry with the other nodes' rooms (web/cluster/peers.py), once a second. A
node is `live`, `draining` (it takes no new rooms) or `down` (silent for longer than a node may
be: its rooms move to the others). The node answering is never down in its own eyes: it is
answering. While the database does not answer, the list stays as last read and no node is
called down for it (the database's own alert says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schedules.rules.placement import Node
from web.live.live_json import moment_json

# Older than this, the registry's list is not the cluster's now (the database is away, or
# reading it failed): shown as it was, judged by nobody.
FRESH_SECONDS = 3.0


@dataclass(frozen=True)
class NodeView:
    """One node of the cluster, as master control shows it."""

    id: str
    url: str
    this: bool  # the node answering
    state: str  # live | draining | down
    rooms: int
    capacity: int
    heartbeat_at: datetime
    heartbeat_age_s: float
    started_at: datetime


@dataclass(frozen=True)
class ClusterNodes:
    """The registry's nodes as last read, and when (by the nodes' wall clock)."""

    nodes: Sequence[Node]
    read_at: datetime | None


def node_views(cluster: ClusterNodes, this_node: str, now: datetime) -> list[NodeView]:
    """Every registered node, this one first, then by id."""
    views = []
    for n in cluster.nodes:
        this = n.id == this_node
        age = max(0.0, (now - n.heartbeat_at).total_seconds())
        state = "draining" if n.draining else "live"
        if not this and not n.alive(now):
            state = "down"
        views.append(
            NodeView(
                id=n.id,
                url=n.url,
                this=this,
                state=state,
                rooms=n.rooms,
                capacity=n.capacity,
                heartbeat_at=n.heartbeat_at,
                heartbeat_age_s=0.0 if this else round(age, 1),
                started_at=n.started_at,
            )
        )
    return sorted(views, key=lambda v: (not v.this, v.id))


def nodes_down(cluster: ClusterNodes, this_node: str, now: datetime) -> list[str]:
    """The nodes to raise an alert for: down in a list read just now (none otherwise)."""
    if cluster.read_at is None or (now - cluster.read_at).total_seconds() > FRESH_SECONDS:
        return []
    return [v.id for v in node_views(cluster, this_node, now) if v.state == "down"]


def node_json(view: NodeView) -> dict[str, Any]:
    """A node as `/api/live` and `/ws/monitor` send it."""
    return {
        "id": view.id,
        "url": view.url,
        "this": view.this,
        "state": view.state,
        "rooms": view.rooms,
        "capacity": view.capacity,
        "heartbeat_at": moment_json(view.heartbeat_at),
        "heartbeat_age_s": view.heartbeat_age_s,
        "started_at": moment_json(view.started_at),
    }
