"""Master control of a cluster in Chromium: two nodes on one PostgreSQL, both listed above the
rooms, each open room naming its node; a node killed is shown not answering, with its alert,
and its room moves to the other node; the page says it in the reader's language."""

from __future__ import annotations

import json
import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import wait

from harness.api import api, book
from harness.server import cluster_node_settings, free_port, producer_token, running_server
from web.pages.i18n import Catalogs

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser]


def nodes_are(expected: list[tuple[str, str]]) -> str:
    """The page's node chips are exactly these (id, state), in this order."""
    want = json.dumps([list(e) for e in expected], separators=(",", ":"))
    return f"""() => JSON.stringify([...document.querySelectorAll('#nodes .mnode')]
      .map(c => [c.dataset.node, c.dataset.state])) === {json.dumps(want)}"""


def rooms_count_is(expected: list[str]) -> str:
    """The node chips' room counts are these, in the chips' order."""
    return f"""() => JSON.stringify([...document.querySelectorAll('#nodes .mnode-rooms')]
      .map(r => r.textContent)) === {json.dumps(json.dumps(expected, separators=(",", ":")))}"""


def room_on(booking: str, nodes: tuple[str, ...]) -> str:
    """The booking's room card names one of `nodes` as the node that runs it."""
    return f"""() => {{
      const room = document.querySelector('.room[data-booking="{booking}"]');
      return !!room && {json.dumps(list(nodes))}.includes(room.dataset.node)
        && !room.querySelector('.room-node').hidden;
    }}"""


def node_alert(node: str) -> str:
    return f"""() => [...document.querySelectorAll('#active-alerts li')]
      .some(li => li.dataset.kind === 'node_down' && li.dataset.node === '{node}')"""


def log_in(page: Any, base: str, language: str) -> None:
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(base + "/login?next=/monitor")
    page.fill("input[name=name]", "producer")
    page.fill("input[name=password]", "telebridge-demo")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/monitor")


def test_master_control_shows_the_clusters_nodes_and_a_node_that_died(
    shared_database: str, browser_context: Any, tmp_path: Path
) -> None:
    ports = {"node-a": free_port(), "node-b": free_port()}
    (tmp_path / "node-a").mkdir()
    (tmp_path / "node-b").mkdir()
    with (
        running_server(
            tmp_path / "node-a",
            cluster_node_settings(shared_database, ports["node-a"], "node-a"),
            port=ports["node-a"],
        ) as a,
        running_server(
            tmp_path / "node-b",
            cluster_node_settings(shared_database, ports["node-b"], "node-b"),
            port=ports["node-b"],
        ) as b,
    ):
        token = producer_token(a.data, {"TELEBRIDGE_DATABASE_URL": shared_database})
        # A room that opens at once (its line check is under way), placed on one of the nodes.
        links = book(a.base, token, ["trend", "ansa"], timedelta(minutes=5))
        booking = links["trend"].split("/join/")[1].split("/")[0]
        english = browser_context.new_page()
        english.set_viewport_size({"width": 1440, "height": 900})
        log_in(english, a.base, "en-GB,en;q=0.9")
        wait(english, nodes_are([("node-a", "live"), ("node-b", "live")]), 30)
        first = english.locator("#nodes .mnode").first
        assert first.locator(".mnode-this").text_content() == "this node"
        assert first.locator(".mnode-this").is_visible()
        assert english.locator("#nodes .mnode-this").nth(1).is_hidden()
        wait(english, room_on(booking, ("node-a", "node-b")), 30)
        card = english.locator(f".room[data-booking='{booking}']")
        owner = card.get_attribute("data-node")
        assert card.locator(".room-node").text_content() == f"on node {owner}"
        counts = ["1 of 8 rooms", "0 of 8 rooms"]
        wait(english, rooms_count_is(counts if owner == "node-a" else counts[::-1]), 30)
        # The card's parts, kept from one snapshot to the next: both studios, and an output
        # added now (idle: the show is not on air).
        output = {"kind": "hls", "name": "Web"}
        api(a.base, token, "POST", f"/api/bookings/{booking}/outputs", output)
        parts = (
            "() => document.querySelectorAll('.room .mstudio').length === 2"
            " && [...document.querySelectorAll('.room .mout')]"
            ".map(o => o.dataset.state + ' ' + o.querySelector('.mout-name').textContent)"
            ".join() === 'idle Web'"
        )
        wait(english, parts, 30)
        english.screenshot(path=str(ARTIFACTS / "monitor-nodes-en.png"))

        # node-b dies (master control is on node-a, which must outlive it to say so); the
        # room, if node-b ran it, moves to node-a.
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait(timeout=10)
        wait(english, nodes_are([("node-a", "live"), ("node-b", "down")]), 30)
        wait(english, node_alert("node-b"), 15)
        alert = english.locator("#active-alerts li[data-kind='node_down']").text_content()
        assert "Node node-b not answering: its rooms move to the live nodes" in alert, alert
        down = english.locator("#nodes .mnode[data-node='node-b'] .mnode-state").text_content()
        assert down.startswith("not answering · silent for 00:00:"), down
        wait(english, room_on(booking, ("node-a",)), 30)
        wait(english, rooms_count_is(["1 of 8 rooms", "0 of 8 rooms"]), 30)
        wait(english, parts, 30)
        english.screenshot(path=str(ARTIFACTS / "monitor-node-down-en.png"))

        # The same wall on a phone, in Russian.
        t = Catalogs().get("ru")
        russian = browser_context.new_page()
        russian.set_viewport_size({"width": 390, "height": 844})
        log_in(russian, a.base, "ru-RU,ru;q=0.9")
        wait(russian, nodes_are([("node-a", "live"), ("node-b", "down")]), 30)
        wait(russian, node_alert("node-b"), 15)
        text = russian.locator("#active-alerts li[data-kind='node_down']").text_content()
        wording = t.gettext("Node {node} not answering: its rooms move to the live nodes")
        assert wording.replace("{node}", "node-b") in text, text
        this = russian.locator("#nodes .mnode").first.locator(".mnode-this").text_content()
        assert this == t.gettext("this node")
        wait(russian, room_on(booking, ("node-a",)), 30)
        room_node = russian.locator(f".room[data-booking='{booking}'] .room-node").text_content()
        assert room_node == t.gettext("on node {node}").replace("{node}", "node-a")
        assert russian.locator("#utc-clock").text_content()  # the clock from the first frame
        russian.screenshot(path=str(ARTIFACTS / "monitor-node-down-ru-phone.png"), full_page=True)
