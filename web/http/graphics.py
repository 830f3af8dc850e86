"""The program's graphics over the API: lower thirds, the clock and the logo of a booking's
program (producers and admins), and the site's logo (uploaded by admins).

Every change is validated and kept with the booking, with its line in the audit log
(schedules/graphics/), and then put on the booking's room when it is open
(web/http/graphics_on_air.py); a room that opens later shows what was kept.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.spec import GraphicsState
from schedules.graphics.parse import MAX_LOGO_BYTES
from schedules.graphics.record import BookingGraphics, Logo
from schedules.model import Booking, Role, Studio
from schedules.outage import database_down
from schedules.timeutil import rfc3339
from web.access.auth import require, require_director, require_role
from web.errors import ApiError
from web.http.bookings import BOOKING_ID, actor_of, read_json, visible_booking
from web.services import BOOKINGS, GRAPHICS, GRAPHICS_ON_AIR, LIVE

routes = web.RouteTableDef()
PNG = "image/png"


def on_air_doc(state: GraphicsState) -> dict[str, Any]:
    """What a room's program shows now (or is fading to)."""
    return {
        "lower_thirds": [
            {"studio": lt.studio_id, "name": lt.name, "title": lt.title, "visible": lt.visible}
            for lt in state.lower_thirds
        ],
        "clock": {"zone": state.clock_zone, "label": state.clock_label}
        if state.clock_zone
        else None,
        "logo": {"visible": state.logo, "corner": state.corner},
    }


def graphics_doc(
    graphics: BookingGraphics,
    studio_ids: tuple[str, ...],
    on_air: GraphicsState | None,
    has_logo: bool,
) -> dict[str, Any]:
    """A booking's graphics as JSON: what the producer has set (per studio, the text shown in
    the chosen language), every stored text, and what the open room shows (null: not open)."""
    screen = graphics.on_screen
    lower_thirds = []
    for sid in studio_ids:
        text = graphics.text_of(sid)
        lower_thirds.append(
            {
                "studio": sid,
                "name": text.name if text else None,
                "title": text.title if text else None,
                "language": text.language if text else None,
                "visible": sid in screen.shown and text is not None,
            }
        )
    return {
        "language": graphics.language,
        "languages": list(graphics.languages),
        "lower_thirds": lower_thirds,
        "texts": [
            {"studio": t.studio_id, "language": t.language, "name": t.name, "title": t.title}
            for t in graphics.texts
        ],
        "clock": {"zone": screen.clock.zone, "label": screen.clock.label} if screen.clock else None,
        "logo": {
            "visible": screen.logo_visible and has_logo,
            "corner": screen.logo_corner,
            "available": has_logo,
        },
        "on_air": on_air_doc(on_air) if on_air is not None else None,
    }


def logo_doc(logo: Logo) -> dict[str, Any]:
    """The site's logo as JSON (the picture itself is at GET /api/graphics/logo)."""
    return {
        "width": logo.width,
        "height": logo.height,
        "bytes": len(logo.png),
        "sha256": logo.sha256,
        "uploaded_by": logo.uploaded_by,
        "uploaded_at": rfc3339(logo.uploaded_at) if logo.uploaded_at else None,
    }


async def _answer(
    request: web.Request, booking: Booking, graphics: BookingGraphics
) -> web.Response:
    """Put `graphics` on the booking's open room (if any) and answer with the state."""
    room = request.app[LIVE].get(booking.id)
    on_air = request.app[GRAPHICS_ON_AIR]
    if room is not None:
        await on_air.show(room, graphics)
    has_logo = await on_air.logo_png() is not None
    state = room.graphics_state() if room is not None else None
    return web.json_response(
        {"graphics": graphics_doc(graphics, booking.studio_ids, state, has_logo)}
    )


async def _booking(request: web.Request) -> tuple[str, Booking]:
    """The producer's or admin's name for the audit log, and the booking (404 if hidden)."""
    p = require_director(require(request))
    return actor_of(p), await visible_booking(request, p)


@routes.get(f"/api/bookings/{BOOKING_ID}/graphics")
async def get_graphics(request: web.Request) -> web.Response:
    """What the booking's graphics are set to, and what its open room shows."""
    _actor, booking = await _booking(request)
    return await _answer(request, booking, await request.app[GRAPHICS].of(booking.id))


