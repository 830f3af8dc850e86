"""What a trusted reverse proxy tells us about the browser's request.

Only with `trust_proxy` on (a proxy that sets these headers stands in front of the app and
nobody reaches the app around it); otherwise the headers are anyone's words and are ignored.
"""

from __future__ import annotations

from aiohttp import web

from web.services import SETTINGS


def _trusted(request: web.Request) -> bool:
    return request.app[SETTINGS].trust_proxy == "true"


def _first(request: web.Request, header: str) -> str:
    # A chain of proxies lists the browser-facing one first ("https, http").
    return request.headers.get(header, "").split(",")[0].strip()


def scheme(request: web.Request) -> str:
    """`http` or `https` as the browser sees it."""
    if _trusted(request):
        proto = _first(request, "X-Forwarded-Proto").lower()
        if proto in ("http", "https"):
            return proto
    return request.scheme


def host(request: web.Request) -> str:
    """The host (and port) the browser sent its request to; may be empty or unchecked."""
    if _trusted(request):
        forwarded = _first(request, "X-Forwarded-Host")
        if forwarded:
            return forwarded
    return request.host


def client_address(request: web.Request) -> str:
    """The browser's address: the last X-Forwarded-For entry is the one our proxy added (those
    before it came from the client and may be forged)."""
    if _trusted(request):
        chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        if chain[-1]:
            return chain[-1]
    return request.remote or ""
