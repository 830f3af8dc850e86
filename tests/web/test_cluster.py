"""Two nodes on one PostgreSQL: the two studios of a booking come in through different nodes and
see each other; exactly one node opens, records and closes the room; the other passes the
room's requests on; and when the owner is killed, the room moves and the studios meet again.

Real `telebridge serve` processes with node URLs, a real PostgreSQL, aiortc studios over WebRTC
(in the test network namespace), the real API.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from contextlib import AbstractContextManager, AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import av
import pytest
import sqlalchemy as sa
from live_studios import Link, Studio, sees
from s3_server import S3Server, running_s3

from harness.server import (
    ServerProcess,
    cluster_node_settings,
    free_port,
    producer_token,
    running_server,
    server_environment,
)
from harness.waiting import eventually
from schedules import db

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


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


async def book(
    http: aiohttp.ClientSession, starts_in: timedelta, studios: tuple[str, ...] = ("trend", "dha")
) -> dict[str, Link]:
    start = datetime.now(UTC) + starts_in
    resp = await http.post(
        "/api/bookings",
        json={
            "title": "Two nodes",
            "studios": list(studios),
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


async def live_rooms(http: aiohttp.ClientSession) -> dict[str, str]:
    """The open rooms master control shows through this node: booking -> the node that runs
    it (every open room of a cluster names it)."""
    resp = await http.get("/api/live")
    assert resp.status == 200, await resp.text()
    return {r["booking_id"]: r["node"] for r in (await resp.json())["rooms"] if r["open"]}


async def shows(http: aiohttp.ClientSession, expected: dict[str, str]) -> None:
    """Until master control through this node shows exactly `expected` (sampled each second)."""
    seen: list[dict[str, str]] = []

    async def right() -> bool:
        seen.append(await live_rooms(http))
        return seen[-1] == expected

    await eventually(right, timeout=30, message=lambda: f"master control showing {seen[-1:]}")


async def nodes_shown(
    http: aiohttp.ClientSession, expected: dict[str, str], alerted: set[str]
) -> None:
    """Until master control through this node lists exactly these nodes in these states (the
    one answering first), with a node_down alert for exactly `alerted`."""
    seen: list[object] = []

    async def right() -> bool:
        resp = await http.get("/api/live")
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
        nodes = {n["id"]: n["state"] for n in doc["nodes"]}
        down = {a["node"] for a in doc["alerts"] if a["kind"] == "node_down"}
        seen.append((nodes, down))
        return nodes == expected and down == alerted and doc["nodes"][0]["this"]

    await eventually(right, timeout=30, message=lambda: f"master control's nodes {seen[-1:]}")


def node(
    tmp: Path, database: str, name: str, port: int, more: dict[str, str] | None = None
) -> AbstractContextManager[ServerProcess]:
    """The node `name` on `port`, its data under tmp/name (kept across its restarts)."""
    (tmp / name).mkdir(exist_ok=True)
    settings = cluster_node_settings(database, port, name) | (more or {})
    return running_server(tmp / name, settings, port=port)


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
            await shows(via[owner_server], {booking: owner})
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


@pytest.fixture
def store() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


def stored(server: S3Server) -> dict[str, str]:
    """Node settings that keep the recordings in `server` (the same prefix on every node)."""
    return {f"TELEBRIDGE_{k.upper()}": v for k, v in server.settings("cluster").items()}


async def store_segments(server: S3Server, directory: str) -> dict[str, int]:
    """The segments of a recording's directory in the store: name -> size."""
    client = server.client()
    try:
        prefix = f"cluster/{directory}/segments/"
        return {
            info.key.removeprefix(prefix): info.size
            async for info in client.list(server.bucket, prefix)
        }
    finally:
        await client.close()


def program_seconds(data: bytes, tmp: Path) -> float:
    """Seconds of program video in `data` (a segment or a finished file), frame by frame."""
    path = tmp / f"probe-{hashlib.sha256(data).hexdigest()[:12]}"
    path.write_bytes(data)
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        times = [float(p.pts * p.time_base) for p in src.demux(stream) if p.pts is not None]
    path.unlink()
    return max(times) - min(times) + 1 / 30 if times else 0.0


