"""The autopilot and the open rooms: bookings become live rooms at line-check start.

`web` is the composition root: it turns a booking into a plain `RoomSpec`, hands it to `bridge`,
and records what the bridge reports. The autopilot opens a room at setup start, puts the booking
on air at its start, and closes the room when the join window ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bridge.room import Room
from bridge.spec import EventKind, IceServer, QualityProfile, RoomEvent, RoomSpec
from schedules.errors import ScheduleError
from schedules.model import QUALITY_PRESETS, Booking, Studio
from schedules.outage import database_down, describe
from schedules.rules import timeline
from schedules.rules.lifecycle import Action
from schedules.rules.timeline import ROOM_STATUSES, join_window, room_due, steps_due
from schedules.service import BookingService, Clock
from web.cluster.node import ClusterNode, NoNodeFree, RoomElsewhere
from web.live.outputs import OutputControl
from web.live.recordings.control import RecordingControl
from web.live.roster import follow_studios, studio_changes, studio_spec
from web.outage.audit_outbox import AuditLine
from web.outage.fallback import OutageFallback
from web.settings import Settings
from web.tasks import Repeating

log = logging.getLogger("telebridge.web.live")
OPENER_TIMEOUT_S = 2.0  # what a room's opening waits for its graphics at most

AUTOPILOT_INTERVAL = 1.0
# The producer's own request is logged with its actor; the bridge's echo of it is not.
NOT_AUDITED = frozenset({EventKind.PROGRAM_SWITCHED, EventKind.AUDIO_CHANGED})
# An output's states that make a line of the audit log (see LiveRooms._record_output).
OUTPUT_AUDIT = {
    "live": "output live",
    "retrying": "output dropped",
    "failed": "output failed",
    "stopped": "output stopped",
}


def ice_servers(settings: Settings) -> tuple[IceServer, ...]:
    """The STUN servers of the server's own peer connections (never the TURN ones).

    The server is the reachable side of every connection: a console behind a firewall that
    needs TURN relays through its own allocation to the server's host candidates, so a relay
    on the server's side would only add a second hop and an allocation per studio. It would
    also cost time: aioice waits for every STUN/TURN server before it answers (5 s for one
    that does not answer), so a TURN server down would hold every studio's
    (re)connection that long. STUN stays: behind a 1:1 NAT (a cloud address) the server
    learns its public address from it. aiortc uses the first STUN URL only; `telebridge
    check` says whether it answers.
    """
    return tuple(IceServer(url) for url in settings.ice_server_urls if url.startswith("stun:"))[:1]


def room_spec(
    booking: Booking,
    studios: dict[str, Studio],
    grace_minutes: int,
    ice_servers: tuple[IceServer, ...] = (),
) -> RoomSpec:
    """The plain description of a booking's room."""
    w = join_window(booking, grace_minutes)
    return RoomSpec(
        booking_id=booking.id,
        title=booking.title,
        # A studio that declined stays booked until the producer decides, but never joins.
        studios=tuple(studio_spec(sid, studios) for sid in booking.taking_part),
        opens_at=w.valid_from,
        on_air_at=booking.starts_at,
        off_air_at=booking.ends_at,
        closes_at=w.valid_until,
        quality=QualityProfile(**dataclasses.asdict(QUALITY_PRESETS[booking.quality])),
        ice_servers=ice_servers,
        program=True,
        layout=booking.layout,
    )


