"""The control room's live channel: its WebRTC connection (multiview and talkback) and the
state its tiles show (tally, link, level, who is being talked to).

Producers and admins only, like the other live controls. The connection is the bridge's
(bridge.control): every studio's own feed forwarded as to the partners, the program's own
H.264, and the producer's microphone as talkback to the studios they choose.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.errors import UnknownStudio
from schedules.errors import ValidationError
from schedules.model import Booking
from web.access.turn import console_ice_servers
from web.errors import ApiError
from web.http.bookings import BOOKING_ID, read_json
from web.live.direction.production import live_room
from web.services import MONITOR, SETTINGS

routes = web.RouteTableDef()

SESSION_ID = "{session_id:[0-9a-f]{16}}"
CONTROL_ICE_USER = "control"  # the TURN user name's studio part for a control room
MAX_NAME = 80  # how much of the producer's name a console shows


def control_ice_servers(request: web.Request, booking: Booking) -> list[dict[str, Any]]:
    """The control room's `iceServers` (TURN credentials of its own, as a console's)."""
    return console_ice_servers(request.app[SETTINGS], booking, CONTROL_ICE_USER)


@routes.post(f"/api/bookings/{BOOKING_ID}/control/session")
async def control_session(request: web.Request) -> web.Response:
    """The control room's offer: `{"sdp"}` in, `{"sdp", "session", "slots", "program"}` out.

    The offer has one receive pair per studio of the booking, in the booking's order, then one
    for the program; an audio m-line it sends on is the producer's talkback microphone.
    """
    p, _booking, room = await live_room(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("sdp"), str):
        raise ApiError(422, "invalid", "sdp: is required", {"sdp": "is required"})
    joined = await room.control.connect(body["sdp"], p.name[:MAX_NAME])
    program = joined.program
    return web.json_response(
        {
            "type": "answer",
            "sdp": joined.answer_sdp,
            "session": joined.session_id,
            "slots": [
                {"studio": s.studio_id, "video_mid": s.video_mid, "audio_mid": s.audio_mid}
                for s in joined.slots
            ],
            "program": (
                {"video_mid": program.video_mid, "audio_mid": program.audio_mid}
                if program is not None
                else None
            ),
        }
    )


@routes.delete(f"/api/bookings/{BOOKING_ID}/control/session/{SESSION_ID}")
async def control_leave(request: web.Request) -> web.Response:
    """End a control room connection (the page closes or reconnects)."""
    _p, _booking, room = await live_room(request)
    if not await room.control.disconnect(request.match_info["session_id"]):
        raise ApiError(404, "not_found", "No such control room session")
    return web.Response(status=204)


@routes.post(f"/api/bookings/{BOOKING_ID}/talkback")
async def talkback(request: web.Request) -> web.Response:
    """`{"session", "studios": [...]}`: talk from that control room connection's microphone
    to these studios (only their consoles hear it, over their return lowered by 12 dB);
    `"studios": []` stops talking."""
    _p, booking, room = await live_room(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object")
    session, studios = body.get("session"), body.get("studios")
    errors: dict[str, str] = {}
    if not isinstance(session, str) or not session:
        errors["session"] = "is required: the control room connection's session id"
    if not isinstance(studios, list) or not all(isinstance(s, str) for s in studios):
        errors["studios"] = "must be a list of studio ids (empty to stop talking)"
    elif any(s not in booking.studio_ids for s in studios):
        errors["studios"] = "names a studio that is not in this telebridge"
    if errors:
        raise ValidationError("The talkback has problems in: " + ", ".join(errors), errors)
    assert isinstance(session, str) and isinstance(studios, list)
    try:
        room.control.talk(session, studios)  # an ended session: 404, by the error middleware
    except UnknownStudio as exc:  # in the booking, not (yet) in the room
        raise ValidationError(str(exc), {"studios": str(exc)}) from None
    return web.json_response(
        {"talkback": {"session": session, "studios": sorted(room.control.talking(session))}}
    )


@routes.get(f"/api/bookings/{BOOKING_ID}/control")
async def control_state(request: web.Request) -> web.Response:
    """What the multiview's tiles show, per studio: connected, in the program (tally), the
    link's round trip and loss, the sound's level, who talks to it; and the program."""
    _p, booking, room = await live_room(request)
    hub = request.app[MONITOR]
    view = next((r for r in hub.rooms if r.booking_id == booking.id), None)
    health = {s.id: s for s in view.studios} if view is not None else {}
    tally = {s: room.tally(s).on_program for s in booking.studio_ids}
    audio = room.audio_state()
    studios = []
    for sid in booking.studio_ids:
        h = health.get(sid)
        a = audio.get(sid)
        studios.append(
            {
                "id": sid,
                "connected": sid in room.sessions,
                "on_program": tally[sid],
                "feed_lost": h.feed_lost if h is not None else False,
                "rtt_ms": h.rtt_ms if h is not None else None,
                "loss_pct": h.loss_pct if h is not None else None,
                "level_dbfs": a.level_dbfs if a is not None else None,
                "talkback": room.control.talking_to(sid),
            }
        )
    program = room.program_state
    return web.json_response(
        {
            "program": (
                {"layout": program.layout, "studio": program.studio, "recording": program.recording}
                if program is not None
                else None
            ),
            "studios": studios,
            "producers": sorted(room.control.names.values()),
        }
    )
