"""The producer's cues on a studio console: the latest one rides on the console's state poll,
and the operator acknowledges it with the studio's join link.

Cues live in the database; while it is down the console simply shows none (the show, its
tally and its signalling go on without them).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from schedules.outage import database_down
from web.access.joinlinks import LINK_IDS, token_matches
from web.errors import ApiError
from web.http.direction import cue_doc
from web.services import DIRECTION, SIGNER

log = logging.getLogger("telebridge.live")
routes = web.RouteTableDef()


async def latest_cue(request: web.Request, booking_id: str, studio_id: str) -> Any:
    """The latest cue to the studio as JSON (None: none yet, or the database is down)."""
    try:
        cues = await request.app[DIRECTION].cues(booking_id, studio_id)
    except Exception as exc:
        if not database_down(exc):
            raise
        return None
    return cue_doc(cues[-1]) if cues else None


@routes.post(f"/join/{LINK_IDS}/cues/{{cue_id:[0-9]{{1,12}}}}/ack")
async def acknowledge_from_console(request: web.Request) -> web.Response:
    """The studio's operator has seen the cue (the join link is the credential)."""
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(request.app[SIGNER], request.query.get("token"), booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join link is not valid")
    cue = await request.app[DIRECTION].acknowledge(
        booking_id, int(request.match_info["cue_id"]), studio_id, f"{studio_id} console"
    )
    log.info("cue acknowledged booking=%s studio=%s cue=%s", booking_id, studio_id, cue.id)
    return web.json_response({"cue": cue_doc(cue)})
