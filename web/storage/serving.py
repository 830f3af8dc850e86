"""A stored recording file, answered with a redirect to a presigned link of the store.

The store then serves it, HTTP Range included, and this server moves none of its bytes. The
caller has checked access before: the link is handed only to whom the archive would have sent
the file. It lives `storage_link_seconds`, and the redirect is never cached (a cached one
would outlive its link).
"""

from __future__ import annotations

import logging

from aiohttp import web

from schedules.archive import RecordingFile
from schedules.errors import NotFound
from web.storage import STORE
from web.storage.objects import RecordingObjects

log = logging.getLogger("telebridge.web.storage")

REDIRECT_HEADERS = {"Cache-Control": "private, no-store"}


def _redirect(url: str) -> web.Response:
    return web.Response(status=302, headers={"Location": url, **REDIRECT_HEADERS})


def _store_of(request: web.Request, f: RecordingFile) -> RecordingObjects:
    store = request.app.get(STORE)
    if store is None:
        log.warning("%s is in object storage, but TELEBRIDGE_STORAGE_URL is not set", f.location)
        raise NotFound("file", f.name)
    return store


def stored_file(
    request: web.Request, f: RecordingFile, download_as: str | None = None
) -> web.Response | None:
    """A redirect to `f` in the store; None when it is on this server's disk."""
    if f.location is None:
        return None
    return _redirect(_store_of(request, f).link(f.location, f.media_type, download_as))


def stored_poster(request: web.Request, program: RecordingFile) -> web.Response | None:
    """A redirect to the poster stored beside the program; None when it is on disk."""
    if program.location is None:
        return None
    return _redirect(_store_of(request, program).poster_link(program.location))
