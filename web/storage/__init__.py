"""Recordings in an S3-compatible object store (optional: local disk is the default).

`signing` signs requests (AWS Signature V4), `s3` sends them (aiohttp), `transfer` moves one
file up and verifies it, `objects` knows the layout and the links, `uploads` is the task that
takes finished files and closed segments up and removes local copies once verified, `serving`
answers the archive's file routes with a redirect to the store, and `config` builds it all from
the settings. The app's keys are here, so that a route imports no service with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from web.storage.objects import RecordingObjects
    from web.storage.uploads import Uploader

# None when recordings stay on this server's disk (TELEBRIDGE_STORAGE_URL empty).
STORE: web.AppKey[RecordingObjects | None] = web.AppKey("store")
UPLOADS: web.AppKey[Uploader | None] = web.AppKey("uploads")