class LiveRooms:
    """The rooms that are open now, kept in step with the bookings by the autopilot."""

    def __init__(
        self,
        bookings: BookingService,
        outage: OutageFallback,
        grace_minutes: int,
        clock: Clock,
        ice_servers: tuple[IceServer, ...] = (),
        recordings: RecordingControl | None = None,
        outputs: OutputControl | None = None,
    ) -> None:
        self.bookings = bookings
        # The database's state, and what the autopilot goes by while it is down.
        self.outage = outage
        self.grace_minutes = grace_minutes
        self.clock = clock
        self.ice_servers = ice_servers
        self.recordings = recordings
        self.outputs = outputs
        self.rooms: dict[str, Room] = {}
        # While the database is down open rooms go on as they are (its watch logs the outage).
        self._ticks = Repeating(self.tick, AUTOPILOT_INTERVAL, "the autopilot's tick", log)
        self._lock = asyncio.Lock()
        # One tick at a time (the loop's and any other caller's): a tick that read the clock
        # before a slower one finished would act on a moment already past, and put back on air
        # what the later one took off (an output restarted after the show's end).
        self._ticking = asyncio.Lock()
        # Bookings whose status (live, completed) waits for the database to be written.
        self._owed: set[str] = set()
        self._output_states: dict[tuple[str, str], str] = {}  # the last one in the audit log
        # Per open room, the booking's sequence its studios were last brought in step with:
        # a tick that read the booking just before an edit must not undo what the edit did.
        self._sequences: dict[str, int] = {}
        # Told of each room as it opens (its graphics go on it); each one must not raise.
        self.openers: list[Callable[[Booking, Room], Awaitable[None]]] = []
        # This node of a cluster (None: a server alone, every due room is its own).
        self.cluster: ClusterNode | None = None
        self._unplaced: set[str] = set()  # rooms no node could take (said once each)

    def _record(self, event: RoomEvent) -> None:
        """Joins, leaves and lost feeds go into the booking's audit log, off the media path
        (and through a database outage)."""
        if event.kind in NOT_AUDITED:
            return
        if event.kind is EventKind.OUTPUT_CHANGED:
            self._record_output(event)
            return
        # Server paths stay out of the log that partners read.
        details = {k: v for k, v in event.details.items() if k not in ("path", "directory")}
        if event.studio_id:
            details["studio"] = event.studio_id
        action = event.kind.value.replace("_", " ")
        self.outage.log_later(AuditLine(event.booking_id, "bridge", action, details))

    def _record_output(self, event: RoomEvent) -> None:
        """An output's turns into the audit log: live, dropped, failed, stopped; not every
        connection attempt (a destination down for an hour would fill the log)."""
        key = (event.booking_id, str(event.details.get("output_id")))
        state = str(event.details.get("state"))
        last = self._output_states.get(key)
        action = OUTPUT_AUDIT.get(state)
        if state == "retrying" and last != "live":
            action = None  # another attempt at a destination that has not taken it yet
        self._output_states[key] = state if action else (last or state)
        if action is None:
            return
        details: dict[str, object] = {"output": key[1], "kind": event.details.get("kind")}
        if event.details.get("last_error") and state in ("retrying", "failed"):
            details["error"] = event.details["last_error"]
        self.outage.log_later(AuditLine(event.booking_id, "bridge", action, details))

    def start(self) -> None:
        """Run the autopilot in the background."""
        self._ticks.start()

    async def stop(self) -> None:
        """Stop the autopilot and close every room."""
        await self._ticks.stop()
        now = self.clock()
        for booking_id in list(self.rooms):
            if self.recordings is not None and self.recordings.is_recording(booking_id):
                try:
                    booking = await self.bookings.get(booking_id)
                    mid_show = now < booking.ends_at
                except ScheduleError:
                    mid_show = False
                except Exception as exc:
                    if not database_down(exc):
                        raise
                    # Unknown: suspend (keep the segments); the next start's recovery
                    # finalizes them if the show is over by then.
                    mid_show = True
                if mid_show:  # the next start continues it as a new part
                    await self.recordings.suspend(booking_id, self.rooms.get(booking_id))
            await self._close(booking_id)

    async def tick(self) -> None:
        """Open, put on air, take off air and close rooms as the bookings say, now.

        While the database is down the autopilot goes by the schedule it read last: rooms open
        and record on time, and the status changes it could not write are made once it is back.
        """
        async with self._ticking:
            await self._tick(self.clock())

    async def _tick(self, now: datetime) -> None:
        grace = timedelta(minutes=self.grace_minutes)
        due = await self._due_from_database(now, grace) if self.outage.up else None
        from_database = due is not None
        if due is None:
            remembered = self.outage.due(now, self.grace_minutes)
            if remembered is None:
                return  # nothing to go by: the open rooms stay as they are
            due = {b.id: b for b in remembered}
        for booking in due.values():
            if not await self._ours(booking.id, from_database):
                continue
            if from_database:
                await self._advance(booking, now)
            else:
                self._owed.add(booking.id)
            room = await self.open(booking, claimed=True)
            await self._record_on_air(booking, room, now)
            await self._outputs_on_air(booking, room, now)
        for booking_id, room in list(self.rooms.items()):
            # Going by the schedule read last, a room it does not list (opened in the seconds
            # before the outage) is closed only when its own window ends.
            if booking_id not in due and (from_database or now >= room.spec.closes_at):
                await self._close(booking_id)
                self._owed.add(booking_id)
        if from_database:
            await self._settle_owed(now)
            if self.cluster is not None:  # placements of rooms closed while it was away
                closed = await self.cluster.placed_here() - set(due) - set(self.rooms)
                for booking_id in closed - self.cluster.held:
                    await self.cluster.release(booking_id)

    async def _ours(self, booking_id: str, from_database: bool) -> bool:
        """Whether this node runs the booking's room: always alone; in a cluster, when the
        placement says so (placing it now if it has no live owner). A room that moved to
        another node (this one was counted dead) is handed over: its recording is suspended,
        to go on as the next part there, and it closes here. While the database is away, the
        rooms open here go on and no other opens."""
        if self.cluster is None:
            return True
        if not from_database:
            return booking_id in self.rooms
        try:
            owner = await self.cluster.claim(booking_id)
        except NoNodeFree:
            if booking_id not in self._unplaced:
                log.warning("room of booking %s waits: no node has room for it", booking_id)
                self._unplaced.add(booking_id)
            return booking_id in self.rooms
        self._unplaced.discard(booking_id)
        if owner.id == self.cluster.node_id:
            return not await self._moved_off_draining(booking_id)
        if booking_id in self.rooms:
            log.warning(
                "room of booking %s moved to node %s: handing it over", booking_id, owner.id
            )
            if self.recordings is not None and self.recordings.is_recording(booking_id):
                await self.recordings.suspend(booking_id, self.rooms.get(booking_id))
            await self._close(booking_id, release=False)
        return False

    async def _moved_off_draining(self, booking_id: str) -> bool:
        """On a draining node, a room that nobody uses (no studio or control room connected,
        no output under way: between reconnects, or before its studios come) is closed and
        released, so that it opens on another node; whether it moved. A room in use stays
        until it is not, or until this node stops."""
        assert self.cluster is not None
        room = self.rooms.get(booking_id)
        if room is None or room.in_use() or not await self.cluster.should_move_off():
            return False
        log.info("room of booking %s moves off draining node %s", booking_id, self.cluster.node_id)
        if self.recordings is not None and self.recordings.is_recording(booking_id):
            await self.recordings.suspend(booking_id, room)  # the next part there
        await self._close(booking_id)  # releases the placement
        return True

    async def _due_from_database(
        self, now: datetime, grace: timedelta
    ) -> dict[str, Booking] | None:
        """The bookings whose room should be open now, as stored; None while it is down."""
        try:
            if self.recordings is not None:
                await self.recordings.catch_up()
            current = await self.bookings.search(
                start=now - grace, end=now + timedelta(seconds=1), statuses=list(ROOM_STATUSES)
            )
            await self.outage.refresh_schedule(now, grace)
        except Exception as exc:
            if not database_down(exc):
                raise
            log.debug("autopilot goes by the schedule read last: %s", describe(exc))
            return None
        return {b.id: b for b in current if room_due(b, now, self.grace_minutes)}

    async def _settle_owed(self, now: datetime) -> None:
        """Bring the status of bookings the autopilot passed while the database was down (or
        whose room it closed) up to date."""
        for booking_id in sorted(self._owed):
            try:
                booking = await self.bookings.get(booking_id)
            except ScheduleError:  # deleted meanwhile
                self._owed.discard(booking_id)
                continue
            await self._advance(booking, now)
            self._owed.discard(booking_id)

    async def _advance(self, booking: Booking, now: datetime) -> None:
        perform = {Action.GO_LIVE: self.bookings.go_live, Action.COMPLETE: self.bookings.complete}
        try:
            for step in steps_due(booking, now):
                await perform[step](booking.id, "autopilot")
        except ScheduleError as exc:  # changed under us (cancelled meanwhile): next tick sees it
            log.info("autopilot left booking %s as it is: %s", booking.id, exc)

    async def _record_on_air(self, booking: Booking, room: Room, now: datetime) -> None:
        """Record from the booking's start to its end when it says so (unless stopped by hand)."""
        rec = self.recordings
        if rec is None:
            return
        on_air = timeline.on_air(booking, now)
        if (
            booking.record
            and on_air
            and not rec.is_recording(booking.id)
            and booking.id not in rec.stopped_by_hand
        ):
            await rec.start(booking, room, now)
        elif now >= booking.ends_at and rec.is_recording(booking.id):
            await rec.stop(booking.id, room, now)

    async def _outputs_on_air(self, booking: Booking, room: Room, now: datetime) -> None:
        """Send the program to the booking's outputs from its start to its end; one that cannot
        start does not keep the others (or the recording) from theirs."""
        if self.outputs is None:
            return
        try:
            await self.outputs.follow(booking, room, now)
        except Exception as exc:
            if not database_down(exc):
                log.exception("outputs of booking %s did not follow the schedule", booking.id)

    async def open(self, booking: Booking, claimed: bool = False) -> Room:
        """Open the booking's room now (idempotent). A room already open follows the booking's
        studios as given (see `follow`): an edit made through another server, or one whose
        follow failed, reaches it on the next tick or join.

        In a cluster a room not open here is claimed first (unless `claimed`): RoomElsewhere
        when another node owns it, NoNodeFree when no node can take it."""
        if not claimed and self.cluster is not None and self.get(booking.id) is None:
            owner = await self.cluster.claim(booking.id)
            if owner.id != self.cluster.node_id:
                raise RoomElsewhere(booking.id, owner)
        async with self._lock:
            room = self.rooms.get(booking.id)
            if room is None or room.closed:
                studios = await self.outage.studios_now(booking.studio_ids)
                spec = room_spec(booking, studios, self.grace_minutes, self.ice_servers)
                # Every open room's booking is in the schedule the outage fallback goes by,
                # even one booked in the seconds since it was last read.
                self.outage.keep(booking, studios)
                room = Room(spec, on_event=self._record)
                self.rooms[booking.id] = room
                self._sequences[booking.id] = booking.sequence
                log.info(
                    "room opened booking=%s studios=%s", booking.id, ",".join(booking.studio_ids)
                )
                if self.outputs is not None:
                    await self.outputs.opened(booking.id)
                for opened in self.openers:
                    # Bounded: a database that stops answering mid-query (not yet noticed as
                    # down) must not hold the open rooms' lock, and with it every room, for ever.
                    try:
                        await asyncio.wait_for(opened(booking, room), OPENER_TIMEOUT_S)
                    except TimeoutError:
                        log.warning(
                            "room opened booking=%s without its graphics (timeout)", booking.id
                        )
                return room
        await self.follow(booking)
        return room

    async def follow(self, booking: Booking) -> None:
        """Bring the booking's open room in step with its studios as just stored: a removed
        studio's connection closes now and it cannot come back, an added one may join.

        Called for every stored edit (BookingService.on_edit), and by `open` for the booking as
        each tick and each join (or console's state poll) read it. It never raises: the edit is
        stored, and the next tick tries again.
        """
        try:
            async with self._lock:
                room = self.get(booking.id)
                if room is None:
                    return
                if booking.sequence < self._sequences.get(booking.id, booking.sequence):
                    return  # read before an edit this room has followed already
                self._sequences[booking.id] = booking.sequence
                changes = studio_changes([s.id for s in room.spec.studios], booking.taking_part)
                if not changes:
                    return
                studios = await self.outage.studios_now(changes.added) if changes.added else {}
                await follow_studios(room, changes, studios)
                log.info(
                    "room follows its booking booking=%s removed=%s added=%s",
                    booking.id,
                    ",".join(changes.removed),
                    ",".join(changes.added),
                )
                # The schedule an outage goes by has the booking's studios as they are now.
                self.outage.keep(booking, studios)
        except Exception as exc:
            if database_down(exc):
                log.info(
                    "room of booking %s follows its studios once the database is back", booking.id
                )
            else:
                log.exception("room of booking %s did not follow its studios", booking.id)

    async def _close(self, booking_id: str, release: bool = True) -> None:
        room = self.rooms.pop(booking_id, None)
        self._sequences.pop(booking_id, None)
        if self.recordings is not None and self.recordings.is_recording(booking_id):
            await self.recordings.stop(booking_id, room, self.clock())
        if room is not None:
            await room.close()
            log.info("room closed booking=%s", booking_id)
        if self.outputs is not None:
            await self.outputs.closed(booking_id)
        self._output_states = {k: v for k, v in self._output_states.items() if k[0] != booking_id}
        if release and self.cluster is not None:
            await self.cluster.release(booking_id)

    def get(self, booking_id: str) -> Room | None:
        """The open room of a booking, if any."""
        room = self.rooms.get(booking_id)
        return room if room is not None and not room.closed else None
