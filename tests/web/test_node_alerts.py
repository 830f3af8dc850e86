"""Master control's view of a cluster's nodes: each node's state as the registry read it, and the
"node not answering" alert, raised for a node silent past the dead-node limit (in a list read
just now, never from a stale one), once per node, and cleared when it beats again or is
forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules.rules.placement import DEAD_AFTER, Node
from web.live.alerts import NODE_DOWN_HOLD_SECONDS, AlertBook
from web.live.node_view import FRESH_SECONDS, ClusterNodes, node_json, node_views, nodes_down

NOW = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)


def _node(node_id: str, silent_s: float = 0.5, draining: bool = False, rooms: int = 0) -> Node:
    return Node(
        id=node_id,
        url=f"http://{node_id}:8080",
        capacity=8,
        draining=draining,
        started_at=NOW - timedelta(hours=1),
        heartbeat_at=NOW - timedelta(seconds=silent_s),
        rooms=rooms,
    )


def test_each_node_is_live_draining_or_down_and_the_one_answering_comes_first() -> None:
    cluster = ClusterNodes(
        [
            _node("baku-1", rooms=2),
            _node("baku-2", silent_s=DEAD_AFTER.total_seconds()),
            _node("ist-1", draining=True),
            # The node answering is alive, whatever its last beat in the list says.
            _node("tas-1", silent_s=60),
        ],
        NOW,
    )
    views = node_views(cluster, "tas-1", NOW)
    assert [(v.id, v.state, v.this) for v in views] == [
        ("tas-1", "live", True),
        ("baku-1", "live", False),
        ("baku-2", "down", False),
        ("ist-1", "draining", False),
    ]
    assert nodes_down(cluster, "tas-1", NOW) == ["baku-2"]
    shown = node_json(views[1])
    assert shown == {
        "id": "baku-1",
        "url": "http://baku-1:8080",
        "this": False,
        "state": "live",
        "rooms": 2,
        "capacity": 8,
        "heartbeat_at": "2030-05-06T08:59:59.500000Z",
        "heartbeat_age_s": 0.5,
        "started_at": "2030-05-06T08:00:00Z",
    }


def test_a_stale_list_calls_no_node_down() -> None:
    # Every heartbeat in a list read long ago is old: that says nothing about the nodes.
    read_long_ago = NOW - timedelta(seconds=FRESH_SECONDS + 1)
    cluster = ClusterNodes([_node("baku-1", silent_s=30), _node("baku-2")], read_long_ago)
    assert [v.state for v in node_views(cluster, "baku-2", NOW)] == ["live", "down"]
    assert nodes_down(cluster, "baku-2", NOW) == []
    assert nodes_down(ClusterNodes([], None), "baku-2", NOW) == []


def test_a_node_down_is_raised_after_its_hold_once_per_node_and_cleared_when_it_is_back() -> None:
    book = AlertBook()
    assert book.update([], NOW, 0.0, nodes_down=["baku-2"]) == []
    assert book.update([], NOW, NODE_DOWN_HOLD_SECONDS - 0.5, nodes_down=["baku-2"]) == []
    raised = book.update([], NOW, NODE_DOWN_HOLD_SECONDS, nodes_down=["baku-2", "ist-1"])
    assert [(a.kind, a.node, a.booking_id, a.params) for a in raised] == [
        ("node_down", "baku-2", "", {"node": "baku-2"})
    ]
    assert raised[0].as_json()["node"] == "baku-2"
    later = NODE_DOWN_HOLD_SECONDS * 2
    raised = book.update([], NOW, later, nodes_down=["baku-2", "ist-1"])
    assert [a.node for a in raised] == ["ist-1"]  # each node its own alert
    cleared = book.update([], NOW, later + 1, nodes_down=["ist-1"])
    assert [(a.node, a.active) for a in cleared] == [("baku-2", False)]
    assert [a.node for a in book.active.values()] == ["ist-1"]
