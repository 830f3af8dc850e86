"""Recording a live telebridge and finding it in the archive: files, Range, checksums, access."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_studios import Link, Studio, book, sees
from webtools import ClockedApp, assert_error

from bridge.recording.directory import closed_segments
from harness.waiting import eventually
from schedules.archive import recording_directory
from web.services import ACCOUNTS, LIVE, RECORDINGS

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


RECORD_SECONDS = 4.0


async def _on_air(
    c: ClockedApp, studios: Callable[..., Studio]
) -> tuple[datetime, dict[str, Link]]:
    """Book, let Trend and DHA join, go on air: the autopilot starts recording."""
    starts = c.clock() + timedelta(minutes=5)
    links = await book(c, starts)
    trend, dha = studios("trend", 40), studios("dha", 200)
    await trend.join(c.client, links["trend"])
    await dha.join(c.client, links["dha"])
    await sees(trend, dha)
    c.clock.set(starts + timedelta(seconds=1))  # on air: the booking says record
    await c.app[LIVE].tick()
    assert c.app[RECORDINGS].is_recording(links["trend"].booking)
    return starts, links


async def _record_a_show(c: ClockedApp, studios: Callable[..., Studio]) -> dict[str, Any]:
    """Book, go on air (the autopilot starts recording), stream, end the show; the recording."""
    starts, links = await _on_air(c, studios)
    # Stays: this much show is recorded, counted from the confirmed start of the recording.
    await asyncio.sleep(RECORD_SECONDS)
    c.clock.set(starts + timedelta(hours=1, seconds=1))  # the show ends
    await c.app[LIVE].tick()
    assert not c.app[RECORDINGS].is_recording(links["trend"].booking)
    return await _finished(c.client, links["trend"].booking, c.headers["producer"])


async def _finished(client: Any, booking: str, headers: dict[str, str]) -> dict[str, Any]:
    """The booking's one recording once the archive lists it.

    The app's own autopilot may have taken the show off air a moment before the test's tick
    did: the recording is then still being finalized, and is listed once it is whole."""

    async def listed() -> list[dict[str, Any]]:
        resp = await client.get(f"/api/recordings?booking={booking}", headers=headers)
        assert resp.status == 200, await resp.text()
        found: list[dict[str, Any]] = (await resp.json())["recordings"]
        return found

    (recording,) = await eventually(listed, timeout=30, message="the finished recording")
    return recording


def _probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


async def test_a_recorded_show_is_in_the_archive_and_plays_with_range_requests(
    clocked: ClockedApp, studios: Callable[..., Studio], tmp_path: Path
) -> None:
    c = clocked
    recording = await _record_a_show(c, studios)
    (program,) = [f for f in recording["files"] if f["kind"] == "program"]
    assert program["media_type"] == "video/mp4"
    assert abs(recording["duration_s"] - RECORD_SECONDS) < 1.5

    # The whole file: its checksum is the archive's; ffprobe sees H.264 720p of the show's length.
    whole = await c.client.get(program["url"], headers=c.headers["producer"])
    assert whole.status == 200
    body = await whole.read()
    assert len(body) == program["bytes"]
    assert hashlib.sha256(body).hexdigest() == program["sha256"]
    saved = tmp_path / "program.mp4"
    saved.write_bytes(body)
    probe = _probe(saved)
    streams = {s["codec_type"]: s for s in probe["streams"]}
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1280, 720)
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)
    assert abs(float(probe["format"]["duration"]) - recording["duration_s"]) < 0.5
    assert abs(float(audio["duration"]) - float(video["duration"])) < 0.3
    # One ISO per studio: its own VP8 and Opus, as long as the program.
    isos = {f["studio"]: f for f in recording["files"] if f["kind"] == "iso"}
    assert set(isos) == set(recording["studios"]), recording["files"]
    for iso in isos.values():
        saved_iso = tmp_path / f"{iso['studio']}.webm"
        saved_iso.write_bytes(
            await (await c.client.get(iso["url"], headers=c.headers["producer"])).read()
        )
        assert hashlib.sha256(saved_iso.read_bytes()).hexdigest() == iso["sha256"]
        codecs = {s["codec_type"]: s["codec_name"] for s in _probe(saved_iso)["streams"]}
        assert codecs == {"video": "vp8", "audio": "opus"}, codecs

    # Seeking: a byte range is 206 with exactly those bytes; past the end is 416.
    part = await c.client.get(
        program["url"], headers={**c.headers["producer"], "Range": "bytes=100-199"}
    )
    assert part.status == 206 and await part.read() == body[100:200]
    beyond = await c.client.get(
        program["url"], headers={**c.headers["producer"], "Range": f"bytes={len(body) + 10}-"}
    )
    assert beyond.status == 416
    poster = await c.client.get(recording["poster_url"], headers=c.headers["producer"])
    assert poster.status == 200 and (await poster.read())[:2] == b"\xff\xd8"  # a JPEG

    # The booking's page links to it: the player, and the archive's list of the booking's.
    page = await c.client.get(f"/bookings/{recording['booking_id']}", headers=c.headers["producer"])
    assert page.status == 200
    html = await page.text()
    listed = html[html.index('id="recordings"') :]
    assert f'<a href="/archive/{recording["id"]}">' in listed
    assert f'href="/archive?booking={recording["booking_id"]}"' in listed

    # Search by text, studio and date; a studio that was not there finds nothing.
    for query, expected in [
        ("q=caspian", 1),
        ("q=nothing-like-it", 0),
        ("studio=dha", 1),
        ("studio=kabar", 0),
        ("from=2000-01-01", 1),
        ("to=2000-01-01", 0),
    ]:
        resp = await c.client.get(f"/api/recordings?{query}", headers=c.headers["producer"])
        assert len((await resp.json())["recordings"]) == expected, query


async def test_only_the_organisations_that_took_part_see_a_recording(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    recording = await _record_a_show(c, studios)
    program = recording["files"][0]
    from web.access.security import new_token, token_digest

    async def operator_of(studio: str) -> dict[str, str]:
        token = new_token()
        await c.app[ACCOUNTS].add_token(
            token_digest(token), f"op-{studio}", "operator", c.clock(), studio_id=studio
        )
        return {"Authorization": f"Bearer {token}"}

    # Trend took part (the "operator" token is Trend's); Kabar did not; viewers have no agency.
    for headers, status in [
        (c.headers["operator"], 200),
        (c.headers["admin"], 200),
        (await operator_of("kabar"), 403),
        (c.headers["viewer"], 403),
    ]:
        resp = await c.client.get(f"/api/recordings/{recording['id']}", headers=headers)
        assert resp.status == status
        resp = await c.client.get(program["url"], headers=headers)
        if status == 403:
            await assert_error(resp, 403, "forbidden")
        else:
            assert resp.status == 200
    listing = await c.client.get("/api/recordings", headers=await operator_of("kabar"))
    assert (await listing.json())["recordings"] == []
    # Paths from requests never reach the file system unchecked.
    base = program["url"].rsplit("/", 1)[0]
    for name in ("..%2F..%2Fsecret.key", "%2Fetc%2Fpasswd", "program.mp4.tmp", "segment.ts"):
        resp = await c.client.get(f"{base}/{name}", headers=c.headers["admin"])
        assert resp.status == 404, name


async def test_a_restart_mid_show_continues_the_recording_as_a_new_part(
    clocked: ClockedApp, studios: Callable[..., Studio], settings: Any, aiohttp_client: Any
) -> None:
    from web.app import make_app

    c = clocked
    starts, links = await _on_air(c, studios)
    await asyncio.sleep(2.5)  # stays: a first part of the show, recorded from the confirmed start
    await c.client.close()  # the server goes down mid-show (its shutdown, not a crash)

    app = await make_app(settings, clock=c.clock)  # ...and comes back on the same data
    client = await aiohttp_client(app)
    again_trend, again_dha = studios("trend", 40), studios("dha", 200)
    await again_trend.join(client, links["trend"])  # the consoles rejoin by themselves
    await again_dha.join(client, links["dha"])
    await app[LIVE].tick()
    assert app[RECORDINGS].is_recording(links["trend"].booking)
    await asyncio.sleep(2.5)  # stays: the second part, recorded from the confirmed restart
    c.clock.set(starts + timedelta(hours=1, seconds=1))
    await app[LIVE].tick()
    recording = await _finished(client, links["trend"].booking, c.headers["producer"])
    assert recording["parts"] == 2  # one archive entry, written in two parts
    assert 3.5 < recording["duration_s"] < 7, recording["duration_s"]
    assert {f["kind"] for f in recording["files"]} == {"program", "iso"}


async def _program_media_seconds(c: ClockedApp, booking: str, at_least: float) -> bool:
    room = c.app[LIVE].get(booking)
    assert room is not None
    recorders = (await room.live_snapshot()).recorders
    return any(r.kind == "program" and r.media_seconds >= at_least for r in recorders)


async def _on_air_with_some_program(
    c: ClockedApp, studios: Callable[..., Studio]
) -> tuple[datetime, str]:
    """On air and recording, with 2.5 s of program media on disk (not 2.5 s of wall time: a
    machine short of CPU makes fewer frames in it); the show's start and the booking."""
    starts, links = await _on_air(c, studios)
    booking = links["trend"].booking
    await eventually(
        lambda: _program_media_seconds(c, booking, 2.5),
        timeout=30,
        interval=0.2,
        message="2.5 s of program recorded",
    )
    return starts, booking


