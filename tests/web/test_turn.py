"""TURN REST credentials per console: the scheme itself, what the join page hands out, and
what the server's own peers use."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_join_links import FMT, book, links
from webtools import ClockedApp

from schedules.model import DEFAULT_TEARDOWN_MINUTES as TEARDOWN
from web.access.turn import (
    IceUrl,
    check_credentials,
    console_ice_servers,
    parse_ice_url,
    rest_credentials,
)
from web.live.autopilot import ice_servers
from web.services import SETTINGS
from web.settings import Settings

SECRET = "north-wind"
URLS = "stun:stun.example.org,turn:turn.example.org:3478,turns:turn.example.org:443"


def test_rest_credentials_match_an_independent_computation() -> None:
    # printf '%s' "1767225600:b123.trend" | openssl dgst -sha1 -hmac north-wind -binary | base64
    username, credential = rest_credentials(SECRET, "b123.trend", datetime(2026, 1, 1, tzinfo=UTC))
    assert username == "1767225600:b123.trend"
    assert credential == "BFyJbGEtNFWNEzaizUlHwyW1g8M="
    # The expiry is in the signed name: another time or booking gives another password.
    assert rest_credentials(SECRET, "b124.trend", datetime(2026, 1, 1, tzinfo=UTC))[1] != credential
    assert rest_credentials(SECRET, "b123.trend", datetime(2026, 1, 2, tzinfo=UTC))[1] != credential


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("stun:stun.example.org", ("stun", "stun.example.org", 3478, "udp")),
        ("stun:10.0.0.1:19302", ("stun", "10.0.0.1", 19302, "udp")),
        ("turn:turn.example.org", ("turn", "turn.example.org", 3478, "udp")),
        ("turn:turn.example.org:80?transport=tcp", ("turn", "turn.example.org", 80, "tcp")),
        ("turns:turn.example.org", ("turns", "turn.example.org", 5349, "tcp")),
        ("turn:[2001:db8::1]:3478", ("turn", "2001:db8::1", 3478, "udp")),
    ],
)
def test_ice_urls_are_taken_apart(url: str, parsed: tuple[str, str, int, str]) -> None:
    assert parse_ice_url(url) == IceUrl(url, *parsed)


@pytest.mark.parametrize(
    "url", ["turn.example.org", "http://x", "turns:x?transport=udp", "stun:x?transport=tcp"]
)
def test_bad_ice_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"STUN|TURN|TLS|transport"):
        parse_ice_url(url)


def test_static_credentials_still_work_without_a_secret(tmp_path: Path) -> None:
    settings = Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": URLS,
            "TELEBRIDGE_TURN_USERNAME": "studio",
            "TELEBRIDGE_TURN_PASSWORD": "pw",
        },
        data_dir=tmp_path,
    )
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert check_credentials(settings, now) == ("studio", "pw")
    plain = Settings.load({"TELEBRIDGE_ICE_SERVERS": URLS}, data_dir=tmp_path)
    assert check_credentials(plain, now) == ("", "")
    user, password = check_credentials(
        Settings.load({"TELEBRIDGE_TURN_SECRET": SECRET}, data_dir=tmp_path), now
    )
    assert user == f"{int((now + timedelta(minutes=2)).timestamp())}:telebridge-check"
    assert password == rest_credentials(SECRET, "telebridge-check", now + timedelta(minutes=2))[1]


def test_the_servers_own_peers_use_the_first_stun_server_and_never_turn(tmp_path: Path) -> None:
    settings = Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": "turn:t.example.org," + URLS + ",stun:other.example.org",
            "TELEBRIDGE_TURN_SECRET": SECRET,
        },
        data_dir=tmp_path,
    )
    servers = ice_servers(settings)
    assert [s.urls for s in servers] == ["stun:stun.example.org"]
    assert all(s.username is None and s.credential is None for s in servers)
    assert ice_servers(Settings.load({"TELEBRIDGE_ICE_SERVERS": "turn:t"}, data_dir=tmp_path)) == ()


# --- what the join page hands to the console -------------------------------------------------


@pytest.fixture
def backend() -> str:
    """SQLite only: the page's logic has nothing to do with the storage."""
    return "sqlite"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.load(
        {"TELEBRIDGE_ICE_SERVERS": URLS, "TELEBRIDGE_TURN_SECRET": SECRET},
        data_dir=tmp_path / "data",
        secret="test-secret",
        database_url=database_url,
    )


