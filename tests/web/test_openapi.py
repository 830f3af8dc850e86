"""GET /api/openapi.json: valid OpenAPI 3.1, in step with the router, and true of responses."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openapi_check import drift, group_regexes, response_validator
from openapi_spec_validator import validate
from webtools import Client, booking_body

from schedules.fields import BODY_FIELDS, BOOKING_FIELDS
from web.openapi.document import build_document, split_path
from web.openapi.schemas import ERROR_CODES

H = dict[str, dict[str, str]]
WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture
def backend() -> str:
    """The description does not depend on the database: SQLite only."""
    return "sqlite"


async def served_document(client: Client) -> dict[str, Any]:
    resp = await client.get("/api/openapi.json")  # no credentials: the description is public
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    document: dict[str, Any] = await resp.json()
    return document


async def test_the_description_is_public_and_valid_openapi_3_1(client: Client) -> None:
    document = await served_document(client)
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises with the JSON path of what is wrong
    assert document == build_document()


async def test_every_route_is_described_and_every_description_served(
    app: web.Application, client: Client
) -> None:
    problems = drift(app, await served_document(client))
    assert not problems, "\n".join(problems)


def test_the_drift_check_sees_a_missing_and_an_extra_route() -> None:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_get("/api/bookings/{booking_id:[a-z]+}", handler)
    app.router.add_post("/undescribed", handler)
    problems = drift(app, build_document())
    assert any("POST /undescribed is served but not described" in p for p in problems)
    assert any("GET /api/studios is described but not served" in p for p in problems)
    assert any("GET /api/bookings/{booking_id}: the router's path" in p for p in problems)


def test_paths_are_split_like_the_router_reads_them() -> None:
    assert split_path("/whip/{b:[a-z]{1,40}}/{s}/x.ics") == (
        "/whip/{b}/{s}/x.ics",
        [("b", "[a-z]{1,40}"), ("s", None)],
    )
    assert group_regexes(r"/a/(?P<b>[0-9a-f]{16})/(?P<c>[^{}/]+)") == {
        "b": "[0-9a-f]{16}",
        "c": None,
    }


def test_operation_ids_are_unique() -> None:
    ids = [
        op["operationId"]
        for item in build_document()["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_booking_schemas_list_exactly_the_fields_of_schedules() -> None:
    schemas = build_document()["components"]["schemas"]
    fix = "schedules/fields.py changed: update the booking schemas in web/openapi/schemas.py"
    assert set(schemas["NewBooking"]["properties"]) == BODY_FIELDS, fix
    assert set(schemas["BookingChange"]["properties"]) == BODY_FIELDS - {"recurrence"}, fix
    assert set(schemas["Booking"]["properties"]) == {f.json_name for f in BOOKING_FIELDS}, fix


def _codes_in_web() -> set[str]:
    """Every error code web/ raises: ApiError(status, "code", ...) and error_body("code", ...)."""
    codes: set[str] = set()
    for path in WEB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"ApiError": 1, "error_body": 0}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.add(arg.value)
    return codes


def test_every_error_code_the_app_sends_is_described() -> None:
    from schedules import errors
    from web.errors import _HTTP_CODES

    sent = _codes_in_web() | set(_HTTP_CODES.values())
    sent |= {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ScheduleError)
    }
    sent.discard("schedule_error")  # the base class: every raised error is a subclass
    missing = sorted(sent - ERROR_CODES.keys())
    assert not missing, (
        f"describe these error codes in web/openapi/schemas.py ERROR_CODES: {missing}"
    )


async def check(
    document: dict[str, Any],
    resp: Any,
    method: str,
    path: str,
    status: int,
) -> Any:
    """The response has `status`, and its JSON matches what the document says of it."""
    text = await resp.text()
    assert resp.status == status, f"{method} {path}: {resp.status} {text}"
    body = await resp.json()
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in response_validator(document, method, path, status, resp.content_type).iter_errors(
            body
        )
    ]
    assert not errors, f"{method} {path} {status} does not match its schema:\n" + "\n".join(errors)
    return body


async def test_responses_match_their_schemas(client: Client, headers: H) -> None:
    doc = await served_document(client)
    admin, operator = headers["admin"], headers["operator"]

    await check(doc, await client.get("/healthz"), "GET", "/healthz", 200)
    await check(doc, await client.get("/api/me", headers=admin), "GET", "/api/me", 200)
    studios = await check(
        doc, await client.get("/api/studios", headers=admin), "GET", "/api/studios", 200
    )
    assert studios["studios"], "the demo studios are seeded"

    created = await check(
        doc,
        await client.post("/api/bookings", json=booking_body(), headers=admin),
        "POST",
        "/api/bookings",
        201,
    )
    one = f"/api/bookings/{created['booking']['id']}"
    template = "/api/bookings/{booking_id}"
    await check(doc, await client.get(one, headers=operator), "GET", template, 200)
    await check(
        doc,
        await client.post(f"{one}/confirm", json={"studio": "trend"}, headers=operator),
        "POST",
        template + "/confirm",
        200,
    )
    await check(
        doc,
        await client.get(f"{one}/join-links", headers=admin),
        "GET",
        template + "/join-links",
        200,
    )
    await check(
        doc, await client.get(f"{one}/audit", headers=admin), "GET", template + "/audit", 200
    )
    await check(
        doc,
        await client.get("/api/bookings", params={"studio": "trend"}, headers=admin),
        "GET",
        "/api/bookings",
        200,
    )
    await check(
        doc, await client.get("/api/recordings", headers=admin), "GET", "/api/recordings", 200
    )
    await check(doc, await client.get("/api/live", headers=admin), "GET", "/api/live", 200)


async def test_errors_match_the_error_shape(client: Client, headers: H) -> None:
    doc = await served_document(client)
    admin = headers["admin"]

    await check(doc, await client.get("/api/studios"), "GET", "/api/studios", 401)
    await check(
        doc,
        await client.get("/api/bookings/no-such-booking", headers=admin),
        "GET",
        "/api/bookings/{booking_id}",
        404,
    )
    naive = booking_body(starts_at="2030-02-01T10:00:00")
    invalid = await check(
        doc,
        await client.post("/api/bookings", json=naive, headers=admin),
        "POST",
        "/api/bookings",
        422,
    )
    assert "starts_at" in invalid["error"]["fields"]
    first = await client.post("/api/bookings", json=booking_body(days=5), headers=admin)
    assert first.status == 201
    conflict = await check(
        doc,
        await client.post("/api/bookings", json=booking_body(days=5), headers=admin),
        "POST",
        "/api/bookings",
        409,
    )
    assert conflict["error"]["conflicts"]
    await check(
        doc,
        await client.post("/api/bookings", data=b"{", headers=admin),
        "POST",
        "/api/bookings",
        400,
    )
    await check(
        doc,
        await client.post("/api/studios", json={}, headers=headers["viewer"]),
        "POST",
        "/api/studios",
        403,
    )
