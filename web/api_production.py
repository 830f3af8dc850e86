"""The producer's live controls: program layout and solo studio, recording start and stop."""

from __future__ import annotations

from aiohttp import web

from bridge.layout import LAYOUTS
from bridge.room import Room
from schedules.errors import ValidationError
from schedules.model import Booking, Role
from web.api import BOOKING_ID, actor_of, read_json, visible_booking
from web.auth import Principal, require_role
from web.errors import ApiError
from web.state import state

routes = web.RouteTableDef()


async def _live(request: web.Request) -> tuple[Principal, Booking, Room]:
    """The producer, the booking and its open room (409 when the room is not open)."""
    p = require_role(request, Role.ADMIN, Role.PRODUCER)
    booking = await visible_booking(request, p)
    room = state(request).live.get(booking.id)
    if room is None:
        raise ApiError(409, "room_not_open", "The telebridge's room is not open now")
    return p, booking, room


@routes.post(f"/api/bookings/{BOOKING_ID}/program")
async def switch_program(request: web.Request) -> web.Response:
    """`{"layout", "studio"?}`: on air from the next program frame."""
    p, booking, room = await _live(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object")
    layout, studio = body.get("layout"), body.get("studio")
    errors: dict[str, str] = {}
    if layout not in LAYOUTS:
        errors["layout"] = "must be one of " + ", ".join(LAYOUTS)
    if studio is not None and studio not in booking.studio_ids:
        errors["studio"] = "is not a studio of this telebridge"
    if layout in ("solo", "pip") and studio is None:
        errors["studio"] = "is required for solo and pip"
    if errors:
        raise ValidationError("The program switch has problems in: " + ", ".join(errors), errors)
    room.switch_program(str(layout), studio if isinstance(studio, str) else None)
    await state(request).bookings.note(
        booking.id, actor_of(p), "switched the program", {"layout": layout, "studio": studio}
    )
    return web.json_response({"program": {"layout": layout, "studio": studio}})


@routes.post(f"/api/bookings/{BOOKING_ID}/recording/start")
async def start_recording(request: web.Request) -> web.Response:
    """Start recording now (also outside the booked show, e.g. during the line check)."""
    _p, booking, room = await _live(request)
    st = state(request)
    st.recordings.stopped_by_hand.discard(booking.id)
    started = await st.recordings.start(booking, room, st.clock())
    return web.json_response({"recording": True, "started": started})


@routes.post(f"/api/bookings/{BOOKING_ID}/recording/stop")
async def stop_recording(request: web.Request) -> web.Response:
    """Stop recording now; the files are finalized and appear in the archive."""
    _p, booking, room = await _live(request)
    st = state(request)
    st.recordings.stopped_by_hand.add(booking.id)
    stopped = await st.recordings.stop(booking.id, room, st.clock())
    return web.json_response({"recording": False, "stopped": stopped})
