"""Audiences watch the broadcast: who may, the HLS files as the bridge writes them (cache
headers, a private stream's token on every segment), the embeddable player's frame ancestors,
the status the player polls, and the recording after the end."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_check import response_validator
from webtools import Client, ClockedApp, assert_error

from schedules.archive import RecordingFile
from schedules.timeutil import utc_now
from web.app import make_app
from web.demo import seed_demo
from web.openapi.document import build_document
from web.pages.watch import EMBED_POLICY
from web.services import ACCOUNTS, ARCHIVE, BOOKINGS, OUTPUT_CONTROL, RECORDINGS, WATCH_CACHE
from web.settings import Settings

FMT = "%Y-%m-%dT%H:%M:%SZ"
SEGMENT = bytes(range(256)) * 64  # stands for a TS segment: the route serves bytes as they are


def playlist(first: int = 7, count: int = 3, ended: bool = False) -> str:
    """A playlist like bridge.outputs.hls writes: `count` 2 s segments from number `first`."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
    for n in range(first, first + count):
        lines += ["#EXTINF:2.000,", f"seg-{n:06d}.ts"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def go_live(app: web.Application, booking_id: str, text: str | None = None) -> Path:
    """Write what the bridge's HLS output writes while it runs: a playlist and its segments."""
    directory: Path = app[OUTPUT_CONTROL].hls_dir(booking_id)
    directory.mkdir(parents=True, exist_ok=True)
    text = text if text is not None else playlist()
    (directory / "index.m3u8").write_text(text)
    for name in re.findall(r"^seg-\d+\.ts$", text, re.M):
        (directory / name).write_bytes(SEGMENT)
    # Viewers see a new playlist within PLAYLIST_TTL_S; the test looks at once.
    app[WATCH_CACHE].playlists.forget(booking_id)
    return directory


async def book(c: ClockedApp, stream: str, days: int = 1, **extra: Any) -> dict[str, Any]:
    """Book Trend (Baku), Azertac (Baku) and DHA (Istanbul) `days` from the app's clock."""
    starts = c.clock() + timedelta(days=days)
    body = {
        "title": "Caspian energy week",
        "studios": ["trend", "azertac", "dha"],
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
        "stream": stream,
        **extra,
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    booking: dict[str, Any] = (await resp.json())["booking"]
    assert booking["stream"] == stream
    return booking


async def viewing_token(c: ClockedApp, booking_id: str) -> str:
    resp = await c.client.get(
        f"/api/bookings/{booking_id}/watch-link", headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()
    links = await resp.json()
    token: str = parse_qs(urlsplit(links["url"]).query)["token"][0]
    assert urlsplit(links["url"]).path == f"/watch/{booking_id}"
    return token


async def test_a_public_stream_is_open_to_anyone_a_private_one_to_its_link_and_its_staff(
    clocked: ClockedApp,
) -> None:
    c, client = clocked, clocked.client
    public = (await book(c, "public"))["id"]
    private = (await book(c, "private", days=2))["id"]
    token = await viewing_token(c, private)

    for path in (f"/watch/{public}", f"/embed/{public}", f"/watch/{private}?token={token}"):
        resp = await client.get(path)
        assert resp.status == 200, (path, await resp.text())
        page = await resp.text()
        assert "Caspian energy week" in page and "Baku · Istanbul" in page, path
        assert 'src="/static/watch.js"' in page and "<script>" not in page  # no inline script
    # Logged in (or with an API token) as someone who may see the booking: no link needed.
    resp = await client.get(f"/watch/{private}", headers=c.headers["viewer"])
    assert resp.status == 200
    assert f"/watch/{private}/status.json?token=" in await resp.text()

    # Without the link, or with another booking's, a private stream is closed: a page for
    # people, the JSON error for the player's calls.
    other = await viewing_token(c, (await book(c, "private", days=3))["id"])
    for query in ("", "?token=", f"?token={other}", f"?token={token[:-2]}xx"):
        resp = await client.get(f"/watch/{private}{query}")
        assert resp.status == 403, query
        assert resp.content_type == "text/html"
        assert "This broadcast is private" in await resp.text()
        for sub in ("/status.json", "/recording.mp4"):
            await assert_error(await client.get(f"/watch/{private}{sub}{query}"), 403, "forbidden")
        await assert_error(await client.get(f"/live/{private}/index.m3u8{query}"), 403, "forbidden")
    resp = await client.get(f"/embed/{private}")
    assert resp.status == 403 and "This broadcast is private" in await resp.text()

    # Unknown, cancelled and declined bookings are not there at all.
    cancelled = (await book(c, "public", days=4))["id"]
    resp = await client.post(
        f"/api/bookings/{cancelled}/cancel", json={}, headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()
    for missing in ("no-such-booking", cancelled):
        assert (await client.get(f"/watch/{missing}")).status == 404
        assert (await client.get(f"/embed/{missing}")).status == 404
        await assert_error(await client.get(f"/watch/{missing}/status.json"), 404, "not_found")
        await assert_error(await client.get(f"/live/{missing}/index.m3u8"), 404, "not_found")


async def test_the_playlist_and_segments_are_served_with_cache_headers(
    clocked: ClockedApp,
) -> None:
    c, client = clocked, clocked.client
    public = (await book(c, "public"))["id"]
    # Not live: no playlist in the booking's HLS folder.
    error = await assert_error(await client.get(f"/live/{public}/index.m3u8"), 404, "not_found")
    assert "not live" in error["message"]
    go_live(c.app, public)

    resp = await client.get(f"/live/{public}/index.m3u8")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["X-Accel-Expires"] == "1"  # deploy/nginx.conf keeps it for a second
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert await resp.text() == playlist()  # a public playlist goes out as written

    resp = await client.get(f"/live/{public}/seg-000008.ts")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "video/mp2t"
    assert resp.headers["Cache-Control"] == "public, max-age=86400, immutable"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert await resp.read() == SEGMENT
    resp = await client.get(f"/live/{public}/seg-000008.ts", headers={"Range": "bytes=10-19"})
    assert resp.status == 206 and await resp.read() == SEGMENT[10:20]

    # A name the playlist may list but whose file is gone (or not yet there): 404, and not
    # with the segments' day-long caching.
    resp = await client.get(f"/live/{public}/seg-000099.ts")
    await assert_error(resp, 404, "not_found")
    assert "immutable" not in resp.headers.get("Cache-Control", "")
    # Only the playlist's and the segments' names: no path, no other file of the folder.
    (go_live(c.app, public) / "index.m3u8.tmp").write_text(playlist())
    for name in (
        "index.m3u8.tmp",
        "seg-8.ts",
        "seg-000008.mp4",
        "seg-０００００８.ts",  # fullwidth digits are digits to \d, not to the bridge
        "..%2Findex.m3u8",
        "%2e%2e%2F%2e%2e%2Fsecret.key",
        "index.m3u8%00",
    ):
        resp = await client.get(f"/live/{public}/{name}")
        assert resp.status == 404, name
    assert (await client.get(f"/live/{public}/../../secret.key")).status == 404


async def test_a_private_playlist_carries_the_token_to_every_segment(
    clocked: ClockedApp,
) -> None:
    c, client = clocked, clocked.client
    private = (await book(c, "private"))["id"]
    token = await viewing_token(c, private)
    go_live(c.app, private)

    resp = await client.get(f"/live/{private}/index.m3u8", params={"token": token})
    assert resp.status == 200
    # It names the token (and a session may have opened it): no shared cache may keep it.
    assert resp.headers["Cache-Control"] == "private, no-cache"
    assert "X-Accel-Expires" not in resp.headers
    assert "Access-Control-Allow-Origin" not in resp.headers  # only public streams
    text = await resp.text()
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(uris) == 3
    tags = [line for line in text.splitlines() if line.startswith("#")]
    assert tags == [line for line in playlist().splitlines() if line.startswith("#")]
    for uri in uris:
        name, _, query = uri.partition("?")
        assert re.fullmatch(r"seg-\d{6}\.ts", name) and parse_qs(query) == {"token": [token]}
        # The player asks for the segment exactly as the playlist names it.
        seg = await client.get(f"/live/{private}/{uri}")
        assert seg.status == 200 and await seg.read() == SEGMENT
        assert seg.headers["Cache-Control"] == "private, max-age=86400, immutable"
        await assert_error(await client.get(f"/live/{private}/{name}"), 403, "forbidden")
    # A user who may see the booking reads it without the link; the playlist hands on the
    # token all the same (a player's segment requests carry no session of their own).
    resp = await client.get(f"/live/{private}/index.m3u8", headers=c.headers["operator"])
    assert resp.status == 200 and f"?token={token}" in (await resp.text()).replace("%3D", "=")


async def test_the_status_follows_the_broadcast_and_the_recording_plays_after_it(
    clocked: ClockedApp, tmp_path: Path
) -> None:
    c, client = clocked, clocked.client
    booking = await book(c, "private")
    bid, token = booking["id"], await viewing_token(c, booking["id"])
    document = build_document()

    async def status() -> dict[str, Any]:
        resp = await client.get(f"/watch/{bid}/status.json", params={"token": token})
        assert resp.status == 200, await resp.text()
        assert resp.headers["Cache-Control"] == "private, no-cache"  # it names the token
        body: dict[str, Any] = await resp.json()
        validator = response_validator(
            document, "GET", "/watch/{booking_id}/status.json", 200, resp.content_type
        )
        problems = [e.message for e in validator.iter_errors(body)]
        assert not problems, problems
        return body

    first = await status()
    assert first == {
        "state": "scheduled",
        "title": "Caspian energy week",
        "cities": ["Baku", "Istanbul"],  # Trend and Azertac are both in Baku
        "starts_at": booking["starts_at"],
        "ends_at": booking["ends_at"],
        "live_since": booking["starts_at"],
        "hls_url": None,
        "recording_url": None,
    }
    # The HLS output ran once and stopped (a test before the show): still not started.
    go_live(c.app, bid, playlist(ended=True))
    assert (await status())["state"] == "scheduled"

    go_live(c.app, bid)
    live = await status()
    assert live["state"] == "live"
    url = urlsplit(live["hls_url"])
    assert url.path == f"/live/{bid}/index.m3u8" and parse_qs(url.query) == {"token": [token]}
    assert (await client.get(live["hls_url"])).status == 200  # as the player will ask

    # After the end (the output's last playlist may be left behind by a crash): ended, and no
    # recording yet.
    c.clock.set(c.clock() + timedelta(days=1, hours=2))
    ended = await status()
    assert ended["state"] == "ended" and ended["hls_url"] is None
    assert ended["recording_url"] is None
    await assert_error(
        await client.get(f"/watch/{bid}/recording.mp4", params={"token": token}), 404, "not_found"
    )

    # The recording is finalized: the same link now plays it, with HTTP Range for seeking.
    data = await register_recording(c, bid, tmp_path)
    ended = await status()
    recording = urlsplit(ended["recording_url"])
    assert recording.path == f"/watch/{bid}/recording.mp4"
    assert parse_qs(recording.query) == {"token": [token]}
    resp = await client.get(ended["recording_url"])
    assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
    assert resp.headers["Cache-Control"].startswith("private")
    assert await resp.read() == data
    resp = await client.get(ended["recording_url"], headers={"Range": "bytes=4-11"})
    assert resp.status == 206 and await resp.read() == data[4:12] and data[4:8] == b"ftyp"
    page = await client.get(f"/watch/{bid}", params={"token": token})
    assert 'data-state="ended"' in await page.text()
    assert f'data-recording-url="/watch/{bid}/recording.mp4?token=' in await page.text()


def tiny_mp4(path: Path, seconds: float = 1.0) -> bytes:
    """A real H.264 + AAC MP4 (faststart, like the recorder's program file)."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        frames = int(seconds * 30)
        for i in range(frames):
            picture = np.full((180, 320, 3), (i * 8) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        samples = np.zeros((1, 1024), dtype=np.float32)
        for i in range(int(seconds * 48000 / 1024)):
            sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = 48000, i * 1024, Fraction(1, 48000)
            out.mux(audio.encode(sound))
        out.mux(audio.encode())
    return path.read_bytes()


async def register_recording(c: ClockedApp, booking_id: str, tmp_path: Path) -> bytes:
    """A finished program recording of the booking in the archive, as the recorder leaves it."""
    archive = c.app[ARCHIVE]
    now = c.clock()
    recording = await archive.open_recording(booking_id, "Caspian energy week", ["trend"], now)
    directory = c.app[RECORDINGS].root / recording.directory
    directory.mkdir(parents=True, exist_ok=True)
    data = tiny_mp4(directory / "program.mp4")
    program = RecordingFile(
        recording.id,
        "program.mp4",
        "program",
        None,
        "video/mp4",
        len(data),
        hashlib.sha256(data).hexdigest(),
        1.0,
    )
    await archive.finish(recording.id, now, [program])
    return data


@pytest.fixture
def backend() -> str:
    """The watch routes read bookings and the archive through services that are tested on
    both databases elsewhere: SQLite only."""
    return "sqlite"


async def test_the_embed_may_be_framed_by_the_sites_of_the_setting_and_no_other_page(
    settings: Settings,
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
) -> None:
    partners = "https://dhapress.com https://turkic.world"
    app = await make_app(replace(settings, embed_ancestors=partners))
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], utc_now())
    client: Client = await aiohttp_client(app)
    starts = utc_now() + timedelta(days=2)
    body = {
        "title": "Turkic world summit",
        "studios": ["dha", "kabar"],
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
        "stream": "public",
    }
    bid = (await app[BOOKINGS].create(body, "test")).created[0].id

    embed = await client.get(f"/embed/{bid}")
    assert embed.status == 200
    policy = embed.headers["Content-Security-Policy"]
    assert f"frame-ancestors {partners};" in policy
    assert "X-Frame-Options" not in embed.headers
    page = await client.get(f"/watch/{bid}")
    assert page.status == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    # The same policy as every other page, but for who may frame it.
    assert page.headers["Content-Security-Policy"] == EMBED_POLICY.format(
        ancestors="'none'", store=""
    )
    assert 'class="topbar"' in await page.text() and 'class="topbar"' not in await embed.text()
    # Its errors are shown inside the frame, under the same policy.
    missing = await client.get("/embed/no-such-booking")
    assert missing.status == 404 and "There is no such broadcast" in await missing.text()
    assert missing.headers["Content-Security-Policy"] == policy
    assert "X-Frame-Options" not in missing.headers


def test_the_embed_setting_is_one_directive_of_sources() -> None:
    assert Settings.load({}).embed_ancestors == "*"
    ok = Settings.load({"TELEBRIDGE_EMBED_ANCESTORS": "'self' https://dha.com.tr"})
    assert ok.embed_ancestors == "'self' https://dha.com.tr"
    for bad in ("*; script-src *", "https://a.example, https://b.example", " ", "a\r\nX-Evil: 1"):
        with pytest.raises(SystemExit, match="TELEBRIDGE_EMBED_ANCESTORS"):
            Settings.load({"TELEBRIDGE_EMBED_ANCESTORS": bad})
