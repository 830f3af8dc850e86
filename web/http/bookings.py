"""The bookings' JSON API: thin adapters from HTTP to the booking service."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from schedules.errors import NotFound, ValidationError
from schedules.ics import booking_event, calendar
from schedules.model import Booking, Role
from schedules.rules.access import (
    Principal,
    can_answer,
    can_book,
    can_see,
    studio_scope,
    visible_join_studios,
)
from schedules.rules.timeline import join_window
from schedules.timeutil import TimeInputError, parse_rfc3339, rfc3339
from web.access.auth import csrf_token, require, require_role
from web.access.joinlinks import calendar_token_matches, join_path
from web.errors import ApiError
from web.http.links import base_url
from web.http.serialize import audit_doc, booking_doc, studio_doc
from web.services import BOOKINGS, CLOCK, LIVE, OUTAGE, SETTINGS, SIGNER

routes = web.RouteTableDef()
BOOKING_ID = r"{booking_id:[A-Za-z0-9_-]{1,40}}"


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or 400 with what is wrong with it."""
    if not request.can_read_body:
        raise ApiError(400, "invalid_json", "The request needs a JSON body")
    raw = await request.read()  # bounded by client_max_size (413 beyond it)
    try:
        body = json.loads(raw)
        # "\ud800" parses, but a lone surrogate can be neither stored nor sent back as UTF-8.
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "The body is not UTF-8 text") from None
    except UnicodeEncodeError:
        raise ApiError(400, "invalid_json", "The body holds an unpaired UTF-16 surrogate") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"The body is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    except (ValueError, RecursionError):
        # A number past Python's digit limit, or nesting deeper than the parser's stack.
        raise ApiError(
            400,
            "invalid_json",
            "The body is not usable JSON: too deeply nested or a number too long",
        ) from None
    return body


def actor_of(p: Principal) -> str:
    """How the audit log names the caller."""
    return f"{p.name} (token)" if p.via_token else p.name


async def visible_booking(request: web.Request, p: Principal) -> Booking:
    """The booking named in the path when the caller may see it (404 otherwise, no leak)."""
    booking = await request.app[BOOKINGS].get(request.match_info["booking_id"])
    if not can_see(p, booking):
        raise NotFound("booking", booking.id)
    return booking


