"""The archive's API: recordings listed and searched, their files played and downloaded.

Files are served by aiohttp's FileResponse (HTTP Range: 206, 416), only under names the
archive registered, resolved inside the recordings directory: a request's path never reaches
the file system unchecked. A file the archive says is in the object store is answered, after
the same access checks, with a 302 to a short-lived presigned link (web/storage/serving.py).
Staff of the organisations that took part, producers and admins may see a recording; anyone
else gets 403.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bridge.recording.poster import poster_of
from schedules.archive import Recording, RecordingFile
from schedules.errors import NotFound, ValidationError
from schedules.model import Studio
from schedules.rules.access import Principal, can_delete_recording, can_see_recording
from schedules.timeutil import (
    TimeInputError,
    TimeOutOfRange,
    parse_day,
    parse_rfc3339,
    rfc3339,
)
from web.access.auth import require
from web.errors import ApiError
from web.http.bookings import actor_of
from web.outage.audit_outbox import AuditLine
from web.services import ARCHIVE, BOOKINGS, OUTAGE, RECORDINGS
from web.storage import STORE
from web.storage.serving import stored_file, stored_poster

routes = web.RouteTableDef()
RECORDING_ID = r"{recording_id:[0-9a-f]{12}}"
POSTER = "poster.jpg"


def file_doc(recording: Recording, f: RecordingFile) -> dict[str, Any]:
    """A recording file as JSON."""
    return {
        "name": f.name,
        "kind": f.kind,
        "studio": f.studio_id,
        "url": f"/recordings/{recording.id}/files/{quote(f.name)}",
        "bytes": f.bytes,
        "sha256": f.sha256,
        "media_type": f.media_type,
        "duration_s": f.duration_s,
    }


def recording_doc(r: Recording) -> dict[str, Any]:
    """A recording as the API's JSON."""
    return {
        "id": r.id,
        "booking_id": r.booking_id,
        "title": r.title,
        "studios": list(r.studios),
        "started_at": rfc3339(r.started_at),
        "ended_at": rfc3339(r.ended_at) if r.ended_at else None,
        "duration_s": r.duration_s,
        "parts": r.parts,
        "files": [file_doc(r, f) for f in r.files],
        "poster_url": f"/recordings/{r.id}/{POSTER}",
    }


