"""The cluster in the database, on SQLite and PostgreSQL: nodes register and beat their hearts,
each room is placed on exactly one node (the least loaded), and a dead node's rooms move once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from conftest import NOW
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import db
from schedules.cluster.registry import NodeAlive, NodeRegistry, NoNodeFree
from schedules.rules.placement import DEAD_AFTER, Node, choose_node


def node(node_id: str, rooms: int = 0, **fields: object) -> Node:
    values: dict[str, object] = {
        "url": f"http://{node_id}:8080",
        "capacity": 10,
        "draining": False,
        "started_at": NOW,
        "heartbeat_at": NOW,
        "rooms": rooms,
    }
    values.update(fields)
    return Node(id=node_id, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nodes", "prefer", "chosen"),
    [
        ([node("a", 2), node("b", 1)], None, "b"),  # the least loaded
        ([node("a", 1), node("b", 1)], "b", "b"),  # the asking node on a tie
        ([node("a", 1), node("b", 1)], None, "a"),  # else by id, the same on every node
        ([node("a", 1, capacity=2), node("b", 4, capacity=10)], None, "b"),  # share of capacity
        ([node("a", heartbeat_at=NOW - DEAD_AFTER), node("b", 5)], "a", "b"),  # a dead node
        ([node("a", draining=True), node("b", 5)], "a", "b"),  # a draining node
        ([node("a", 3, capacity=3), node("b", 9)], "a", "b"),  # a full node
        ([node("a", draining=True), node("b", 3, capacity=3)], "a", None),  # nobody
        ([], None, None),
    ],
)
def test_a_room_goes_to_the_least_loaded_live_node(
    nodes: list[Node], prefer: str | None, chosen: str | None
) -> None:
    found = choose_node(nodes, NOW, prefer)
    assert (found.id if found else None) == chosen


def test_a_heartbeat_keeps_a_node_alive_for_five_seconds() -> None:
    beat = node("a")
    assert beat.alive(NOW + DEAD_AFTER - timedelta(milliseconds=1))
    assert not beat.alive(NOW + DEAD_AFTER)


def registry(engine: AsyncEngine, node_id: str, capacity: int = 10) -> NodeRegistry:
    return NodeRegistry(engine, node_id, f"http://{node_id}:8080", capacity)


async def test_nodes_register_and_each_room_has_exactly_one_owner(engine: AsyncEngine) -> None:
    a, b = registry(engine, "node-a"), registry(engine, "node-b")
    await a.heartbeat(NOW)
    await b.heartbeat(NOW)
    await a.heartbeat(NOW + timedelta(seconds=1))  # a second beat updates, never duplicates
    assert [(n.id, n.url, n.heartbeat_at) for n in await b.nodes()] == [
        ("node-a", "http://node-a:8080", NOW + timedelta(seconds=1)),
        ("node-b", "http://node-b:8080", NOW),
    ]
    # Both nodes place the same room at once (two studios coming in through each): one wins,
    # and both are told the same owner.
    now = NOW + timedelta(seconds=1)
    first, second = await asyncio.gather(a.place("b1", now), b.place("b1", now))
    assert first == second and first.epoch == 1
    owner = first.node.id
    assert await a.placed_here() | await b.placed_here() == {"b1"}
    # The next rooms go to the other node: the least loaded.
    other = await registry(engine, owner).place("b2", now)
    assert other.node.id != owner
    assert {n.id: n.rooms for n in await a.nodes()} == {"node-a": 1, "node-b": 1}


async def test_a_dead_nodes_room_moves_once_and_a_released_room_is_placed_anew(
    engine: AsyncEngine,
) -> None:
    a, b, c = registry(engine, "node-a"), registry(engine, "node-b"), registry(engine, "node-c")
    for r in (a, b, c):
        await r.heartbeat(NOW)
    assert (await a.place("b1", NOW)).node.id == "node-a"
    # node-a stops beating; node-b and node-c both see it dead and both try to take its room.
    later = NOW + DEAD_AFTER
    await b.heartbeat(later)
    await c.heartbeat(later)
    assert (await b.place("b1", later - timedelta(seconds=1))).node.id == "node-a"  # not yet
    taken = await asyncio.gather(b.place("b1", later), c.place("b1", later))
    assert taken[0] == taken[1] and taken[0].epoch == 2
    assert taken[0].node.id in ("node-b", "node-c")
    # Its new owner closes the room at the end: the placement goes; a room that moved away is
    # not released by the node that lost it.
    await a.release("b1")
    assert (await a.owner("b1")) == taken[0]
    await registry(engine, taken[0].node.id).release("b1")
    assert await a.owner("b1") is None


async def test_what_a_dead_node_left_behind_is_claimed_by_one_node(engine: AsyncEngine) -> None:
    a, b, c = registry(engine, "node-a"), registry(engine, "node-b"), registry(engine, "node-c")
    for r in (a, b, c):
        await r.heartbeat(NOW)
    assert (await a.place("b1", NOW)).node.id == "node-a"
    assert not await b.claim_left_behind("b1", NOW)  # node-a is alive: it finishes its own
    assert await a.claim_left_behind("b1", NOW)  # its own placement
    later = NOW + DEAD_AFTER
    await b.heartbeat(later)
    await c.heartbeat(later)
    # node-a is dead: node-b and node-c both try; exactly one gets it.
    won = await asyncio.gather(b.claim_left_behind("b1", later), c.claim_left_behind("b1", later))
    assert sorted(won) == [False, True]
    owner = await a.owner("b1")
    assert owner is not None and owner.epoch == 2 and owner.node.id in ("node-b", "node-c")
    # A booking placed nowhere (its room closed by a node that left): claimed as well.
    assert await b.claim_left_behind("b2", later)
    assert not await c.claim_left_behind("b2", later)
    assert not await registry(engine, "node-x").claim_left_behind("b3", later)  # unregistered


async def test_draining_full_and_departed_nodes_take_no_room(engine: AsyncEngine) -> None:
    a, b = registry(engine, "node-a", capacity=1), registry(engine, "node-b", capacity=1)
    assert not await a.heartbeat(NOW)
    assert not await b.heartbeat(NOW)
    assert await a.set_draining("node-b", True)
    assert await b.heartbeat(NOW)  # a beat leaves it draining (the operator said so), and says it
    assert (await b.place("b1", NOW)).node.id == "node-a"  # node-b drains
    with pytest.raises(NoNodeFree):
        await b.place("b2", NOW)  # node-a is full
    assert await b.set_draining("node-b", False)
    assert not await b.set_draining("node-x", True)
    assert (await a.place("b2", NOW)).node.id == "node-b"
    # node-a stops cleanly: its room is free at once, not after five seconds.
    await a.leave()
    assert [n.id for n in await b.nodes()] == ["node-b"]
    assert await b.owner("b1") is None
    # A placement whose node left the registry some other way counts as dead.
    await a.heartbeat(NOW)
    assert (await a.place("b3", NOW)).node.id == "node-a"
    await registry(engine, "node-c").heartbeat(NOW)
    async with engine.begin() as conn:
        await conn.execute(db.nodes.delete().where(db.nodes.c.id == "node-a"))
    assert (await b.place("b3", NOW)).node.id == "node-c"  # node-b is full with b2


async def test_only_a_dead_node_is_forgotten_and_its_room_moves_as_from_a_dead_one(
    engine: AsyncEngine,
) -> None:
    a, b = registry(engine, "node-a"), registry(engine, "node-b")
    await a.heartbeat(NOW)
    await b.heartbeat(NOW)
    assert (await a.place("b1", NOW)).epoch == 1
    later = NOW + DEAD_AFTER - timedelta(milliseconds=1)
    with pytest.raises(NodeAlive):  # its heartbeat is 4.999 s old: alive
        await b.forget("node-a", later)
    assert [n.id for n in await b.nodes()] == ["node-a", "node-b"]
    assert await b.forget("node-x", later) is None  # never registered
    dead = NOW + DEAD_AFTER
    await b.heartbeat(dead)
    gone = await b.forget("node-a", dead)
    assert gone is not None and gone.id == "node-a" and gone.rooms == 1
    assert [n.id for n in await b.nodes()] == ["node-b"]
    # Its room is still placed on it, and moves by the same compare-and-set as from a dead
    # node: the next epoch, once.
    assert (await b.owner("b1")).node.id == "node-a"  # type: ignore[union-attr]
    moved = await b.place("b1", dead)
    assert (moved.node.id, moved.epoch) == ("node-b", 2)
    # A forgotten node that was alive after all registers again with its next beat.
    await a.heartbeat(dead)
    assert [n.id for n in await b.nodes()] == ["node-a", "node-b"]


async def test_a_node_keeps_its_own_room_and_takes_a_dead_nodes_only_when_told(
    engine: AsyncEngine,
) -> None:
    a, b = registry(engine, "node-a"), registry(engine, "node-b")
    await a.heartbeat(NOW)
    await b.heartbeat(NOW)
    assert (await a.place("b1", NOW)).node.id == "node-a"
    later = NOW + DEAD_AFTER * 2  # both heartbeats old: the database was away
    # node-a asks about its own room: it is alive, the room stays.
    assert (await a.place("b1", later)).node.id == "node-a"
    # node-b, back from the same outage, may not take it yet: the caller says so.
    await b.heartbeat(later)
    assert (await b.place("b1", later, take_over=False)).node.id == "node-a"
    assert (await b.place("b1", later, take_over=True)).node.id == "node-b"


async def test_a_node_whose_beat_came_late_still_takes_the_room_it_is_asked_for(
    engine: AsyncEngine,
) -> None:
    a, b = registry(engine, "node-a"), registry(engine, "node-b")
    await a.heartbeat(NOW)
    later = NOW + DEAD_AFTER * 2  # node-a's loop was too busy to beat; node-b's was not
    await b.heartbeat(later)
    # A studio comes in through node-a: asking proves it alive, so the room stays where the
    # studio is, on a tie, and node-a's beat is as new as its question.
    placed = await a.place("b1", later)
    assert placed.node.id == "node-a"
    assert {n.id: n.heartbeat_at for n in await b.nodes()} == {"node-a": later, "node-b": later}
    # A beat never goes back in time.
    assert (await a.place("b2", NOW)).node.id == "node-b"
    assert {n.id: n.heartbeat_at for n in await b.nodes()}["node-a"] == later
