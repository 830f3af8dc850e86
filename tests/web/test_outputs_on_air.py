"""With nobody at a terminal: a booking's outputs go out when it goes on air, a destination's
stream key never shows, the producer stops and starts one by hand, and they all stop at the end.

Real parts: the app with its autopilot on a movable clock, two aiortc studios, nginx-rtmp as
the platform, the bridge's HLS files, ffprobe reading back what the platform got."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_studios import Studio, book, sees
from webtools import ClockedApp, assert_error

from harness.rtmp_server import RtmpServer, available
from harness.waiting import eventually
from web.services import LIVE, OUTPUT_CONTROL

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


KEY = "platform-key-3c9e-SECRET"


@pytest.fixture
def rtmp(tmp_path: Path) -> Iterator[RtmpServer]:
    missing = available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: .ci/run installs it")
        pytest.skip(missing)
    with RtmpServer(tmp_path / "nginx") as server:
        yield server


async def _outputs(c: ClockedApp, booking: str) -> dict[str, dict[str, Any]]:
    resp = await c.client.get(f"/api/bookings/{booking}/outputs", headers=c.headers["producer"])
    text = await resp.text()
    assert resp.status == 200, text
    assert KEY not in text
    return {o["name"]: o for o in json.loads(text)["outputs"]}


def _probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return dict(json.loads(out.stdout))


async def test_outputs_go_out_at_the_start_and_stop_at_the_end(
    clocked: ClockedApp, studios: Callable[..., Studio], rtmp: RtmpServer
) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=5)
    links = await book(c, starts)
    booking = links["trend"].booking
    for body in (
        {"kind": "rtmp", "name": "Platform", "url": rtmp.url, "key": KEY},
        {"kind": "hls", "name": "Web player"},
    ):
        resp = await c.client.post(
            f"/api/bookings/{booking}/outputs", json=body, headers=c.headers["producer"]
        )
        assert resp.status == 201, await resp.text()
    trend, dha = studios("trend", 40), studios("dha", 200)
    await trend.join(c.client, links["trend"])
    await dha.join(c.client, links["dha"])
    await sees(trend, dha)
    # Line check: the room is open, nothing goes out yet.
    await c.app[LIVE].tick()
    assert {o["state"] for o in (await _outputs(c, booking)).values()} == {"idle"}

    c.clock.set(starts + timedelta(seconds=1))  # on air
    await c.app[LIVE].tick()

    async def both_live() -> dict[str, dict[str, Any]] | None:
        found = await _outputs(c, booking)
        going = all(o["state"] == "live" for o in found.values())
        return found if going and found["Platform"]["bitrate_kbps"] else None

    live = await eventually(both_live, timeout=30, interval=0.5, message="both outputs live")
    assert live["Platform"]["bitrate_kbps"] > 100
    hls_dir = c.app[OUTPUT_CONTROL].hls_dir(booking)
    assert (hls_dir / "index.m3u8").exists()

    # The producer stops the platform's feed; the autopilot leaves it stopped.
    platform = live["Platform"]["id"]
    base = f"/api/bookings/{booking}/outputs/{platform}"
    resp = await c.client.post(f"{base}/stop", headers=c.headers["producer"])
    assert resp.status == 200 and (await resp.json())["output"]["state"] == "stopped"
    await c.app[LIVE].tick()
    assert (await _outputs(c, booking))["Platform"]["state"] == "stopped"
    resp = await c.client.post(f"{base}/start", headers=c.headers["viewer"])
    await assert_error(resp, 403, "forbidden")
    resp = await c.client.post(f"{base}/start", headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    await eventually(
        lambda: _state_is(c, booking, "Platform", "live"), timeout=30, message="live again"
    )

    c.clock.set(starts + timedelta(hours=1, seconds=1))  # the show ends
    await c.app[LIVE].tick()
    ended = await _outputs(c, booking)
    assert {o["state"] for o in ended.values()} == {"stopped"}, ended
    playlist = (hls_dir / "index.m3u8").read_text()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")

    # What the platform got: the program, H.264 1280x720 and AAC, for the time it was live.
    info = _probe(rtmp.recorded(KEY))
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert (kinds["video"]["codec_name"], kinds["video"]["width"]) == ("h264", 1280)
    assert kinds["audio"]["codec_name"] == "aac"
    assert float(info["format"]["duration"]) > 1.0
    # The audit log tells the outputs' story, with no secret in it.
    resp = await c.client.get(f"/api/bookings/{booking}/audit", headers=c.headers["admin"])
    text = await resp.text()
    actions = [e["action"] for e in json.loads(text)["events"]]
    assert actions.count("output added") == 2
    assert "output live" in actions and "output stopped" in actions
    assert KEY not in text


async def _state_is(c: ClockedApp, booking: str, name: str, state: str) -> bool:
    return (await _outputs(c, booking))[name]["state"] == state
