"""Every page that names a studio's city names it the reader's way (one filter,
web.pages.wording.cities): the booking, the bookings list, the archive's search, the studio
console's tiles and clocks, and the watch page; the API keeps the city as it was stored."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from webtools import ClockedApp

LANGUAGE = {"az": "az-AZ,az;q=0.9", "tr": "tr-TR,tr;q=0.9", "ru": "ru-RU,ru;q=0.9"}


@pytest.fixture
def backend() -> str:
    """Storage is tested on both databases in tests/schedules."""
    return "sqlite"


async def page(c: ClockedApp, path: str, lang: str, who: str | None = "producer") -> str:
    headers = {**(c.headers[who] if who else {}), "Accept-Language": LANGUAGE[lang]}
    resp = await c.client.get(path, headers=headers)
    text = await resp.text()
    assert resp.status == 200, text
    return html.unescape(text)


async def booked(c: ClockedApp) -> dict[str, Any]:
    """Trend (Baku), DHA (Istanbul) and ANSA (Rome), on air in 10 minutes, open to anyone."""
    starts = c.clock() + timedelta(minutes=10)
    body = {
        "title": "Caspian energy week",
        "studios": ["trend", "dha", "ansa"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "stream": "public",
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    booking: dict[str, Any] = (await resp.json())["booking"]
    return booking


async def test_each_page_names_the_cities_in_the_readers_language(clocked: ClockedApp) -> None:
    c = clocked
    bid = (await booked(c))["id"]

    booking = await page(c, f"/bookings/{bid}", "az")
    for name in ("Bakı", "İstanbul", "Roma"):
        assert name in booking, name
    assert not re.search(r"· (Baku|Istanbul|Rome)\b", booking)
    assert "Trend · Bakı" in await page(c, "/bookings", "az")
    assert "ANSA Roma · Рим" in await page(c, "/archive", "ru")

    watch = await page(c, f"/watch/{bid}", "az", who=None)
    cities = re.search(r"id=\"watch-cities\" data-names='([^']*)'>([^<]*)<", watch)
    assert cities, "the watch page names the cities"
    assert cities.group(2) == "Bakı · İstanbul · Roma"
    # The player's script keeps them so when the status (stored names) comes in.
    assert json.loads(cities.group(1)) == {"Baku": "Bakı", "Istanbul": "İstanbul", "Rome": "Roma"}
    status = await c.client.get(f"/watch/{bid}/status.json")
    assert (await status.json())["cities"] == ["Baku", "Istanbul", "Rome"]  # the API: as stored

    resp = await c.client.get(f"/api/bookings/{bid}/join-links", headers=c.headers["producer"])
    links = {link["studio"]: link["url"] for link in (await resp.json())["links"]}
    url = urlsplit(links["trend"])
    console = await page(c, f"{url.path}?{url.query}", "tr", who=None)
    assert 'id="console"' in console, "the link is open: the console"
    assert "Trend · Bakü" in console
    clocks = re.findall(r'<span class="clock-city">([^<]*)</span>', console)
    assert clocks == ["Bakü", "İstanbul", "Roma"]
    tiles = re.findall(r"<figcaption><strong>[^<]*</strong> · ([^<]*?)\s*<span", console)
    assert tiles == ["İstanbul", "Roma"]