async def booking_response(
    request: web.Request, booking: Booking, status: int = 200
) -> web.Response:
    """`{"booking": ...}`."""
    studios = await request.app[BOOKINGS].studios_by_id(booking.studio_ids)
    return web.json_response({"booking": booking_doc(booking, studios)}, status=status)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Liveness, and whether the database answers.

    Always 200 while the process serves: a database outage must not make an orchestrator
    restart the server and cut the live rooms it still relays. `status` says `degraded`.
    """
    up = request.app[OUTAGE].up
    return web.json_response(
        {
            "status": "ok" if up else "degraded",
            "database": request.app[OUTAGE].status(),
            "rooms": len(request.app[LIVE].rooms),
        }
    )


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    """Who the caller is, and the CSRF token for cookie-authenticated calls."""
    p = require(request)
    return web.json_response(
        {
            "name": p.name,
            "role": p.role.value,
            "studio": p.studio_id,
            "csrf_token": None if p.via_token else csrf_token(request),
        }
    )


@routes.get("/api/studios")
async def list_studios(request: web.Request) -> web.Response:
    """Every partner studio."""
    require(request)
    studios = await request.app[BOOKINGS].studios()
    return web.json_response({"studios": [studio_doc(s) for s in studios]})


@routes.post("/api/studios")
async def add_studio(request: web.Request) -> web.Response:
    """An admin adds a studio."""
    require_role(request, Role.ADMIN)
    studio = await request.app[BOOKINGS].add_studio(await read_json(request))
    return web.json_response({"studio": studio_doc(studio)}, status=201)


def _moment_param(request: web.Request, name: str) -> Any:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_rfc3339(value)
    except TimeInputError as exc:
        raise ValidationError(f"{name}: {exc}", {name: str(exc)}) from None


@routes.get("/api/bookings")
async def list_bookings(request: web.Request) -> web.Response:
    """Bookings overlapping ?from= ?to=, optionally for ?studio=; operators see their own."""
    p = require(request)
    start, end = _moment_param(request, "from"), _moment_param(request, "to")
    scope = studio_scope(p)
    wanted = request.query.get("studio")
    svc = request.app[BOOKINGS]
    found = await svc.search(
        start=start, end=end, studio_ids=scope or ([wanted] if wanted else None)
    )
    if wanted:
        # An operator's scope and the filter combine: their bookings that include `wanted`.
        found = [b for b in found if wanted in b.studio_ids]
    studios = await svc.studios_by_id()
    return web.json_response({"bookings": [booking_doc(b, studios) for b in found]})


@routes.post("/api/bookings")
async def create_booking(request: web.Request) -> web.Response:
    """Book a telebridge (201), or 409 naming the bookings in the way."""
    p = require(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not book telebridges")
    svc = request.app[BOOKINGS]
    result = await svc.create(await read_json(request), actor_of(p))
    studios = await svc.studios_by_id()
    body: dict[str, Any] = {"booking": booking_doc(result.created[0], studios)}
    if result.created[0].series_id is not None:
        body["series"] = {
            "id": result.created[0].series_id,
            "created": [booking_doc(b, studios) for b in result.created],
            "skipped": [
                {
                    "starts_at": rfc3339(s.starts_at),
                    "ends_at": rfc3339(s.ends_at),
                    "conflicts": [
                        {"booking_id": c.booking_id, "studio_id": c.studio_id, "title": c.title}
                        for c in s.conflicts
                    ],
                }
                for s in result.skipped
            ],
        }
    return web.json_response(body, status=201)


@routes.get(f"/api/bookings/{BOOKING_ID}.ics")
async def booking_ics(request: web.Request) -> web.Response:
    """One booking as an iCalendar file."""
    p = require(request)
    booking = await visible_booking(request, p)
    studios = await request.app[BOOKINGS].studios_by_id(booking.studio_ids)
    url = f"{base_url(request)}/bookings/{booking.id}"
    # An operator's copy is its studio's: cancelled once the studio has declined.
    mine = p.studio_id if p.role is Role.OPERATOR else None
    text = calendar([booking_event(booking, studios, url=url, for_studio=mine)], name=booking.title)
    return ics_response(text, f"telebridge-{booking.id}.ics")


def ics_response(text: str, filename: str) -> web.Response:
    """An iCalendar response."""
    return web.Response(
        body=text.encode(),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@routes.get("/calendar/{studio_id}.ics")
async def studio_feed(request: web.Request) -> web.Response:
    """A studio's subscription feed; the token in the URL is the only credential."""
    studio_id = request.match_info["studio_id"]
    if not calendar_token_matches(request.app[SIGNER], request.query.get("token"), studio_id):
        raise ApiError(401, "invalid_token", "The calendar link is not valid for this studio")
    studios = await request.app[BOOKINGS].studios_by_id()
    if studio_id not in studios:
        raise NotFound("studio", studio_id)
    now = request.app[CLOCK]()
    # A month of history keeps recent shows visible in subscribed calendars.
    found = await request.app[BOOKINGS].search(
        start=now - timedelta(days=31), studio_ids=[studio_id]
    )
    # The studio's own view of each: a booking it declined is cancelled in its calendar even
    # while the others go on without it.
    events = [
        booking_event(b, studios, url=f"{base_url(request)}/bookings/{b.id}", for_studio=studio_id)
        for b in found
    ]
    return ics_response(
        calendar(events, name=f"Telebridge: {studios[studio_id].name}"),
        f"telebridge-{studio_id}.ics",
    )


@routes.get(f"/api/bookings/{BOOKING_ID}")
async def get_booking(request: web.Request) -> web.Response:
    """One booking."""
    p = require(request)
    return await booking_response(request, await visible_booking(request, p))


