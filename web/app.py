"""The composition root: builds the storage, services and aiohttp app from the settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from schedules.accounts import Accounts
from schedules.archive import Archive
from schedules.db import make_engine
from schedules.outage import database_down, describe
from schedules.service import BookingService, Clock
from schedules.timeutil import utc_now
from web.access.auth import identity_middleware
from web.access.ratelimit import FailureLimiter
from web.access.security import Signer, load_secret
from web.http import bookings as bookings_api
from web.http import monitor as monitor_api
from web.http import production as production_api
from web.http import recordings as recordings_api
from web.http.errors import Handler, error_middleware
from web.live import signaling
from web.live.autopilot import LiveRooms, ice_servers
from web.live.monitor import MonitorHub
from web.live.recording import RecordingControl
from web.live.settled_audit import SettledAudit
from web.outage.audit_outbox import AuditOutbox
from web.outage.database_watch import DatabaseWatch
from web.outage.remembered_callers import RememberedCallers
from web.pages import archive as archive_pages
from web.pages import bookings as booking_pages
from web.pages import calendar as calendar_page
from web.pages import join as join_page
from web.pages import monitor as monitor_page
from web.pages import site as site_pages
from web.pages.i18n import Catalogs
from web.pages.templating import make_environment, render_error
from web.settings import Settings
from web.state import STATE, AppState

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("telebridge.web")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers that keep pages from being framed, sniffed or fed foreign scripts."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            # Inline style attributes place calendar blocks; scripts stay same-origin only.
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
            "form-action 'self'",
        )
    return response


async def build_state(settings: Settings, clock: Clock = utc_now) -> AppState:
    """Build the services; the database is opened (and migrated) by `make_app`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    bookings = BookingService(engine, clock)
    archive = Archive(engine)
    recordings = RecordingControl(archive, settings.data_dir / "recordings")
    database = DatabaseWatch(engine, settings.database)
    audit = AuditOutbox(bookings)
    live = LiveRooms(
        bookings,
        audit,
        settings.join_grace_minutes,
        clock,
        ice_servers(settings),
        recordings=recordings,
        database_up=lambda: database.up,
    )
    return AppState(
        settings=settings,
        engine=engine,
        bookings=bookings,
        accounts=Accounts(engine),
        signer=Signer(load_secret(settings.secret, settings.data_dir)),
        limiter=FailureLimiter(settings.login_attempts, settings.login_window_seconds),
        templates=make_environment(),
        catalogs=Catalogs(),
        clock=clock,
        live=live,
        archive=archive,
        recordings=recordings,
        monitor=MonitorHub(live, bookings, recordings, clock, lambda: database.up),
        database=database,
        gestures=SettledAudit(audit),
        audit=audit,
        callers=RememberedCallers(),
    )


async def make_app(
    settings: Settings, clock: Clock = utc_now, autopilot: bool = True
) -> web.Application:
    """The whole web app, ready to serve (the autopilot runs while it serves)."""
    st = await build_state(settings, clock)
    # Migrate now when the database answers; when it does not, serve anyway (503 for what
    # needs it) and let the watch migrate it later.
    await st.database.open()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[security_headers, error_middleware(render_error), identity_middleware],
    )
    app[STATE] = st
    for module in (
        bookings_api,
        production_api,
        recordings_api,
        monitor_api,
        signaling,
        site_pages,
        booking_pages,
        calendar_page,
        join_page,
        monitor_page,
        archive_pages,
    ):
        app.add_routes(module.routes)
    app.router.add_static("/static/", STATIC_DIR, append_version=True)

    async def when_database_ready() -> None:
        # Recordings a crash left unfinished and whose show is over are finalized first.
        try:
            await st.recordings.recover(st.bookings, st.clock())
        except Exception as exc:
            if not database_down(exc):
                raise
            log.warning("unfinished recordings not recovered now: %s", describe(exc))
        if autopilot:
            st.live.start()

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        if st.database.migrated:
            await when_database_ready()
        st.audit.start()
        st.database.start(when_database_ready)
        st.monitor.start()
        yield
        await st.gestures.flush()
        await st.database.stop()
        await st.monitor.stop()
        await st.live.stop()
        await st.audit.stop()  # after the rooms: their last leaves are logged too
        await st.engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    return app
