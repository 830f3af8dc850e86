"""Master control for tools: /api/live, /ws/monitor and /metrics with real studios live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSMsgType
from live_studios import Studio, live_pair
from prometheus_client.parser import text_string_to_metric_families
from webtools import ClockedApp, assert_error

from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


async def test_live_rooms_metrics_and_the_monitor_socket(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    links, _trend, dha = await live_pair(c, studios)
    booking = links["trend"].booking

    async def both_live() -> dict[str, Any] | None:
        resp = await c.client.get("/api/live", headers=c.headers["producer"])
        assert resp.status == 200
        rooms = {r["booking_id"]: r for r in (await resp.json())["rooms"]}
        room = rooms.get(booking)
        # The round trip needs the studio's first RTCP receiver report (about a second in).
        ok = room and all(
            s["connected"] and (s.get("video") or {}).get("fps", 0) > 20 and s["rtt_ms"]
            for s in room["studios"]
        )
        return room if ok else None

    room = await eventually(
        both_live, timeout=20, interval=0.2, message="both studios live with figures"
    )
    assert room["state"] == "line_check" and room["recording"] is False
    for s in room["studios"]:
        assert (s["video"]["width"], s["video"]["height"]) == (320, 180)
        assert s["video"]["codec"] == "VP8"
        assert s["audio"]["kbps"] > 10 and s["loss_pct"] == 0.0
        assert s["candidate"] == "host" and s["last_packet_age_ms"] < 1000
        assert s["rtt_ms"] is not None

    # Prometheus reads the same figures.
    resp = await c.client.get("/metrics", headers=c.headers["producer"])
    assert resp.status == 200 and resp.content_type == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    assert families["telebridge_rooms_open"].samples[0].value == 1
    assert families["telebridge_studios_connected"].samples[0].value == 2
    rates = {
        (s.labels["studio"], s.labels["kind"]): s.value
        for s in families["telebridge_studio_bitrate_kbps"].samples
    }
    assert rates[("dha", "video")] > 0 and rates[("trend", "audio")] > 0
    assert families["process_resident_memory_bytes"].samples[0].value > 10e6
    assert "telebridge_event_loop_lag_seconds" in families

    # The socket: hello with history, then a snapshot a second; DHA leaves, the alert comes
    # within 3 s; DHA comes back, the alert clears.
    async with c.client.ws_connect("/ws/monitor", headers=c.headers["producer"]) as ws:
        hello = json.loads((await ws.receive(timeout=5)).data)
        assert hello["type"] == "hello" and f"{booking}/dha" in hello["history"]
        snap = json.loads((await ws.receive(timeout=3)).data)
        assert snap["type"] == "snapshot" and snap["rooms"][0]["booking_id"] == booking

        async def next_alert(active: bool) -> dict[str, Any]:
            while True:
                msg = await ws.receive(timeout=5)
                assert msg.type == WSMsgType.TEXT
                for alert in json.loads(msg.data)["changed"]:
                    dha_lost = alert["studio"] == "dha" and alert["kind"] == "feed_lost"
                    if dha_lost and alert["active"] is active:
                        return dict(alert)

        await dha.close()
        left_at = asyncio.get_running_loop().time()
        raised = await asyncio.wait_for(next_alert(True), 10)
        assert asyncio.get_running_loop().time() - left_at < 3.0
        assert "feed lost" in raised["message"]
        assert raised["params"] == {"studio": "DHA · Istanbul"}  # what the page's wording fills
        back = studios("dha", 200)
        await back.join(c.client, links["dha"])
        cleared = await asyncio.wait_for(next_alert(False), 15)
        assert cleared["id"] == raised["id"] and cleared["cleared_at"]


async def test_only_producers_and_admins_watch(clocked: ClockedApp) -> None:
    c = clocked
    for path in ("/api/live", "/metrics", "/ws/monitor"):
        await assert_error(await c.client.get(path), 401, "unauthorized")
        for role in ("operator", "viewer"):
            await assert_error(await c.client.get(path, headers=c.headers[role]), 403, "forbidden")
    # A page of another site cannot open the socket with our cookies.
    resp = await c.client.get(
        "/ws/monitor", headers={**c.headers["producer"], "Origin": "https://evil.example"}
    )
    await assert_error(resp, 403, "forbidden")
    resp = await c.client.get("/api/live/bk1/trend/thumbnail.jpg", headers=c.headers["producer"])
    await assert_error(resp, 404, "not_found")
