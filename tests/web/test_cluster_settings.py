"""A cluster node's settings: checked at start, and the node's name taken from its URL."""

from __future__ import annotations

import pytest

from web.settings import Settings


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"TELEBRIDGE_NODE_URL": "10.0.0.5:8080"}, "http(s)://host"),
        ({"TELEBRIDGE_NODE_URL": "http://10.0.0.5:8080/path"}, "http(s)://host"),
        ({"TELEBRIDGE_NODE_ID": "node one"}, "letters, digits"),
        ({"TELEBRIDGE_NODE_ID": "n" * 65}, "1 to 64"),
        ({"TELEBRIDGE_NODE_CAPACITY": "0"}, "1 to 1000"),
        ({"TELEBRIDGE_NODE_CAPACITY": "eight"}, "whole number"),
    ],
)
def test_node_settings_are_checked_at_start(environ: dict[str, str], complaint: str) -> None:
    with pytest.raises(SystemExit) as refused:
        Settings.load(environ)
    assert complaint in str(refused.value)


def test_a_node_is_named_by_its_setting_else_by_its_address() -> None:
    alone = Settings.load({})
    assert (alone.node_url, alone.node_capacity) == ("", 8)
    node = Settings.load({"TELEBRIDGE_NODE_URL": "http://10.0.0.5:8080/"})
    assert node.cluster_node_id == "10.0.0.5:8080"
    named = Settings.load(
        {"TELEBRIDGE_NODE_URL": "http://10.0.0.5:8080", "TELEBRIDGE_NODE_ID": "baku-1"}
    )
    assert named.cluster_node_id == "baku-1"