@routes.post(f"/api/bookings/{BOOKING_ID}/graphics")
async def change_graphics(request: web.Request) -> web.Response:
    """`{"studio"?, "lower_third"?: {"name", "title"?}, "language"?, "visible"?, "clock"?,
    "logo"?}`: kept, audited, and on air from the next frame when the room is open."""
    actor, booking = await _booking(request)
    body = await read_json(request)
    graphics = await request.app[GRAPHICS].change(booking.id, body, actor)
    return await _answer(request, booking, graphics)


@routes.put(f"/api/bookings/{BOOKING_ID}/graphics/texts")
async def put_texts(request: web.Request) -> web.Response:
    """`{"texts": [{"studio", "language", "name", "title"?}, ...]}`: the booking's lower-third
    texts, all of them (one left out is removed)."""
    actor, booking = await _booking(request)
    body = await read_json(request)
    graphics = await request.app[GRAPHICS].set_texts(booking.id, body, actor)
    return await _answer(request, booking, graphics)


@routes.get("/api/graphics/logo")
async def get_logo(request: web.Request) -> web.Response:
    """The site's logo picture (PNG)."""
    require(request)
    png = await request.app[GRAPHICS_ON_AIR].logo_png()
    if png is None:
        raise ApiError(404, "not_found", "No logo has been uploaded")
    return web.Response(body=png, content_type=PNG, headers={"Cache-Control": "no-cache"})


@routes.put("/api/graphics/logo")
async def put_logo(request: web.Request) -> web.Response:
    """The body (image/png, at most 1 MB and 1920 x 1080) becomes the site's logo; the
    programs that show the logo show the new one from the next frame."""
    p = require_role(request, Role.ADMIN)
    if request.content_type != PNG:
        raise ApiError(415, "unsupported_media_type", "The logo must be sent as image/png")
    too_large = ApiError(413, "body_too_large", "The logo must be at most 1 MB")
    if (request.content_length or 0) > MAX_LOGO_BYTES:
        raise too_large  # before reading a byte of it
    png = await request.read()  # bounded by client_max_size as well
    if len(png) > MAX_LOGO_BYTES:
        raise too_large
    logo = await request.app[GRAPHICS].put_logo(png, actor_of(p))
    await request.app[GRAPHICS_ON_AIR].logo_changed(png, request.app[LIVE].rooms.values())
    return web.json_response({"logo": logo_doc(logo)})


@routes.delete("/api/graphics/logo")
async def delete_logo(request: web.Request) -> web.Response:
    """Remove the site's logo; the programs that show it hide it."""
    p = require_role(request, Role.ADMIN)
    if not await request.app[GRAPHICS].remove_logo(actor_of(p)):
        raise ApiError(404, "not_found", "No logo has been uploaded")
    await request.app[GRAPHICS_ON_AIR].logo_changed(None, request.app[LIVE].rooms.values())
    return web.Response(status=204)


def clock_zones(booking: Booking, studios: dict[str, Studio]) -> list[dict[str, str]]:
    """The clocks the control room offers: each zone of the booking's studios, labelled with
    the studio's city (one per zone and city, in booking order)."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for sid in booking.studio_ids:
        studio = studios.get(sid)
        if studio is not None:
            out.setdefault(
                (studio.timezone, studio.city), {"zone": studio.timezone, "label": studio.city}
            )
    return list(out.values())


async def graphics_context(request: web.Request, booking: Booking) -> dict[str, Any]:
    """What `_control_graphics.html` needs besides `booking`, `studios`, `csrf_token` and
    `languages` (every page has the last two): `graphics`, the document GET
    /api/bookings/{id}/graphics answers with (None while the database is away), and
    `graphics_zones`, the clocks to offer (see clock_zones)."""
    try:
        graphics = await request.app[GRAPHICS].of(booking.id)
        has_logo = await request.app[GRAPHICS_ON_AIR].logo_png() is not None
        studios = await request.app[BOOKINGS].studios_by_id(booking.studio_ids)
    except Exception as exc:
        if not database_down(exc):
            raise
        return {"graphics": None, "graphics_zones": []}
    room = request.app[LIVE].get(booking.id)
    state = room.graphics_state() if room is not None else None
    return {
        "graphics": graphics_doc(graphics, booking.studio_ids, state, has_logo),
        "graphics_zones": clock_zones(booking, studios),
    }
