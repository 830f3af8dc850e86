"""Which node of a cluster takes a room: pure functions of the nodes as the database lists them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A node whose last heartbeat is older than this is dead: its rooms move to another node.
DEAD_AFTER = timedelta(seconds=5)


@dataclass(frozen=True)
class Node:
    """A server of the cluster as registered: where it is reached, what it takes, how it is."""

    id: str
    url: str
    capacity: int  # rooms it takes at most
    draining: bool  # takes no new rooms
    started_at: datetime
    heartbeat_at: datetime
    rooms: int = 0  # rooms placed on it now

    def alive(self, now: datetime) -> bool:
        """Whether it beat its heart recently enough to keep its rooms."""
        return now - self.heartbeat_at < DEAD_AFTER


def choose_node(nodes: Sequence[Node], now: datetime, prefer: str | None = None) -> Node | None:
    """The node a new (or orphaned) room goes to: a live node that is not draining and has
    room, the least loaded by its share of capacity; `prefer` (the node asking, which has the
    studio's request in hand) wins a tie, so that a quiet cluster keeps a room where its first
    studio came in. None when no node can take it."""
    able = [n for n in nodes if n.alive(now) and not n.draining and n.rooms < n.capacity]
    if not able:
        return None
    return min(able, key=lambda n: (n.rooms / n.capacity, n.id != prefer, n.id))
