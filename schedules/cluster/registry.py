"""The cluster in the database: the nodes' registry and heartbeats, and which node owns each
open room (placement).

Placement is a row per room written by compare-and-set: a room without a row is placed by an
INSERT that only one node can win (primary key), and a room whose node died is moved by an
UPDATE that names the epoch it read, so two nodes that see the same dead owner cannot both take
it. No lock is held across a round trip, and it works alike on PostgreSQL and SQLite.
Times come from the nodes' clocks, which the deployment keeps in step (NTP): a heartbeat is
trusted for `DEAD_AFTER`, seconds more than any skew NTP leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schedules import db
from schedules.rules.placement import DEAD_AFTER, Node, choose_node

# The heartbeat of a node that left the registry.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Placement:
    """The node that owns a booking's room, as placed."""

    booking_id: str
    node: Node
    epoch: int


class NoNodeFree(Exception):
    """No live node that is not draining has room for another room."""


class NodeAlive(Exception):
    """The node is alive: only a dead node may be forgotten."""

    def __init__(self, node: Node) -> None:
        super().__init__(f"node {node.id} is alive")
        self.node = node


class NodeRegistry:
    """This node's view of the cluster's table: its own heartbeat, and placements."""

    def __init__(self, engine: AsyncEngine, node_id: str, url: str, capacity: int) -> None:
        self.engine = engine
        self.node_id = node_id
        self.url = url
        self.capacity = capacity

    async def heartbeat(self, now: datetime) -> bool:
        """Say that this node is alive (registering it the first time, not draining); whether
        it drains. That is the operator's to say (`set_draining`), so a beat leaves it as it
        is."""
        values = {"url": self.url, "capacity": self.capacity, "heartbeat_at": now}
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                db.nodes.update().where(db.nodes.c.id == self.node_id).values(**values)
            )
            if not updated.rowcount:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            db.nodes.insert().values(
                                id=self.node_id, started_at=now, draining=False, **values
                            )
                        )
                except sa.exc.IntegrityError:  # registered by a twin with the same id meanwhile
                    await conn.execute(
                        db.nodes.update().where(db.nodes.c.id == self.node_id).values(**values)
                    )
            draining = await conn.scalar(
                sa.select(db.nodes.c.draining).where(db.nodes.c.id == self.node_id)
            )
        return bool(draining)

    async def set_draining(self, node_id: str, draining: bool) -> bool:
        """Mark a node as draining (it takes no new rooms) or not; False if it is unknown."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                db.nodes.update().where(db.nodes.c.id == node_id).values(draining=draining)
            )
        return bool(result.rowcount)

    async def leave(self) -> None:
        """A clean stop: this node's rooms are free to move at once, and it is gone."""
        async with self.engine.begin() as conn:
            await conn.execute(
                db.room_placements.delete().where(db.room_placements.c.node_id == self.node_id)
            )
            await conn.execute(db.nodes.delete().where(db.nodes.c.id == self.node_id))

    async def forget(self, node_id: str, now: datetime) -> Node | None:
        """Take a dead node out of the registry (the operator's word: it is not coming back);
        the node as it was, or None when no such node is registered. A live node is not
        forgotten (raises NodeAlive): it would register again with its next heartbeat anyway.
        Its rooms keep their placements, which the next node to claim them takes over as from
        a dead node (by the same compare-and-set)."""
        async with self.engine.begin() as conn:
            found = [n for n in await _nodes(conn) if n.id == node_id]
            if not found:
                return None
            if found[0].alive(now):
                raise NodeAlive(found[0])
            deleted = await conn.execute(
                db.nodes.delete().where(
                    (db.nodes.c.id == node_id) & (db.nodes.c.heartbeat_at <= now - DEAD_AFTER)
                )
            )
            if not deleted.rowcount:  # it beat its heart since it was read
                raise NodeAlive(found[0])
        return found[0]

    async def nodes(self) -> list[Node]:
        """Every registered node with the number of rooms placed on it, by id."""
        async with self.engine.connect() as conn:
            return await _nodes(conn)

    async def owner(self, booking_id: str) -> Placement | None:
        """Where the booking's room is placed now (its node may be dead), if anywhere."""
        async with self.engine.connect() as conn:
            return await _placement(conn, booking_id)

    async def place(self, booking_id: str, now: datetime, take_over: bool = True) -> Placement:
        """The owner of the booking's room, placing it first when it has none, or when its node
        is dead and `take_over` (on the least loaded node, this one on a tie; placing counts as
        this node's heartbeat). A room placed on this node stays here: this node is alive, it
        is asking. Raises NoNodeFree."""
        for _ in range(3):  # another node placing the same room at once: read what it wrote
            async with self.engine.begin() as conn:
                current = await _placement(conn, booking_id)
                if current is not None and (
                    current.node.id == self.node_id or current.node.alive(now) or not take_over
                ):
                    return current
                # Asking proves this node alive, whatever its last beat says: a beat that came
                # late (a busy loop) must not send the room it has in hand to another node.
                await conn.execute(
                    db.nodes.update()
                    .where((db.nodes.c.id == self.node_id) & (db.nodes.c.heartbeat_at < now))
                    .values(heartbeat_at=now)
                )
                chosen = choose_node(await _nodes(conn), now, prefer=self.node_id)
                if chosen is None:
                    raise NoNodeFree(booking_id)
                placement = await _write(conn, booking_id, chosen, current, now)
                if placement is not None:
                    return placement
        current = await self.owner(booking_id)
        if current is None:
            raise NoNodeFree(booking_id)
        return current

    async def claim_left_behind(self, booking_id: str, now: datetime) -> bool:
        """Take the booking's placement for this node, to finish what a dead node left of it
        (its show is over): when it is placed nowhere or on a dead node, by the same
        compare-and-set as a takeover, so that one node does it. False when a live node
        holds it, or another node took it first."""
        async with self.engine.begin() as conn:
            current = await _placement(conn, booking_id)
            if current is not None and current.node.id == self.node_id:
                return True
            if current is not None and current.node.alive(now):
                return False
            me = [n for n in await _nodes(conn) if n.id == self.node_id]
            if not me:
                return False  # not registered (yet): it cannot hold anything
            return await _write(conn, booking_id, me[0], current, now) is not None

    async def release(self, booking_id: str) -> None:
        """This node closed the booking's room: the placement goes (unless it moved away)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                db.room_placements.delete().where(
                    (db.room_placements.c.booking_id == booking_id)
                    & (db.room_placements.c.node_id == self.node_id)
                )
            )

    async def placed_here(self) -> set[str]:
        """The bookings whose rooms are placed on this node."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(db.room_placements.c.booking_id).where(
                    db.room_placements.c.node_id == self.node_id
                )
            )
            return {r.booking_id for r in rows}


