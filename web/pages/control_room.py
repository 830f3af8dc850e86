"""The control room page: the producer's multiview, switching, sound desk, talkback, cues,
chat and graphics for one booking, on one screen (its live channel:
web.live.direction.control_room)."""

from __future__ import annotations

from aiohttp import web

from bridge.program.layout import LAYOUTS
from schedules.errors import NotFound
from schedules.rules.access import can_see
from schedules.rules.timeline import join_state, join_window
from web.access.auth import require_director
from web.http.graphics import graphics_context
from web.live.direction.control_room import control_ice_servers
from web.pages.site import BOOKING_ID, display_zone, need_login
from web.pages.templating import render
from web.services import CLOCK, LIVE, OUTAGE, RECORDINGS, SETTINGS

routes = web.RouteTableDef()

MAX_STUDIO_KEYS = 6  # keys 1-6 put a studio alone on air


@routes.get(f"/bookings/{BOOKING_ID}/control")
async def control_room_page(request: web.Request) -> web.Response:
    """The control room, for producers and admins; before the room opens it says when."""
    p = require_director(need_login(request))
    # Mid-show with the database away, a producer reloading the control room still gets it.
    booking, _stored = await request.app[OUTAGE].booking_now(request.match_info["booking_id"])
    if not can_see(p, booking):
        raise NotFound("booking", booking.id)
    studios = await request.app[OUTAGE].studios_now(booking.studio_ids)
    grace = request.app[SETTINGS].join_grace_minutes
    room = request.app[LIVE].get(booking.id)
    control = {
        "booking": booking.id,
        "studios": [
            {
                "id": sid,
                "name": studios[sid].name if sid in studios else sid,
                "key": str(i + 1) if i < MAX_STUDIO_KEYS else None,
            }
            for i, sid in enumerate(booking.studio_ids)
        ],
        "ice_servers": control_ice_servers(request, booking),
        "session_url": f"/api/bookings/{booking.id}/control/session",
        "state_url": f"/api/bookings/{booking.id}/control",
        "talkback_url": f"/api/bookings/{booking.id}/talkback",
    }
    return render(
        request,
        "control.html",
        booking=booking,
        studios=studios,
        zone=display_zone(request, p, studios),
        control=control,
        room_open=room is not None,
        join_state=join_state(booking, request.app[CLOCK](), grace).value,
        window=join_window(booking, grace),
        layouts=LAYOUTS,
        recording=request.app[RECORDINGS].is_recording(booking.id),
        live_control=room is not None,
        **await graphics_context(request, booking),
    )
