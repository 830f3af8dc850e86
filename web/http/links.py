"""Absolute URLs for links that leave the app (join links, calendar feeds)."""

from __future__ import annotations

import re

from aiohttp import web

from web.access import forwarded
from web.errors import ApiError
from web.services import SETTINGS

# A host name or IP literal with an optional port: what may go into a link we hand out.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def base_url(request: web.Request) -> str:
    """The configured public URL, else the scheme and host this request came in on."""
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    host = forwarded.host(request)
    if not _HOST.fullmatch(host):
        host = request.host
    if not _HOST.fullmatch(host):
        # Undecodable or odd bytes would end up in links (and break the .ics encoding).
        raise ApiError(400, "bad_request", "The Host header is not a valid host name")
    return f"{forwarded.scheme(request)}://{host}"
