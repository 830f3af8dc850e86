"""Helpers for the web tests: the one error-shape check, stored-state snapshots, logins, bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import sqlalchemy as sa
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from helpers import future_slot

from schedules import db
from web.state import STATE

Client = TestClient[Any, Any]
ERROR_KEYS = {"code", "message", "fields", "conflicts"}
CONFLICT_KEYS = {"booking_id", "studio_id", "starts_at", "ends_at"}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def assert_error(
    resp: ClientResponse,
    status: int,
    code: str,
    *,
    fields: Iterable[str] = (),
) -> dict[str, Any]:
    """Check the one error shape of DESIGN.md and return the inner `error` object.

    `{"error": {"code", "message", "fields"?, "conflicts"?}}` as JSON, with the given status and
    code; a 422 names the offending fields, every one of `fields` among them.
    """
    text = await resp.text()
    assert resp.status == status, f"expected {status} {code}, got {resp.status}: {text[:500]}"
    assert resp.status != 500
    assert resp.content_type == "application/json", f"not JSON ({resp.content_type}): {text[:200]}"
    doc = json.loads(text)
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    error = doc["error"]
    assert isinstance(error, dict), doc
    assert set(error) <= ERROR_KEYS, f"unexpected keys {set(error) - ERROR_KEYS}"
    assert error.get("code") == code, f"expected code {code!r}: {error}"
    assert isinstance(error.get("message"), str) and error["message"].strip(), error
    if "fields" in error:
        assert isinstance(error["fields"], dict) and error["fields"], error
        assert all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in error["fields"].items()
        )
    wanted = list(fields)
    if wanted:
        assert status == 422, "only 422 answers name fields"
        assert set(wanted) <= set(error.get("fields", {})), f"fields {wanted} not named: {error}"
    if "conflicts" in error:
        assert status == 409 and code == "conflict", error
        for c in error["conflicts"]:
            assert set(c) >= CONFLICT_KEYS, c
    return error


async def stored_state(app: web.Application) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a request could change (sessions aside), for before/after checks."""
    engine = app[STATE].engine
    tables = (
        db.studios,
        db.bookings,
        db.booking_studios,
        db.audit_events,
        db.users,
        db.api_tokens,
    )
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in tables:
            rows = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


async def api_snapshot(client: Client, headers: dict[str, str]) -> Any:
    """What the API shows of everything stored: all bookings with their audit logs, studios."""
    resp = await client.get("/api/bookings", headers=headers)
    assert resp.status == 200
    bookings = (await resp.json())["bookings"]
    audits = {}
    for b in bookings:
        r = await client.get(f"/api/bookings/{b['id']}/audit", headers=headers)
        assert r.status == 200
        audits[b["id"]] = (await r.json())["events"]
    studios = await (await client.get("/api/studios", headers=headers)).json()
    return {"bookings": bookings, "audits": audits, "studios": studios}


def booking_body(days: int = 3, hour: int = 14, **overrides: Any) -> dict[str, Any]:
    """A valid booking body: Trend (Baku) and DHA (Istanbul), an hour `days` from today."""
    starts, ends = future_slot(days, hour, "Asia/Baku")
    body: dict[str, Any] = {
        "title": "Caspian energy week",
        "studios": ["trend", "dha"],
        "starts_at": starts,
        "ends_at": ends,
    }
    body.update(overrides)
    return body


async def create(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Book through the API and return the booking document (asserting 201)."""
    resp = await client.post("/api/bookings", json=booking_body(**overrides), headers=headers)
    text = await resp.text()
    assert resp.status == 201, text
    booking: dict[str, Any] = json.loads(text)["booking"]
    return booking


async def anon_csrf(client: Client, path: str = "/login") -> str:
    """GET a page as an anonymous visitor (sets tb_anon) and return its form's CSRF token."""
    resp = await client.get(path)
    assert resp.status == 200
    match = CSRF_INPUT.search(await resp.text())
    assert match, "no csrf_token field on the page"
    return match.group(1)


async def login(client: Client, name: str, password: str, *, expect: int = 303) -> ClientResponse:
    """Log in through the form like a browser: fetch the form, post it back with its token."""
    token = await anon_csrf(client)
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "name": name, "password": password, "next": "/bookings"},
        allow_redirects=False,
    )
    assert resp.status == expect, await resp.text()
    return resp


async def session_csrf(client: Client) -> str:
    """The CSRF token of the logged-in session (what the pages' scripts send)."""
    resp = await client.get("/api/me")
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["csrf_token"]
    return token


async def check_table(
    cases: Iterable[tuple[str, Callable[[], Awaitable[None]]]],
) -> None:
    """Run every case of a table and report all failing ones together, by id."""
    failures = []
    count = 0
    for case_id, run in cases:
        count += 1
        try:
            await run()
        except AssertionError as exc:
            failures.append(f"[{case_id}] {exc}")
    assert count, "empty table"
    assert not failures, f"{len(failures)} of {count} cases failed:\n" + "\n".join(failures)
