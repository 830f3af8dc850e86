"""A booking's cues, chat and studio calls over the API (the consoles use their join links:
web/live/direction/console_direction.py).

Producers and admins cue any studio of the booking and read every message; an operator reads
the cues to its own studio, acknowledges them, and reads and writes the messages meant for it.
Nothing here touches the live room: cues and messages are stored, and the consoles and the
control room read them from there, also after a drop. A studio's call to production is a live
signal kept in memory (schedules/direction/calls.py); production sees and answers it here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schedules.direction.calls import Call
from schedules.direction.record import Cue, Message
from schedules.errors import NotFound
from schedules.model import Booking
from schedules.rules.access import Principal, can_direct, can_see, takes_part
from schedules.timeutil import rfc3339
from web.access.auth import require, require_director
from web.errors import ApiError
from web.http.bookings import BOOKING_ID, actor_of, read_json, visible_booking
from web.outage.audit_outbox import AuditLine
from web.services import CALLS, DIRECTION, OUTAGE

routes = web.RouteTableDef()
CUE_ID = r"{cue_id:[0-9]{1,12}}"
STUDIO_ID = r"{studio_id:[a-z0-9-]{1,63}}"  # as a join link names it (joinlinks.LINK_IDS)
MAX_AFTER = 2**62  # ids are database integers; anything larger is a wrong value


def cue_doc(cue: Cue) -> dict[str, Any]:
    """A cue as JSON."""
    return {
        "id": cue.id,
        "studio": cue.studio_id,
        "cue": cue.kind.value,
        "text": cue.text,
        "sent_by": cue.sent_by,
        "sent_at": rfc3339(cue.sent_at) if cue.sent_at else None,
        "acknowledged_at": rfc3339(cue.acknowledged_at) if cue.acknowledged_at else None,
        "acknowledged_by": cue.acknowledged_by,
    }


def message_doc(message: Message) -> dict[str, Any]:
    """A message as JSON; `from` is a studio id, or null for production."""
    return {
        "id": message.id,
        "author": message.author,
        "from": message.from_studio,
        "to": message.to_studio,
        "text": message.text,
        "sent_at": rfc3339(message.sent_at) if message.sent_at else None,
    }


def call_doc(call: Call) -> dict[str, Any]:
    """A studio's open call as JSON: since its first press, until it ends unanswered."""
    return {"since": rfc3339(call.since), "expires_at": rfc3339(call.expires_at)}


def after_of(request: web.Request) -> int:
    """The `after` query value: the last message id the reader has (0: from the start)."""
    raw = request.query.get("after", "0")
    if not raw.isdigit() or int(raw) > MAX_AFTER:
        raise ApiError(
            400, "invalid", "after must be a message id", {"after": "must be a whole number"}
        )
    return int(raw)


def _crew(p: Principal, booking: Booking) -> Principal:
    if not takes_part(p, booking):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not do this")
    return p


@routes.post(f"/api/bookings/{BOOKING_ID}/cues")
async def send_cue(request: web.Request) -> web.Response:
    """`{"studio", "cue", "text"?}`: cue one studio of the booking (201)."""
    p = require_director(require(request))
    booking = await visible_booking(request, p)
    cue = await request.app[DIRECTION].send_cue(booking.id, await read_json(request), actor_of(p))
    return web.json_response({"cue": cue_doc(cue)}, status=201)


@routes.get(f"/api/bookings/{BOOKING_ID}/cues")
async def list_cues(request: web.Request) -> web.Response:
    """The booking's cues, oldest first: all of them for production, an operator's own.
    `latest=true`: only the newest cue to each studio (what the control room polls for the
    acknowledgements)."""
    p = require(request)
    booking = await visible_booking(request, p)
    _crew(p, booking)
    latest = request.query.get("latest", "false")
    if latest not in ("true", "false"):
        raise ApiError(
            400, "invalid", "latest must be true or false", {"latest": "must be true or false"}
        )
    studio = None if can_direct(p) else p.studio_id
    direction = request.app[DIRECTION]
    if latest == "true":
        cues = [c for c in await direction.latest_cues(booking.id) if studio in (None, c.studio_id)]
    else:
        cues = await direction.cues(booking.id, studio)
    return web.json_response({"cues": [cue_doc(c) for c in cues]})