async def _nodes(conn: AsyncConnection) -> list[Node]:
    rooms = (
        sa.select(db.room_placements.c.node_id, sa.func.count().label("rooms"))
        .group_by(db.room_placements.c.node_id)
        .subquery()
    )
    rows = await conn.execute(
        sa.select(db.nodes, sa.func.coalesce(rooms.c.rooms, 0).label("rooms"))
        .select_from(db.nodes.outerjoin(rooms, rooms.c.node_id == db.nodes.c.id))
        .order_by(db.nodes.c.id)
    )
    return [_node(r) for r in rows]


def _node(row: Any) -> Node:
    return Node(
        id=row.id,
        url=row.url,
        capacity=row.capacity,
        draining=bool(row.draining),
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        rooms=int(getattr(row, "rooms", 0) or 0),
    )


async def _placement(conn: AsyncConnection, booking_id: str) -> Placement | None:
    table = db.room_placements
    row = (
        await conn.execute(
            sa.select(table.c.node_id, table.c.epoch, db.nodes)
            .select_from(table.outerjoin(db.nodes, db.nodes.c.id == table.c.node_id))
            .where(table.c.booking_id == booking_id)
        )
    ).first()
    if row is None:
        return None
    if row.id is None:  # its node left the registry: as good as dead
        return Placement(booking_id, Node(row.node_id, "", 0, True, NEVER, NEVER), row.epoch)
    return Placement(booking_id, _node(row), row.epoch)


async def _write(
    conn: AsyncConnection,
    booking_id: str,
    node: Node,
    current: Placement | None,
    now: datetime,
) -> Placement | None:
    """Place the room on `node` if nobody placed or moved it since `current` was read; None
    when somebody did (the caller reads again)."""
    table = db.room_placements
    try:
        async with conn.begin_nested():
            if current is None:
                await conn.execute(
                    table.insert().values(
                        booking_id=booking_id, node_id=node.id, epoch=1, placed_at=now
                    )
                )
                epoch = 1
            else:
                moved = await conn.execute(
                    table.update()
                    .where((table.c.booking_id == booking_id) & (table.c.epoch == current.epoch))
                    .values(node_id=node.id, epoch=current.epoch + 1, placed_at=now)
                )
                if not moved.rowcount:
                    return None
                epoch = current.epoch + 1
    except sa.exc.IntegrityError:
        return None
    return Placement(booking_id, node, epoch)
