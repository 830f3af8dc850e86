"""The master-control page: every live telebridge on one screen (its data comes over
/ws/monitor, see web.live.master_control)."""

from __future__ import annotations

from aiohttp import web

from bridge.program.layout import LAYOUTS
from web.access.auth import require_director
from web.pages.site import need_login
from web.pages.templating import render

routes = web.RouteTableDef()


@routes.get("/monitor")
async def monitor_page(request: web.Request) -> web.Response:
    """The monitor wall, for producers and admins."""
    p = need_login(request)
    require_director(p)
    return render(request, "monitor.html", layouts=LAYOUTS)
