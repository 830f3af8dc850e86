"""Recordings in object storage, end to end against a real SeaweedFS (tests/s3_server.py):
finished files go up verified and leave the disk, the archive redirects to presigned links
(Range, downloads, poster), segments go up as they close, deleting a recording deletes its
objects, a storage outage loses nothing, and a restart picks up what was pending.

Recordings are made as a server leaves them (program segments from a real H.264 encoder) and
finished by the app's own recovery, so that the files are real MP4s with real checksums."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient
from databases import BACKENDS
from helpers import DEMO_PASSWORD, bearer
from live_studios import book
from recorded_segments import write_program_segments
from s3_server import S3Server, running_s3
from webtools import ClockedApp, MovableClock, assert_error, login, session_csrf

from harness.waiting import eventually
from schedules import db
from schedules.archive import Archive, Recording
from schedules.cluster.registry import NodeRegistry
from web.access.security import new_token, token_digest
from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, ARCHIVE, BOOKINGS, ENGINE, LEFT_BEHIND, LIVE, RECORDINGS
from web.settings import Settings
from web.storage import STORE, UPLOADS
from web.storage.config import store_from_settings
from web.storage.objects import RecordingObjects, parse_location
from web.storage.s3 import b64_sha256
from web.storage.uploads import Uploader

NOW = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
Factory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def backend() -> str:
    """SQLite, unless a test asks for both (the archive's storage is the same code on both)."""
    return "sqlite"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """One SeaweedFS for the module (each test writes under its own prefix)."""
    with running_s3() as server:
        yield server


def stored_settings(settings: Settings, server: S3Server) -> Settings:
    """`settings` with the recordings in `server`, under a prefix of this test's own."""
    prefix = f"test-{secrets.token_hex(4)}"
    return dataclasses.replace(settings, **server.settings(prefix), storage_link_seconds=600)


async def started(settings: Settings, aiohttp_client: Factory, seed: bool = True) -> ClockedApp:
    """The app on `settings`, its uploader looking every 0.2 s, retrying within 1 s."""
    clock = MovableClock(NOW)
    app = await make_app(settings, clock=clock)
    uploads = app[UPLOADS]
    if uploads is not None:
        uploads.segment_scan_s = uploads.finished_scan_s = 0.2
        uploads.retry_first_s, uploads.retry_max_s = 0.2, 1.0
    headers: dict[str, dict[str, str]] = {}
    if seed:
        await seed_demo(app[BOOKINGS], app[ACCOUNTS], clock())
    for role in ("admin", "producer", "viewer"):
        token = new_token()
        await app[ACCOUNTS].add_token(token_digest(token), f"{role}-bot", role, clock())
        headers[role] = bearer(token)
    return ClockedApp(app, await aiohttp_client(app), clock, headers)


async def recorded(
    c: ClockedApp,
    starts: datetime,
    seconds: float = 3.0,
    studios: tuple[str, ...] = ("trend", "dha"),
) -> tuple[str, Path]:
    """A booking at `starts` and a recording of it left on disk: the recording's id and
    directory (the app files it at its next `recover`)."""
    booking_id = (await book(c, starts, studios))["trend"].booking
    recording_id = secrets.token_hex(6)
    directory = c.app[RECORDINGS].root / booking_id / recording_id
    await asyncio.to_thread(write_program_segments, directory, seconds)
    return recording_id, directory


async def finished(c: ClockedApp, seconds: float = 3.0) -> tuple[Recording, Path, bytes]:
    """A finished recording, made and then filed by the app's recovery: its archive entry,
    its directory, and its program's bytes as they were on disk."""
    starts = c.clock() + timedelta(days=1)
    recording_id, directory = await recorded(c, starts, seconds)
    assert (
        await c.app[RECORDINGS].recovery.recover(c.app[BOOKINGS], starts + timedelta(hours=2)) == 1
    )
    # Read before the next await: from then on the uploader may take it away.
    program = (directory / "program.mp4").read_bytes()
    recording = await c.app[ARCHIVE].get(recording_id)
    assert recording.status == "finished"
    return recording, directory, program


async def in_store(c: ClockedApp, recording_id: str) -> Recording | None:
    """The recording once every file of it is in the store, else None."""
    recording = await c.app[ARCHIVE].get(recording_id)
    return recording if all(f.location for f in recording.files) else None


async def object_keys(store: RecordingObjects, prefix: str) -> list[str]:
    return [o.key async for o in store.client.list(store.url.bucket, prefix)]


async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """GET a URL outside the app (the store's presigned links), as a browser would."""
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, resp.headers, await resp.read()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_finished_recording_moves_to_the_store_and_plays_from_it(
    settings: Settings, s3: S3Server, aiohttp_client: Factory, backend: str
) -> None:
    c = await started(stored_settings(settings, s3), aiohttp_client)
    store = c.app[STORE]
    assert store is not None
    recording, directory, local = await finished(c)
    (program,) = recording.files
    assert hashlib.sha256(local).hexdigest() == program.sha256

    stored = await eventually(lambda: in_store(c, recording.id), timeout=60, message="uploaded")
    (program,) = stored.files
    bucket, key = parse_location(program.location or "")
    assert (bucket, key) == (s3.bucket, f"{store.url.prefix}/{recording.directory}/program.mp4")
    # The local copy went once the upload was verified, and with it the directory.
    await eventually(lambda: not directory.exists(), message="the local directory removed")
    # The segments the uploader took up before the recording was finished are gone too.
    segments = store.segments_prefix(recording.directory)
    assert await eventually(lambda: _none(object_keys(store, segments)), message="segments")

    url = f"/recordings/{recording.id}/files/program.mp4"
    producer = c.headers["producer"]
    resp = await c.client.get(url, headers=producer, allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Cache-Control"] == "private, no-store"
    link = resp.headers["Location"]
    assert link.startswith(f"{s3.endpoint}/{s3.bucket}/{key}?")
    status, headers, body = await fetch(link)
    assert (status, headers["Content-Type"]) == (200, "video/mp4")
    assert body == local and hashlib.sha256(body).hexdigest() == program.sha256
    status, headers, part = await fetch(link, {"Range": "bytes=100-199"})
    assert (status, part) == (206, local[100:200])
    assert headers["Content-Range"] == f"bytes 100-199/{len(local)}"

    resp = await c.client.get(url + "?download=1", headers=producer, allow_redirects=False)
    status, headers, body = await fetch(resp.headers["Location"])
    assert status == 200 and body == local
    want = f'attachment; filename="{recording.id}-program.mp4"'
    assert headers["Content-Disposition"] == want

    resp = await c.client.get(f"/recordings/{recording.id}/poster.jpg", headers=producer)
    assert resp.status == 200 and (await resp.read())[:2] == b"\xff\xd8"  # followed to the store
    resp = await c.client.get(
        f"/recordings/{recording.id}/poster.jpg", headers=producer, allow_redirects=False
    )
    assert resp.status == 302 and resp.headers["Location"].startswith(s3.endpoint)

    # The same access checks as on disk, before any link is handed out.
    await assert_error(await c.client.get(url, headers=c.headers["viewer"]), 403, "forbidden")
    anonymous = await c.client.get(url, allow_redirects=False)
    assert anonymous.status == 401 and "Location" not in anonymous.headers
    # The audience's link to the broadcast plays the recording from the store too.
    watch = await c.client.get(f"/api/bookings/{recording.booking_id}/watch-link", headers=producer)
    assert watch.status == 200, await watch.text()
    query = (await watch.json())["url"].split("?", 1)[1]
    resp = await c.client.get(
        f"/watch/{recording.booking_id}/recording.mp4?{query}", allow_redirects=False
    )
    assert resp.status == 302, await resp.text()
    status, _headers, body = await fetch(resp.headers["Location"])
    assert status == 200 and body == local
    # The player's page lets the browser follow the redirect to the store.
    page = await c.client.get(f"/archive/{recording.id}", headers=producer)
    assert page.status == 200
    policy = page.headers["Content-Security-Policy"]
    assert f"media-src 'self' blob: {s3.endpoint};" in policy
    assert f"img-src 'self' data: {s3.endpoint};" in policy


async def _none(keys: Awaitable[list[str]]) -> bool:
    return not await keys


async def test_deleting_a_recording_deletes_its_objects(
    settings: Settings, s3: S3Server, aiohttp_client: Factory
) -> None:
    c = await started(stored_settings(settings, s3), aiohttp_client)
    store = c.app[STORE]
    assert store is not None
    recording, _, _ = await finished(c)
    stored = await eventually(lambda: in_store(c, recording.id), timeout=60, message="uploaded")
    folder = f"{store.url.key(recording.directory)}/"
    listed: list[list[str]] = []

    async def finished_folder() -> bool:
        # The poster goes up after the program's location is stored, and the show's segments
        # are deleted from the store after it: a moment after `in_store`.
        listed.append(sorted(k.rpartition("/")[2] for k in await object_keys(store, folder)))
        return listed[-1] == ["poster.jpg", "program.mp4"]

    await eventually(finished_folder, timeout=30, message=lambda: f"the folder: {listed[-1:]}")
    path = f"/api/recordings/{recording.id}"
    for role in ("producer", "viewer"):  # the partners share it: only an admin deletes
        await assert_error(await c.client.delete(path, headers=c.headers[role]), 403, "forbidden")
    resp = await c.client.delete(path, headers=c.headers["admin"])
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["deleted"] == {"id": recording.id, "files": 1, "objects": 2}
    assert await object_keys(store, folder) == []
    bucket, key = parse_location(stored.files[0].location or "")
    assert await store.client.head(bucket, key) is None
    await assert_error(await c.client.get(path, headers=c.headers["admin"]), 404, "not_found")
    await assert_error(await c.client.delete(path, headers=c.headers["admin"]), 404, "not_found")


async def test_deleting_a_recording_on_disk_removes_its_directory_and_says_so(
    settings: Settings, aiohttp_client: Factory
) -> None:
    c = await started(settings, aiohttp_client)
    recording, directory, _ = await finished(c)
    admin = c.headers["admin"]
    # One still being written is not deleted: stop it first.
    writing = await c.app[ARCHIVE].open_recording(
        recording.booking_id, "Still on air", ["trend", "dha"], c.clock()
    )
    resp = await c.client.delete(f"/api/recordings/{writing.id}", headers=admin)
    await assert_error(resp, 409, "recording_in_progress")
    await assert_error(
        await c.client.delete("/api/recordings/0123456789ab", headers=admin), 404, "not_found"
    )
    resp = await c.client.delete(f"/api/recordings/{recording.id}", headers=admin)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["deleted"] == {"id": recording.id, "files": 1, "objects": 0}
    assert not directory.exists()
    assert directory.parent.exists()  # the booking's other recording is untouched
    resp = await c.client.get(f"/api/bookings/{recording.booking_id}/audit", headers=admin)
    (line,) = [e for e in (await resp.json())["events"] if e["action"] == "deleted a recording"]
    assert line["details"] == {"recording": recording.id, "files": 1}


async def test_segments_go_up_as_they_close_and_the_store_says_what_it_has(
    settings: Settings, s3: S3Server, aiohttp_client: Factory
) -> None:
    # The app records to disk; an uploader of the test's own follows its recording directory,
    # told by the test which directory is being written.
    c = await started(settings, aiohttp_client)
    assert c.app[STORE] is None and c.app[UPLOADS] is None  # the default: local disk only
    store = store_from_settings(stored_settings(settings, s3))
    assert store is not None
    starts = c.clock() + timedelta(days=1)
    booking_id = (await book(c, starts))["trend"].booking
    directory = f"{booking_id}/{secrets.token_hex(6)}"
    root = c.app[RECORDINGS].root
    writing: set[str] = {directory}

    def uploader() -> Uploader:
        return Uploader(store, c.app[ARCHIVE], root, lambda: writing)

    try:
        up = uploader()
        # Seven seconds of a show still being recorded: three segments closed, one open.
        recorder = await asyncio.to_thread(write_program_segments, root / directory, 7.0, False)
        await eventually(lambda: len(recorder.segments()) == 4, message="four segments")
        closed = recorder.segments()[:3]
        assert await up.segments_pass() == 3
        held = await store.stored_segments(directory)
        assert held == {p.name: p.stat().st_size for p in closed}
        for path in closed:
            key = store.segments_prefix(directory) + path.name
            assert await store.client.get(store.url.bucket, key) == path.read_bytes()
        assert await up.segments_pass() == 0  # nothing new has closed

        # The recording ends: its last segment is closed too.
        await asyncio.to_thread(recorder.close)
        writing.clear()
        assert await up.segments_pass() == 1
        assert len(await store.stored_segments(directory)) == 4

        # Another process (a restart) reads what the store holds: nothing to do again ...
        assert await uploader().segments_pass() == 0
        # ... except a segment the store holds only in part (sent while still being written
        # when the server went down): that one goes up again, whole.
        second = recorder.segments()[1]
        cut = second.read_bytes()[:1000]
        key = store.segments_prefix(directory) + second.name
        await store.client.put(store.url.bucket, key, cut, b64_sha256(cut), "video/mp2t")
        assert await uploader().segments_pass() == 1
        assert await store.client.get(store.url.bucket, key) == second.read_bytes()
        # Another node's segment under a name of this disk's (numbering prevents it) is
        # never overwritten: this copy stays on the disk, and says so.
        third = recorder.segments()[2]
        other = b"\x47" + bytes(range(187)) * 3  # not the start of this disk's segment
        key = store.segments_prefix(directory) + third.name
        await store.client.put(store.url.bucket, key, other, b64_sha256(other), "video/mp2t")
        assert await uploader().segments_pass() == 0
        assert await store.client.get(store.url.bucket, key) == other
        await store.client.put(
            store.url.bucket, key, third.read_bytes(), b64_sha256(third.read_bytes()), "video/mp2t"
        )

        # Filed by the recovery (as after a crash, the show over), its program goes up, and
        # the segments' objects go: the finished file holds them.
        assert (
            await c.app[RECORDINGS].recovery.recover(c.app[BOOKINGS], starts + timedelta(hours=2))
            == 1
        )
        assert await up.segments_pass() == 0  # joined into program.mp4, gone from the disk
        assert await up.finished_pass() == 1
        assert await store.stored_segments(directory) == {}
        assert not (root / directory).exists()
    finally:
        await store.client.close()


async def test_the_app_holds_back_the_segment_its_recorder_is_writing(
    settings: Settings, s3: S3Server, aiohttp_client: Factory
) -> None:
    c = await started(stored_settings(settings, s3), aiohttp_client)
    store, uploads = c.app[STORE], c.app[UPLOADS]
    assert store is not None and uploads is not None
    booking_id = (await book(c, c.clock() + timedelta(days=1)))["trend"].booking
    recording_id = secrets.token_hex(6)
    directory = f"{booking_id}/{recording_id}"
    # The app's own recordings say which directory is being written (RecordingControl).
    c.app[RECORDINGS].active[booking_id] = recording_id
    root = c.app[RECORDINGS].root
    recorder = await asyncio.to_thread(write_program_segments, root / directory, 7.0, False)
    await eventually(lambda: len(recorder.segments()) == 4, message="four segments")

    async def held() -> dict[str, int]:
        return await store.stored_segments(directory)

    await eventually(lambda: _count(held(), 3), timeout=30, message="three closed segments")
    assert await uploads.segments_pass() == 0  # the fourth is still being written
    assert set(await held()) == {p.name for p in recorder.segments()[:3]}

    del c.app[RECORDINGS].active[booking_id]  # the recording stops
    await asyncio.to_thread(recorder.close)
    await eventually(lambda: _count(held(), 4), timeout=30, message="the last segment")
    assert await held() == {p.name: p.stat().st_size for p in recorder.segments()}


async def _count(found: Awaitable[dict[str, int]], n: int) -> bool:
    return len(await found) == n


@pytest.fixture
def own_s3() -> Iterator[S3Server]:
    """A SeaweedFS of the test's own: it goes down and comes back."""
    with running_s3() as server:
        yield server


async def test_a_storage_outage_loses_nothing(
    settings: Settings, own_s3: S3Server, aiohttp_client: Factory
) -> None:
    c = await started(stored_settings(settings, own_s3), aiohttp_client)
    store, uploads = c.app[STORE], c.app[UPLOADS]
    assert store is not None and uploads is not None
    await asyncio.to_thread(own_s3.stop)
    down_since = time.monotonic()

    # While the store is down: one show over (its program finished), one still on air (its
    # segments on disk for the next part).
    starts = c.clock() + timedelta(days=1)
    over_id, over_dir = await recorded(c, starts)
    live_id, live_dir = await recorded(c, starts + timedelta(minutes=90))
    on_air = starts + timedelta(minutes=100)
    assert await c.app[RECORDINGS].recovery.recover(c.app[BOOKINGS], on_air) == 1
    over = await c.app[ARCHIVE].get(over_id)
    assert (over.status, (await c.app[ARCHIVE].get(live_id)).status) == ("finished", "recording")
    segments = sorted(live_dir.glob("program-*.ts"))
    assert len(segments) == 2

    await eventually(lambda: uploads.failures >= 2, timeout=30, message="failed uploads")
    assert "cannot reach" in uploads.problem
    # Meanwhile the archive serves the file from this disk, as without a store.
    url = f"/recordings/{over_id}/files/program.mp4"
    resp = await c.client.get(url, headers=c.headers["producer"], allow_redirects=False)
    assert resp.status == 200
    assert hashlib.sha256(await resp.read()).hexdigest() == over.files[0].sha256
    # Down for ten seconds, the uploader still trying (its waits bounded by retry_max_s).
    failures = uploads.failures
    await eventually(
        lambda: time.monotonic() - down_since >= 10 and uploads.failures > failures + 2,
        timeout=40,
        message="ten seconds of outage",
    )
    assert (over_dir / "program.mp4").exists() and all(p.exists() for p in segments)
    assert (await c.app[ARCHIVE].get(over_id)).files[0].location is None

    await asyncio.to_thread(own_s3.start)
    stored = await eventually(lambda: in_store(c, over_id), timeout=60, message="uploaded")
    status, _, body = await fetch(store.link(stored.files[0].location or "", "video/mp4"))
    assert status == 200 and hashlib.sha256(body).hexdigest() == over.files[0].sha256
    await eventually(lambda: not over_dir.exists(), message="the local copy removed")
    held = await eventually(
        lambda: _all_segments(store, live_id, c, segments), timeout=30, message="segments"
    )
    assert held == {p.name: p.stat().st_size for p in segments}
    await eventually(lambda: uploads.problem == "", message="the uploader's all-clear")


async def _all_segments(
    store: RecordingObjects, recording_id: str, c: ClockedApp, segments: list[Path]
) -> dict[str, int] | None:
    directory = (await c.app[ARCHIVE].get(recording_id)).directory
    held = await store.stored_segments(directory)
    return held if len(held) == len(segments) else None


async def test_uploads_pending_at_a_restart_go_on_after_it(
    settings: Settings, s3: S3Server, aiohttp_client: Factory
) -> None:
    config = stored_settings(settings, s3)
    first = await started(config, aiohttp_client)
    await asyncio.to_thread(s3.stop)
    try:
        recording, directory, _ = await finished(first)
        await eventually(lambda: first.app[UPLOADS].failures >= 1, message="a failed upload")
        await first.client.close()  # the server stops with its upload pending
    finally:
        await asyncio.to_thread(s3.start)
    assert (directory / "program.mp4").exists()
    assert (await first.app[ARCHIVE].get(recording.id)).files[0].location is None

    second = await started(config, aiohttp_client, seed=False)
    stored = await eventually(lambda: in_store(second, recording.id), timeout=60)
    assert stored.files[0].sha256 == recording.files[0].sha256
    await eventually(lambda: not directory.exists(), message="the local copy removed")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_schema_8_database_gains_file_locations(settings: Settings, backend: str) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database)
    try:
        await db.migrate(engine)
        async with engine.begin() as conn:  # back to schema 8, with a recording in it
            await conn.execute(sa.text("ALTER TABLE recording_files DROP COLUMN location"))
            await conn.execute(sa.text("UPDATE schema_version SET version = 8"))
        archive = Archive(engine)
        recording = await archive.open_recording("b1", "Old show", ["trend"], NOW)
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO recording_files VALUES "
                    "(:id, 'program.mp4', 'program', NULL, 'video/mp4', 10, :sha, 1.5)"
                ),
                {"id": recording.id, "sha": "ab" * 32},
            )
        assert await db.migrate(engine) == 8
        (old,) = (await archive.get(recording.id)).files
        assert old.location is None  # on the disk, as every file recorded before
        await archive.set_location(recording.id, "program.mp4", "s3://recordings/x/program.mp4")
        (moved,) = (await archive.get(recording.id)).files
        assert moved.location == "s3://recordings/x/program.mp4"
        assert moved.sha256 == "ab" * 32
    finally:
        await engine.dispose()


