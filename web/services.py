"""The app's services, one typed key each: a handler takes exactly the ones it uses.

The keys name their types for mypy only (imported under TYPE_CHECKING), so importing this module,
as every route module does, imports no service and none of aiortc or PyAV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import aiohttp
    import jinja2
    from sqlalchemy.ext.asyncio import AsyncEngine

    from schedules.accounts import Accounts
    from schedules.archive import Archive
    from schedules.direction.calls import CallBoard
    from schedules.direction.service import DirectionService
    from schedules.graphics.service import GraphicsService
    from schedules.outputs.service import OutputService
    from schedules.service import BookingService, Clock
    from web.access.ratelimit import FailureLimiter
    from web.access.security import Signer
    from web.cluster.node import ClusterNode
    from web.http.graphics_on_air import GraphicsOnAir
    from web.live.autopilot import LiveRooms
    from web.live.monitor import MonitorHub
    from web.live.outputs import OutputControl
    from web.live.recordings.control import RecordingControl
    from web.live.recordings.left_behind import LeftBehind
    from web.live.settled_audit import SettledAudit
    from web.outage.fallback import OutageFallback
    from web.pages.i18n import Catalogs
    from web.pages.watch_cache import WatchCache
    from web.settings import Settings

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
ENGINE: web.AppKey[AsyncEngine] = web.AppKey("engine")
BOOKINGS: web.AppKey[BookingService] = web.AppKey("bookings")
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
ARCHIVE: web.AppKey[Archive] = web.AppKey("archive")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
LIMITER: web.AppKey[FailureLimiter] = web.AppKey("limiter")
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates")
CATALOGS: web.AppKey[Catalogs] = web.AppKey("catalogs")
LIVE: web.AppKey[LiveRooms] = web.AppKey("live")
RECORDINGS: web.AppKey[RecordingControl] = web.AppKey("recordings")
MONITOR: web.AppKey[MonitorHub] = web.AppKey("monitor")
GESTURES: web.AppKey[SettledAudit] = web.AppKey("gestures")
OUTAGE: web.AppKey[OutageFallback] = web.AppKey("outage")
OUTPUTS: web.AppKey[OutputService] = web.AppKey("outputs")
DIRECTION: web.AppKey[DirectionService] = web.AppKey("direction")
# The studios calling production right now (in this process's memory, like the open rooms).
CALLS: web.AppKey[CallBoard] = web.AppKey("calls")
OUTPUT_CONTROL: web.AppKey[OutputControl] = web.AppKey("output_control")
GRAPHICS: web.AppKey[GraphicsService] = web.AppKey("graphics")
GRAPHICS_ON_AIR: web.AppKey[GraphicsOnAir] = web.AppKey("graphics_on_air")
WATCH_CACHE: web.AppKey[WatchCache] = web.AppKey("watch_cache")
# This node in a cluster, and the client it passes a room's requests on with; None alone.
CLUSTER: web.AppKey[ClusterNode | None] = web.AppKey("cluster")
CLUSTER_CLIENT: web.AppKey[aiohttp.ClientSession] = web.AppKey("cluster_client")
# With object storage: the finisher of recordings dead nodes left unfinished; None otherwise.
LEFT_BEHIND: web.AppKey[LeftBehind | None] = web.AppKey("left_behind")
