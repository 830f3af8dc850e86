"""Master control's data: one sampler reads every open room once a second and pushes it out.

The sampler is the only reader of the rooms' health windows; `/api/live`, `/metrics` and every
`/ws/monitor` client get the same snapshot from it. Each WebSocket client has a small bounded
queue of ready-made messages: a slow client loses old snapshots (each one is complete), never
holds the sampler or the other clients back. Thumbnails are made here every few seconds (off
the loop) and served from memory, however many screens show them.

A room's live outputs are shown by what its booking stored (as the output policy keeps it for
the open room, web.live.outputs) joined with the bridge's figures; here, and only here, the
stored output with its stream key and passphrase is turned into a view without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bridge.room import Room
from bridge.spec import OutputFigures, OutputKind, OutputState, StudioSpec
from schedules.model import Booking, BookingStatus
from schedules.outputs.record import Output, masked_target, scrubbed
from schedules.rules.timeline import Phase, phase
from schedules.service import BookingService, Clock
from schedules.timeutil import utc_now
from web.http.outputs import hls_path
from web.live.alerts import AlertBook
from web.live.autopilot import LiveRooms
from web.live.live_json import JsonObject, moment_json, room_json
from web.live.node_view import ClusterNodes, NodeView, node_json, node_views, nodes_down
from web.live.recordings.control import RecordingControl
from web.live.room_view import OutputView, RoomView, summarize
from web.tasks import cancel_and_wait

log = logging.getLogger("telebridge.web.monitor")

SAMPLE_SECONDS = 1.0
THUMBNAIL_SECONDS = 3.0
# A thumbnail waits behind the program's frames on its thread; never longer than this.
THUMBNAIL_TIMEOUT_S = 2.0
UPCOMING_HOURS = 1
UPCOMING_REFRESH_SECONDS = 10.0
LAG_WARNING_S = 1.0  # a loop lag the log names (the metrics carry every one)
HISTORY_POINTS = 300  # five minutes of one-second samples, for the sparklines
CLIENT_QUEUE = 8  # messages a slow client may lag behind before losing the oldest
LAG_PROBE_SECONDS = 0.1


@dataclass(eq=False)  # clients are kept in a set, by identity
class MonitorClient:
    """One connected monitor screen: its outgoing messages."""

    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE))
    dropped: int = 0

    def offer(self, message: str) -> None:
        """Queue a message; a full queue loses its oldest (the next snapshot is complete)."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(message)


@dataclass
class LoopLag:
    """How late the event loop wakes up: the worst lag of the last window, and a total."""

    worst_s: float = 0.0
    window_worst_s: float = 0.0
    samples: int = 0

    def roll(self) -> float:
        """The worst lag since the last roll."""
        worst, self.window_worst_s = self.window_worst_s, 0.0
        return worst


