"""The app's shared parts, built once by the composition root and reached through AppKeys."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules.accounts import Accounts
from schedules.archive import Archive
from schedules.service import BookingService, Clock
from web.access.ratelimit import FailureLimiter
from web.access.security import Signer
from web.live.autopilot import LiveRooms
from web.live.monitor import MonitorHub
from web.live.recording import RecordingControl
from web.live.settled_audit import SettledAudit
from web.outage.audit_outbox import AuditOutbox
from web.outage.database_watch import DatabaseWatch
from web.outage.remembered_callers import RememberedCallers
from web.pages.i18n import Catalogs
from web.settings import Settings


@dataclass
class AppState:
    """Everything a handler needs; one per running app."""

    settings: Settings
    engine: AsyncEngine
    bookings: BookingService
    accounts: Accounts
    signer: Signer
    limiter: FailureLimiter
    templates: jinja2.Environment
    catalogs: Catalogs
    clock: Clock
    live: LiveRooms
    archive: Archive
    recordings: RecordingControl
    monitor: MonitorHub
    database: DatabaseWatch
    gestures: SettledAudit
    audit: AuditOutbox
    callers: RememberedCallers


STATE = web.AppKey("state", AppState)


def state(request: web.Request) -> AppState:
    """The app's shared parts."""
    return request.app[STATE]
