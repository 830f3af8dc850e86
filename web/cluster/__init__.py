"""Several nodes on one database: this node's heartbeat and claims on rooms (node.py), and the
hand-over of a room's requests to the node that owns it (forward.py)."""
