"""The archive's pages: search by text, studio and dates; the player with every file."""

from __future__ import annotations

from aiohttp import web

from web.http.recordings import RECORDING_ID, file_doc, search_visible, visible_recording
from web.pages.site import need_login
from web.pages.templating import render

routes = web.RouteTableDef()


@routes.get("/archive")
async def archive_page(request: web.Request) -> web.Response:
    """The archive: search by text, studio and dates."""
    p = need_login(request)
    found, studios = await search_visible(request, p)
    return render(
        request, "archive.html", recordings=found, studios=studios, query=dict(request.query)
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
    )