def console_data(html: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="console-data">(.*?)</script>', html, re.S)
    assert m, "the page has no console"
    data: dict[str, object] = json.loads(m.group(1))
    return data


async def test_each_console_gets_credentials_of_its_own_booking_until_its_link_closes(
    clocked: ClockedApp,
) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=10)
    b = await book(c, starts, setup_minutes=15)
    paths = await links(c, b["id"])
    grace = c.app[SETTINGS].join_grace_minutes
    expires = int((starts + timedelta(hours=1, minutes=TEARDOWN + grace)).timestamp())

    seen = {}
    for studio in ("trend", "dha"):
        resp = await c.client.get(paths[studio])
        assert resp.status == 200
        data = console_data(await resp.text())
        assert data["ice_transport_policy"] == "all"
        servers = data["ice_servers"]
        assert isinstance(servers, list)
        assert servers[0] == {"urls": "stun:stun.example.org"}  # STUN needs no credentials
        turn = servers[1:]
        assert [s["urls"] for s in turn] == [
            "turn:turn.example.org:3478",
            "turns:turn.example.org:443",
        ]
        assert turn[0]["username"] == f"{expires}:{b['id']}.{studio}"
        assert turn[0]["username"] == turn[1]["username"]
        assert (turn[0]["username"], turn[0]["credential"]) == rest_credentials(
            SECRET, f"{b['id']}.{studio}", starts + timedelta(hours=1, minutes=TEARDOWN + grace)
        )
        seen[studio] = turn[0]["credential"]
    assert seen["trend"] != seen["dha"]

    # The diagnostic flag: this console uses TURN relays only.
    resp = await c.client.get(paths["trend"] + "&relay=1")
    assert console_data(await resp.text())["ice_transport_policy"] == "relay"
    # A wrong token gets nothing at all.
    resp = await c.client.get(paths["trend"].replace("token=", "token=x"))
    assert resp.status == 403
    assert "console-data" not in await resp.text()


def test_console_ice_servers_pass_static_credentials(tmp_path: Path) -> None:
    settings = Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": URLS,
            "TELEBRIDGE_TURN_USERNAME": "studio",
            "TELEBRIDGE_TURN_PASSWORD": "pw",
        },
        data_dir=tmp_path,
    )

    class FakeBooking:  # only the fields the function reads
        id = "b1"
        busy_from = datetime(2030, 1, 1, 9, 45, tzinfo=UTC)
        ends_at = datetime(2030, 1, 1, 11, tzinfo=UTC)

    servers = console_ice_servers(settings, FakeBooking(), "trend")  # type: ignore[arg-type]
    assert servers == [
        {"urls": "stun:stun.example.org"},
        {"urls": "turn:turn.example.org:3478", "username": "studio", "credential": "pw"},
        {"urls": "turns:turn.example.org:443", "username": "studio", "credential": "pw"},
    ]


async def test_the_tally_poll_hands_out_fresh_credentials_and_times_after_an_extension(
    clocked: ClockedApp,
) -> None:
    # A show extended while on air: the console's countdown moves, and its TURN credentials
    # (which expire when the link closes) are renewed, so a reconnect after the old end works.
    c = clocked
    starts = c.clock() + timedelta(minutes=10)
    b = await book(c, starts, setup_minutes=15)
    state_path = (await links(c, b["id"]))["trend"].replace("?token=", "/state?token=", 1)
    grace = c.app[SETTINGS].join_grace_minutes

    async def tally() -> dict[str, Any]:
        resp = await c.client.get(state_path)
        assert resp.status == 200, await resp.text()
        doc: dict[str, Any] = await resp.json()
        return doc

    first = await tally()
    assert first["off_air_at"] == (starts + timedelta(hours=1)).strftime(FMT)
    old_end = starts + timedelta(hours=1, minutes=TEARDOWN + grace)
    assert first["ice_servers"][1]["username"] == f"{int(old_end.timestamp())}:{b['id']}.trend"

    resp = await c.client.patch(
        f"/api/bookings/{b['id']}",
        json={"ends_at": (starts + timedelta(hours=2)).strftime(FMT)},
        headers=c.headers["producer"],
    )
    assert resp.status == 200, await resp.text()
    second = await tally()
    assert second["off_air_at"] == (starts + timedelta(hours=2)).strftime(FMT)
    new_end = starts + timedelta(hours=2, minutes=TEARDOWN + grace)
    assert (second["ice_servers"][1]["username"], second["ice_servers"][1]["credential"]) == (
        rest_credentials(SECRET, f"{b['id']}.trend", new_end)
    )
    assert {"on_program", "recording"} <= set(second)  # the tally itself is still there
