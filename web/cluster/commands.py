"""`telebridge node list | drain | resume | forget`: the cluster's nodes as the database has
them."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from schedules.cluster.registry import NodeAlive, NodeRegistry
from schedules.db import make_engine, migrate
from schedules.rules.placement import Node
from schedules.timeutil import utc_now
from web.data_dir import private_dir, private_sqlite
from web.settings import Settings

NODE_COLUMNS = ("id", "url", "rooms", "capacity", "state", "heartbeat")


def node_table(nodes: list[Node], now: datetime) -> str:
    """`node list`'s text: one row per node under a header, columns aligned."""
    rows = [list(NODE_COLUMNS)]
    for n in nodes:
        state = "down" if not n.alive(now) else "draining" if n.draining else "live"
        age = (now - n.heartbeat_at).total_seconds()
        rows.append([n.id, n.url, str(n.rooms), str(n.capacity), state, f"{age:.0f} s ago"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


async def node_command(settings: Settings, args: argparse.Namespace) -> int:
    """List the nodes, mark one as draining (no new rooms) or taking rooms again, or forget
    a dead one."""
    # The first command on a new host may be this one: it creates them as `serve` would.
    private_dir(settings.data_dir)
    private_sqlite(settings.database)
    engine = make_engine(settings.database)
    try:
        await migrate(engine)
        registry = NodeRegistry(engine, settings.cluster_node_id, settings.node_url, 0)
        if args.node_command == "list":
            nodes = await registry.nodes()
            print(node_table(nodes, utc_now()) if nodes else "no node has registered")
            return 0
        if args.node_command == "forget":
            return await _forget(registry, args.node)
        draining = args.node_command == "drain"
        if not await registry.set_draining(args.node, draining):
            print(f"telebridge: no node {args.node!r} has registered", file=sys.stderr)
            return 2
        print(
            f"node {args.node} takes no new rooms; each of its rooms moves to another node "
            "once nobody uses it, and all of them when it stops"
            if draining
            else f"node {args.node} takes rooms again"
        )
        return 0
    finally:
        await engine.dispose()


async def _forget(registry: NodeRegistry, node_id: str) -> int:
    try:
        gone = await registry.forget(node_id, utc_now())
    except NodeAlive:
        print(
            f"telebridge: node {node_id!r} is alive (its heartbeat is recent): stop it, or "
            "drain it, first",
            file=sys.stderr,
        )
        return 2
    if gone is None:
        print(f"telebridge: no node {node_id!r} has registered", file=sys.stderr)
        return 2
    print(
        f"node {node_id} forgotten; "
        + (f"its {gone.rooms} room(s) move to the live nodes" if gone.rooms else "it had no rooms")
    )
    return 0
