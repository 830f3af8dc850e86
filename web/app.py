"""The composition root: builds the storage, services and aiohttp app from the settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bridge.program.layout import LAYOUTS
from schedules.accounts import Accounts
from schedules.archive import Archive, recording_directory
from schedules.cluster.registry import NodeRegistry
from schedules.db import make_engine
from schedules.direction.calls import CallBoard
from schedules.direction.service import DirectionService
from schedules.graphics.service import GraphicsService
from schedules.outage import database_down, describe
from schedules.outputs.service import OutputService
from schedules.service import BookingService, Clock
from schedules.timeutil import utc_now
from web.access.auth import identity_middleware
from web.access.ratelimit import FailureLimiter
from web.access.security import Signer, load_secret, set_password_cost
from web.cluster.forward import client_session, to_room_owner
from web.cluster.node import ClusterNode
from web.cluster.peers import PeerRooms
from web.data_dir import private_dir, private_sqlite
from web.errors import Handler, error_middleware
from web.http import bookings as bookings_api
from web.http import direction as direction_api
from web.http import graphics as graphics_api
from web.http import outputs as outputs_api
from web.http import recordings as recordings_api
from web.http.graphics_on_air import GraphicsOnAir
from web.live import master_control, signaling, whip
from web.live.autopilot import LiveRooms, ice_servers
from web.live.direction import console_direction, control_room
from web.live.direction import production as production_controls
from web.live.monitor import MonitorHub
from web.live.node_view import ClusterNodes
from web.live.outputs import OutputControl
from web.live.recordings.control import RecordingControl
from web.live.recordings.left_behind import LeftBehind
from web.live.settled_audit import SettledAudit
from web.openapi import route as openapi_api
from web.outage.audit_outbox import AuditOutbox
from web.outage.database_watch import DatabaseWatch
from web.outage.fallback import OutageFallback
from web.pages import archive as archive_pages
from web.pages import bookings as booking_pages
from web.pages import calendar as calendar_page
from web.pages import control_room as control_room_page
from web.pages import join as join_page
from web.pages import monitor as monitor_page
from web.pages import site as site_pages
from web.pages import watch as watch_pages
from web.pages.i18n import Catalogs
from web.pages.templating import make_environment, render_error
from web.pages.watch_cache import WatchCache
from web.services import (
    ACCOUNTS,
    ARCHIVE,
    BOOKINGS,
    CALLS,
    CATALOGS,
    CLOCK,
    CLUSTER,
    CLUSTER_CLIENT,
    DIRECTION,
    ENGINE,
    GESTURES,
    GRAPHICS,
    GRAPHICS_ON_AIR,
    LEFT_BEHIND,
    LIMITER,
    LIVE,
    MONITOR,
    OUTAGE,
    OUTPUT_CONTROL,
    OUTPUTS,
    RECORDINGS,
    SETTINGS,
    SIGNER,
    TEMPLATES,
    WATCH_CACHE,
)
from web.settings import Settings
from web.storage import STORE, UPLOADS
from web.storage.config import store_from_settings
from web.storage.earlier_parts import EarlierParts
from web.storage.uploads import Uploader

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("telebridge.web")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers that keep pages from being framed, sniffed or fed foreign scripts.

    A page that sets its own Content-Security-Policy (the embeddable player, framed by the
    partners' sites its frame-ancestors names) keeps it, and gets no X-Frame-Options, which
    would forbid every frame whatever the policy allows."""
    response = await handler(request)
    store = request.app.get(STORE)
    # The archive's player follows redirects to the object store's presigned links.
    stored = f" {store.public_origin}" if store is not None else ""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type in ("text/html", "application/json"):
        # Every page and API answer is one caller's (behind a login or a token), and many carry
        # secrets: join and viewing links, calendar feed links, TURN credentials. Nothing may
        # keep them (a shared computer's disk cache, a proxy) unless the handler says it may,
        # as the broadcasts' playlists and status do.
        response.headers.setdefault("Cache-Control", "no-store")
    if response.content_type == "text/html" and "Content-Security-Policy" not in response.headers:
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            # Inline style attributes place calendar blocks; scripts stay same-origin only.
            f"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{stored}; "
            f"media-src 'self' blob:{stored}; connect-src 'self'; frame-ancestors 'none'; "
            "form-action 'self'",
        )
    return response


