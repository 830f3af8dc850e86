"""Output policy: a booking's outputs go out live at its start, stop at its end, and answer the
producer's start and stop in between.

The bridge pushes and serves; this module decides when, with the outputs the booking has
stored. It keeps the outputs it read for each open room, so a database outage in the middle of
a show neither stops them nor keeps them from starting on time.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import datetime
from pathlib import Path

from bridge.room import Room
from bridge.spec import OutputFigures, OutputKind, OutputState, OutputTarget
from schedules.errors import ScheduleError
from schedules.model import Booking
from schedules.outage import database_down
from schedules.outputs.record import Output
from schedules.outputs.service import OutputService
from schedules.rules import timeline

log = logging.getLogger("telebridge.web.outputs")

LIVE_DIR = "live"  # under the data directory: one folder of HLS segments per booking


def target_of(output: Output) -> OutputTarget:
    """The bridge's view of a stored output (its secrets go to the bridge, nowhere else)."""
    return OutputTarget(
        id=output.id,
        kind=OutputKind(output.kind.value),
        url=output.url,
        key=output.key,
        passphrase=output.passphrase,
        latency_ms=output.latency_ms,
        listener=output.listener,
    )


class OutputControl:
    """Starts and stops the rooms' outputs as the bookings and the producers say."""

    def __init__(self, outputs: OutputService, data_dir: Path) -> None:
        self.outputs = outputs
        self.live_root = data_dir / LIVE_DIR
        # What each open room's booking has, as last read (kept through a database outage).
        self.known: dict[str, list[Output]] = {}
        self.running: dict[str, set[str]] = {}  # booking id -> ids of outputs started
        # Outputs the producer stopped: the autopilot leaves them stopped for this show.
        self.stopped_by_hand: set[tuple[str, str]] = set()
        self._lock = asyncio.Lock()

    def hls_dir(self, booking_id: str) -> Path:
        """Where the booking's HLS segments and playlist are written while it is live."""
        return self.live_root / booking_id

    async def outputs_of(self, booking_id: str) -> list[Output]:
        """The booking's outputs: as stored, or as last read while the database is down."""
        try:
            found = await self.outputs.list(booking_id)
        except Exception as exc:
            if not database_down(exc) or booking_id not in self.known:
                raise
            return self.known[booking_id]
        self.known[booking_id] = found
        return found

    async def opened(self, booking_id: str) -> None:
        """The booking's room opened: read its outputs, so screens show them (idle) before
        the show and the show starts them on time even if the database is down by then."""
        async with self._lock:
            await self._read_once(booking_id)

    async def follow(self, booking: Booking, room: Room, now: datetime) -> None:
        """The autopilot's step: on air, every output not stopped by hand goes out; after
        the end, they all stop."""
        async with self._lock:
            await self._read_once(booking.id)  # the database was down when the room opened
            if timeline.on_air(booking, now):
                outputs = self.known.get(booking.id)
                if outputs is None:
                    outputs = await self.outputs_of(booking.id)
                for output in outputs:
                    if (booking.id, output.id) not in self.stopped_by_hand:
                        await self._start(booking.id, output, room)
            elif now >= booking.ends_at and self.running.get(booking.id):
                for output_id in sorted(self.running[booking.id]):
                    await self._stop(booking.id, output_id, room)

    async def start(self, booking_id: str, output: Output, room: Room) -> None:
        """The producer starts an output now (also before or after the booked show)."""
        async with self._lock:
            self.stopped_by_hand.discard((booking_id, output.id))
            await self._start(booking_id, output, room)

    async def stop(self, booking_id: str, output_id: str, room: Room | None) -> None:
        """The producer stops an output; the autopilot leaves it stopped for this show."""
        async with self._lock:
            self.stopped_by_hand.add((booking_id, output_id))
            await self._stop(booking_id, output_id, room)

    async def changed(self, booking_id: str, removed: str | None, room: Room | None) -> None:
        """The booking's outputs were edited: read them again (a removed one stops)."""
        async with self._lock:
            if removed is not None:
                await self._stop(booking_id, removed, room)
            if room is not None:
                self.known[booking_id] = await self.outputs.list(booking_id)

    def figures(self, booking_id: str, room: Room | None) -> dict[str, OutputFigures]:
        """Each output's state by id: the room's for those it runs, idle for the others."""
        shown: dict[str, OutputFigures] = {}
        for output in self.known.get(booking_id, []):
            kind = OutputKind(output.kind.value)
            shown[output.id] = OutputFigures(output.id, kind, OutputState.IDLE)
        if room is not None and not room.closed:
            for figures in room.output_figures():
                shown[figures.id] = figures
        return shown

    async def closed(self, booking_id: str) -> None:
        """The booking's room closed: its outputs went with it, and its HLS segments go too
        (viewers of the watch page play the recording by now)."""
        async with self._lock:
            self.running.pop(booking_id, None)
            self.known.pop(booking_id, None)
            self.stopped_by_hand = {k for k in self.stopped_by_hand if k[0] != booking_id}
            await asyncio.to_thread(shutil.rmtree, self.hls_dir(booking_id), ignore_errors=True)

    async def _read_once(self, booking_id: str) -> None:
        """Read the booking's outputs unless they are known; a database outage leaves them
        unknown for the next try."""
        if booking_id in self.known:
            return
        try:
            self.known[booking_id] = await self.outputs.list(booking_id)
        except ScheduleError:  # deleted a moment ago: it has none
            self.known[booking_id] = []
        except Exception as exc:
            if not database_down(exc):
                raise
            log.warning("outputs of booking %s not read yet: the database is down", booking_id)

    async def _start(self, booking_id: str, output: Output, room: Room) -> None:
        running = self.running.setdefault(booking_id, set())
        if output.id in running:
            return
        await room.start_output(target_of(output), self.hls_dir(booking_id))
        running.add(output.id)
        log.info("output started booking=%s output=%s kind=%s", booking_id, output.id, output.kind)

    async def _stop(self, booking_id: str, output_id: str, room: Room | None) -> None:
        running = self.running.get(booking_id, set())
        if output_id not in running:
            return
        running.discard(output_id)
        if room is not None and not room.closed:
            await room.stop_output(output_id)
        log.info("output stopped booking=%s output=%s", booking_id, output_id)
