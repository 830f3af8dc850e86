"""Very long path segments on every route (issue 12): `GET /static/<3000 characters>` answered
500 (`OSError: File name too long`). A name no file can have is simply not there: 404.

Every route of the app's own description (web/openapi) gets each of its path parameters
replaced by names longer than any file system takes, as an admin (API token and a page
session); none may answer 5xx or change anything stored.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from helpers import DEMO_PASSWORD
from webtools import Client, create, guarded_table, login, session_csrf

from web.openapi.document import build_document


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


METHODS = ("get", "post", "put", "patch", "delete")
# Longer than a file name may be (255 bytes), than a path may be (4096), and both in bytes
# of UTF-8 and as percent escapes a server decodes before it looks for a file.
LONG_NAMES = {
    "256 letters": "n" * 256,
    "3000 letters": "a" * 3000,
    "5000 letters": "b" * 5000,
    "1000 two-byte letters": "ü" * 1000,
    "800 escaped dots": "%2E" * 800,
    "long name with a suffix": "c" * 3000 + ".m3u8",
    "long name then a dot dot": "d" * 3000 + "/..",
}
PARAM = re.compile(r"\{([^}]+)\}")


def routes() -> Iterator[tuple[str, str, list[str]]]:
    """(method, path template, its parameters) of every described route."""
    for path, operations in build_document()["paths"].items():
        for method in METHODS:
            if method in operations:
                yield method.upper(), path, PARAM.findall(path)


def quoted(raw: str) -> str:
    """A path segment as sent: quoted, unless it is escapes or path steps already."""
    return raw if "%" in raw or "/" in raw else quote(raw, safe="")


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each parameter replaced."""
    return PARAM.sub(lambda m: quoted(values[m.group(1)]), template)


def test_every_route_with_a_path_parameter_is_probed() -> None:
    probed = {path for _m, path, params in routes() if params}
    for path in ("/static/{filename}", "/live/{booking_id}/{file}", "/api/bookings/{booking_id}"):
        assert path in probed
    assert "/recordings/{recording_id}/files/{name}" in probed


async def test_very_long_path_segments_never_answer_5xx(
    app: web.Application, client: Client, headers: dict[str, dict[str, str]]
) -> None:
    admin = headers["admin"]
    booking = await create(client, admin)
    # As a signed-in person, with the session's CSRF token: pages and API alike reach their
    # handlers, and unsafe methods get past the CSRF check.
    await login(client, "admin", DEMO_PASSWORD)
    csrf = {"X-CSRF-Token": await session_csrf(client)}
    # A real booking id beside each long value: a route that checks its first parameter
    # still reaches the second.
    real = {"booking_id": booking["id"], "studio_id": "trend"}
    cases: list[tuple[str, Callable[[], Awaitable[None]]]] = []
    for method, template, params in routes():
        for name, long in LONG_NAMES.items():
            for param in params:
                values = {p: real.get(p, "x") for p in params} | {param: long}
                path = fill(template, values)
                case = probe(client, method, path, csrf)
                cases.append((f"{method} {template} {param}={name}", case))
    await guarded_table(app, client, admin)(cases)


def probe(
    client: Client, method: str, path: str, headers: dict[str, str]
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        kw: dict[str, Any] = {"headers": headers, "allow_redirects": False}
        if method in ("POST", "PUT", "PATCH"):
            kw["json"] = {}
        resp = await client.request(method, path, **kw)
        text = await resp.text()
        assert resp.status < 500, f"{resp.status} ({resp.content_type}, {len(text)} chars)"
        if path.startswith("/static/") and not path.endswith("/.."):  # ".." is /static/ itself
            assert resp.status == 404, f"{resp.status} ({resp.content_type})"

    return run
