"""Audiences watch the joint broadcast: the player page, its embeddable twin, its status, the
HLS files the bridge writes while the booking's HLS output runs, and the recording after the end.

One rule opens all of them (`viewing_of`): a public stream is open to anyone; a private one to
the holder of its viewing link (`?token=`) and to a logged-in user who may see the booking. The
booking is read through the outage fallback, so a database outage mid-show does not take the
player down. The HLS files are served as the bridge wrote them, only under the names
`bridge.outputs.playlist.hls_file` accepts; the playlist is never cached (it slides every couple of
seconds), segments are immutable (their names are never reused), and a private stream's
playlist carries the token on each segment's URI, since a player sends no credentials of its
own with the segment requests.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from bridge.outputs.playlist import PLAYLIST, PLAYLIST_MEDIA_TYPE, SEGMENT_MEDIA_TYPE, hls_file
from bridge.spec import OutputKind, OutputState
from schedules.archive import Recording, RecordingFile
from schedules.errors import NotFound, ScheduleError
from schedules.model import Booking, BookingStatus, Studio
from schedules.outage import database_down
from schedules.rules.access import can_see
from schedules.timeutil import rfc3339
from web.access.auth import principal_of
from web.access.joinlinks import watch_token, watch_token_matches
from web.errors import ApiError, Handler, error_body, from_schedule_error, json_error
from web.http.outputs import hls_path
from web.pages.site import BOOKING_ID
from web.pages.templating import render
from web.services import (
    ARCHIVE,
    CLOCK,
    LIVE,
    OUTAGE,
    OUTPUT_CONTROL,
    RECORDINGS,
    SETTINGS,
    SIGNER,
    WATCH_CACHE,
)
from web.storage import STORE
from web.storage.serving import stored_file

log = logging.getLogger("telebridge.web.watch")
routes = web.RouteTableDef()

SCHEDULED, LIVE_STATE, ENDED = "scheduled", "live", "ended"
CLOSED_STATUSES = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED})
# The bridge's playlist lists a few 2 s segments (well under 2 KiB); anything far larger is
# not one of its playlists, and is not read into memory.
PLAYLIST_MAX_BYTES = 64 * 1024
ENDLIST = "#EXT-X-ENDLIST"
# Segments never change under their name; a day outlasts any show and its replays.
SEGMENT_MAX_AGE = 86400
RECORDING_MAX_AGE = 3600
# The default page policy of web.app.security_headers, with the frame ancestors the embed
# setting allows instead of 'none' (kept in step with it by tests/web/test_watch.py).
EMBED_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{store}; "
    "media-src 'self' blob:{store}; connect-src 'self'; frame-ancestors {ancestors}; "
    "form-action 'self'"
)
# What the player inside a partner's frame says instead of an error page (translated there).
EMBED_NOT_FOUND = "There is no such broadcast"
EMBED_UNAVAILABLE = "The broadcast cannot be found right now; try again shortly"
EMBED_MESSAGES = (EMBED_NOT_FOUND, EMBED_UNAVAILABLE)


@dataclass(frozen=True)
class Viewing:
    """A booking someone may watch, and the token its URLs must carry (private streams)."""

    booking: Booking
    token: str | None

    @property
    def public(self) -> bool:
        """Anyone with the address may watch."""
        return self.booking.stream == "public"

    @property
    def query(self) -> str:
        """`?token=...` for a private stream's URLs, else nothing."""
        return f"?{urlencode({'token': self.token})}" if self.token else ""


async def viewing_of(request: web.Request) -> Viewing:
    """The access rule of every route here: 404 for an unknown, cancelled or declined booking;
    a public stream for anyone; a private one for its viewing link or a user who may see it
    (403 otherwise)."""
    booking_id = request.match_info["booking_id"]
    booking, _stored = await request.app[WATCH_CACHE].bookings.get(
        booking_id, lambda: request.app[OUTAGE].booking_now(booking_id)
    )
    if booking.status in CLOSED_STATUSES:
        raise NotFound("booking", booking_id)
    if booking.stream == "public":
        return Viewing(booking, None)
    signer = request.app[SIGNER]
    p = principal_of(request)
    if watch_token_matches(signer, request.query.get("token"), booking.id) or (
        p is not None and can_see(p, booking)
    ):
        # The page's player asks for the playlist and its segments without a session of its
        # own (a partner's player, an iframe): every URL handed on carries the token.
        return Viewing(booking, watch_token(signer, booking.id))
    raise ApiError(403, "forbidden", "This broadcast is private: open it with its viewing link")


