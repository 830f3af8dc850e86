"""Two nodes on one PostgreSQL: the two studios of a booking come in through different nodes and
see each other; exactly one node opens, records and closes the room; the other passes the
room's requests on; and when the owner is killed, the room moves and the studios meet again.

Real `telebridge serve` processes with node URLs, a real PostgreSQL, aiortc studios over WebRTC
(in the test network namespace), the real API.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import sqlalchemy as sa
from databases import copy_of
from live_studios import Link, Studio, sees
from pg_server import PgServer

from harness.server import ServerProcess, free_port, producer_token, running_server
from harness.waiting import eventually
from schedules import db

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def shared_database(pg_cluster: PgServer) -> Iterator[str]:
    with copy_of(pg_cluster, "migrated") as url:
        yield url


def node_settings(database: str, port: int, name: str) -> dict[str, str]:
    return {
        "TELEBRIDGE_DATABASE_URL": database,
        "TELEBRIDGE_SECRET": "cluster-secret",  # one join link works on every node
        "TELEBRIDGE_NODE_URL": f"http://127.0.0.1:{port}",
        "TELEBRIDGE_NODE_ID": name,
    }


async def placements(database: str) -> list[tuple[str, str, int]]:
    engine = db.make_engine(database)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    db.room_placements.c.booking_id,
                    db.room_placements.c.node_id,
                    db.room_placements.c.epoch,
                )
            )
            return [(r.booking_id, r.node_id, r.epoch) for r in rows]
    finally:
        await engine.dispose()


async def book(http: aiohttp.ClientSession, starts_in: timedelta) -> dict[str, Link]:
    start = datetime.now(UTC) + starts_in
    resp = await http.post(
        "/api/bookings",
        json={
            "title": "Two nodes",
            "studios": ["trend", "dha"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        },
    )
    assert resp.status == 201, await resp.text()
    booking = (await resp.json())["booking"]["id"]
    resp = await http.get(f"/api/bookings/{booking}/join-links")
    links = {}
    for link in (await resp.json())["links"]:
        token = parse_qs(urlsplit(link["url"]).query)["token"][0]
        links[link["studio"]] = Link(booking, link["studio"], token)
    return links


async def live_rooms(http: aiohttp.ClientSession) -> dict[str, str | None]:
    """The open rooms master control shows through this node: booking -> the node that runs
    it (None: this one)."""
    resp = await http.get("/api/live")
    assert resp.status == 200, await resp.text()
    return {r["booking_id"]: r.get("node") for r in (await resp.json())["rooms"] if r["open"]}


async def shows(http: aiohttp.ClientSession, expected: dict[str, str | None]) -> None:
    """Until master control through this node shows exactly `expected` (sampled each second)."""
    seen: list[dict[str, str | None]] = []

    async def right() -> bool:
        seen.append(await live_rooms(http))
        return seen[-1] == expected

    await eventually(right, timeout=30, message=lambda: f"master control showing {seen[-1:]}")


def node(tmp: Path, database: str, name: str, port: int) -> AbstractContextManager[ServerProcess]:
    """The node `name` on `port`, its data under tmp/name (kept across its restarts)."""
    (tmp / name).mkdir(exist_ok=True)
    return running_server(tmp / name, node_settings(database, port, name), port=port)


def server_log(tmp: Path, name: str) -> str:
    return (tmp / name / "server.log").read_text()[-3000:]


async def test_studios_through_two_nodes_meet_in_one_room_run_by_one_node(
    tmp_path: Path, shared_database: str, studios: Any
) -> None:
    ports = {"node-a": free_port(), "node-b": free_port()}
    with (
        node(tmp_path, shared_database, "node-a", ports["node-a"]) as a,
        node(tmp_path, shared_database, "node-b", ports["node-b"]) as b,
    ):
        token = producer_token(a.data, {"TELEBRIDGE_DATABASE_URL": shared_database})
        headers = {"Authorization": f"Bearer {token}"}
        async with AsyncExitStack() as stack:
            via = {
                server: await stack.enter_async_context(
                    aiohttp.ClientSession(base_url=server.base, headers=headers)
                )
                for server in (a, b)
            }
            # On air in 8 s: the autopilot (of the owner only) puts it live and records it.
            links = await book(via[a], timedelta(seconds=8))
            booking = links["trend"].booking
            trend, dha = studios("trend", 40), studios("dha", 200)
            await trend.join(via[a], links["trend"])
            await dha.join(via[b], links["dha"])
            await sees(trend, dha, within=30)
            await sees(dha, trend, within=30)
            ((placed, owner, epoch),) = await placements(shared_database)
            assert (placed, epoch) == (booking, 1)
            owner_server, other = (a, b) if owner == "node-a" else (b, a)
            # Master control on either node shows the room, and which node runs it.
            await shows(via[owner_server], {booking: None})
            await shows(via[other], {booking: owner})

            async def recording_started() -> bool:
                resp = await via[other].get(f"/api/bookings/{booking}/audit")
                events = (await resp.json())["events"]
                return any(e["action"] == "recording started" for e in events)

            await eventually(recording_started, timeout=60, message="the recording on air")
            await trend.fresh("dha/video", frames=30)  # a few seconds of show
            resp = await via[other].post(f"/api/bookings/{booking}/recording/stop")
            assert resp.status == 200, await resp.text()

            async def filed() -> list[dict[str, Any]]:
                resp = await via[other].get(f"/api/recordings?booking={booking}")
                found: list[dict[str, Any]] = (await resp.json())["recordings"]
                return found

            (recording,) = await eventually(filed, timeout=60, message="the recording filed")
            assert {f["name"] for f in recording["files"]} >= {
                "program.mp4",
                "iso-trend.webm",
                "iso-dha.webm",
            }
            # Once in the cluster: each join, the go-live, the recording's start and stop.
            resp = await via[a].get(f"/api/bookings/{booking}/audit")
            actions = [
                (e["action"], e["details"].get("studio")) for e in (await resp.json())["events"]
            ]
            said = "\n".join(f"{action} {studio or ''}" for action, studio in actions)
            for line in [
                ("studio joined", "trend"),
                ("studio joined", "dha"),
                ("recording started", None),
                ("recording finished", None),
                ("recording finished", "trend"),
                ("recording finished", "dha"),
            ]:
                assert actions.count(line) == 1, f"{line} in:\n{said}"
            # Whoever downloads it, through either node, gets the same file.
            url = next(f["url"] for f in recording["files"] if f["name"] == "program.mp4")
            sizes = []
            for server in (a, b):
                resp = await via[server].get(url)
                assert resp.status == 200, server_log(tmp_path, owner)
                sizes.append(len(await resp.read()))
            assert sizes[0] == sizes[1] > 0


async def join_until_in(studio: Studio, http: aiohttp.ClientSession, link: Link) -> None:
    """Join through `http`'s node, again and again while the room is between nodes (503), as
    a console that lost its connection rejoins by itself."""

    async def joined() -> bool:
        resp = await http.post(link.session(), json={"sdp": await studio.offer()})
        if resp.status == 503:
            return False
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
        await studio.accept(doc)
        return True

    await eventually(joined, timeout=60, interval=0.25, message=f"{link.studio} rejoining")


async def test_a_killed_nodes_room_moves_and_the_studios_meet_again_on_another(
    tmp_path: Path, shared_database: str, studios: Any
) -> None:
    ports = {"node-a": free_port(), "node-b": free_port()}
    with (
        node(tmp_path, shared_database, "node-a", ports["node-a"]) as a,
        node(tmp_path, shared_database, "node-b", ports["node-b"]) as b,
    ):
        token = producer_token(a.data, {"TELEBRIDGE_DATABASE_URL": shared_database})
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession(base_url=a.base, headers=headers) as via_a,
            aiohttp.ClientSession(base_url=b.base, headers=headers) as via_b,
        ):
            links = await book(via_a, timedelta(seconds=8))
            booking = links["trend"].booking
            # Both come in through node-a, which takes the room (the asking node on a tie).
            trend, dha = studios("trend", 40), studios("dha", 200)
            await trend.join(via_a, links["trend"])
            await dha.join(via_a, links["dha"])
            await sees(trend, dha, within=30)
            assert [(p[1], p[2]) for p in await placements(shared_database)] == [("node-a", 1)]

            async def recording_started() -> bool:
                resp = await via_b.get(f"/api/bookings/{booking}/audit")
                events = (await resp.json())["events"]
                return any(e["action"] == "recording started" for e in events)

            await eventually(recording_started, timeout=60, message="the recording on air")
            # Closed segments of the program and of each studio's feed on node-a's disk (a kill
            # loses at most the one being written; a studio's starts at its first keyframe).
            recordings = a.data / "recordings" / booking
            for pattern in ("program-*.ts", "iso-trend-*.webm", "iso-dha-*.webm"):
                await eventually(
                    lambda pattern=pattern: len(list(recordings.glob(f"*/{pattern}"))) >= 2,
                    timeout=60,
                    interval=0.2,
                    message=f"{pattern} on node-a's disk",
                )

            os.kill(a.proc.pid, signal.SIGKILL)  # as a crash or the OOM killer would
            a.proc.wait(timeout=10)
            killed = time.monotonic()
            # The consoles rejoin through the address they have left: node-b here.
            trend2, dha2 = studios("trend", 40), studios("dha", 200)
            await join_until_in(trend2, via_b, links["trend"])
            await join_until_in(dha2, via_b, links["dha"])
            await sees(trend2, dha2, within=30)
            await sees(dha2, trend2, within=30)
            back = time.monotonic() - killed
            # A figure, not a timed assertion: a node counts as dead after 5 s without a
            # heartbeat; the rest is the autopilot's tick, the joins and the first keyframes.
            print(f"\nthe studios met again on node-b {back:.1f} s after node-a was killed")
            assert [(p[1], p[2]) for p in await placements(shared_database)] == [("node-b", 2)]
            await shows(via_b, {booking: None})

            # The recording goes on there as the next part of the same archive entry.
            async def second_part() -> bool:
                resp = await via_b.get(f"/api/bookings/{booking}/audit")
                events = (await resp.json())["events"]
                return sum(e["action"] == "recording started" for e in events) == 2

            await eventually(second_part, timeout=60, message="the recording's second part")
            await trend2.fresh("dha/video", frames=30)
            resp = await via_b.post(f"/api/bookings/{booking}/recording/stop")
            assert resp.status == 200, await resp.text()

            async def filed() -> list[dict[str, Any]]:
                resp = await via_b.get(f"/api/recordings?booking={booking}")
                found: list[dict[str, Any]] = (await resp.json())["recordings"]
                return found

            (recording,) = await eventually(filed, timeout=60, message="the recording filed")
            assert recording["parts"] == 2, recording
            assert "program.mp4" in {f["name"] for f in recording["files"]}

            # node-a comes back: the part it recorded before it died is on its disk, and it is
            # filed as a recording of its own (the entry went on without it), nothing left out.
            with node(tmp_path, shared_database, "node-a", ports["node-a"]):

                async def both_filed() -> list[dict[str, Any]] | None:
                    found = await filed()
                    return found if len(found) == 2 else None

                found = await eventually(both_filed, timeout=60, message="node-a's part filed")
                (part,) = [r for r in found if r["id"] != recording["id"]]
                assert {"program.mp4", "iso-trend.webm", "iso-dha.webm"} <= {
                    f["name"] for f in part["files"]
                }, part
                leftovers = sorted(
                    p.name
                    for p in (tmp_path / "node-a" / "data" / "recordings").rglob("*")
                    if p.is_file() and p.suffix not in (".mp4", ".webm", ".jpg")
                )
                assert not leftovers, leftovers
                # Either node serves it: node-b passes the download to node-a's disk.
                url = next(f["url"] for f in part["files"] if f["name"] == "program.mp4")
                resp = await via_b.get(url)
                assert resp.status == 200 and len(await resp.read()) > 0