@routes.post(f"/api/bookings/{BOOKING_ID}/cues/{CUE_ID}/ack")
async def acknowledge_cue(request: web.Request) -> web.Response:
    """The operator of the cued studio has seen it (the first acknowledgement is kept)."""
    p = require(request)
    booking = await visible_booking(request, p)
    if p.studio_id is None or can_direct(p):
        raise ApiError(403, "forbidden", "Only the cued studio's operator acknowledges a cue")
    cue = await request.app[DIRECTION].acknowledge(
        booking.id, int(request.match_info["cue_id"]), p.studio_id, actor_of(p)
    )
    return web.json_response({"cue": cue_doc(cue)})


@routes.get(f"/api/bookings/{BOOKING_ID}/messages")
async def list_messages(request: web.Request) -> web.Response:
    """The messages after id `after` that the caller may read, oldest first (200 at most:
    ask again with the last id for more)."""
    p = require(request)
    booking = await visible_booking(request, p)
    _crew(p, booking)
    reader = None if can_direct(p) else p.studio_id
    messages = await request.app[DIRECTION].messages(
        booking.id, after=after_of(request), reader_studio=reader
    )
    return web.json_response({"messages": [message_doc(m) for m in messages]})


@routes.post(f"/api/bookings/{BOOKING_ID}/messages")
async def post_message(request: web.Request) -> web.Response:
    """`{"text", "to"?}`: from production, to everyone or privately to one studio; from an
    operator, to everyone or (`to` its own studio) privately to production (201)."""
    p = require(request)
    booking = await visible_booking(request, p)
    _crew(p, booking)
    from_studio = None if can_direct(p) else p.studio_id
    message = await request.app[DIRECTION].post_message(
        booking.id, await read_json(request), actor_of(p), from_studio
    )
    return web.json_response({"message": message_doc(message)}, status=201)


async def _directed_booking(request: web.Request) -> tuple[Principal, Booking]:
    """The producer and the booking of a call route. Calls are live: like the producer's live
    controls they go on through a database outage, with the booking as read last."""
    p = require_director(require(request))
    booking, _stored = await request.app[OUTAGE].booking_now(request.match_info["booking_id"])
    if not can_see(p, booking):
        raise NotFound("booking", booking.id)
    return p, booking


@routes.get(f"/api/bookings/{BOOKING_ID}/calls")
async def list_calls(request: web.Request) -> web.Response:
    """The studios calling production now, the longest-waiting first."""
    _p, booking = await _directed_booking(request)
    calls = request.app[CALLS].of_booking(booking.id)
    return web.json_response({"calls": [{"studio": c.studio_id, **call_doc(c)} for c in calls]})


@routes.post(f"/api/bookings/{BOOKING_ID}/calls/{STUDIO_ID}/answer")
async def answer_call(request: web.Request) -> web.Response:
    """Production answers a studio's call: its console's button returns to normal. Answering
    a call that another producer answered, or that ran out, is no error (`answered` false)."""
    p, booking = await _directed_booking(request)
    studio_id = request.match_info["studio_id"]
    if studio_id not in booking.studio_ids:
        raise NotFound("studio", studio_id)
    call = request.app[CALLS].answer(booking.id, studio_id)
    if call is not None:
        await request.app[OUTAGE].log(
            AuditLine(booking.id, actor_of(p), "answered a call", {"studio": studio_id})
        )
    return web.json_response({"answered": call is not None})


async def direction_history(
    request: web.Request, p: Principal, booking: Booking
) -> tuple[list[Cue], list[Message]] | None:
    """The cues and messages the booking page's audit log shows `p`, by the API's rules:
    production everything, an operator its own studio's cues and the messages meant for it,
    anyone else (viewers) nothing (None)."""
    if not takes_part(p, booking):
        return None
    reader = None if can_direct(p) else p.studio_id
    return await request.app[DIRECTION].history(booking.id, reader)
