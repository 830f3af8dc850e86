"""Bad input, table by table: the documented status, the one error shape, nothing stored changed.

Every case runs against the same app and compares everything stored (database rows and what the
API shows) before and after (webtools.guarded_table); the autouse guard in conftest fails the
test on any 500. Bad credentials and forged CSRF tokens: tests/web/test_bad_credentials.py.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from helpers import bearer, future_slot
from webtools import (
    Client,
    assert_error,
    booking_body,
    check_error,
    create,
    guarded_table,
    raw_exchange,
)

from web.services import SETTINGS

H = dict[str, dict[str, str]]
JSON = {"Content-Type": "application/json"}
Body = Any  # bytes are sent as they are, anything else as JSON
Case = tuple[str, Body, int, str, tuple[str, ...]]


def encode(body: Body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def body_case(
    client: Client,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Body,
    status: int,
    code: str,
    fields: tuple[str, ...],
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        resp = await client.request(method, path, data=encode(body), headers={**headers, **JSON})
        await assert_error(resp, status, code, fields=fields)

    return run


def naive(text: str) -> str:
    return text[:19]


S3, E3 = future_slot(3, 14, "Asia/Baku")
S3_12H1, E3_12H1 = future_slot(3, 6, "Asia/Baku", minutes=12 * 60 + 1)
PAST_S, PAST_E = future_slot(-2, 14, "Asia/Baku")
ALL_SEVEN = ["trend", "azertac", "dha", "albayrak", "aa", "qazcontent", "kabar"]

CREATE_CASES: list[Case] = [
    ("invalid JSON", b'{"title": "Caspian", ', 400, "invalid_json", ()),
    ("empty body", b"", 400, "invalid_json", ()),
    ("not UTF-8", b'{"title": "\xff\xfe"}', 400, "invalid_json", ()),
    ("nested too deep", b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json", ()),
    ("number too long", b'{"setup_minutes": ' + b"9" * 5000 + b"}", 400, "invalid_json", ()),
    ("lone surrogate", booking_body(title="\ud800"), 400, "invalid_json", ()),
    ("lone surrogate studio", booking_body(studios=["trend", "\udcff"]), 400, "invalid_json", ()),
    ("JSON array", [booking_body()], 422, "invalid", ()),
    ("JSON string", "book it", 422, "invalid", ()),
    ("JSON null", None, 422, "invalid", ()),
    ("JSON number", 42, 422, "invalid", ()),
    ("unknown studio", booking_body(studios=["trend", "nowhere"]), 422, "invalid", ("studios",)),
    ("end before start", booking_body(starts_at=E3, ends_at=S3), 422, "invalid", ("ends_at",)),
    ("end equals start", booking_body(starts_at=S3, ends_at=S3), 422, "invalid", ("ends_at",)),
    ("one studio", booking_body(studios=["trend"]), 422, "invalid", ("studios",)),
    ("no studios", booking_body(studios=[]), 422, "invalid", ("studios",)),
    ("seven studios", booking_body(studios=ALL_SEVEN), 422, "invalid", ("studios",)),
    ("studio twice", booking_body(studios=["trend", "trend"]), 422, "invalid", ("studios",)),
    ("studios not a list", booking_body(studios="trend,dha"), 422, "invalid", ("studios",)),
    ("naive start", booking_body(starts_at=naive(S3)), 422, "invalid", ("starts_at",)),
    ("naive end", booking_body(ends_at=naive(E3)), 422, "invalid", ("ends_at",)),
    ("date only", booking_body(starts_at=S3[:10]), 422, "invalid", ("starts_at",)),
    ("time as number", booking_body(starts_at=1893456000), 422, "invalid", ("starts_at",)),
    (
        "12 h + 1 min",
        booking_body(starts_at=S3_12H1, ends_at=E3_12H1),
        422,
        "invalid",
        ("ends_at",),
    ),
    ("in the past", booking_body(starts_at=PAST_S, ends_at=PAST_E), 422, "invalid", ("starts_at",)),
    ("title number", booking_body(title=42), 422, "invalid", ("title",)),
    ("title blank", booking_body(title="   "), 422, "invalid", ("title",)),
    (
        "title missing",
        {k: v for k, v in booking_body().items() if k != "title"},
        422,
        "invalid",
        ("title",),
    ),
    ("title too long", booking_body(title="x" * 201), 422, "invalid", ("title",)),
    ('record "yes"', booking_body(record="yes"), 422, "invalid", ("record",)),
    ('setup_minutes "15"', booking_body(setup_minutes="15"), 422, "invalid", ("setup_minutes",)),
    ("setup_minutes true", booking_body(setup_minutes=True), 422, "invalid", ("setup_minutes",)),
    ("setup_minutes 1.5", booking_body(setup_minutes=1.5), 422, "invalid", ("setup_minutes",)),
    ("setup_minutes -1", booking_body(setup_minutes=-1), 422, "invalid", ("setup_minutes",)),
    (
        "teardown 241",
        booking_body(teardown_minutes=241),
        422,
        "invalid",
        ("teardown_minutes",),
    ),
    ("layout unknown", booking_body(layout="mosaic"), 422, "invalid", ("layout",)),
    ("notes number", booking_body(notes=7), 422, "invalid", ("notes",)),
    ("unknown field", booking_body(colour="red"), 422, "invalid", ("colour",)),
    ("two problems", booking_body(title=1, record="no"), 422, "invalid", ("title", "record")),
    (
        "recurrence without until",
        booking_body(recurrence={}),
        422,
        "invalid",
        ("recurrence",),
    ),
    (
        "recurrence until garbage",
        booking_body(recurrence={"until": "soon"}),
        422,
        "invalid",
        ("recurrence",),
    ),
    (
        "recurrence until before start",
        booking_body(recurrence={"until": PAST_S[:10]}),
        422,
        "invalid",
        ("recurrence",),
    ),
    (
        "recurrence daily",
        booking_body(recurrence={"until": E3[:10], "frequency": "daily"}),
        422,
        "invalid",
        ("recurrence",),
    ),
    ("recurrence a string", booking_body(recurrence="weekly"), 422, "invalid", ("recurrence",)),
]


async def test_bad_booking_bodies(app: web.Application, client: Client, headers: H) -> None:
    await create(client, headers["producer"], days=5)  # something stored that must survive
    producer = headers["producer"]
    await guarded_table(app, client, headers["admin"])(
        (case_id, body_case(client, "POST", "/api/bookings", producer, body, s, c, f))
        for case_id, body, s, c, f in CREATE_CASES
    )


PATCH_CASES: list[Case] = [
    ("invalid JSON", b"{", 400, "invalid_json", ()),
    ("empty body", b"", 400, "invalid_json", ()),
    ("nested too deep", b"[" * 100_000, 400, "invalid_json", ()),
    ("JSON array", [], 422, "invalid", ()),
    ("title number", {"title": 5}, 422, "invalid", ("title",)),
    ("naive start", {"starts_at": naive(S3)}, 422, "invalid", ("starts_at",)),
    ("end before start", {"ends_at": S3[:11] + "09:00:00+04:00"}, 422, "invalid", ("ends_at",)),
    ("one studio", {"studios": ["trend"]}, 422, "invalid", ("studios",)),
    ("unknown studio", {"studios": ["trend", "nowhere"]}, 422, "invalid", ("studios",)),
    ("recurrence on edit", {"recurrence": {"until": E3[:10]}}, 422, "invalid", ("recurrence",)),
    ("unknown field", {"status": "confirmed"}, 422, "invalid", ("status",)),
    ('record "yes"', {"record": "yes"}, 422, "invalid", ("record",)),
    ('setup_minutes "15"', {"setup_minutes": "15"}, 422, "invalid", ("setup_minutes",)),
    ("into the past", {"starts_at": PAST_S, "ends_at": PAST_E}, 422, "invalid", ("starts_at",)),
]


async def test_bad_edits(app: web.Application, client: Client, headers: H) -> None:
    b = await create(client, headers["producer"], days=3, hour=14)
    path = f"/api/bookings/{b['id']}"
    await guarded_table(app, client, headers["admin"])(
        (case_id, body_case(client, "PATCH", path, headers["producer"], body, s, c, f))
        for case_id, body, s, c, f in PATCH_CASES
    )


ANSWER_CASES: list[tuple[str, str, Body, int, str, tuple[str, ...]]] = [
    ("confirm no body", "confirm", b"", 422, "invalid", ("studio",)),
    ("confirm empty object", "confirm", {}, 422, "invalid", ("studio",)),
    ("confirm studio number", "confirm", {"studio": 5}, 422, "invalid", ("studio",)),
    ("confirm studio not in it", "confirm", {"studio": "kabar"}, 422, "invalid", ("studio",)),
    ("confirm unknown studio", "confirm", {"studio": "nowhere"}, 422, "invalid", ("studio",)),
    ("confirm invalid JSON", "confirm", b"studio=trend", 400, "invalid_json", ()),
    ("confirm array", "confirm", ["trend"], 422, "invalid", ()),
    ("decline studio not in it", "decline", {"studio": "ansa"}, 422, "invalid", ("studio",)),
    ("decline invalid JSON", "decline", b"{'studio': 'trend'}", 400, "invalid_json", ()),
    ("cancel invalid JSON", "cancel", b"{", 400, "invalid_json", ()),
    ("cancel nested too deep", "cancel", b"[" * 100_000, 400, "invalid_json", ()),
]


async def test_bad_answers(app: web.Application, client: Client, headers: H) -> None:
    b = await create(client, headers["producer"], days=3, hour=14)
    admin = headers["admin"]
    await guarded_table(app, client, admin)(
        (
            case_id,
            body_case(client, "POST", f"/api/bookings/{b['id']}/{step}", admin, body, s, c, f),
        )
        for case_id, step, body, s, c, f in ANSWER_CASES
    )


STUDIO = {
    "id": "tass",
    "name": "TASS",
    "organisation": "TASS",
    "city": "Moscow",
    "timezone": "Europe/Moscow",
}
STUDIO_CASES: list[Case] = [
    ("invalid JSON", b"{", 400, "invalid_json", ()),
    ("JSON array", [STUDIO], 422, "invalid", ()),
    ("taken id", {**STUDIO, "id": "trend"}, 409, "duplicate", ()),
    ("id with spaces", {**STUDIO, "id": "tass moscow"}, 422, "invalid", ("id",)),
    ("unknown zone", {**STUDIO, "timezone": "Moscow"}, 422, "invalid", ("timezone",)),
    ("missing city", {k: v for k, v in STUDIO.items() if k != "city"}, 422, "invalid", ("city",)),
    ("name number", {**STUDIO, "name": 5}, 422, "invalid", ("name",)),
    ("lone surrogate", {**STUDIO, "name": "\ud83d"}, 400, "invalid_json", ()),
]


async def test_bad_studios(app: web.Application, client: Client, headers: H) -> None:
    await guarded_table(app, client, headers["admin"])(
        (case_id, body_case(client, "POST", "/api/studios", headers["admin"], b, s, c, f))
        for case_id, b, s, c, f in STUDIO_CASES
    )


QUERY_CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("from a word", "?from=tomorrow", ("from",)),
    ("from a date only", "?from=2030-01-15", ("from",)),
    ("to naive", "?to=2030-01-15T10:00:00", ("to",)),
    ("from garbage with offset", "?from=2030-13-45T10:00:00Z", ("from",)),
]


async def test_bad_listing_queries(app: web.Application, client: Client, headers: H) -> None:

    def case(query: str, f: tuple[str, ...]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            resp = await client.get("/api/bookings" + query, headers=headers["viewer"])
            await assert_error(resp, 422, "invalid", fields=f)

        return run

    await guarded_table(app, client, headers["admin"])(
        (case_id, case(q, f)) for case_id, q, f in QUERY_CASES
    )


async def test_unknown_booking_ids(app: web.Application, client: Client, headers: H) -> None:
    await create(client, headers["producer"])
    requests = [
        ("GET", "{id}", None),
        ("PATCH", "{id}", {"title": "New"}),
        ("POST", "{id}/confirm", {"studio": "trend"}),
        ("POST", "{id}/decline", {"studio": "trend"}),
        ("POST", "{id}/cancel", None),
        ("GET", "{id}/join-links", None),
        ("GET", "{id}/audit", None),
        ("GET", "{id}.ics", None),
    ]
    ids = ["0123456789", "no-such-booking", "bad.id", "x" * 41, "%2e%2e"]

    def case(method: str, path: str, body: Any) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            resp = await client.request(method, path, json=body, headers=headers["admin"])
            await assert_error(resp, 404, "not_found")

        return run

    await guarded_table(app, client, headers["admin"])(
        (f"{m} {p.format(id=i)}", case(m, "/api/bookings/" + p.format(id=i), body))
        for i in ids
        for m, p, body in requests
    )


async def test_oversized_bodies_get_413(app: web.Application, client: Client, headers: H) -> None:
    b = await create(client, headers["producer"])
    limit = app[SETTINGS].max_body_bytes
    big = json.dumps(booking_body(notes="x" * limit)).encode()
    assert len(big) > limit

    def case(method: str, path: str, h: dict[str, str]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            resp = await client.request(method, path, data=big, headers={**h, **JSON})
            await assert_error(resp, 413, "body_too_large")

        return run

    await guarded_table(app, client, headers["admin"])(
        [
            ("create", case("POST", "/api/bookings", headers["producer"])),
            ("edit", case("PATCH", f"/api/bookings/{b['id']}", headers["producer"])),
            ("studio", case("POST", "/api/studios", headers["admin"])),
            ("cancel", case("POST", f"/api/bookings/{b['id']}/cancel", headers["admin"])),
        ]
    )


async def test_every_error_status_has_the_same_shape(
    app: web.Application, client: Client, headers: H
) -> None:
    """One request per error status the API gives, all in the one shape."""
    h = headers["producer"]
    b = await create(client, h)
    limit = app[SETTINGS].max_body_bytes
    cases: list[tuple[str, str, Any, dict[str, str], int, str]] = [
        ("POST", "/api/bookings", b"{", h, 400, "invalid_json"),
        ("GET", "/api/bookings", None, {}, 401, "unauthorized"),
        ("GET", "/api/bookings", None, bearer("tb_nope"), 401, "invalid_token"),
        ("POST", "/api/studios", STUDIO, h, 403, "forbidden"),
        ("GET", "/api/bookings/nothing", None, h, 404, "not_found"),
        ("GET", "/api/nothing", None, h, 404, "not_found"),
        ("DELETE", f"/api/bookings/{b['id']}", None, h, 405, "method_not_allowed"),
        ("POST", "/api/bookings", booking_body(), h, 409, "conflict"),
        ("POST", "/api/bookings", b"x" * (limit + 1), h, 413, "body_too_large"),
        ("POST", "/api/bookings", booking_body(title=""), h, 422, "invalid"),
    ]
    shapes = set()
    for method, path, body, hh, status, code in cases:
        data = body if isinstance(body, bytes) else None
        resp = await client.request(
            method, path, data=data, json=None if data is not None else body, headers=hh
        )
        error = await assert_error(resp, status, code)
        shapes.add(frozenset(error) - {"fields", "conflicts"})
    assert shapes == {frozenset({"code", "message"})}


async def test_undecodable_host_headers(app: web.Application, client: Client, headers: H) -> None:
    """Links are built from the Host (or X-Forwarded-Host) header: junk there is refused or
    ignored, never written into a join link or a calendar file."""
    b = await create(client, headers["producer"])
    auth = headers["producer"]["Authorization"].encode()
    links = f"/api/bookings/{b['id']}/join-links"
    ics = f"/api/bookings/{b['id']}.ics"
    good = b"localhost:8080"
    bad = b"ex\xffample"
    cases = [
        # (case, path, Host, X-Forwarded-Host, status, text the answer must hold)
        ("bad Host, links", links, bad, None, 400, ""),
        ("bad Host, calendar", ics, bad, None, 400, ""),
        ("host with a space", links, b"a b", None, 400, ""),
        ("bad forwarded host, links", links, good, bad, 200, "http://localhost:8080/join/"),
        ("bad forwarded host, calendar", ics, good, bad, 200, "URL:http://localhost:8080/"),
        ("both bad", links, bad, bad, 400, ""),
    ]

    def case(path: str, host: bytes, forwarded: bytes | None, status: int, want: str) -> Any:
        async def run() -> None:
            request = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
            if forwarded is not None:
                request += b"X-Forwarded-Host: " + forwarded + b"\r\n"
            request += b"Authorization: " + auth + b"\r\nConnection: close\r\n\r\n"
            got, ctype, text = await raw_exchange(client, request)
            if status != 200:
                check_error(got, ctype, text, status, "bad_request")
                return
            assert got == 200, text
            assert want in text.replace("\r\n ", ""), text[:300]
            assert "\\udc" not in text and "\ufffd" not in text

        return run

    await guarded_table(app, client, headers["admin"])(
        (case_id, case(path, host, fwd, status, want))
        for case_id, path, host, fwd, status, want in cases
    )
