"""A booking's live outputs over the API: list, add, remove, start and stop; its viewing link.

Everyone who may see the booking sees its outputs, with their secrets masked; only producers
and admins change them. Start and stop act on the open room; adding and removing work any
time before the booking is over.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.spec import OutputFigures, OutputState
from schedules.outputs.record import Output, masked_target, scrubbed
from schedules.rules.access import Principal, can_book
from web.access.auth import require
from web.access.joinlinks import viewing_query
from web.errors import ApiError
from web.http.bookings import BOOKING_ID, actor_of, read_json, visible_booking
from web.http.links import base_url
from web.services import LIVE, OUTPUT_CONTROL, OUTPUTS, SIGNER

routes = web.RouteTableDef()
OUTPUT_ID = r"{output_id:[A-Za-z0-9_-]{1,40}}"


def hls_path(booking_id: str) -> str:
    """Where Telebridge serves a booking's HLS playlist."""
    return f"/live/{booking_id}/index.m3u8"


def output_doc(output: Output, figures: OutputFigures | None) -> dict[str, Any]:
    """An output as JSON: where it goes (secrets masked) and its state now."""
    state = figures.state if figures is not None else OutputState.IDLE
    return {
        "id": output.id,
        "kind": output.kind.value,
        "name": output.name,
        "target": masked_target(output, hls_path(output.booking_id)),
        "listener": output.listener,
        "latency_ms": output.latency_ms,
        "state": state.value,
        "bitrate_kbps": figures.bitrate_kbps if figures is not None else None,
        "last_error": scrubbed(figures.last_error, output) if figures is not None else None,
        "retries": figures.retries if figures is not None else 0,
    }


def _require_producer(p: Principal) -> Principal:
    if not can_book(p):
        raise ApiError(
            403, "forbidden", "Only producers and admins manage a telebridge's live outputs"
        )
    return p


async def _outputs_response(request: web.Request, booking_id: str) -> web.Response:
    outputs = await request.app[OUTPUTS].list(booking_id)
    shown = request.app[OUTPUT_CONTROL].figures(booking_id, request.app[LIVE].get(booking_id))
    return web.json_response({"outputs": [output_doc(o, shown.get(o.id)) for o in outputs]})


@routes.get(f"/api/bookings/{BOOKING_ID}/outputs")
async def list_outputs(request: web.Request) -> web.Response:
    """The booking's outputs with their states (secrets masked)."""
    booking = await visible_booking(request, require(request))
    return await _outputs_response(request, booking.id)


@routes.post(f"/api/bookings/{BOOKING_ID}/outputs")
async def add_output(request: web.Request) -> web.Response:
    """Add an output (201); on air already, it starts at once."""
    p = _require_producer(require(request))
    booking = await visible_booking(request, p)
    output = await request.app[OUTPUTS].add(booking.id, await read_json(request), actor_of(p))
    control, room = request.app[OUTPUT_CONTROL], request.app[LIVE].get(booking.id)
    await control.changed(booking.id, None, room)
    shown = control.figures(booking.id, room)
    return web.json_response({"output": output_doc(output, shown.get(output.id))}, status=201)


@routes.delete(f"/api/bookings/{BOOKING_ID}/outputs/{OUTPUT_ID}")
async def remove_output(request: web.Request) -> web.Response:
    """Remove an output; when it is running it stops first."""
    p = _require_producer(require(request))
    booking = await visible_booking(request, p)
    output_id = request.match_info["output_id"]
    room = request.app[LIVE].get(booking.id)
    await request.app[OUTPUTS].get(booking.id, output_id)  # 404 before anything stops
    await request.app[OUTPUT_CONTROL].changed(booking.id, output_id, room)
    await request.app[OUTPUTS].remove(booking.id, output_id, actor_of(p))
    await request.app[OUTPUT_CONTROL].changed(booking.id, None, room)
    return web.Response(status=204)


async def _one(request: web.Request) -> tuple[Principal, Output]:
    p = _require_producer(require(request))
    booking = await visible_booking(request, p)
    return p, await request.app[OUTPUTS].get(booking.id, request.match_info["output_id"])


@routes.post(f"/api/bookings/{BOOKING_ID}/outputs/{OUTPUT_ID}/start")
async def start_output(request: web.Request) -> web.Response:
    """Start an output now (409 when the booking's room is not open)."""
    _p, output = await _one(request)
    room = request.app[LIVE].get(output.booking_id)
    if room is None:
        raise ApiError(409, "room_not_open", "The telebridge's room is not open now")
    await request.app[OUTPUT_CONTROL].start(output.booking_id, output, room)
    return await _one_response(request, output)


@routes.post(f"/api/bookings/{BOOKING_ID}/outputs/{OUTPUT_ID}/stop")
async def stop_output(request: web.Request) -> web.Response:
    """Stop an output now; the autopilot leaves it stopped for the rest of the show."""
    _p, output = await _one(request)
    room = request.app[LIVE].get(output.booking_id)
    await request.app[OUTPUT_CONTROL].stop(output.booking_id, output.id, room)
    return await _one_response(request, output)


async def _one_response(request: web.Request, output: Output) -> web.Response:
    room = request.app[LIVE].get(output.booking_id)
    shown = request.app[OUTPUT_CONTROL].figures(output.booking_id, room)
    return web.json_response({"output": output_doc(output, shown.get(output.id))})


@routes.get(f"/api/bookings/{BOOKING_ID}/watch-link")
async def watch_link(request: web.Request) -> web.Response:
    """The broadcast's viewing page: signed for a private stream, plain for a public one."""
    booking = await visible_booking(request, require(request))
    base = base_url(request)
    suffix = viewing_query(request.app[SIGNER], booking.id, booking.stream)
    return web.json_response(
        {
            "stream": booking.stream,
            "url": f"{base}/watch/{booking.id}{suffix}",
            "embed_url": f"{base}/embed/{booking.id}{suffix}",
            "hls_url": f"{base}{hls_path(booking.id)}{suffix}",
        }
    )