async def test_an_admin_deletes_a_recording_from_its_player_page(
    settings: Settings, aiohttp_client: Factory
) -> None:
    c = await started(settings, aiohttp_client)
    recording, directory, _ = await finished(c)
    player = f"/archive/{recording.id}"
    await login(c.client, "producer", DEMO_PASSWORD)
    assert 'id="delete-recording"' not in await (await c.client.get(player)).text()
    csrf = await session_csrf(c.client)
    resp = await c.client.post(f"{player}/delete", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 403 and directory.exists()
    await login(c.client, "admin", DEMO_PASSWORD)
    # Without scripts the opener asks the server for the dialog open; with them it opens here.
    page = await (await c.client.get(f"{player}?ask=delete-recording")).text()
    assert '<dialog class="confirm-dialog" id="delete-recording"' in page
    assert 'aria-describedby="delete-recording-what" open>' in page
    resp = await c.client.post(f"{player}/delete", data={}, allow_redirects=False)
    assert resp.status == 403 and directory.exists()  # no CSRF token: nothing deleted
    csrf = await session_csrf(c.client)
    resp = await c.client.post(f"{player}/delete", data={"csrf_token": csrf}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/archive?deleted=1")
    assert not directory.exists()
    archive = await (await c.client.get("/archive?deleted=1")).text()
    assert "The recording and its files were deleted." in archive
    assert recording.id not in archive
    assert (await c.client.get(player)).status == 404


async def test_a_show_taken_over_while_the_store_is_down_is_one_file_once_it_is_back(
    settings: Settings, own_s3: S3Server, aiohttp_client: Factory, tmp_path: Path
) -> None:
    # This app is the node that took the show over; node-a recorded its first part and died,
    # its closed segments in the store.
    c = await started(stored_settings(settings, own_s3), aiohttp_client)
    store, control, archive = c.app[STORE], c.app[RECORDINGS], c.app[ARCHIVE]
    assert store is not None and control.earlier is not None
    starts = c.clock() + timedelta(days=1)
    booking_id = (await book(c, starts))["trend"].booking
    first = await archive.open_recording(booking_id, "Show", ["trend", "dha"], starts)
    node_a = tmp_path / "node-a"
    await asyncio.to_thread(write_program_segments, node_a / first.directory, 6.0)
    part_one = sorted((node_a / first.directory).glob("program-*.ts"))
    assert await Uploader(store, archive, node_a, set).segments_pass() == len(part_one)

    # The takeover, a minute into the show, while the store is down: the same entry's next
    # part, numbered above anything the show can have numbered in a minute (the store cannot
    # list the first part's segments now).
    await asyncio.to_thread(own_s3.stop)
    later = await archive.open_recording(booking_id, "Show", ["trend", "dha"], starts)
    assert (later.id, later.parts) == (first.id, 2)
    await control.number_later_part(later, starts + timedelta(minutes=1))
    here = control.root / later.directory
    await asyncio.to_thread(write_program_segments, here, 4.0)
    assert min(p.name for p in here.glob("program-*.ts")) == "program-000063.ts"  # 60 + 1 + 2

    # The show ends before the store is back: the first part is not copied back yet.
    control.earlier.retry_first_s, control.earlier.retry_max_s = 0.2, 1.0
    control.earlier_part_wait_s = 0.5
    control.active[booking_id] = later.id
    control.follow_earlier_part(booking_id, later.directory)
    assert await control.stop(booking_id, None, starts + timedelta(hours=1))
    assert not control.is_recording(booking_id)
    assert (await archive.get(later.id)).status == "recording"  # waits for the first part

    await asyncio.to_thread(own_s3.start)

    async def filed() -> Recording | None:
        rec = await archive.get(later.id)
        return rec if rec.status == "finished" else None

    done = await eventually(filed, timeout=60, message="the show filed")
    (program,) = [f for f in done.files if f.kind == "program"]
    assert abs(program.duration_s - 10.0) < 0.3, program  # 6 s from node-a + 4 s from here
    # Once its file is stored, no segment of either part is left, on the disk or in the store.
    await eventually(lambda: in_store(c, later.id), timeout=60, message="the file stored")
    await eventually(
        lambda: _count(store.stored_segments(later.directory), 0), timeout=30, message="segments"
    )
    await eventually(lambda: not here.exists(), timeout=30, message="the directory removed")


async def test_a_recording_a_dead_node_left_unfinished_is_finished_by_another_from_the_store(
    settings: Settings, s3: S3Server, aiohttp_client: Factory, tmp_path: Path
) -> None:
    # This app is node-b of a cluster. node-a recorded a show, its closed segments went up,
    # and it died before the show's end: nobody took the room over, and it never came back.
    node_b = dataclasses.replace(
        stored_settings(settings, s3), node_url="http://127.0.0.1:9", node_id="node-b"
    )
    c = await started(node_b, aiohttp_client)
    store, control, archive = c.app[STORE], c.app[RECORDINGS], c.app[ARCHIVE]
    left_behind = c.app[LEFT_BEHIND]
    assert store is not None and left_behind is not None
    # The scans are driven by hand below: the node's own loop (every 10 s) would race them on
    # a slow machine and finish the recording between two of them.
    await left_behind.stop()
    # Nobody takes the room over here. node-b's autopilot would: once node-a counts as dead it
    # takes the room at its next tick (every second) while the clock says the show is on, and
    # records a part of its own on this disk; the recording is then no longer left behind.
    await c.app[LIVE].stop()
    starts = c.clock() + timedelta(days=1)
    booking_id = (await book(c, starts))["trend"].booking
    rec = await archive.open_recording(booking_id, "Show", ["trend", "dha"], starts)
    node_a = tmp_path / "node-a"
    await asyncio.to_thread(write_program_segments, node_a / rec.directory, 6.0)
    assert await Uploader(store, archive, node_a, set).segments_pass() == 3
    dead = NodeRegistry(c.app[ENGINE], "node-a", "http://127.0.0.1:8", 8)
    long_ago = datetime.now(UTC) - timedelta(minutes=1)
    await dead.heartbeat(long_ago)
    assert (await dead.place(booking_id, long_ago)).node.id == "node-a"

    # While the show is on air (or just over) it is not touched: its node may still be there.
    c.clock.set(starts + timedelta(minutes=30))
    await eventually(lambda: left_behind.cluster.may_take_over(), timeout=30, message="5 s up")
    assert await left_behind.scan() == 0
    c.clock.set(starts + timedelta(hours=1, seconds=5))  # over, but within the grace
    assert await left_behind.scan() == 0
    assert (await archive.get(rec.id)).status == "recording"

    c.clock.set(starts + timedelta(hours=2))
    assert await left_behind.scan() == 1
    done = await archive.get(rec.id)
    assert (done.status, done.node_id) == ("finished", "node-b")
    (program,) = [f for f in done.files if f.kind == "program"]
    assert abs(program.duration_s - 6.0) < 0.3, program
    assert await dead.owner(booking_id) is None  # the claim is let go
    assert await left_behind.scan() == 0  # once
    # Its file goes up like any other; the segments' objects go.
    await eventually(lambda: in_store(c, rec.id), timeout=60, message="the file stored")
    await eventually(
        lambda: _count(store.stored_segments(rec.directory), 0), timeout=30, message="segments"
    )
    here = control.root / rec.directory
    await eventually(lambda: not here.exists(), timeout=30, message="the directory removed")
