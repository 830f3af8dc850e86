"""How studios connect: the console's session offer, and what WHIP ingest (web.live.whip)
shares with it: `room_and_booking` checks the join token and window, `connect` hands the offer
to the room.

Both use the studio's join token as their only credential and work only inside the booking's
join window; the room and the other studios are untouched by anything refused here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bridge.errors import UnknownStudio
from bridge.room import Room
from bridge.session import Joined
from schedules.errors import ValidationError
from schedules.model import Booking
from schedules.outage import database_down
from schedules.rules.timeline import JoinState, join_state, join_window
from schedules.timeutil import rfc3339
from web.access.joinlinks import LINK_IDS, token_matches
from web.access.turn import console_ice_servers
from web.errors import ApiError
from web.http.bookings import read_json
from web.live.direction.console_direction import direction_state
from web.live.live_json import tally_json
from web.live.roster import require_member, require_taking_part, studio_removed
from web.services import CLOCK, LIVE, OUTAGE, SETTINGS, SIGNER

routes = web.RouteTableDef()
IDS = LINK_IDS


async def open_room(request: web.Request, token: str | None) -> Room:
    """The booking's open room, when `token` is this studio's join token right now."""
    room, _booking = await room_and_booking(request, token)
    return room


async def room_and_booking(request: web.Request, token: str | None) -> tuple[Room, Booking | None]:
    """`open_room`, and the booking as stored now (None while the database is down: the join
    window is then checked against the schedule the autopilot read last, or the open room)."""
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(request.app[SIGNER], token, booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join link is not valid")
    try:
        booking, stored = await request.app[OUTAGE].booking_now(booking_id)
    except Exception as exc:
        room = request.app[LIVE].get(booking_id)
        if room is None or not database_down(exc):
            raise
        return room_during_outage(room, studio_id, request.app[CLOCK]()), None
    require_taking_part(booking, studio_id)  # taken out of the booking since
    grace = request.app[SETTINGS].join_grace_minutes
    s = join_state(booking, request.app[CLOCK](), grace)
    if s is JoinState.NOT_YET:
        opens = join_window(booking, grace).valid_from.strftime("%Y-%m-%d %H:%M UTC")
        raise ApiError(403, "not_open_yet", f"This link opens for the line check at {opens}")
    if s is JoinState.CLOSED:
        raise ApiError(403, "link_closed", "This link has closed")
    if s is JoinState.CANCELLED:
        raise ApiError(403, "link_closed", "This telebridge was cancelled or declined")
    # The autopilot opens rooms once a second; a studio that comes in first opens it now.
    return await request.app[LIVE].open(booking), booking if stored else None


def room_during_outage(room: Room, studio_id: str, now: datetime) -> Room:
    """A studio reconnecting while the database is down: the open room itself says who
    belongs and until when (its spec came from the booking), so the show goes on."""
    require_member([s.id for s in room.spec.studios], studio_id)
    if not room.spec.opens_at <= now < room.spec.closes_at:
        raise ApiError(403, "link_closed", "This link has closed")
    return room


async def connect(room: Room, studio_id: str, sdp: str) -> Joined:
    """Hand the offer to the room. A broken offer (400) or a room that closed meanwhile (409)
    is the error middleware's to answer, like every bridge error; a studio the room does not
    have was taken out of the booking while its offer was being answered."""
    try:
        return await room.connect(studio_id, sdp)
    except UnknownStudio:
        raise studio_removed() from None


@routes.post(f"/join/{IDS}/session")
async def console_session(request: web.Request) -> web.Response:
    """The console's offer: `{"sdp", "program"?}` in, `{"sdp", "session", "slots", "program"}`
    out.

    The console offers one receive pair per partner and one more for the program's return
    feed (`program` names its m-lines; null for a room that composes no program). A console
    that put the program away says `"program": false`: its return feed starts paused.
    """
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("sdp"), str):
        raise ApiError(422, "invalid", "sdp: is required", {"sdp": "is required"})
    shown = body.get("program", True)
    if not isinstance(shown, bool):
        raise ValidationError("program: must be true or false", {"program": "must be a boolean"})
    room = await open_room(request, request.query.get("token"))
    studio_id = request.match_info["studio_id"]
    if room.production is not None and room.spec.studio(studio_id) is not None:
        # A console that put the program away joins without it: no picture composed for it.
        room.show_program(studio_id, shown)
    joined = await connect(room, studio_id, body["sdp"])
    slots: list[dict[str, Any]] = [
        {"studio": s.studio_id, "video_mid": s.video_mid, "audio_mid": s.audio_mid}
        for s in joined.slots
    ]
    program = joined.program
    return web.json_response(
        {
            "type": "answer",
            "sdp": joined.answer_sdp,
            "session": joined.session_id,
            "slots": slots,
            "program": (
                {"video_mid": program.video_mid, "audio_mid": program.audio_mid}
                if program is not None
                else None
            ),
        }
    )


@routes.delete(f"/join/{IDS}/session/{{session_id:[0-9a-f]{{16}}}}")
async def console_leave(request: web.Request) -> web.Response:
    """The console's Leave: end this connection at once (the partners see the studio go)."""
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(request.app[SIGNER], request.query.get("token"), booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join link is not valid")
    room = request.app[LIVE].get(booking_id)
    if room is None or not await room.disconnect(studio_id, request.match_info["session_id"]):
        raise ApiError(404, "not_found", "No such session")
    return web.Response(status=204)


@routes.put(f"/join/{IDS}/microphone")
async def console_microphone(request: web.Request) -> web.Response:
    """The console's cough key: `{"off": true}` while the operator holds the studio's
    microphone off, so that the producer's sound desk says why the studio is silent."""
    room, _booking = await room_and_booking(request, request.query.get("token"))
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != {"off"} or not isinstance(body["off"], bool):
        problem = {"off": "must be true or false"}
        raise ValidationError('The body must be {"off": true} or {"off": false}', problem)
    if room.production is None:
        raise ApiError(409, "no_program", "This room composes no program")
    room.set_microphone(request.match_info["studio_id"], body["off"])
    return web.json_response({"off": body["off"]})


@routes.put(f"/join/{IDS}/program")
async def console_program(request: web.Request) -> web.Response:
    """The console shows the program (`{"shown": true}`) or put it away: its return feed is
    then paused, and a room whose consoles all show only their partners composes no picture."""
    room, _booking = await room_and_booking(request, request.query.get("token"))
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != {"shown"} or not isinstance(body["shown"], bool):
        problem = {"shown": "must be true or false"}
        raise ValidationError('The body must be {"shown": true} or {"shown": false}', problem)
    if room.production is None:
        raise ApiError(409, "no_program", "This room composes no program")
    try:
        room.show_program(request.match_info["studio_id"], body["shown"])
    except UnknownStudio:
        raise studio_removed() from None
    return web.json_response({"shown": body["shown"]})


@routes.get(f"/join/{IDS}/state")
async def console_state(request: web.Request) -> web.Response:
    """The console's tally (is the studio in the program, does the room record), and the
    booking's times and the console's ICE servers as they are now: a show extended while on
    air moves the console's countdown, and a reconnect after the old end gets TURN
    credentials that still work."""
    room, booking = await room_and_booking(request, request.query.get("token"))
    studio_id = request.match_info["studio_id"]
    doc = tally_json(room.tally(studio_id))
    doc["talkback"] = room.control.talking_to(studio_id)  # producers talking into its ear now
    sound = room.audio_state().get(studio_id)
    doc["mic_off"] = sound.mic_off if sound is not None else False  # as the desk shows it
    doc["program_shown"] = room.program_shown(studio_id)  # its return feed is sent
    session = request.query.get("session")
    if session:  # false: the room does not know it (it was reopened elsewhere, or dropped it)
        doc["session_in_room"] = room.has_session(studio_id, session)
        # ... or another connection of the studio replaced it (a second console).
        doc["replaced"] = not doc["session_in_room"] and studio_id in room.sessions
    if booking is not None:
        doc["on_air_at"] = rfc3339(booking.starts_at)
        doc["off_air_at"] = rfc3339(booking.ends_at)
        grace = request.app[SETTINGS].join_grace_minutes
        doc["closes_at"] = rfc3339(join_window(booking, grace).valid_until)
        doc["ice_servers"] = console_ice_servers(request.app[SETTINGS], booking, studio_id)
        doc.update(await direction_state(request, booking.id, studio_id))
    return web.json_response(doc)
