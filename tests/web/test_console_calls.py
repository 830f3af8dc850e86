"""A studio calls the producer from its console ("I need you"): the producer sees the call,
answers it, and the console's state poll lets go of it; an unanswered call runs out after a
minute on the app's clock. Who may call and answer, and every refusal, with its documented
status; every answer in the shape the API description gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import DEMO_PASSWORD
from openapi_check import response_validator
from test_join_links import book, links
from webtools import ClockedApp, assert_error, login, session_csrf

from schedules.direction.calls import CALL_SECONDS
from schedules.model import DEFAULT_TEARDOWN_MINUTES as TEARDOWN
from web.access.joinlinks import join_token
from web.services import SETTINGS, SIGNER

FMT = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def backend() -> str:
    """Calls live in memory; the audit lines they write are stored like any (both databases
    are tested in tests/schedules)."""
    return "sqlite"


async def checked(c: ClockedApp, method: str, path: str, template: str, **kw: Any) -> Any:
    """Call the app; 200, and the body matches the description of `template`."""
    document = await (await c.client.get("/api/openapi.json")).json()
    resp = await c.client.request(method, path, **kw)
    assert resp.status == 200, f"{method} {path}: {resp.status} {await resp.text()}"
    body = await resp.json()
    validator = response_validator(document, method, template, 200, resp.content_type)
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors
    return body


class Console:
    """One studio's console, with its join link's token as the only credential."""

    def __init__(self, c: ClockedApp, booking_id: str, studio: str) -> None:
        self.c = c
        token = join_token(c.app[SIGNER], booking_id, studio)
        self.base = f"/join/{booking_id}/{studio}"
        self.query = f"?token={token}"

    async def call(self) -> dict[str, Any]:
        path = f"{self.base}/call{self.query}"
        doc: dict[str, Any] = await checked(
            self.c, "POST", path, "/join/{booking_id}/{studio_id}/call"
        )
        return doc

    async def state(self) -> dict[str, Any]:
        path = f"{self.base}/state{self.query}"
        doc: dict[str, Any] = await checked(
            self.c, "GET", path, "/join/{booking_id}/{studio_id}/state"
        )
        return doc


async def calls(c: ClockedApp, booking_id: str) -> list[tuple[str, str]]:
    doc = await checked(
        c,
        "GET",
        f"/api/bookings/{booking_id}/calls",
        "/api/bookings/{booking_id}/calls",
        headers=c.headers["producer"],
    )
    return [(call["studio"], call["since"]) for call in doc["calls"]]


async def answer(c: ClockedApp, booking_id: str, studio: str, role: str = "producer") -> bool:
    doc = await checked(
        c,
        "POST",
        f"/api/bookings/{booking_id}/calls/{studio}/answer",
        "/api/bookings/{booking_id}/calls/{studio_id}/answer",
        headers=c.headers[role],
    )
    return bool(doc["answered"])


async def audit_actions(c: ClockedApp, booking_id: str) -> list[tuple[str, str]]:
    resp = await c.client.get(f"/api/bookings/{booking_id}/audit", headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    return [(e["actor"], e["action"]) for e in (await resp.json())["events"]]


async def test_a_call_reaches_the_producer_who_answers_it(clocked: ClockedApp) -> None:
    c = clocked
    b = await book(c, c.clock() + timedelta(minutes=5))  # the line check is on: links open
    baku, istanbul = Console(c, b["id"], "trend"), Console(c, b["id"], "dha")
    assert (await baku.state())["call"] is None
    assert await calls(c, b["id"]) == []

    first = (await baku.call())["call"]
    assert first["since"] == c.clock().strftime(FMT)
    assert first["expires_at"] == (c.clock() + timedelta(seconds=CALL_SECONDS)).strftime(FMT)
    c.clock.advance(seconds=20)
    again = (await baku.call())["call"]  # a worried operator presses again: the same call
    assert again["since"] == first["since"] and again["expires_at"] > first["expires_at"]
    await istanbul.call()
    assert await calls(c, b["id"]) == [("trend", first["since"]), ("dha", c.clock().strftime(FMT))]
    assert (await baku.state())["call"] == again
    assert (await istanbul.state())["call"] is not None

    assert await answer(c, b["id"], "trend") is True
    assert (await baku.state())["call"] is None  # its button returns to normal
    assert await answer(c, b["id"], "trend", "admin") is False  # already answered: no error
    assert [s for s, _ in await calls(c, b["id"])] == ["dha"]
    assert (await istanbul.state())["call"] is not None

    lines = [line for line in await audit_actions(c, b["id"]) if "call" in line[1]]
    assert lines == [
        ("trend console", "called production"),  # one line for two presses
        ("dha console", "called production"),
        ("producer-bot (token)", "answered a call"),
    ]


async def test_an_unanswered_call_runs_out_after_a_minute(clocked: ClockedApp) -> None:
    c = clocked
    b = await book(c, c.clock() + timedelta(minutes=5))
    baku = Console(c, b["id"], "trend")
    await baku.call()
    c.clock.advance(seconds=CALL_SECONDS - 1)
    assert [s for s, _ in await calls(c, b["id"])] == ["trend"]
    assert (await baku.state())["call"] is not None
    c.clock.advance(seconds=1)
    assert await calls(c, b["id"]) == []
    assert (await baku.state())["call"] is None
    assert await answer(c, b["id"], "trend") is False  # nothing left to answer


async def test_call_refusals(clocked: ClockedApp) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=5)
    b = await book(c, starts)
    later = await book(c, starts + timedelta(days=1))
    bid = b["id"]
    baku = Console(c, bid, "trend")
    signer = c.app[SIGNER]

    async def console_post(path: str) -> Any:
        return await c.client.post(path)

    # The console: only the studio's own join link, while it is open.
    istanbul_token = join_token(signer, bid, "dha")
    await assert_error(
        await console_post(f"/join/{bid}/trend/call?token={istanbul_token}"), 403, "invalid_link"
    )
    await assert_error(await console_post(f"/join/{bid}/trend/call"), 403, "invalid_link")
    await assert_error(
        await console_post(f"/join/{bid}/trend/call?token=abc.def"), 403, "invalid_link"
    )
    rome = join_token(signer, bid, "ansa")  # signed, but Rome is not in this booking
    await assert_error(
        await console_post(f"/join/{bid}/ansa/call?token={rome}"), 403, "studio_removed"
    )
    tomorrow = Console(c, later["id"], "trend")
    await assert_error(
        await console_post(f"{tomorrow.base}/call{tomorrow.query}"), 403, "not_open_yet"
    )
    await assert_error(
        await console_post(
            f"/join/nosuchbooking/trend/call?token={join_token(signer, 'nosuchbooking', 'trend')}"
        ),
        404,
        "not_found",
    )

    # The producer's side: producers and admins only, for a studio of the booking.
    calls_path = f"/api/bookings/{bid}/calls"
    answer_path = f"{calls_path}/trend/answer"
    await assert_error(await c.client.get(calls_path), 401, "unauthorized")
    await assert_error(await c.client.post(answer_path), 401, "unauthorized")
    for role in ("operator", "viewer"):
        await assert_error(
            await c.client.get(calls_path, headers=c.headers[role]), 403, "forbidden"
        )
        await assert_error(
            await c.client.post(answer_path, headers=c.headers[role]), 403, "forbidden"
        )
    producer = c.headers["producer"]
    await assert_error(
        await c.client.post(f"{calls_path}/ansa/answer", headers=producer), 404, "not_found"
    )
    await assert_error(
        await c.client.get("/api/bookings/nosuchbooking/calls", headers=producer),
        404,
        "not_found",
    )
    assert await calls(c, bid) == []  # nothing refused above made a call

    # After the teardown (and the grace) the link has closed: no more calls.
    await baku.call()
    grace = c.app[SETTINGS].join_grace_minutes
    c.clock.set(starts + timedelta(hours=1, minutes=TEARDOWN + grace, seconds=1))
    await assert_error(await console_post(f"{baku.base}/call{baku.query}"), 403, "link_closed")


async def test_a_producer_in_the_browser_answers_with_the_csrf_token(clocked: ClockedApp) -> None:
    c = clocked
    b = await book(c, c.clock() + timedelta(minutes=5))
    await Console(c, b["id"], "trend").call()
    await login(c.client, "producer", DEMO_PASSWORD)
    path = f"/api/bookings/{b['id']}/calls/trend/answer"
    await assert_error(await c.client.post(path), 403, "csrf_failed")
    await assert_error(
        await c.client.post(path, headers={"X-CSRF-Token": "forged"}), 403, "csrf_failed"
    )
    assert len(await calls(c, b["id"])) == 1  # still calling
    resp = await c.client.post(path, headers={"X-CSRF-Token": await session_csrf(c.client)})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"answered": True}
    assert await calls(c, b["id"]) == []
    # The session reads the calls too (a GET needs no CSRF token).
    resp = await c.client.get(f"/api/bookings/{b['id']}/calls")
    assert resp.status == 200 and await resp.json() == {"calls": []}


async def test_the_console_page_offers_the_call_button(clocked: ClockedApp) -> None:
    c = clocked
    b = await book(c, c.clock() + timedelta(minutes=5))
    page = await c.client.get((await links(c, b["id"]))["trend"])
    assert page.status == 200
    html = await page.text()
    assert 'id="call-producer"' in html and "/static/console_call.js" in html
    assert f"/join/{b['id']}/trend/call?token=" in html  # the console's call_url
