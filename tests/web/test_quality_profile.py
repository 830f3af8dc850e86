"""The quality profile is chosen per booking and reaches the studio console."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from helpers import bearer
from webtools import Client, assert_error, booking_body, create

CONSOLE_DATA = re.compile(r'<script type="application/json" id="console-data">(.*?)</script>', re.S)


@pytest.mark.parametrize(
    ("quality", "width", "max_kbps"),
    [("720p30", 1280, 2500), ("1080p30", 1920, 5000), ("540p30", 960, 1500)],
)
async def test_the_console_asks_the_camera_for_the_booked_quality(
    client: Client, tokens: dict[str, str], quality: str, width: int, max_kbps: int
) -> None:
    producer = bearer(tokens["producer"])
    start = datetime.now(UTC) + timedelta(minutes=5)  # inside the join window (15 min setup)
    booking = await create(
        client,
        producer,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=1)).isoformat(),
        quality=quality,
    )
    assert booking["quality"] == quality
    links = await (
        await client.get(f"/api/bookings/{booking['id']}/join-links", headers=producer)
    ).json()
    url = urlsplit(links["links"][0]["url"])
    page = await client.get(f"{url.path}?{url.query}")
    data = json.loads(CONSOLE_DATA.search(await page.text()).group(1))  # type: ignore[union-attr]
    assert (data["quality"]["width"], data["quality"]["max_kbps"]) == (width, max_kbps)


async def test_an_unknown_quality_is_refused(client: Client, tokens: dict[str, str]) -> None:
    resp = await client.post(
        "/api/bookings", json=booking_body(quality="8k120"), headers=bearer(tokens["producer"])
    )
    await assert_error(resp, 422, "invalid", fields=["quality"])