def install_services(app: web.Application, settings: Settings, clock: Clock = utc_now) -> None:
    """Build the services into `app`, each under its key (web.services); the database is opened
    (and migrated) by `make_app`."""
    # Owner-only before anything is written there: keys, database, recordings (web.data_dir).
    private_dir(settings.data_dir)
    set_password_cost(settings.password_cost)
    private_sqlite(settings.database)
    engine = make_engine(settings.database)
    bookings = BookingService(engine, clock, layouts=LAYOUTS)
    archive = Archive(engine, settings.cluster_node_id if settings.node_url else None)
    recordings = RecordingControl(archive, settings.data_dir / "recordings")
    outputs = OutputService(engine, clock, bookings.write_lock)
    output_control = OutputControl(outputs, settings.data_dir)
    for media_root in (recordings.root, output_control.live_root):
        private_dir(media_root)
    database = DatabaseWatch(engine, settings.database)
    audit = AuditOutbox(bookings, clock=clock)
    outage = OutageFallback(bookings, database, audit, clock)
    live = LiveRooms(
        bookings,
        outage,
        settings.join_grace_minutes,
        clock,
        ice_servers(settings),
        recordings=recordings,
        outputs=output_control,
    )
    bookings.on_edit(live.follow)  # an open room follows an edit of its studios at once
    cluster = None
    if settings.node_url:  # one of several nodes on this database (web/cluster/)
        cluster = ClusterNode(
            NodeRegistry(
                engine, settings.cluster_node_id, settings.node_url, settings.node_capacity
            )
        )
        live.cluster = cluster
    app[CLUSTER] = cluster
    app[LEFT_BEHIND] = None
    store = store_from_settings(settings)  # None: recordings stay on this disk
    app[STORE] = store
    app[UPLOADS] = None
    if store is not None:
        # A show taken over from a dead node joins the earlier part's segments from the store.
        recordings.earlier = EarlierParts(store, recordings.root)
        if cluster is not None:  # what a dead node left unfinished is finished from there
            app[LEFT_BEHIND] = LeftBehind(cluster, recordings, bookings, clock)
        app[UPLOADS] = Uploader(
            store,
            archive,
            recordings.root,
            lambda: {recording_directory(b, r) for b, r in recordings.active.items()},
        )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[ENGINE] = engine
    app[BOOKINGS] = bookings
    app[ACCOUNTS] = Accounts(engine)
    app[ARCHIVE] = archive
    app[SIGNER] = Signer(load_secret(settings.secret, settings.data_dir))
    app[LIMITER] = FailureLimiter(settings.login_attempts, settings.login_window_seconds)
    app[TEMPLATES] = make_environment()
    app[CATALOGS] = Catalogs()
    app[LIVE] = live
    app[RECORDINGS] = recordings
    app[MONITOR] = MonitorHub(live, bookings, recordings, clock, lambda: outage.up)
    app[GESTURES] = SettledAudit(audit, clock=clock)
    app[OUTAGE] = outage
    app[OUTPUTS] = outputs
    app[DIRECTION] = DirectionService(engine, clock, bookings.write_lock)
    graphics = GraphicsService(engine, clock, bookings.write_lock)
    app[GRAPHICS] = graphics
    app[GRAPHICS_ON_AIR] = GraphicsOnAir(graphics, lambda: outage.up)
    live.openers.append(app[GRAPHICS_ON_AIR].opened)  # a room opens with its graphics on
    app[CALLS] = CallBoard(clock)
    app[OUTPUT_CONTROL] = output_control
    app[WATCH_CACHE] = WatchCache()