@routes.patch(f"/api/bookings/{BOOKING_ID}")
async def patch_booking(request: web.Request) -> web.Response:
    """Edit or reschedule; a new time or studio list asks the partners again."""
    p = require(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not edit bookings")
    booking = await visible_booking(request, p)
    body = await read_json(request)
    updated = await request.app[BOOKINGS].update(booking.id, body, actor_of(p))
    return await booking_response(request, updated)


async def _studio_in_body(request: web.Request) -> tuple[str, object]:
    """The body's studio, and its reason as sent (None when absent: the service checks it)."""
    body = await read_json(request) if request.can_read_body else {}
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object")
    studio = body.get("studio")
    if not isinstance(studio, str) or not studio:
        raise ValidationError("studio: is required", {"studio": "is required"})
    return studio, body.get("reason")


@routes.post(f"/api/bookings/{BOOKING_ID}/confirm")
async def confirm(request: web.Request) -> web.Response:
    """A partner studio accepts the booking."""
    p = require(request)
    booking = await visible_booking(request, p)
    studio, _ = await _studio_in_body(request)
    if not can_answer(p, studio):
        raise ApiError(403, "forbidden", "Only that studio's operator may confirm for it")
    updated = await request.app[BOOKINGS].confirm(booking.id, studio, actor_of(p))
    return await booking_response(request, updated)


@routes.post(f"/api/bookings/{BOOKING_ID}/decline")
async def decline(request: web.Request) -> web.Response:
    """A partner studio declines, with an optional reason; with three or more studios the
    booking waits for the producer instead of being declined."""
    p = require(request)
    booking = await visible_booking(request, p)
    studio, reason = await _studio_in_body(request)
    if not can_answer(p, studio):
        raise ApiError(403, "forbidden", "Only that studio's operator may decline for it")
    updated = await request.app[BOOKINGS].decline(booking.id, studio, actor_of(p), reason)
    return await booking_response(request, updated)


@routes.post(f"/api/bookings/{BOOKING_ID}/continue-without")
async def continue_without(request: web.Request) -> web.Response:
    """The producer goes on without a studio that declined (409 when that is not allowed)."""
    p = require(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not change bookings")
    booking = await visible_booking(request, p)
    studio, _ = await _studio_in_body(request)
    updated = await request.app[BOOKINGS].continue_without(booking.id, studio, actor_of(p))
    return await booking_response(request, updated)


@routes.post(f"/api/bookings/{BOOKING_ID}/cancel")
async def cancel(request: web.Request) -> web.Response:
    """The producer cancels the booking."""
    p = require(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not cancel bookings")
    booking = await visible_booking(request, p)
    reason = ""
    if request.can_read_body:
        body = await read_json(request)
        if isinstance(body, dict) and isinstance(body.get("reason"), str):
            reason = body["reason"]
    updated = await request.app[BOOKINGS].cancel(booking.id, actor_of(p), reason)
    return await booking_response(request, updated)


@routes.get(f"/api/bookings/{BOOKING_ID}/join-links")
async def join_links(request: web.Request) -> web.Response:
    """The join links the caller may hand out, with the window they work in."""
    p = require(request)
    booking = await visible_booking(request, p)
    allowed = visible_join_studios(p, booking)
    if not allowed:
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not see join links")
    w = join_window(booking, request.app[SETTINGS].join_grace_minutes)
    base = base_url(request)
    links = [
        {
            "studio": sid,
            "url": base + join_path(request.app[SIGNER], booking.id, sid),
            "valid_from": rfc3339(w.valid_from),
            "valid_until": rfc3339(w.valid_until),
        }
        for sid in allowed
    ]
    return web.json_response({"links": links})


@routes.get(f"/api/bookings/{BOOKING_ID}/audit")
async def audit(request: web.Request) -> web.Response:
    """Who changed the booking, when, and how."""
    p = require(request)
    booking = await visible_booking(request, p)
    events = await request.app[BOOKINGS].audit(booking.id)
    return web.json_response({"events": [audit_doc(e) for e in events]})