class MonitorHub:
    """Samples the live rooms, keeps history and alerts, and fans snapshots out."""

    def __init__(
        self,
        live: LiveRooms,
        bookings: BookingService,
        recordings: RecordingControl | None,
        clock: Clock,
        database_up: Callable[[], bool] = lambda: True,
    ) -> None:
        self.live = live
        # While the database is down the sampler asks it nothing (a blackholed server would
        # hold every sample for the connect timeout) and judges rooms by what it last read.
        self.database_up = database_up
        self._booking_seen: dict[str, Booking] = {}
        self.bookings = bookings
        self.recordings = recordings
        self.clock = clock
        self.clients: set[MonitorClient] = set()
        self.alerts = AlertBook()
        self.rooms: list[RoomView] = []  # the latest snapshot
        # In a cluster: the other nodes' open rooms and active alerts as they last said them
        # (web/cluster/peers.py), shown beside this node's own.
        self.elsewhere: Callable[[], tuple[list[JsonObject], list[JsonObject]]] | None = None
        self._remote_rooms: list[JsonObject] = []
        self._remote_alerts: list[JsonObject] = []
        # In a cluster: this node's id, and the registry's nodes as last read (the wall
        # clock judges their heartbeats, never the app's clock, which tests move).
        self.node_id: str | None = None
        self.cluster_nodes: Callable[[], ClusterNodes] | None = None
        self.node_clock: Callable[[], datetime] = utc_now
        self.nodes: list[NodeView] = []
        self.history: dict[str, deque[tuple[float, float | None, float | None]]] = {}
        self.thumbnails: dict[tuple[str, str], tuple[int, bytes]] = {}
        self.lag = LoopLag()
        self.loop_lag_s = 0.0  # the worst lag of the last sampled second
        self.sampled_at: datetime | None = None
        self._upcoming: list[Booking] = []
        self._upcoming_at = -1e9
        self._thumbs_at = -1e9
        self._thumb_version = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Run the sampler and the loop-lag probe."""
        if not self._tasks:
            self._tasks = [
                asyncio.ensure_future(self._sample_forever()),
                asyncio.ensure_future(self._probe_lag()),
            ]

    async def stop(self) -> None:
        """Stop sampling; connected clients are told to go."""
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []

    # --- sampling ------------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.sample()
            except Exception:  # the monitor must outlive any one bad sample
                log.exception("monitor sample failed")
            await asyncio.sleep(max(0.05, SAMPLE_SECONDS - (time.monotonic() - started)))

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            lag = max(0.0, loop.time() - before - LAG_PROBE_SECONDS)
            self.lag.window_worst_s = max(self.lag.window_worst_s, lag)
            self.lag.worst_s = max(self.lag.worst_s, lag)
            self.lag.samples += 1
            if lag >= LAG_WARNING_S:  # every request and every room waited this long
                log.warning("the event loop was blocked for %.1f s", lag)

    async def sample(self) -> None:
        """Read every open room (and the bookings starting within the hour); push it out."""
        now, mono = self.clock(), time.monotonic()
        rooms: list[RoomView] = []
        for booking_id, live_room in list(self.live.rooms.items()):
            rooms.append(await self._room_entry(booking_id, live_room, now, mono))
        remote_rooms, remote_alerts = self.elsewhere() if self.elsewhere else ([], [])
        open_ids = {r.booking_id for r in rooms} | {r["booking_id"] for r in remote_rooms}
        rooms += await self._upcoming_entries(now, mono, open_ids)
        self._remote_rooms, self._remote_alerts = remote_rooms, remote_alerts
        if mono - self._thumbs_at >= THUMBNAIL_SECONDS:
            self._thumbs_at = mono
            await self._refresh_thumbnails()
        rooms = [replace(r, thumbnails=self._thumbnail_versions(r.booking_id)) for r in rooms]
        live_ids = {r.booking_id for r in rooms if r.open}
        for booking_id in {key.split("/")[0] for key in self.history} - live_ids:
            self.alerts.forget_room(booking_id)
        self.history = {k: v for k, v in self.history.items() if k.split("/")[0] in live_ids}
        database_up = self.database_up()
        down: list[str] = []
        if self.cluster_nodes is not None and self.node_id is not None:
            cluster, wall = self.cluster_nodes(), self.node_clock()
            self.nodes = node_views(cluster, self.node_id, wall)
            down = nodes_down(cluster, self.node_id, wall) if database_up else []
        changed = self.alerts.update([r for r in rooms if r.open], now, mono, database_up, down)
        self._booking_seen = {k: v for k, v in self._booking_seen.items() if k in live_ids}
        self.rooms, self.sampled_at = rooms, now
        lag = self.loop_lag_s = self.lag.roll()
        message = {
            "type": "snapshot",
            "at": moment_json(now),
            "rooms": self.rooms_json(),
            "alerts": self.alerts_json(),
            "changed": [a.as_json() for a in changed],
            "loop_lag_ms": round(lag * 1000, 1),
            "database": "ok" if database_up else "unavailable",
            "nodes": self.nodes_json(),
        }
        self.broadcast(json.dumps(message))

    async def _room_entry(
        self, booking_id: str, room: Room, now: datetime, mono: float
    ) -> RoomView:
        snapshot = await room.live_snapshot()
        spec = room.spec
        recording = self.recordings is not None and self.recordings.is_recording(booking_id)
        stopped_by_hand = (
            self.recordings is not None and booking_id in self.recordings.stopped_by_hand
        )
        booking = await self._booking(booking_id)
        # By the room's own times: they outlive a database outage.
        shown = phase(
            now, opens_at=spec.opens_at, on_air_at=spec.on_air_at, off_air_at=spec.off_air_at
        )
        should_record = bool(
            booking is not None and booking.record and shown is Phase.ON_AIR and not stopped_by_hand
        )
        for s in snapshot.studios:
            points = self.history.setdefault(f"{booking_id}/{s.id}", deque(maxlen=HISTORY_POINTS))
            kbps = (s.video.kbps if s.video else 0.0) + (s.audio.kbps if s.audio else 0.0)
            points.append((round(mono, 2), round(kbps, 1) if s.connected else None, s.loss_pct))
        return RoomView(
            booking_id=booking_id,
            title=spec.title,
            state=shown.value,
            open=True,
            opens_at=spec.opens_at,
            on_air_at=spec.on_air_at,
            off_air_at=spec.off_air_at,
            recording=recording,
            should_record=should_record,
            recorder=summarize(snapshot.recorders),
            program=snapshot.program,
            on_air=room.program_state,
            muted=tuple(sid for sid, a in room.audio_state().items() if a.muted),
            studios=snapshot.studios,
            outputs=self._outputs(booking_id, snapshot.outputs),
        )

    def _outputs(
        self, booking_id: str, reported: Sequence[OutputFigures]
    ) -> tuple[OutputView, ...]:
        """Each output the booking has, in the order added, with the room's figures: idle while
        the room has not started it, stopped once the producer stopped it (the room may forget
        it then). Secrets stay behind: the target is masked, the last error scrubbed."""
        control = self.live.outputs
        by_id = {f.id: f for f in reported}
        views: list[OutputView] = []
        for output in self._stored_outputs(booking_id):
            figures = by_id.pop(output.id, None)
            if figures is None:
                by_hand = control is not None and (booking_id, output.id) in control.stopped_by_hand
                state = OutputState.STOPPED if by_hand else OutputState.IDLE
                figures = OutputFigures(output.id, OutputKind(output.kind.value), state)
            error = scrubbed(figures.last_error, output)
            target = masked_target(output, hls_path(booking_id))
            views.append(
                OutputView(output.id, output.name, target, replace(figures, last_error=error))
            )
        # One the room still runs that the list lacks (removed while it stopped, or added a
        # moment ago): shown by its id, its error left out (no stored output to scrub it with).
        views += [OutputView(f.id, f.id, "", replace(f, last_error=None)) for f in by_id.values()]
        return tuple(views)

    def _stored_outputs(self, booking_id: str) -> list[Output]:
        """The booking's outputs as the output policy keeps them for the open room (read when
        it opened, kept in step with the producers' edits and through a database outage)."""
        control = self.live.outputs
        return control.known.get(booking_id, []) if control is not None else []

    async def _booking(self, booking_id: str) -> Booking | None:
        # A database hiccup: judge the room by what was read before.
        if self.database_up():
            with contextlib.suppress(Exception):
                self._booking_seen[booking_id] = await self.bookings.get(booking_id)
        return self._booking_seen.get(booking_id)

    async def _upcoming_entries(
        self, now: datetime, mono: float, open_ids: set[str]
    ) -> list[RoomView]:
        """Bookings starting within the hour whose room is not open yet (refreshed now and
        then, not every second: it is a database query)."""
        if mono - self._upcoming_at >= UPCOMING_REFRESH_SECONDS and self.database_up():
            self._upcoming_at = mono
            try:
                found = await self.bookings.search(
                    now,
                    now + timedelta(hours=UPCOMING_HOURS),
                    statuses=[BookingStatus.CONFIRMED, BookingStatus.REQUESTED],
                )
                self._upcoming = [b for b in found if b.starts_at > now]
            except Exception:
                log.exception("could not read the coming bookings")
        names = {}
        if self._upcoming and self.database_up():
            try:
                names = await self.bookings.studios_by_id()
            except Exception:
                names = {}
        return [
            RoomView(
                booking_id=b.id,
                title=b.title,
                state=Phase.UPCOMING.value,
                open=False,
                opens_at=b.busy_from,  # the line check starts: the room opens
                on_air_at=b.starts_at,
                off_air_at=b.ends_at,
                booked=tuple(
                    StudioSpec(
                        sid, f"{names[sid].name} · {names[sid].city}" if sid in names else sid
                    )
                    for sid in b.studio_ids
                ),
            )
            for b in self._upcoming
            if b.id not in open_ids
        ]

    async def _refresh_thumbnails(self) -> None:
        self._thumb_version += 1
        fresh: dict[tuple[str, str], tuple[int, bytes]] = {}
        for booking_id, room in list(self.live.rooms.items()):
            for studio in room.spec.studios:
                try:
                    async with asyncio.timeout(THUMBNAIL_TIMEOUT_S):
                        jpeg = await room.thumbnail(studio.id)
                except TimeoutError:
                    log.warning("thumbnail of %s not made in time", studio.id)
                    jpeg = None
                except Exception:
                    log.exception("thumbnail of %s failed", studio.id)
                    jpeg = None
                if jpeg is not None:
                    fresh[(booking_id, studio.id)] = (self._thumb_version, jpeg)
        self.thumbnails = fresh

    def _thumbnail_versions(self, booking_id: str) -> Mapping[str, int]:
        """The version of each studio's thumbnail in the room (the URL carries it)."""
        return {
            studio: version
            for (booking, studio), (version, _jpeg) in self.thumbnails.items()
            if booking == booking_id
        }

    # --- clients -------------------------------------------------------------------------

    def broadcast(self, message: str) -> None:
        """Queue a message for every connected client."""
        for client in self.clients:
            client.offer(message)

    def rooms_json(self) -> list[JsonObject]:
        """Every room of the latest snapshot: this node's, then the other nodes' open ones
        (in a cluster, each open room names the node that runs it)."""
        here = [room_json(r) for r in self.rooms]
        if self.node_id is not None:
            here = [{**r, "node": self.node_id} if r["open"] else r for r in here]
        return here + self._remote_rooms

    def nodes_json(self) -> list[JsonObject]:
        """The cluster's nodes, this one first (none for a server alone)."""
        return [node_json(n) for n in self.nodes]

    def room_alerts_json(self) -> list[JsonObject]:
        """This node's active alerts about its rooms, for the other nodes' master control
        (the database's and the nodes' each node judges for itself)."""
        return [a.as_json() for a in self.alerts.active.values() if a.booking_id]

    def alerts_json(self) -> list[JsonObject]:
        """The active alerts of this node's rooms and of the other nodes'."""
        return [a.as_json() for a in self.alerts.active.values()] + self._remote_alerts

    def hello(self) -> str:
        """The first message of a new client: the latest snapshot, history and alert list."""
        return json.dumps(
            {
                "type": "hello",
                "at": moment_json(self.sampled_at) if self.sampled_at else None,
                "rooms": self.rooms_json(),
                "alerts": self.alerts_json(),
                "recent_alerts": self.alerts.recent(),
                "history": {k: list(v) for k, v in self.history.items()},
                "sample_seconds": SAMPLE_SECONDS,
                "nodes": self.nodes_json(),
            }
        )
