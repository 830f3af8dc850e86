"""The bridge process of bench/rooms_per_node.py: rooms behind a small signalling API.

Each room is a `bridge.room.Room`, as web opens it, with master control's once-a-second
`live_snapshot` of every room running beside it; a 10 ms probe measures how late the event loop
wakes up. The orchestrator opens rooms and joins consoles over HTTP on loopback, reads the
figures (loop lag, the program's frames and dropped ticks, what the bridge receives) between
measuring windows, and reads the process's CPU from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
from multiprocessing.connection import Connection

from bench.console_generator import percentile

LAG_PROBE_S = 0.010
SNAPSHOT_S = 1.0  # master control samples every room once a second


def bridge_main(conn: Connection) -> None:
    """Rooms behind a small HTTP signalling API on loopback; stops when `conn` says so."""
    asyncio.run(_bridge(conn))


async def _bridge(conn: Connection) -> None:
    from datetime import UTC, datetime, timedelta

    from aiohttp import web

    from bridge.room import Room
    from bridge.room_health import program_figures
    from bridge.spec import RoomHealth, RoomSpec, StudioSpec

    loop = asyncio.get_running_loop()
    rooms: dict[str, Room] = {}
    health: dict[str, RoomHealth] = {}
    lags: list[float] = []

    async def probe() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            lags.append(max(0.0, loop.time() - before - LAG_PROBE_S))

    async def sample() -> None:
        while True:
            started = loop.time()
            for room_id, room in list(rooms.items()):
                health[room_id] = await room.live_snapshot()
            await asyncio.sleep(max(0.05, SNAPSHOT_S - (loop.time() - started)))

    async def open_room(request: web.Request) -> web.Response:
        room_id = request.match_info["room"]
        now = datetime.now(UTC)
        rooms[room_id] = Room(
            RoomSpec(
                room_id,
                f"bench {room_id}",
                (StudioSpec("a", "A"), StudioSpec("b", "B")),
                now - timedelta(minutes=5),
                now,
                now + timedelta(hours=2),
                now + timedelta(hours=2),
                program=request.query.get("program") == "1",
            )
        )
        return web.json_response({"room": room_id})

    async def join(request: web.Request) -> web.Response:
        room = rooms[request.match_info["room"]]
        joined = await room.connect(request.match_info["studio"], await request.text())
        program = joined.program
        return web.json_response(
            {
                "answer": joined.answer_sdp,
                "slots": [[s.studio_id, s.video_mid, s.audio_mid] for s in joined.slots],
                "program": [program.video_mid, program.audio_mid] if program else None,
            }
        )

    async def figures(request: web.Request) -> web.Response:
        """The loop lag since the last call, the program's counters, what the bridge receives."""
        window = list(lags)
        lags.clear()
        frames = dropped = 0
        for room in rooms.values():
            figures = program_figures(room.production)
            if figures is not None:
                frames += figures.frames
                dropped += figures.dropped_ticks
        inbound = [
            s.video.fps
            for h in health.values()
            for s in h.studios
            if s.video is not None and s.video.fps is not None
        ]
        return web.json_response(
            {
                "lag_p50": percentile(window, 0.50),
                "lag_p95": percentile(window, 0.95),
                "lag_max": max(window, default=0.0),
                "program_frames": frames,
                "program_dropped": dropped,
                "inbound_fps_min": min(inbound, default=0.0),
            }
        )

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/rooms/{room}", open_room)
    app.router.add_post("/rooms/{room}/{studio}", join)
    app.router.add_get("/figures", figures)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    tasks = [asyncio.ensure_future(probe()), asyncio.ensure_future(sample())]
    conn.send(runner.addresses[0][1])
    await loop.run_in_executor(None, conn.recv)  # "stop"
    for task in tasks:
        task.cancel()
    for room in rooms.values():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(room.close(), 15)
    await runner.cleanup()
    conn.send("bye")