def _when(name: str, value: str | None, end_of_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        if "T" not in value:  # a plain date from the archive page's date pickers, in UTC
            day = parse_day(value)  # in range, so the next day is too
            return day + timedelta(days=1) if end_of_day else day
        return parse_rfc3339(value)
    except TimeOutOfRange as exc:
        raise ValidationError(f"{name}: {exc}", {name: str(exc)}) from None
    except TimeInputError as exc:
        problem = "must be a date or an RFC 3339 time"
        raise ValidationError(f"{name}: {exc}", {name: problem}) from None


async def search_visible(
    request: web.Request, p: Principal
) -> tuple[list[Recording], dict[str, Studio]]:
    q = request.query
    studio = q.get("studio") or None
    studios = await request.app[BOOKINGS].studios_by_id()
    found = await request.app[ARCHIVE].search(
        text=q.get("q", "")[:200],
        studio=studio,
        start=_when("from", q.get("from")),
        end=_when("to", q.get("to"), end_of_day=True),
        booking=q.get("booking") or None,
        visible=lambda r: can_see_recording(p, r, studios),
    )
    return found, studios


async def visible_recording(
    request: web.Request, p: Principal
) -> tuple[Recording, dict[str, Studio]]:
    recording = await request.app[ARCHIVE].get(request.match_info["recording_id"])
    studios = await request.app[BOOKINGS].studios_by_id()
    if recording.status != "finished":
        raise NotFound("recording", recording.id)
    if not can_see_recording(p, recording, studios):
        raise ApiError(403, "forbidden", "Only the organisations that took part may see this")
    return recording, studios


@routes.get("/api/recordings")
async def list_recordings(request: web.Request) -> web.Response:
    """Recordings by text, studio, date range and booking."""
    p = require(request)
    found, _ = await search_visible(request, p)
    return web.json_response({"recordings": [recording_doc(r) for r in found]})


@routes.get(f"/api/recordings/{RECORDING_ID}")
async def get_recording(request: web.Request) -> web.Response:
    """One recording."""
    recording, _ = await visible_recording(request, require(request))
    return web.json_response({"recording": recording_doc(recording)})


@routes.delete(f"/api/recordings/{RECORDING_ID}")
async def delete_recording(request: web.Request) -> web.Response:
    """Delete a finished (or failed) recording for every partner: its files on disk and in the
    object store, then its entry. Admins only; a recording still being written cannot be."""
    p = require(request)
    recording, objects = await deleted_recording(request, p)
    return web.json_response(
        {"deleted": {"id": recording.id, "files": len(recording.files), "objects": objects}}
    )


async def deleted_recording(request: web.Request, p: Principal) -> tuple[Recording, int]:
    """Delete the recording the path names (the API's and the player page's way): the
    recording and how many objects left the store."""
    if not can_delete_recording(p):
        raise ApiError(403, "forbidden", "Only admins may delete a recording")
    archive = request.app[ARCHIVE]
    recording = await archive.get(request.match_info["recording_id"])
    if recording.status == "recording":
        raise ApiError(
            409, "recording_in_progress", "This recording is still being written; stop it first"
        )
    await archive.mark_deleting(recording.id)
    store = request.app[STORE]
    objects = await store.delete_recording(recording) if store is not None else 0
    await request.app[RECORDINGS].delete_files(recording)
    await archive.delete(recording.id)
    await request.app[OUTAGE].log(
        AuditLine(
            recording.booking_id,
            actor_of(p),
            "deleted a recording",
            {"recording": recording.id, "files": len(recording.files)},
        )
    )
    return recording, objects


def _path(request: web.Request, recording: Recording, name: str) -> Path:
    root = request.app[RECORDINGS].root.resolve()
    path = (root / recording.directory / name).resolve()
    if not path.is_relative_to(root):
        raise NotFound("file", name)
    return path


@routes.get(f"/recordings/{RECORDING_ID}/files/{{name}}")
async def recording_file(request: web.Request) -> web.StreamResponse:
    """A recording file, with HTTP Range for seeking; ?download=1 saves it."""
    recording, _ = await visible_recording(request, require(request))
    name = request.match_info["name"]
    known = {f.name: f for f in recording.files}
    if name not in known:
        raise NotFound("file", name)
    download_as = f"{recording.id}-{name}" if request.query.get("download") else None
    stored = stored_file(request, known[name], download_as)
    if stored is not None:
        return stored  # in the object store: its presigned link serves it, Range and all
    path = _path(request, recording, name)
    if not path.exists():
        raise NotFound("file", name)
    headers = {"Content-Type": known[name].media_type, "Cache-Control": "private, max-age=3600"}
    if download_as is not None:
        headers["Content-Disposition"] = f'attachment; filename="{download_as}"'
    return web.FileResponse(path, headers=headers)


@routes.get(f"/recordings/{RECORDING_ID}/{POSTER}")
async def poster(request: web.Request) -> web.StreamResponse:
    """The player's poster image, made once from the program."""
    recording, _ = await visible_recording(request, require(request))
    program = next((f for f in recording.files if f.kind == "program"), None)
    if program is None:
        raise NotFound("poster", recording.id)
    stored = stored_poster(request, program)
    if stored is not None:
        return stored  # made and stored beside the program before it left this disk
    source = _path(request, recording, program.name)
    # Made by the bridge, which decodes the program: off the event loop.
    target = await asyncio.get_running_loop().run_in_executor(None, poster_of, source)
    return web.FileResponse(target, headers={"Content-Type": "image/jpeg"})
