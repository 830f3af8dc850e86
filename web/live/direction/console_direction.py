"""The producer's direction on a studio console, with the studio's join link as credential:
the latest cue, the newest message id and the studio's call to production ride on the
console's state poll; the operator acknowledges a cue, reads the messages meant for the studio,
writes to everyone or, privately, to production, and calls the producer.

Cues and messages live in the database; while it is down the console simply shows none (the
show, its tally and its signalling go on without them). A call lives in memory and works then
too: it is how an operator in trouble reaches production.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from schedules.outage import database_down
from schedules.rules.timeline import JoinState, join_state, join_window
from web.access.joinlinks import LINK_IDS, token_matches
from web.errors import ApiError
from web.http.bookings import read_json
from web.http.direction import after_of, call_doc, cue_doc, message_doc
from web.live.roster import require_taking_part
from web.outage.audit_outbox import AuditLine
from web.services import CALLS, CLOCK, DIRECTION, OUTAGE, SETTINGS, SIGNER

log = logging.getLogger("telebridge.live")
routes = web.RouteTableDef()


async def direction_state(request: web.Request, booking_id: str, studio_id: str) -> Any:
    """What the state poll adds: the latest cue to the studio as JSON and the newest message id
    it may read (both None while the database is down), and the studio's open call to
    production (None: not calling, or answered, or run out)."""
    call = request.app[CALLS].of_studio(booking_id, studio_id)
    doc: dict[str, Any] = {"call": call_doc(call) if call is not None else None}
    try:
        # The poll has read the booking already (for the join window): none read again here.
        cue, last = await request.app[DIRECTION].console_view(booking_id, studio_id)
    except Exception as exc:
        if not database_down(exc):
            raise
        return {"cue": None, "last_message": None, **doc}
    return {"cue": cue_doc(cue) if cue is not None else None, "last_message": last, **doc}


def _check_link(request: web.Request) -> tuple[str, str]:
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(request.app[SIGNER], request.query.get("token"), booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join link is not valid")
    return booking_id, studio_id


@routes.get(f"/join/{LINK_IDS}/messages")
async def console_messages(request: web.Request) -> web.Response:
    """The messages after id `after` that the studio may read, oldest first."""
    booking_id, studio_id = _check_link(request)
    messages = await request.app[DIRECTION].messages(
        booking_id, after=after_of(request), reader_studio=studio_id
    )
    return web.json_response({"messages": [message_doc(m) for m in messages]})


@routes.post(f"/join/{LINK_IDS}/messages")
async def console_post_message(request: web.Request) -> web.Response:
    """`{"text", "to"?}` from the studio's console: to everyone, or (`to` the studio itself)
    privately to production (201)."""
    booking_id, studio_id = _check_link(request)
    message = await request.app[DIRECTION].post_message(
        booking_id, await read_json(request), f"{studio_id} console", studio_id
    )
    return web.json_response({"message": message_doc(message)}, status=201)


@routes.post(f"/join/{LINK_IDS}/cues/{{cue_id:[0-9]{{1,12}}}}/ack")
async def acknowledge_from_console(request: web.Request) -> web.Response:
    """The studio's operator has seen the cue (the join link is the credential)."""
    booking_id, studio_id = _check_link(request)
    cue = await request.app[DIRECTION].acknowledge(
        booking_id, int(request.match_info["cue_id"]), studio_id, f"{studio_id} console"
    )
    log.info("cue acknowledged booking=%s studio=%s cue=%s", booking_id, studio_id, cue.id)
    return web.json_response({"cue": cue_doc(cue)})


async def _open_link(request: web.Request) -> tuple[str, str]:
    """The booking and studio of a join link that works now: right token, studio still in the
    booking, inside the join window (the refusals the state poll gives; the booking as read
    last while the database is down)."""
    booking_id, studio_id = _check_link(request)
    booking, _stored = await request.app[OUTAGE].booking_now(booking_id)
    require_taking_part(booking, studio_id)
    grace = request.app[SETTINGS].join_grace_minutes
    state = join_state(booking, request.app[CLOCK](), grace)
    if state is JoinState.NOT_YET:
        opens = join_window(booking, grace).valid_from.strftime("%Y-%m-%d %H:%M UTC")
        raise ApiError(403, "not_open_yet", f"This link opens for the line check at {opens}")
    if state is not JoinState.OPEN:
        raise ApiError(403, "link_closed", "This link has closed")
    return booking_id, studio_id


@routes.post(f"/join/{LINK_IDS}/call")
async def call_the_producer(request: web.Request) -> web.Response:
    """The operator calls production ("I need you"): the studio's tile flashes in the control
    room until a producer answers or the call runs out. Pressing again while the call is open
    keeps it (and restarts its time): one call, one audit line."""
    booking_id, studio_id = await _open_link(request)
    call, new = request.app[CALLS].call(booking_id, studio_id)
    if new:
        await request.app[OUTAGE].log(
            AuditLine(
                booking_id, f"{studio_id} console", "called production", {"studio": studio_id}
            )
        )
        log.info("studio calls production booking=%s studio=%s", booking_id, studio_id)
    return web.json_response({"call": call_doc(call)})
