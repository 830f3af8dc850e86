"""Dates at the ends of the calendar, through the API and the pages (issue 12): they answered
500 (OverflowError). Out of range is a 422 naming the field, and nothing stored changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from helpers import DEMO_PASSWORD
from webtools import Client, assert_error, booking_body, create, guarded_table, login, session_csrf

H = dict[str, dict[str, str]]
PAST_9999 = "9999-12-31T23:00:00-23:59"  # the year 10000 in UTC
BEFORE_1 = "0001-01-01T00:00:00+01:00"  # the year 0 in UTC
TIMES = {
    "year 9999": "9999-12-31T23:00:00Z",
    "past 9999 in UTC": PAST_9999,
    "before year 1 in UTC": BEFORE_1,
    "2100": "2100-01-01T00:00:00Z",
    "1969": "1969-12-31T23:00:00Z",
}
DAYS = {"9999-12-31": "9999-12-31", "0001-01-01": "0001-01-01", "2100-01-01": "2100-01-01"}


def refused(
    client: Client, method: str, path: str, h: dict[str, str], field: str, body: Any = None
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        resp = await client.request(method, path, json=body, headers=h)
        error = await assert_error(resp, 422, "invalid", fields=[field])
        assert "1970-01-01" in error["fields"][field], error  # says what is accepted

    return run


async def test_times_out_of_range_are_422_naming_the_field(
    app: web.Application, client: Client, headers: H
) -> None:
    producer, viewer = headers["producer"], headers["viewer"]
    booking = await create(client, producer, days=3)
    path = f"/api/bookings/{booking['id']}"
    cases = []
    for name, when in TIMES.items():
        start = booking_body(starts_at=when)
        both = booking_body(starts_at=when, ends_at=when)
        cases += [
            (
                f"book, starts_at {name}",
                refused(client, "POST", "/api/bookings", producer, "starts_at", start),
            ),
            (
                f"book, both {name}",
                refused(client, "POST", "/api/bookings", producer, "ends_at", both),
            ),
            (
                f"edit, ends_at {name}",
                refused(client, "PATCH", path, producer, "ends_at", {"ends_at": when}),
            ),
        ]
        for field in ("from", "to"):
            query = f"?{field}={quote(when)}"
            cases += [
                (
                    f"bookings {field}={name}",
                    refused(client, "GET", "/api/bookings" + query, viewer, field),
                ),
                (
                    f"recordings {field}={name}",
                    refused(client, "GET", "/api/recordings" + query, viewer, field),
                ),
            ]
    for name, day in DAYS.items():
        for field in ("from", "to"):
            query = f"/api/recordings?{field}={day}"
            cases.append(
                (f"recordings {field}={name}", refused(client, "GET", query, viewer, field))
            )
    await guarded_table(app, client, headers["admin"])(cases)


async def test_the_pages_refuse_them_too(app: web.Application, client: Client, headers: H) -> None:
    """The booking form (a wall-clock time in a zone west of UTC) and the archive's filters."""
    await login(client, "producer", DEMO_PASSWORD)
    csrf = await session_csrf(client)

    def page(method: str, path: str, **kw: Any) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            resp = await client.request(method, path, allow_redirects=False, **kw)
            assert resp.status in (200, 422), f"{resp.status}: {(await resp.text())[:300]}"
            assert "1970-01-01" in await resp.text()

        return run

    form = {
        "csrf_token": csrf,
        "title": "The last show",
        "studios": ["trend", "dha"],
        "zone": "America/New_York",
        "starts_local": "9999-12-31T22:00",
        "ends_local": "9999-12-31T23:00",
    }
    cases = [
        ("booking form, year 9999 west of UTC", page("POST", "/bookings/new", data=form)),
        ("archive to=9999-12-31", page("GET", "/archive?to=9999-12-31")),
        ("archive from past 9999", page("GET", f"/archive?from={quote(PAST_9999)}")),
    ]
    await guarded_table(app, client, headers["admin"])(cases)


async def test_the_calendar_at_the_ends_of_the_calendar_shows_this_week(client: Client) -> None:
    """`?week=9999-W52` and `?week=0001-W01` were 500 (OverflowError in the week's arithmetic):
    a week the service keeps no times for is this week, like any week it cannot read."""
    await login(client, "producer", DEMO_PASSWORD)
    this_week = await client.get("/calendar")
    assert this_week.status == 200
    for week in ("9999-W52", "0001-W01", "1969-W52", "2099-W53", "2099-W52"):
        page = await client.get(f"/calendar?week={week}")
        assert page.status == 200, (week, page.status)
