"""Nothing that hands out a secret may be kept by a browser's cache or a proxy: join and viewing
links, calendar feed links and TURN credentials come with `Cache-Control: no-store` (as does
every page and API answer that says nothing else), while what is meant to be cached keeps its
own header."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_join_links import book, links
from webtools import ClockedApp

from web.settings import Settings


@pytest.fixture
def backend() -> str:
    """SQLite only: headers have nothing to do with the storage."""
    return "sqlite"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.load(
        {"TELEBRIDGE_ICE_SERVERS": "turn:turn.example.org:3478", "TELEBRIDGE_TURN_SECRET": "s"},
        data_dir=tmp_path / "data",
        secret="test-secret",
        database_url=database_url,
    )


async def test_what_shows_join_links_or_turn_credentials_is_never_stored(
    clocked: ClockedApp,
) -> None:
    c = clocked
    b = await book(c, c.clock() + timedelta(minutes=10), setup_minutes=15)
    join = (await links(c, b["id"]))["trend"]
    producer = c.headers["producer"]
    for path, headers, secret in [
        (f"/bookings/{b['id']}", producer, "token="),  # the booking page with the links
        (f"/api/bookings/{b['id']}/join-links", producer, "token="),
        (f"/api/bookings/{b['id']}/watch-link", producer, "/watch/"),
        ("/studios", producer, "token="),  # calendar feed links
        (join, {}, '"credential"'),  # the console, with its TURN credentials
        (join.replace("?token=", "/state?token=", 1), {}, '"credential"'),  # the tally poll
    ]:
        resp = await c.client.get(path, headers=headers)
        assert resp.status == 200, (path, await resp.text())
        assert secret in await resp.text(), path
        assert resp.headers.get("Cache-Control") == "no-store", path


async def test_what_may_be_cached_keeps_its_own_header(clocked: ClockedApp) -> None:
    c = clocked
    b = await book(c, c.clock() + timedelta(minutes=10), setup_minutes=15)
    status = await c.client.get(f"/watch/{b['id']}/status.json")
    assert status.headers["Cache-Control"] in ("no-cache", "private, no-cache")
    script = await c.client.get("/static/console.js")
    assert script.status == 200
    assert "no-store" not in script.headers.get("Cache-Control", "")