async def test_a_killed_nodes_room_moves_and_its_recording_goes_on_in_the_same_entry(
    tmp_path: Path, shared_database: str, studios: Any, store: S3Server
) -> None:
    ports = {"node-a": free_port(), "node-b": free_port()}
    with (
        node(tmp_path, shared_database, "node-a", ports["node-a"], stored(store)) as a,
        node(tmp_path, shared_database, "node-b", ports["node-b"], stored(store)) as b,
    ):
        token = producer_token(a.data, {"TELEBRIDGE_DATABASE_URL": shared_database})
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession(base_url=a.base, headers=headers) as via_a,
            aiohttp.ClientSession(base_url=b.base, headers=headers) as via_b,
        ):
            links = await book(via_a, timedelta(seconds=8))
            booking = links["trend"].booking
            # Both come in through node-a. The room is on whichever node placed it first:
            # node-a on their joins, or node-b when its autopilot's tick came first (the
            # booking is due at once); the owner is the node killed below.
            trend, dha = studios("trend", 40), studios("dha", 200)
            await trend.join(via_a, links["trend"])
            await dha.join(via_a, links["dha"])
            await sees(trend, dha, within=30)
            ((_, owner_id, epoch),) = await placements(shared_database)
            assert epoch == 1
            owner, survivor = (a, b) if owner_id == "node-a" else (b, a)
            via_survivor = via_b if survivor is b else via_a
            survivor_id = "node-b" if survivor is b else "node-a"

            async def recording_started() -> bool:
                resp = await via_survivor.get(f"/api/bookings/{booking}/audit")
                events = (await resp.json())["events"]
                return any(e["action"] == "recording started" for e in events)

            await eventually(recording_started, timeout=60, message="the recording on air")
            (directory,) = [
                f"{booking}/{p.name}" for p in (owner.data / "recordings" / booking).iterdir()
            ]
            # Closed segments of the program and of each studio's feed in the store (a kill
            # loses at most the one being written; a studio's starts at its first keyframe).
            for stream in ("program-", "iso-trend-", "iso-dha-"):
                await eventually(
                    lambda stream=stream: _count_from(store, directory, stream, 3),
                    timeout=60,
                    interval=0.2,
                    message=f"{stream} segments in the store",
                )
            before = await store_segments(store, directory)

            os.kill(owner.proc.pid, signal.SIGKILL)  # as a crash or the OOM killer would
            owner.proc.wait(timeout=10)
            killed = time.monotonic()
            # The consoles rejoin through the address they have left: the survivor's.
            trend2, dha2 = studios("trend", 40), studios("dha", 200)
            await join_until_in(trend2, via_survivor, links["trend"])
            await join_until_in(dha2, via_survivor, links["dha"])
            await sees(trend2, dha2, within=30)
            await sees(dha2, trend2, within=30)
            back = time.monotonic() - killed
            # A figure, not a timed assertion: a node counts as dead after 5 s without a
            # heartbeat; the rest is the autopilot's tick, the joins and the first keyframes.
            print(f"\nthe studios met again on {survivor_id} {back:.1f} s after {owner_id} died")
            assert [(p[1], p[2]) for p in await placements(shared_database)] == [(survivor_id, 2)]
            await shows(via_survivor, {booking: survivor_id})
            # Master control there shows the dead node down, with its alert.
            await nodes_shown(via_survivor, {survivor_id: "live", owner_id: "down"}, {owner_id})
            # What the dead node had handed to the store: the show's first part.
            part_one = await store_segments(store, directory)
            assert set(before) <= set(part_one)
            first_s = 0.0
            client = store.client()
            try:
                for name in sorted(n for n in part_one if n.startswith("program-")):
                    data = await client.get(store.bucket, f"cluster/{directory}/segments/{name}")
                    first_s += program_seconds(data, tmp_path)
            finally:
                await client.close()

            # The recording goes on there as the next part of the same archive entry.
            async def second_part() -> datetime | None:
                resp = await via_survivor.get(f"/api/bookings/{booking}/audit")
                starts = [
                    e["at"]
                    for e in (await resp.json())["events"]
                    if e["action"] == "recording started"
                ]
                return datetime.fromisoformat(max(starts)) if len(starts) == 2 else None

            part_two_started = await eventually(
                second_part, timeout=60, message="the recording's second part"
            )
            await trend2.fresh("dha/video", frames=30)
            resp = await via_survivor.post(f"/api/bookings/{booking}/recording/stop")
            assert resp.status == 200, await resp.text()
            part_two_s = (datetime.now(UTC) - part_two_started).total_seconds()

            async def filed() -> list[dict[str, Any]]:
                resp = await via_survivor.get(f"/api/recordings?booking={booking}")
                found: list[dict[str, Any]] = (await resp.json())["recordings"]
                return found

            (recording,) = await eventually(filed, timeout=120, message="the recording filed")
            assert recording["parts"] == 2, recording
            files = {f["name"]: f for f in recording["files"]}
            assert {"program.mp4", "iso-trend.webm", "iso-dha.webm"} <= set(files), files
            # One program of both parts: the first as the dead node stored it, then the
            # survivor's.
            joined_s = files["program.mp4"]["duration_s"]
            print(
                f"program {joined_s:.1f} s: {first_s:.1f} s stored by {owner_id}"
                f" + {part_two_s:.1f} s"
            )
            # Part two's length is wall time from its audit line to the stop; a program engine
            # short of CPU owes some of it (it starts at its first key frame, and drops frames
            # when busy: 2.1 s of 5.0 on one loaded run). A second of it is still what the
            # joining missing (part one alone) could never give.
            assert joined_s >= first_s + 1.0, (joined_s, first_s, part_two_s)
            assert joined_s <= first_s + part_two_s + 3.0, (joined_s, first_s, part_two_s)

            # Every file goes up to the store, its bytes there those the archive hashed.
            async def all_in_store() -> bool:
                keys = await _object_names(store, directory)
                return set(files) <= keys and not any(k.startswith("segments/") for k in keys)

            await eventually(all_in_store, timeout=120, message="the files in the store")
            for name, f in files.items():
                resp = await via_a_or_b(via_survivor, f["url"])
                assert hashlib.sha256(resp).hexdigest() == f["sha256"], name
            segments = "*-[0-9][0-9][0-9][0-9][0-9][0-9].*"
            assert not list((survivor.data / "recordings").rglob(segments))

            # The dead node comes back: what of its part the store held is in the entry, so it
            # drops that, and files only the segment it was writing when it died (nothing
            # invisible).
            with node(tmp_path, shared_database, owner_id, ports[owner_id], stored(store)):

                async def dead_node_settled() -> list[dict[str, Any]] | None:
                    found = await filed()
                    left = [
                        p
                        for p in (tmp_path / owner_id / "data" / "recordings").rglob("*")
                        if p.is_file()
                    ]
                    return found if not left else None

                found = await eventually(
                    dead_node_settled, timeout=120, message=f"{owner_id}'s disk settled"
                )
                await nodes_shown(via_survivor, {survivor_id: "live", owner_id: "live"}, set())
                others = [r for r in found if r["id"] != recording["id"]]
                for part in others:  # at most the segment being written, of every stream
                    for f in part["files"]:
                        assert f["duration_s"] <= 2.5 + 0.5, part


