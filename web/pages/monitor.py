"""The master-control page: every live telebridge on one screen (its data comes over
/ws/monitor, see web.http.monitor)."""

from __future__ import annotations

from aiohttp import web

from schedules.model import Role
from web.http.errors import ApiError
from web.pages.site import need_login
from web.pages.templating import render

routes = web.RouteTableDef()


@routes.get("/monitor")
async def monitor_page(request: web.Request) -> web.Response:
    """The monitor wall, for producers and admins."""
    p = need_login(request)
    if p.role not in (Role.ADMIN, Role.PRODUCER):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not do this")
    return render(request, "monitor.html")
