"""A studio's join link: when it opens, that it closed, or the studio console."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote, urlencode

from aiohttp import web

from schedules.model import (
    QUALITY_PRESETS,
)
from schedules.rules.timeline import JoinState, join_state, join_window
from schedules.timeutil import rfc3339
from web.access.joinlinks import token_matches
from web.access.turn import console_ice_servers
from web.errors import ApiError
from web.live.roster import require_taking_part
from web.pages.templating import render
from web.services import CLOCK, OUTAGE, SETTINGS, SIGNER

routes = web.RouteTableDef()


@routes.get(r"/join/{booking_id}/{studio_id}")
async def join_page(request: web.Request) -> web.Response:
    """A studio's join link: says when it opens or that it closed; opens the console inside."""
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(request.app[SIGNER], request.query.get("token"), booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join link is not valid")
    # While the database is down a studio (re)loading its link still gets its console.
    booking, _stored = await request.app[OUTAGE].booking_now(booking_id)
    require_taking_part(booking, studio_id)  # taken out of the booking since: says so
    studios = await request.app[OUTAGE].studios_now(booking.studio_ids)
    if studio_id not in studios:
        raise ApiError(403, "invalid_link", "This join link is not valid")
    now = request.app[CLOCK]()
    s = join_state(booking, now, request.app[SETTINGS].join_grace_minutes)
    status = {JoinState.OPEN: 200, JoinState.NOT_YET: 200}.get(s, 410)
    w = join_window(booking, request.app[SETTINGS].join_grace_minutes)
    token = request.query.get("token", "")
    ids = f"{quote(booking.id)}/{quote(studio_id)}"
    console = {
        "booking": booking.id,
        "studio": studio_id,
        "title": booking.title,
        "session_url": f"/join/{ids}/session?{urlencode({'token': token})}",
        "state_url": f"/join/{ids}/state?{urlencode({'token': token})}",
        "leave_url": f"/join/{ids}/session/{{session}}?{urlencode({'token': token})}",
        "cue_ack_url": f"/join/{ids}/cues/{{cue}}/ack?{urlencode({'token': token})}",
        "messages_url": f"/join/{ids}/messages?{urlencode({'token': token})}",
        "call_url": f"/join/{ids}/call?{urlencode({'token': token})}",
        "microphone_url": f"/join/{ids}/microphone?{urlencode({'token': token})}",
        "program_url": f"/join/{ids}/program?{urlencode({'token': token})}",
        "on_air_at": rfc3339(booking.starts_at),
        "off_air_at": rfc3339(booking.ends_at),
        "closes_at": rfc3339(w.valid_until),
        # Fresh TURN credentials of this booking's studio, for a holder of its valid token
        # only, and only while the link can still open.
        "ice_servers": (
            console_ice_servers(request.app[SETTINGS], booking, studio_id)
            if s in (JoinState.OPEN, JoinState.NOT_YET)
            else []
        ),
        # `?relay=1`: a diagnostic for operators: the console uses TURN relays only, which
        # proves before a show that the TURN path through the studio's firewall works.
        "ice_transport_policy": "relay" if request.query.get("relay") == "1" else "all",
        "quality": dataclasses.asdict(QUALITY_PRESETS[booking.quality]),
        "program": True,  # every room the server opens composes a program (web.live.autopilot)
        "partners": [
            {
                "id": sid,
                "name": studios[sid].name,
                "city": studios[sid].city,
                "timezone": studios[sid].timezone,
            }
            for sid in booking.taking_part
            if sid != studio_id and sid in studios
        ],
        "self": {
            "id": studio_id,
            "name": studios[studio_id].name,
            "city": studios[studio_id].city,
            "timezone": studios[studio_id].timezone,
        },
    }
    return render(
        request,
        "join.html",
        status=status,
        booking=booking,
        studio=studios[studio_id],
        studios=studios,
        state=s.value,
        window=w,
        now=now,
        console=console,
    )
