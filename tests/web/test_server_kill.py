"""kill -9 of the whole server mid-recording: what was written up to 2 s before still plays."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import av
import pytest
from live_studios import Link, Studio, sees

from bridge.recording.directory import finalize_directory
from harness.server import ServerProcess, producer_token, running_server

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair
RECORD_SECONDS = 5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `telebridge serve --demo` process."""
    with running_server(tmp_path) as running:
        yield running


def _decoded_seconds(path: Path) -> float:
    """Seconds of program that decode: the time of the last frame after the first, plus one."""
    times: list[float] = []
    try:
        with av.open(str(path)) as container:
            times = [f.time for f in container.decode(video=0) if f.time is not None]
    except av.FFmpegError:
        pass
    return times[-1] - times[0] + 1 / 30 if times else 0.0


async def test_kill_9_of_the_server_keeps_the_recording_up_to_two_seconds_before(
    server: ServerProcess, studios: Callable[..., Studio]
) -> None:
    proc, base, data = server.proc, server.base, server.data
    headers = {"Authorization": f"Bearer {producer_token(data)}"}
    start = datetime.now(UTC) + timedelta(minutes=5)  # inside the join window, before air
    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        resp = await http.post(
            "/api/bookings",
            json={
                "title": "Kill test",
                "studios": ["trend", "dha"],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
            },
        )
        booking = (await resp.json())["booking"]["id"]
        resp = await http.get(f"/api/bookings/{booking}/join-links")
        links = {}
        for link in (await resp.json())["links"]:
            url = urlsplit(link["url"])
            links[link["studio"]] = Link(booking, link["studio"], parse_qs(url.query)["token"][0])
        trend, dha = studios("trend", 40), studios("dha", 200)
        await trend.join(http, links["trend"])  # type: ignore[arg-type]
        await dha.join(http, links["dha"])  # type: ignore[arg-type]
        await sees(trend, dha)
        resp = await http.post(f"/api/bookings/{booking}/recording/start")
        assert (await resp.json())["started"] is True
        # Stays: the show runs this long (from the confirmed start) before the kill.
        await asyncio.sleep(RECORD_SECONDS)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    (directory,) = list((data / "recordings" / booking).iterdir())
    found = {f.kind: f for f in finalize_directory(directory)}
    assert "program" in found
    kept = _decoded_seconds(found["program"].path)
    print(f"\n{kept:.2f} s of about {RECORD_SECONDS} s recorded survived the kill")
    assert kept >= RECORD_SECONDS - 2.0, f"{kept:.1f} s of {RECORD_SECONDS} s survived"
