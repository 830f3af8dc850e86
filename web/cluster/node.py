"""This node in the cluster: it beats its heart in the database every second, claims the rooms
the placement gives it, and says where a room it does not own is.

A node keeps the rooms it owns whatever its heartbeat says (it is alive: it is asking). It takes
over another node's room only once its own heartbeat has been written for longer than a node
takes to count as dead: after a database outage every heartbeat is old, and a node that came
back first must not take the rooms of nodes that are only slower to write theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from schedules.cluster.registry import NodeRegistry, NoNodeFree
from schedules.outage import database_down, describe
from schedules.rules.placement import DEAD_AFTER, Node, choose_node
from schedules.timeutil import utc_now
from web.tasks import Repeating

log = logging.getLogger("telebridge.web.cluster")
HEARTBEAT_S = 1.0
LEAVE_TIMEOUT_S = 3.0  # what a clean stop waits for the database to hear that it leaves


class RoomElsewhere(Exception):
    """The booking's room is owned by another node (`node`), which serves its studios."""

    def __init__(self, booking_id: str, node: Node) -> None:
        super().__init__(f"the room of booking {booking_id} is on node {node.id}")
        self.booking_id = booking_id
        self.node = node


class ClusterNode:
    """This node's heartbeat and its claims on rooms."""

    def __init__(self, registry: NodeRegistry, clock: Callable[[], datetime] = utc_now) -> None:
        self.registry = registry
        # The wall clock, never the app's (tests move that): heartbeats compare across nodes.
        self.clock = clock
        self._healthy_since: datetime | None = None  # since when every heartbeat was written
        # The operator drains this node (`telebridge node drain`): it takes no new rooms, and
        # its rooms that nobody uses move to the others (as the last heartbeat read it).
        self.draining = False
        # Bookings whose placement this node holds to finish what a dead node left of them
        # (web/live/recordings/left_behind.py): not rooms, and not released by the autopilot
        # meanwhile.
        self.held: set[str] = set()
        self._beating = Repeating(
            self.beat, HEARTBEAT_S, f"node {self.node_id}'s heartbeat", log, wait_first=True
        )

    @property
    def node_id(self) -> str:
        return self.registry.node_id

    async def start(self) -> None:
        """Register now (when the database answers) and beat every second from now on."""
        await self.beat()
        self._beating.start()

    async def stop(self) -> None:
        """Stop beating and leave the registry, so that other nodes take this one's rooms at
        once rather than after it counts as dead."""
        await self._beating.stop()
        try:
            await asyncio.wait_for(self.registry.leave(), LEAVE_TIMEOUT_S)
        except Exception as exc:  # the others take its rooms when its heartbeat is old
            log.warning("node %s left without saying so: %s", self.node_id, describe(exc))

    async def beat(self) -> None:
        """Write this node's heartbeat once; a database that does not answer is waited out."""
        now = self.clock()
        try:
            draining = await self.registry.heartbeat(now)
        except Exception as exc:
            if not database_down(exc):
                raise
            if self._healthy_since is not None:
                log.info("node %s cannot beat its heart: %s", self.node_id, describe(exc))
            self._healthy_since = None
            return
        if self._healthy_since is None:
            self._healthy_since = now
        if draining != self.draining:
            log.info("node %s %s", self.node_id, "drains" if draining else "takes rooms again")
        self.draining = draining

    def may_take_over(self) -> bool:
        """Whether this node's heartbeat has been written long enough that a heartbeat older
        than DEAD_AFTER means its node is dead, not that the database was away."""
        since = self._healthy_since
        return since is not None and self.clock() - since >= DEAD_AFTER

    async def claim(self, booking_id: str) -> Node:
        """The node whose room the booking's is (this one's when `node.id == self.node_id`),
        placing it first when it has no live owner. Raises NoNodeFree when no node can take
        it."""
        placement = await self.registry.place(
            booking_id, self.clock(), take_over=self.may_take_over()
        )
        return placement.node

    async def should_move_off(self) -> bool:
        """Whether this node drains and another live node would take a room of it now."""
        if not self.draining:
            return False
        now = self.clock()
        others = [n for n in await self.registry.nodes() if n.id != self.node_id]
        return choose_node(others, now) is not None

    async def claim_left_behind(self, booking_id: str) -> bool:
        """Hold the booking's placement to finish what a dead node left of it (one node
        wins); never while this node's own heartbeat is too young to tell a dead node."""
        if not self.may_take_over():
            return False
        if await self.registry.claim_left_behind(booking_id, self.clock()):
            self.held.add(booking_id)
            return True
        return False

    async def owner_elsewhere(self, booking_id: str) -> Node | None:
        """The live node other than this one that owns the booking's room, if there is one."""
        placement = await self.registry.owner(booking_id)
        if placement is None or placement.node.id == self.node_id:
            return None
        return placement.node if placement.node.alive(self.clock()) else None

    async def live_node(self, node_id: str) -> Node | None:
        """The node of that id, if it is another one and alive."""
        if node_id == self.node_id:
            return None
        now = self.clock()
        found = [n for n in await self.registry.nodes() if n.id == node_id and n.alive(now)]
        return found[0] if found else None

    async def runs_elsewhere(self, booking_id: str) -> bool:
        """Whether the booking's room runs on another live node now."""
        return await self.owner_elsewhere(booking_id) is not None

    async def placed_here(self) -> set[str]:
        """The bookings whose rooms are placed on this node."""
        return await self.registry.placed_here()

    async def release(self, booking_id: str) -> None:
        """This node closed the booking's room (or finished what it held it for); a database
        away leaves the row (the next tick releases it)."""
        self.held.discard(booking_id)
        try:
            await self.registry.release(booking_id)
        except Exception as exc:
            if not database_down(exc):
                raise
            log.debug("room of booking %s released later: %s", booking_id, describe(exc))


__all__ = ["ClusterNode", "NoNodeFree", "RoomElsewhere"]
