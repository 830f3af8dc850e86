"""The producer's live controls: program layout and solo studio, the studios' gain and mute in
the program's sound, recording start and stop."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bridge.program.layout import LAYOUTS, STUDIO_LAYOUTS
from bridge.program.mixer import GAIN_MAX_DB, GAIN_MIN_DB
from bridge.room import Room
from bridge.spec import StudioAudio
from schedules.errors import NotFound, ValidationError
from schedules.model import Booking
from schedules.rules.access import Principal, can_see
from web.access.auth import require, require_director
from web.errors import ApiError
from web.http.bookings import BOOKING_ID, actor_of, read_json
from web.live.live_json import audio_json, program_json
from web.outage.audit_outbox import AuditLine
from web.services import CLOCK, GESTURES, LIVE, OUTAGE, RECORDINGS

routes = web.RouteTableDef()

AUDIO_FIELDS = ("studio", "gain_db", "muted")


async def live_room(request: web.Request) -> tuple[Principal, Booking, Room]:
    """The producer, the booking and its open room (409 when the room is not open)."""
    p = require_director(require(request))
    # The show goes on through a database outage, and so do its controls.
    booking, _stored = await request.app[OUTAGE].booking_now(request.match_info["booking_id"])
    if not can_see(p, booking):
        raise NotFound("booking", booking.id)
    room = request.app[LIVE].get(booking.id)
    if room is None:
        raise ApiError(409, "room_not_open", "The telebridge's room is not open now")
    return p, booking, room


@routes.post(f"/api/bookings/{BOOKING_ID}/program")
async def switch_program(request: web.Request) -> web.Response:
    """`{"layout", "studio"?}`: on air from the next program frame."""
    p, booking, room = await live_room(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object")
    layout, studio = body.get("layout"), body.get("studio")
    errors: dict[str, str] = {}
    if layout not in LAYOUTS:
        errors["layout"] = "must be one of " + ", ".join(LAYOUTS)
    if studio is not None and studio not in booking.studio_ids:
        errors["studio"] = "is not a studio of this telebridge"
    if layout in STUDIO_LAYOUTS and studio is None:
        errors["studio"] = "is required for " + " and ".join(STUDIO_LAYOUTS)
    if errors:
        raise ValidationError("The program switch has problems in: " + ", ".join(errors), errors)
    room.switch_program(str(layout), studio if isinstance(studio, str) else None)
    # On air now; its audit line waits out a database outage.
    await request.app[OUTAGE].log(
        AuditLine(
            booking.id, actor_of(p), "switched the program", {"layout": layout, "studio": studio}
        )
    )
    return web.json_response({"program": {"layout": layout, "studio": studio}})


@routes.get(f"/api/bookings/{BOOKING_ID}/program")
async def program_state(request: web.Request) -> web.Response:
    """What is on air: layout, solo studio, recording, and each studio's gain, mute and level."""
    _p, _booking, room = await live_room(request)
    program = room.program_state
    if program is None:
        raise ApiError(409, "no_program", "This room composes no program")
    return web.json_response({"program": program_json(program, room.audio_state())})


def _audio_change(body: Any, studios: Mapping[str, StudioAudio]) -> tuple[str, float, bool]:
    """The studio, gain and mute a `program/audio` body asks for (422 naming every problem);
    a value the body leaves out stays as it is."""
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object")
    errors: dict[str, str] = {}
    for name in body:
        if name not in AUDIO_FIELDS:
            errors[str(name)] = "unknown field"
    studio, gain, muted = body.get("studio"), body.get("gain_db"), body.get("muted")
    if studio is None:
        errors["studio"] = "is required"
    elif not isinstance(studio, str) or studio not in studios:
        errors["studio"] = "is not a studio of this telebridge"
    if gain is not None and (
        isinstance(gain, bool) or not isinstance(gain, int | float) or not math.isfinite(gain)
    ):
        errors["gain_db"] = "must be a number of decibels"
    # The mixer's range: what lies outside it is refused rather than clamped, so that no
    # other level goes on air than was asked for.
    elif gain is not None and not GAIN_MIN_DB <= gain <= GAIN_MAX_DB:
        errors["gain_db"] = f"must be between {GAIN_MIN_DB:g} and {GAIN_MAX_DB:g} dB"
    if muted is not None and not isinstance(muted, bool):
        errors["muted"] = "must be true or false"
    if gain is None and muted is None and "gain_db" not in errors and "muted" not in errors:
        errors["gain_db"] = errors["muted"] = "give gain_db, muted or both"
    if errors:
        raise ValidationError("The audio change has problems in: " + ", ".join(errors), errors)
    assert isinstance(studio, str)
    now = studios[studio]
    return (
        studio,
        float(gain) if gain is not None else now.gain_db,
        muted if isinstance(muted, bool) else now.muted,
    )


@routes.post(f"/api/bookings/{BOOKING_ID}/program/audio")
async def set_program_audio(request: web.Request) -> web.Response:
    """`{"studio", "gain_db"?, "muted"?}`: in the program's sound from the next block."""
    p, booking, room = await live_room(request)
    body = await read_json(request)
    before = room.audio_state()
    if room.program_state is None:
        raise ApiError(409, "no_program", "This room composes no program")
    studio, gain_db, muted = _audio_change(body, before)
    room.set_audio(studio, gain_db, muted)
    after = room.audio_state()
    was, now = before[studio], after[studio]
    # A fader sends while it moves: one audit line per gesture, once the fader rests.
    request.app[GESTURES].note(
        (booking.id, studio),
        booking.id,
        actor_of(p),
        "changed the program sound",
        {"studio": studio, "gain_db": was.gain_db, "muted": was.muted},
        {"studio": studio, "gain_db": now.gain_db, "muted": now.muted},
    )
    return web.json_response({"studio": studio, "audio": audio_json(after)})


@routes.post(f"/api/bookings/{BOOKING_ID}/recording/start")
async def start_recording(request: web.Request) -> web.Response:
    """Start recording now (also outside the booked show, e.g. during the line check)."""
    _p, booking, room = await live_room(request)
    request.app[RECORDINGS].stopped_by_hand.discard(booking.id)
    started = await request.app[RECORDINGS].start(booking, room, request.app[CLOCK]())
    return web.json_response({"recording": True, "started": started})


@routes.post(f"/api/bookings/{BOOKING_ID}/recording/stop")
async def stop_recording(request: web.Request) -> web.Response:
    """Stop recording now; the files are finalized and appear in the archive."""
    _p, booking, room = await live_room(request)
    request.app[RECORDINGS].stopped_by_hand.add(booking.id)
    stopped = await request.app[RECORDINGS].stop(booking.id, room, request.app[CLOCK]())
    return web.json_response({"recording": False, "stopped": stopped})
