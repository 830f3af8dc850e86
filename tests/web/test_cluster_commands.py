"""A cluster node's settings (checked at start, the node's name taken from its URL) and the
`telebridge node` commands."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from webtools import Client

from schedules.cluster.registry import NodeRegistry
from schedules.db import make_engine
from web.access.security import Signer
from web.cli import main
from web.cluster.peers import NODE_TOKEN_HEADER, NODE_TOKEN_PURPOSE, node_token, token_node
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


def test_node_commands_list_drain_resume_and_forget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["node", "list", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.strip() == "no node has registered"

    async def register() -> None:
        engine = make_engine(Settings.load({}, data_dir=data).database)
        try:
            now = datetime.now(UTC)
            await NodeRegistry(engine, "baku-1", "http://10.0.0.5:8080", 8).heartbeat(now)
            old = now - timedelta(minutes=1)
            await NodeRegistry(engine, "baku-2", "http://10.0.0.6:8080", 4).heartbeat(old)
        finally:
            await engine.dispose()

    asyncio.run(register())
    assert main(["node", "drain", "baku-1", "--data-dir", str(data)]) == 0
    assert "takes no new rooms" in capsys.readouterr().out
    assert main(["node", "list", "--data-dir", str(data)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["id", "url", "rooms", "capacity", "state", "heartbeat"]
    assert [r[:5] for r in rows[1:]] == [
        ["baku-1", "http://10.0.0.5:8080", "0", "8", "draining"],
        ["baku-2", "http://10.0.0.6:8080", "0", "4", "down"],
    ]
    assert main(["node", "resume", "baku-1", "--data-dir", str(data)]) == 0
    assert main(["node", "drain", "rome-1", "--data-dir", str(data)]) == 2
    assert "no node 'rome-1'" in capsys.readouterr().err
    # Only a dead node is forgotten: the live one stays, with a reason.
    assert main(["node", "forget", "baku-1", "--data-dir", str(data)]) == 2
    assert "'baku-1' is alive" in capsys.readouterr().err
    assert main(["node", "forget", "baku-2", "--data-dir", str(data)]) == 0
    assert "node baku-2 forgotten; it had no rooms" in capsys.readouterr().out
    assert main(["node", "forget", "baku-2", "--data-dir", str(data)]) == 2
    assert "no node 'baku-2'" in capsys.readouterr().err
    assert main(["node", "list", "--data-dir", str(data)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["baku-1"]


def test_a_nodes_token_names_it_for_thirty_seconds_and_nothing_else_passes() -> None:
    signer = Signer(b"k" * 32)
    token = node_token(signer, "baku-1")
    assert token_node(signer, token) == "baku-1"
    assert token_node(Signer(b"x" * 32), token) is None  # another cluster's secret
    assert token_node(signer, signer.sign("csrf", {"node": "baku-1", "until": 2**40})) is None
    expired = signer.sign(NODE_TOKEN_PURPOSE, {"node": "baku-1", "until": int(time.time()) - 1})
    assert token_node(signer, expired) is None
    assert token_node(signer, None) is None and token_node(signer, "a.b.c") is None


async def test_a_server_alone_has_no_cluster_route(client: Client) -> None:
    resp = await client.get("/api/cluster/live", headers={NODE_TOKEN_HEADER: "forged.token"})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