def _json_errors(cache_control: str | None = None) -> Callable[[Handler], Handler]:
    """Errors of a route for players and tools as the one JSON error shape, whatever the
    request's Accept says (hls.js and partners' players send none that asks for JSON)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except ApiError as exc:
                status, body, headers = exc.status, error_body(exc.code, exc.message), exc.headers
            except ScheduleError as exc:
                (status, body), headers = from_schedule_error(exc), {}
            if cache_control is not None:
                headers = {**headers, "Cache-Control": cache_control}
            return json_error(status, body, headers)

        return wrapped

    return decorate


# Reading what the bridge wrote


def read_playlist(path: Path) -> str | None:
    """The playlist's text, or None when there is none (the stream is not live) or it is not
    a playlist of the bridge's size. Blocking: run it in an executor."""
    try:
        with path.open("rb") as fh:
            data = fh.read(PLAYLIST_MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if len(data) > PLAYLIST_MAX_BYTES:
        log.warning("refused to serve %s: over %d bytes", path, PLAYLIST_MAX_BYTES)
        return None
    return data.decode("utf-8", errors="replace")


async def _playlist_text(request: web.Request, booking_id: str) -> str | None:
    path = hls_file(request.app[OUTPUT_CONTROL].hls_dir(booking_id), PLAYLIST)
    assert path is not None, "the playlist's own name is always served"

    async def read() -> str | None:
        return await asyncio.get_running_loop().run_in_executor(None, read_playlist, path)

    return await request.app[WATCH_CACHE].playlists.get(booking_id, read)


def with_token(playlist: str, token: str) -> str:
    """The playlist with `token` on every URI line (the segments), so that a player's segment
    requests pass the same check as its playlist requests."""
    query = urlencode({"token": token})
    lines = []
    for line in playlist.splitlines():
        if line.strip() and not line.startswith("#"):
            line = f"{line}{'&' if '?' in line else '?'}{query}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def broadcast_state(booking: Booking, now: datetime, playlist: str | None) -> str:
    """`live` while the bridge keeps a playlist going (and not long after the booked end: a
    playlist a crash left behind is not a live stream), `ended` after the end, else
    `scheduled` (before the start, or on air while the stream has not begun or broke off)."""
    if playlist is not None and ENDLIST not in playlist and now < booking.busy_until:
        return LIVE_STATE
    if now >= booking.ends_at or booking.status is BookingStatus.COMPLETED:
        return ENDED
    return SCHEDULED


def _live_since(request: web.Request, booking: Booking, now: datetime) -> datetime:
    """When the HLS output went live, as the room says; the booked start when it does not."""
    room = request.app[LIVE].get(booking.id)
    if room is not None:
        for figures in request.app[OUTPUT_CONTROL].figures(booking.id, room).values():
            if figures.kind is OutputKind.HLS and figures.state is OutputState.LIVE:
                return now - timedelta(seconds=figures.live_seconds)
    return booking.starts_at


async def program_recording(
    request: web.Request, booking_id: str
) -> tuple[Recording, RecordingFile] | None:
    """The booking's newest finished recording that holds a program file, and that file."""
    for recording in await request.app[ARCHIVE].search(booking=booking_id, finished_only=True):
        program = next((f for f in recording.files if f.kind == "program"), None)
        if program is not None:
            return recording, program
    return None


async def _cities(request: web.Request, booking: Booking) -> list[str]:
    """The studios' cities in booking order, each once (two studios may share a city)."""
    try:
        studios: dict[str, Studio] = await request.app[OUTAGE].studios_now(booking.studio_ids)
    except Exception as exc:
        if not database_down(exc):
            raise
        return []  # the player plays on without the cities
    return list(dict.fromkeys(studios[s].city for s in booking.studio_ids if s in studios))


async def status_doc(request: web.Request, viewing: Viewing) -> dict[str, Any]:
    """Where the broadcast is, and what the player should play."""
    booking = viewing.booking
    now = request.app[CLOCK]()
    state = broadcast_state(booking, now, await _playlist_text(request, booking.id))
    try:
        recording = await program_recording(request, booking.id)
    except Exception as exc:
        if not database_down(exc):
            raise
        recording = None  # the archive waits out the outage; the live stream does not
    live_since = _live_since(request, booking, now)
    if state == LIVE_STATE:
        live_since = min(live_since, now)  # on before the booked start: its clock runs
    base = f"/watch/{quote(booking.id)}"
    return {
        "state": state,
        "title": booking.title,
        "cities": await _cities(request, booking),
        "starts_at": rfc3339(booking.starts_at),
        "ends_at": rfc3339(booking.ends_at),
        "live_since": rfc3339(live_since),
        "hls_url": hls_path(booking.id) + viewing.query if state == LIVE_STATE else None,
        "recording_url": f"{base}/recording.mp4{viewing.query}" if recording else None,
    }


# Routes


@routes.get(f"/live/{BOOKING_ID}/{{file}}")
@_json_errors(cache_control="no-cache")
async def hls(request: web.Request) -> web.StreamResponse:
    """The booking's HLS playlist or one of its segments (404 while the stream is not live)."""
    viewing = await viewing_of(request)
    booking_id, name = viewing.booking.id, request.match_info["file"]
    path = hls_file(request.app[OUTPUT_CONTROL].hls_dir(booking_id), name)
    if path is None:
        raise ApiError(404, "not_found", "The broadcast's stream has no such file")
    # Partners' own players on their own sites read a public stream too.
    cors = {"Access-Control-Allow-Origin": "*"} if viewing.public else {}
    if name == PLAYLIST:
        text = await _playlist_text(request, booking_id)
        if text is None:
            raise ApiError(404, "not_found", "The broadcast is not live now")
        if viewing.token:
            # It names the token now, and a user's session may have opened it: for nobody else.
            text = with_token(text, viewing.token)
            headers = {"Cache-Control": "private, no-cache"}
        else:
            headers = {
                # nginx (deploy/nginx.conf) may keep it for a second, which many viewers
                # share; it never passes this header on, so browsers and CDNs see no-cache.
                # First: nginx before 1.23 obeys whichever of the two it reads first.
                "X-Accel-Expires": "1",
                "Cache-Control": "no-cache",
                **cors,
            }
        return web.Response(text=text, content_type=PLAYLIST_MEDIA_TYPE, headers=headers)
    # Checked first: a 404 must not go out with the segments' day-long caching headers.
    if not await asyncio.get_running_loop().run_in_executor(None, path.is_file):
        raise ApiError(404, "not_found", "The broadcast's stream has no such file")
    scope = "public" if viewing.public else "private"
    headers = {
        "Content-Type": SEGMENT_MEDIA_TYPE,
        "Cache-Control": f"{scope}, max-age={SEGMENT_MAX_AGE}, immutable",
        **cors,
    }
    return web.FileResponse(path, headers=headers)


@routes.get(f"/watch/{BOOKING_ID}/status.json")
@_json_errors(cache_control="no-cache")
async def watch_status(request: web.Request) -> web.Response:
    """The broadcast's state for the player: scheduled, live or ended, and what to play."""
    viewing = await viewing_of(request)
    doc = await status_doc(request, viewing)
    # A private stream's status names its token.
    cache = "private, no-cache" if viewing.token else "no-cache"
    return web.json_response(doc, headers={"Cache-Control": cache})


@routes.get(f"/watch/{BOOKING_ID}/recording.mp4")
@_json_errors()
async def watch_recording(request: web.Request) -> web.StreamResponse:
    """The broadcast's finished program recording (HTTP Range for seeking); 404 before."""
    viewing = await viewing_of(request)
    found = await program_recording(request, viewing.booking.id)
    if found is None:
        raise ApiError(404, "not_found", "The broadcast has no recording yet")
    recording, program = found
    stored = stored_file(request, program)
    if stored is not None:
        return stored  # in the object store: its presigned link serves it, Range and all
    root = request.app[RECORDINGS].root.resolve()
    path = (root / recording.directory / program.name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ApiError(404, "not_found", "The broadcast has no recording yet")
    scope = "public" if viewing.public else "private"
    headers = {
        "Content-Type": program.media_type,
        "Cache-Control": f"{scope}, max-age={RECORDING_MAX_AGE}",
    }
    return web.FileResponse(path, headers=headers)


async def _player(request: web.Request, template: str, headers: dict[str, str]) -> web.Response:
    viewing = await viewing_of(request)
    status = await status_doc(request, viewing)
    base = f"/watch/{quote(viewing.booking.id)}"
    return render(
        request,
        template,
        headers=headers,
        booking=viewing.booking,
        watch=status,
        error=None,
        status_url=f"{base}/status.json{viewing.query}",
    )


@routes.get(f"/watch/{BOOKING_ID}")
async def watch_page(request: web.Request) -> web.Response:
    """The player page: live program, or the recording after the end."""
    return await _player(request, "watch.html", {})


@routes.get(f"/embed/{BOOKING_ID}")
async def embed_page(request: web.Request) -> web.Response:
    """The player alone, for an `<iframe>` on a partner's site (frame ancestors: a setting).

    Its errors are shown inside the frame too: the site's error page may not be framed."""
    store = request.app.get(STORE)
    # After the show the player follows the recording's redirect to the object store.
    stored = f" {store.public_origin}" if store is not None else ""
    policy = EMBED_POLICY.format(ancestors=request.app[SETTINGS].embed_ancestors, store=stored)
    headers = {"Content-Security-Policy": policy}
    try:
        return await _player(request, "embed.html", headers)
    except ApiError as exc:
        status, message = exc.status, exc.message
    except ScheduleError as exc:
        status, body = from_schedule_error(exc)
        message = body["error"]["message"]
    except Exception as exc:
        if not database_down(exc):
            raise
        status, message = 503, EMBED_UNAVAILABLE
    if status == 404:
        message = EMBED_NOT_FOUND
    return render(request, "embed.html", status=status, headers=headers, error=message)