async def test_a_recording_left_unfinished_by_a_crash_is_finalized_at_the_next_start(
    clocked: ClockedApp, studios: Callable[..., Studio], settings: Any, aiohttp_client: Any
) -> None:
    from web.app import make_app

    c = clocked
    starts, booking = await _on_air_with_some_program(c, studios)
    # The server goes down mid-show: the autopilot stops first (else its next tick would start
    # the recording again in the same directory), the recording is suspended, the rooms close.
    # What is left is what a kill -9 leaves: segments on disk, the archive entry "recording".
    await c.app[LIVE].stop()
    assert not c.app[RECORDINGS].is_recording(booking)
    c.clock.set(starts + timedelta(hours=2))  # the show ended while the server was down
    app = await make_app(settings, clock=c.clock)
    client = await aiohttp_client(app)
    resp = await client.get(f"/api/recordings?booking={booking}", headers=c.headers["producer"])
    (recording,) = (await resp.json())["recordings"]
    # What was on disk (2.5 s and what the stop took to come, seconds on a loaded machine
    # whose loop stalls), never the two hours the clock moved while the server was down.
    assert 1.5 < recording["duration_s"] < 60
    assert "program.mp4" in {f["name"] for f in recording["files"]}


async def test_a_show_whose_finalizing_fails_keeps_its_segments_and_is_finished_on_a_retry(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    """Finalizing runs in a child process that can die or hang (bridge.recording.isolated).
    Then the recording is neither finished nor failed: its segments stay, the entry stays
    unfinished, and it is finalized again a little later."""
    c = clocked
    recordings = c.app[RECORDINGS]
    recordings.finalize_retry_s = (0.5,) * 120  # every half second, for a minute
    starts, booking = await _on_air_with_some_program(c, studios)
    recording_id = recordings.active[booking]
    directory = recordings.root / recording_directory(booking, recording_id)
    # Something in the way of the program's file: a directory where its finalizing child
    # writes (and first removes) `program.mp4.tmp`. The child fails, as one that died would.
    obstacle = directory / "program.mp4.tmp"
    obstacle.mkdir()
    c.clock.set(starts + timedelta(hours=1, seconds=1))  # the show ends
    await c.app[LIVE].tick()
    assert not recordings.is_recording(booking)
    assert (await recordings.archive.get(recording_id)).status == "recording"
    assert [s for s in closed_segments(directory, still_writing=False) if "program" in s.name]
    assert not (directory / "program.mp4").exists()
    resp = await c.client.get(f"/api/recordings?booking={booking}", headers=c.headers["producer"])
    assert (await resp.json())["recordings"] == []  # not listed as a show without a program

    obstacle.rmdir()  # the next try goes through
    recording = await _finished(c.client, booking, c.headers["producer"])
    assert recording["id"] == recording_id
    assert {(f["kind"], f["studio"]) for f in recording["files"]} == {
        ("program", None),
        ("iso", "trend"),
        ("iso", "dha"),
    }, recording["files"]
    assert 2.0 < recording["duration_s"] < 8
    assert not closed_segments(directory, still_writing=False)
