"""The producer's direction on a studio console, with the studio's join link as credential:
the latest cue and the newest message id ride on the console's state poll; the operator
acknowledges a cue, reads the messages meant for the studio and writes to everyone or,
privately, to production.

Cues and messages live in the database; while it is down the console simply shows none (the
show, its tally and its signalling go on without them).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from schedules.outage import database_down
from web.access.joinlinks import LINK_IDS, token_matches
from web.errors import ApiError
from web.http.bookings import read_json
from web.http.direction import after_of, cue_doc, message_doc
from web.services import DIRECTION, SIGNER

log = logging.getLogger("telebridge.live")
routes = web.RouteTableDef()


async def direction_state(request: web.Request, booking_id: str, studio_id: str) -> Any:
    """What the state poll adds: the latest cue to the studio as JSON and the newest message id
    it may read (both None while the database is down)."""
    direction = request.app[DIRECTION]
    try:
        cues = await direction.cues(booking_id, studio_id)
        last = await direction.last_message_id(booking_id, studio_id)
    except Exception as exc:
        if not database_down(exc):
            raise
        return {"cue": None, "last_message": None}
    return {"cue": cue_doc(cues[-1]) if cues else None, "last_message": last}


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
