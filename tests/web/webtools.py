"""Helpers for the web tests: the one error-shape check, stored-state snapshots, logins, bodies."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from helpers import future_slot

from schedules import db
from web.services import ENGINE

Client = TestClient[Any, Any]
ERROR_KEYS = {"code", "message", "fields", "conflicts", "reason"}
CONFLICT_KEYS = {"booking_id", "studio_id", "starts_at", "ends_at"}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def assert_error(
    resp: ClientResponse,
    status: int,
    code: str,
    *,
    fields: Iterable[str] = (),
) -> dict[str, Any]:
    """Check the one error shape (web/errors.py) and return the inner `error` object.

    `{"error": {"code", "message", "fields"?, "conflicts"?}}` as JSON, with the given status and
    code; a 422 names the offending fields, every one of `fields` among them.
    """
    return check_error(resp.status, resp.content_type, await resp.text(), status, code, fields)


def check_error(
    got_status: int,
    content_type: str,
    text: str,
    status: int,
    code: str,
    fields: Iterable[str] = (),
) -> dict[str, Any]:
    """`assert_error` on a response already read (also for raw socket exchanges)."""
    assert got_status != 500, f"server error: {text[:500]}"
    assert got_status == status, f"expected {status} {code}, got {got_status}: {text[:500]}"
    assert content_type == "application/json", f"not JSON ({content_type}): {text[:200]}"
    doc = json.loads(text)
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    error = doc["error"]
    assert isinstance(error, dict), doc
    assert set(error) <= ERROR_KEYS, f"unexpected keys {set(error) - ERROR_KEYS}"
    assert error.get("code") == code, f"expected code {code!r}: {error}"
    assert isinstance(error.get("message"), str) and error["message"].strip(), error
    if "fields" in error:
        assert isinstance(error["fields"], dict) and error["fields"], error
        for k, v in error["fields"].items():
            assert isinstance(k, str) and isinstance(v, str) and v, error
    wanted = list(fields)
    if wanted:
        assert status == 422, "only 422 answers name fields"
        assert set(wanted) <= set(error.get("fields", {})), f"fields {wanted} not named: {error}"
    if "conflicts" in error:
        assert status == 409 and code == "conflict", error
        for c in error["conflicts"]:
            assert set(c) >= CONFLICT_KEYS, c
    return error


async def raw_exchange(client: Client, request: bytes) -> tuple[int, str, str]:
    """Send bytes no HTTP client library would (undecodable headers); (status, type, body)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        # A bound, not an expectation: the storage and page tests run at a low priority beside
        # the media tests, and on a loaded machine wait long for a core.
        data = await asyncio.wait_for(reader.read(), 60)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    content_type = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            content_type = value.split(";")[0].strip()
    return status, content_type, body.decode("utf-8", "replace")


async def stored_state(app: web.Application) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a request could change (sessions aside), for before/after checks."""
    engine = app[ENGINE]
    tables = (
        db.studios,
        db.bookings,
        db.booking_studios,
        db.audit_events,
        db.users,
        db.api_tokens,
        db.booking_outputs,
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


class MovableClock:
    """The app's clock: stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class ClockedApp:
    """An app whose clock a test controls, its client, and bearer headers per role."""

    app: web.Application
    client: TestClient[Any, Any]
    clock: MovableClock
    headers: dict[str, dict[str, str]]


def unchanged(
    app: web.Application, client: Client, admin: dict[str, str]
) -> Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[None]]]:
    """Wrap a case so that it also checks that nothing stored changed (every database row)."""

    def wrap(run: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def checked() -> None:
            rows = await stored_state(app)
            await run()
            assert await stored_state(app) == rows, "the database changed"

        return checked

    return wrap


def guarded_table(
    app: web.Application, client: Client, admin: dict[str, str]
) -> Callable[[Iterable[tuple[str, Callable[[], Awaitable[None]]]]], Awaitable[None]]:
    """A runner of tables of cases, each case guarded by `unchanged`, and what the API shows
    (every booking with its audit log, every studio) the same after the whole table."""

    async def run(cases: Iterable[tuple[str, Callable[[], Awaitable[None]]]]) -> None:
        shown = await api_snapshot(client, admin)
        guard = unchanged(app, client, admin)
        await check_table((case_id, guard(case)) for case_id, case in cases)
        assert await api_snapshot(client, admin) == shown, "what the API shows changed"

    return run
