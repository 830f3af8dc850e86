"""Absolute URLs for links that leave the app (join links, calendar feeds)."""

from __future__ import annotations

from aiohttp import web

from web.state import state


def base_url(request: web.Request) -> str:
    """The configured public URL, else the scheme and host this request came in on."""
    configured = state(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    if scheme not in ("http", "https"):
        scheme = request.scheme
    return f"{scheme}://{host}"