async def _count_from(server: S3Server, directory: str, stream: str, n: int) -> bool:
    return sum(k.startswith(stream) for k in await store_segments(server, directory)) >= n


async def _object_names(server: S3Server, directory: str) -> set[str]:
    client = server.client()
    try:
        prefix = f"cluster/{directory}/"
        return {info.key.removeprefix(prefix) async for info in client.list(server.bucket, prefix)}
    finally:
        await client.close()


async def via_a_or_b(http: aiohttp.ClientSession, url: str) -> bytes:
    """A recording file's bytes, as a browser gets them (redirected to the store)."""
    async with http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


def operator_says(data: Path, database: str, *args: str) -> None:
    """`telebridge node ...` as an operator runs it on a node's machine."""
    subprocess.run(
        [sys.executable, "-m", "web.cli", "node", *args, "--data-dir", str(data)],
        env=server_environment({"TELEBRIDGE_DATABASE_URL": database}),
        check=True,
        capture_output=True,
        timeout=60,
    )


async def test_a_draining_nodes_rooms_move_once_nobody_uses_them(
    tmp_path: Path, shared_database: str, studios: Any
) -> None:
    ports = {"node-a": free_port(), "node-b": free_port()}
    with node(tmp_path, shared_database, "node-a", ports["node-a"]) as a:
        token = producer_token(a.data, {"TELEBRIDGE_DATABASE_URL": shared_database})
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base_url=a.base, headers=headers) as via_a:
            # Alone, node-a opens both rooms at their line check: one a studio is in, one
            # whose studios have not come yet.
            used = await book(via_a, timedelta(seconds=8))
            idle = await book(via_a, timedelta(seconds=8), ("aa", "kabar"))
            booking_used, booking_idle = used["trend"].booking, idle["aa"].booking
            trend = studios("trend", 40)
            await trend.join(via_a, used["trend"])

            async def placed() -> dict[str, tuple[str, int]]:
                return {b: (n, e) for b, n, e in await placements(shared_database)}

            both_on_a = {booking_used: ("node-a", 1), booking_idle: ("node-a", 1)}
            await eventually(
                lambda: _equal(placed(), both_on_a), timeout=60, message="both rooms on node-a"
            )
            with node(tmp_path, shared_database, "node-b", ports["node-b"]) as b:
                async with aiohttp.ClientSession(base_url=b.base, headers=headers) as via_b:
                    await shows(via_b, {booking_used: "node-a", booking_idle: "node-a"})
                    operator_says(a.data, shared_database, "drain", "node-a")
                    # The room nobody uses moves; the one with a studio in it stays (both
                    # were looked at in the same tick of node-a's autopilot).
                    moved = {booking_used: ("node-a", 1), booking_idle: ("node-b", 1)}
                    await eventually(
                        lambda: _equal(placed(), moved), timeout=60, message="the idle room moved"
                    )
                    await shows(via_b, {booking_used: "node-a", booking_idle: "node-b"})
                    # The studio leaves (its console reconnecting, or between segments of the
                    # show): now its room moves too, and it comes back in through node-a.
                    resp = await via_a.delete(used["trend"].leave(trend.session))
                    assert resp.status in (200, 204), await resp.text()
                    all_on_b = {booking_used: ("node-b", 1), booking_idle: ("node-b", 1)}
                    await eventually(
                        lambda: _equal(placed(), all_on_b), timeout=60, message="all on node-b"
                    )
                    trend2, dha = studios("trend", 40), studios("dha", 200)
                    await join_until_in(trend2, via_a, used["trend"])
                    await join_until_in(dha, via_b, used["dha"])
                    await sees(trend2, dha, within=30)
                    await shows(via_a, {booking_used: "node-b", booking_idle: "node-b"})


async def _equal(found: Awaitable[object], expected: object) -> bool:
    return await found == expected