async def make_app(
    settings: Settings, clock: Clock = utc_now, autopilot: bool = True
) -> web.Application:
    """The whole web app, ready to serve (the autopilot runs while it serves)."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        # whip.cors sits outside the error middleware, so that a page reads WHIP errors too.
        middlewares=[
            security_headers,
            whip.cors,
            error_middleware(render_error),
            # Before the login is read: the node that owns a room reads it (web/cluster/).
            to_room_owner,
            identity_middleware,
        ],
    )
    install_services(app, settings, clock)
    live, recordings, monitor = app[LIVE], app[RECORDINGS], app[MONITOR]
    database, audit = app[OUTAGE].watch, app[OUTAGE].audit
    # Migrate now when the database answers; when it does not, serve anyway (503 for what
    # needs it) and let the watch migrate it later.
    await database.open()
    for module in (
        bookings_api,
        outputs_api,
        direction_api,
        graphics_api,
        production_controls,
        control_room,
        recordings_api,
        master_control,
        openapi_api,
        signaling,
        whip,
        console_direction,
        site_pages,
        booking_pages,
        control_room_page,
        calendar_page,
        join_page,
        monitor_page,
        archive_pages,
        watch_pages,
    ):
        app.add_routes(module.routes)
    app.router.add_static("/static/", STATIC_DIR, append_version=True)

    async def when_database_ready() -> None:
        cluster = app[CLUSTER]
        # Recordings a crash left unfinished and whose show is over are finalized first.
        try:
            await recordings.recovery.recover(
                app[BOOKINGS], clock(), cluster.runs_elsewhere if cluster is not None else None
            )
        except Exception as exc:
            if not database_down(exc):
                raise
            log.warning("unfinished recordings not recovered now: %s", describe(exc))
        uploads = app[UPLOADS]
        if uploads is not None:  # after recovery: a part another node went on with is
            uploads.start()  # moved to an entry of its own before any of it goes up
        if cluster is not None:  # registered before the autopilot places a room
            await cluster.start()
        left_behind = app[LEFT_BEHIND]
        if left_behind is not None:
            left_behind.start()
        if autopilot:
            live.start()

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        app[CLUSTER_CLIENT] = client_session()
        peers, cluster = None, app[CLUSTER]
        if cluster is not None:  # master control shows the other nodes' rooms too
            peers = PeerRooms(cluster, app[SIGNER], app[CLUSTER_CLIENT])
            monitor.elsewhere = lambda: (peers.rooms, peers.alerts)
            monitor.node_id, monitor.node_clock = cluster.node_id, cluster.clock
            monitor.cluster_nodes = lambda: ClusterNodes(peers.nodes, peers.nodes_read_at)
            peers.start()
        if database.migrated:
            await when_database_ready()
        audit.start()
        database.start(when_database_ready)
        monitor.start()
        uploads = app[UPLOADS]
        if uploads is not None and cluster is None:  # alone: segments go up even while the
            uploads.start()  # database is still down (in a cluster, after recovery)
        yield
        await app[GESTURES].flush()
        await database.stop()
        if peers is not None:
            await peers.stop()
        await monitor.stop()
        left_behind = app[LEFT_BEHIND]
        if left_behind is not None:
            await left_behind.stop()
        await live.stop()
        await recordings.close()  # after the rooms: what waits for the store, recovery does
        cluster = app[CLUSTER]
        if cluster is not None:  # after the rooms: they are free to move at once
            await cluster.stop()
        await app[CLUSTER_CLIENT].close()
        if uploads is not None:  # after the rooms: their last segments are on disk
            await uploads.stop()
        await audit.stop()  # after the rooms: their last leaves are logged too
        await app[ENGINE].dispose()

    app.cleanup_ctx.append(lifecycle)
    return app
