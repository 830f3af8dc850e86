"""Recording policy: when a room records, where the files go, and their archive entries.

The bridge records and finalizes; this module decides when (on air at the booking's start when
it says record, off at its end, or by the producer's hand) and registers the finished files.
What a crash left is finished by web/live/recordings/recovery.py.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.recording.directory import closed_segments, finalize_directory
from bridge.recording.parts import (
    continue_after,
    continues_elsewhere,
    floor_by_time,
)
from bridge.room import Room
from schedules.archive import Archive, Recording, RecordingFile, recording_directory
from schedules.model import Booking
from schedules.outage import database_down, describe
from web.live.recordings.recovery import RecordingRecovery, archive_file, file_found
from web.storage.earlier_parts import EarlierParts
from web.storage.s3 import StorageError
from web.tasks import cancel_and_wait

log = logging.getLogger("telebridge.web.recording")

# How long the end of a show that was taken over waits for its earlier part to be copied back
# from the object store; past that it is finished in the background once the copy is done.
EARLIER_PART_WAIT_S = 10.0
# A stream whose finalizing failed (its child process died or hung) keeps its segments: the
# recording stays unfinished and is finalized again after each of these pauses, and by the
# next start's recovery after that.
FINALIZE_RETRY_S = (30.0, 120.0, 600.0)


class RecordingControl:
    """Starts and stops rooms' recordings and keeps the archive in step."""

    def __init__(self, archive: Archive, root: Path) -> None:
        self.archive = archive
        self.root = root
        self.active: dict[str, str] = {}  # booking id -> recording id
        # Bookings whose recording the producer stopped: the autopilot leaves them stopped.
        self.stopped_by_hand: set[str] = set()
        # The autopilot and a producer's click may arrive together: one change at a time.
        self._lock = asyncio.Lock()
        # Recordings started while the database was down: their archive entry waits for it.
        self.unstored: list[Recording] = []
        # Finished recordings whose archive entry could not be written (database down).
        self.unregistered: list[tuple[str, datetime, list[RecordingFile]]] = []
        # With object storage: a show this node took over from a dead one joins the earlier
        # part's segments from the store (web/storage/earlier_parts.py).
        self.earlier: EarlierParts | None = None
        self.earlier_part_wait_s = EARLIER_PART_WAIT_S
        self._copies: dict[str, asyncio.Task[int]] = {}  # booking id -> copying back
        self._finishing: set[asyncio.Task[None]] = set()  # ended shows finished later
        self.finalize_retry_s = FINALIZE_RETRY_S
        # What a crash left: finished at the next start, or from the store by another node.
        self.recovery = RecordingRecovery(self)

    async def catch_up(self) -> int:
        """Store the archive entries that waited for the database (raises while it is still
        down): the recordings started, then the files finished meanwhile; how many entries."""
        done = 0
        while self.unstored:
            await self.archive.add_recording(self.unstored[0])
            recording = self.unstored.pop(0)
            log.info("recording %s stored after the database came back", recording.id)
            done += 1
        while self.unregistered:
            recording_id, ended, entries = self.unregistered[0]
            await self.archive.finish(recording_id, ended, entries)  # raises while still down
            self.unregistered.pop(0)
            log.info("recording %s registered after the database came back", recording_id)
            done += 1
        return done

    def is_recording(self, booking_id: str) -> bool:
        """Whether the booking's room is recording now."""
        return booking_id in self.active

    async def start(self, booking: Booking, room: Room, now: datetime) -> bool:
        """Record the room's program (continuing an unfinished recording of the booking)."""
        async with self._lock:
            return await self._start(booking, room, now)

    async def _start(self, booking: Booking, room: Room, now: datetime) -> bool:
        if booking.id in self.active:
            return False
        stored = True
        try:
            recording = await self.archive.open_recording(
                booking.id, booking.title, booking.studio_ids, now
            )
        except Exception as exc:
            if not database_down(exc):
                raise
            # The show must be recorded all the same: a new entry of its own, stored later.
            recording = self.archive.new_recording(
                booking.id, booking.title, booking.studio_ids, now
            )
            stored = False
        if stored and recording.parts > 1 and self.earlier is not None:
            await self.number_later_part(recording, now)
        directory = self.root / recording.directory
        if not room.start_recording(directory):
            return False
        self.active[booking.id] = recording.id
        if self.earlier is not None and continues_elsewhere(directory):
            self.follow_earlier_part(booking.id, recording.directory)
        if not stored:
            self.unstored.append(recording)
        log.info(
            "recording started booking=%s recording=%s part=%d%s",
            booking.id,
            recording.id,
            recording.parts,
            "" if stored else " (archive entry waits for the database)",
        )
        return True

    async def number_later_part(self, recording: Recording, now: datetime) -> None:
        """A later part: its segments are numbered after those of the earlier parts in the
        store (recorded here before a restart, or on a node that died), so that no two
        segments share a name. When the store cannot list them now, after any number the
        recording can have used since it began (a gap in the numbers costs nothing); its
        earlier part is copied back once the store answers."""
        assert self.earlier is not None
        try:
            held = await self.earlier.number_after(recording.directory)
        except StorageError as exc:
            elapsed = (now - recording.started_at).total_seconds()
            first = floor_by_time(elapsed, recording.parts)
            await asyncio.get_running_loop().run_in_executor(
                None, continue_after, self.root / recording.directory, [], first
            )
            log.warning(
                "recording %s: the object store cannot list its earlier part (%s); part %d "
                "is numbered from %d",
                recording.id,
                exc,
                recording.parts,
                first,
            )
            return
        log.info(
            "recording %s part %d goes on after %d stored segments",
            recording.id,
            recording.parts,
            held,
        )

    def follow_earlier_part(self, booking_id: str, directory: str) -> None:
        """Copy back the earlier part of the recording in `directory` (kept in the store) while
        this node records on; its end waits for it (`stop`)."""
        assert self.earlier is not None
        self._copies[booking_id] = asyncio.ensure_future(self.earlier.fetch_until_done(directory))

    async def _earlier_part_copied(self, booking_id: str) -> asyncio.Task[int] | None:
        """Wait a little for the earlier part's segments to be copied back; the copying still
        under way when they are not all here yet (None: done, or there was none)."""
        copy = self._copies.pop(booking_id, None)
        if copy is None:
            return None
        await asyncio.wait({copy}, timeout=self.earlier_part_wait_s)
        return None if copy.done() else copy

    async def _finish_when_copied(
        self, recording_id: str, directory: str, copy: asyncio.Task[int], now: datetime
    ) -> None:
        """Finalize and file a recording once its earlier part is copied back (the store was
        away when the show ended); cancelled by a stop of the server, the next start's
        recovery does it."""
        try:
            await copy
            await self._finalize_and_file(recording_id, self.root / directory, now)
        except Exception as exc:  # left "recording": the next start's recovery finishes it
            log.error("recording %s not finished now: %s", recording_id, describe(exc))

    def _finishing_later(self, finishing: Coroutine[Any, Any, None]) -> None:
        """Finish an ended show's recording in the background (cancelled by `close`)."""
        task = asyncio.ensure_future(finishing)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def _segments_kept(self, directory: Path) -> bool:
        """Whether segments are left in a recording's directory after it was finalized: a
        stream whose finalizing failed."""
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, directory.exists):
            return False
        return bool(await loop.run_in_executor(None, closed_segments, directory, False))

    async def _finalize_and_file(self, recording_id: str, directory: Path, ended: datetime) -> bool:
        """Finalize a recording's directory (off the event loop) and file what it holds;
        False, filing nothing, while a stream's segments are still left unfinished."""
        found = await asyncio.get_running_loop().run_in_executor(
            None, finalize_directory, directory
        )
        if await self._segments_kept(directory):
            return False
        await file_found(self.archive, await self.archive.get(recording_id), found, ended)
        return True

    async def _finalize_again(
        self, recording_id: str, booking_id: str, directory: Path, ended_at: datetime
    ) -> None:
        """Finalize a recording whose finalizing failed at its end, after each pause, until
        nothing is left unfinished; then file it. Left unfinished after the last try (and when
        the producer records the booking again meanwhile, which goes on with it)."""
        for pause in self.finalize_retry_s:
            await asyncio.sleep(pause)
            if booking_id in self.active:
                return  # recorded again: that recording's end finalizes these segments too
            try:
                if await self._finalize_and_file(recording_id, directory, ended_at):
                    return
            except Exception as exc:
                log.warning("recording %s not finished now: %s", recording_id, describe(exc))
        log.error(
            "recording %s could not be finalized in %d tries; its segments are kept, and the "
            "next start's recovery tries again",
            recording_id,
            len(self.finalize_retry_s),
        )

    async def close(self) -> None:
        """Stop copying earlier parts back and finishing recordings that waited for them (the
        server is going down: recovery goes on with them at its next start)."""
        tasks = [*self._copies.values(), *self._finishing]
        self._copies.clear()
        self._finishing.clear()
        for task in tasks:
            await cancel_and_wait(task)

    async def stop(self, booking_id: str, room: Room | None, now: datetime) -> bool:
        """Stop, finalize and register the booking's recording; False when none was running."""
        async with self._lock:
            return await self._stop(booking_id, room, now)

    async def _stop(self, booking_id: str, room: Room | None, now: datetime) -> bool:
        recording_id = self.active.get(booking_id)
        if recording_id is None:
            return False
        copying = await self._earlier_part_copied(booking_id)
        self.active.pop(booking_id, None)
        if copying is not None:
            # Finalized now, the file would lack the show's first part (and the store's
            # segments of it would go once the file is stored): it stops writing, and is
            # finished once the store has handed the first part back.
            if room is not None:
                await room.suspend_recording()
            directory = recording_directory(booking_id, recording_id)
            self._finishing_later(self._finish_when_copied(recording_id, directory, copying, now))
            log.warning(
                "recording %s of booking %s is finished once its earlier part is back from "
                "the object store",
                recording_id,
                booking_id,
            )
            return True
        files = await room.stop_recording() if room is not None else []
        kept_in = self.root / recording_directory(booking_id, recording_id)
        if await self._segments_kept(kept_in):
            # A stream could not be finalized (logged by the bridge): filed now, the entry
            # would say finished (or failed) and its segments would lie unseen on disk.
            self._finishing_later(self._finalize_again(recording_id, booking_id, kept_in, now))
            log.error(
                "recording %s of booking %s could not be finalized; its segments are kept "
                "and it is finalized again in %g s",
                recording_id,
                booking_id,
                self.finalize_retry_s[0] if self.finalize_retry_s else 0,
            )
            return True
        if not any(f.kind == "program" for f in files):
            log.warning(
                "recording %s of booking %s had nothing to finalize", recording_id, booking_id
            )
            never_stored = [r for r in self.unstored if r.id == recording_id]
            if never_stored:  # no entry to mark failed: it never reached the archive
                self.unstored.remove(never_stored[0])
                return True
            try:
                await self.archive.fail(recording_id, now)
            except Exception as exc:
                if not database_down(exc):
                    raise
                # Left "recording": the next start's recovery finds no program and fails it.
                log.warning("recording %s not marked failed: %s", recording_id, describe(exc))
            return True
        entries = [archive_file(recording_id, f) for f in files]
        try:
            await self.archive.finish(recording_id, now, entries)
        except Exception as exc:
            if not database_down(exc):
                raise
            # The files are finished on disk; only their archive entry waits for the database.
            self.unregistered.append((recording_id, now, entries))
            log.warning(
                "recording %s finished but not yet in the archive (%s); retrying",
                recording_id,
                describe(exc),
            )
            return True
        log.info(
            "recording finished booking=%s recording=%s files=%d",
            booking_id,
            recording_id,
            len(files),
        )
        return True

    async def suspend(self, booking_id: str, room: Room | None) -> None:
        """The server is going down mid-show: stop writing, finalize nothing; the next start
        continues the same archive entry as a new part."""
        async with self._lock:
            copy = self._copies.pop(booking_id, None)
            if copy is not None:  # the next node to record the show copies them itself
                await cancel_and_wait(copy)
            if self.active.pop(booking_id, None) is not None and room is not None:
                await room.suspend_recording()
                log.info("recording suspended booking=%s", booking_id)

    async def delete_files(self, recording: Recording) -> None:
        """Remove a recording's directory from this disk (off the event loop)."""
        root = self.root.resolve()
        directory = (root / recording.directory).resolve()
        if directory.is_relative_to(root) and directory != root and directory.exists():
            await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, directory)
