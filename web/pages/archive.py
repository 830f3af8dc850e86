"""The archive's pages: search by text, studio and dates; the player with every file."""

from __future__ import annotations

from aiohttp import web

from schedules.rules.access import can_delete_recording
from web.http.recordings import (
    RECORDING_ID,
    deleted_recording,
    file_doc,
    search_visible,
    visible_recording,
)
from web.pages.site import display_zone, need_login
from web.pages.templating import render

routes = web.RouteTableDef()


@routes.get("/archive")
async def archive_page(request: web.Request) -> web.Response:
    """The archive: search by text, studio and dates."""
    p = need_login(request)
    found, studios = await search_visible(request, p)
    notice: tuple[str, dict[str, str]] | None = None
    if "deleted" in request.query:  # an admin deleted one from its player page
        notice = ("The recording and its files were deleted.", {})
    return render(
        request,
        "archive.html",
        recordings=found,
        studios=studios,
        query=dict(request.query),
        notice=notice,
    )


@routes.get(f"/archive/{RECORDING_ID}")
async def player_page(request: web.Request) -> web.Response:
    """The player: the program, each studio's own feed at the same moment, downloads."""
    p = need_login(request)
    recording, studios = await visible_recording(request, p)
    return render(
        request,
        "player.html",
        recording=recording,
        studios=studios,
        files=[file_doc(recording, f) for f in recording.files],
        can_delete=can_delete_recording(p),
        zone=display_zone(request, p, studios),  # what the dialog's opener keeps
        ask=request.query.get("ask", ""),
    )


@routes.post(f"/archive/{RECORDING_ID}/delete")
async def delete_from_player(request: web.Request) -> web.StreamResponse:
    """An admin deletes the recording from its player page (after the dialog's question)."""
    await deleted_recording(request, need_login(request))
    raise web.HTTPSeeOther("/archive?deleted=1")
