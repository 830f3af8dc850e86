"""Recording policy: when a room records, where the files go, and their archive entries.

The bridge records and finalizes; this module decides when (on air at the booking's start when
it says record, off at its end, or by the producer's hand) and registers the finished files.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.recording.directory import closed_segments, finalize_directory, first_written
from bridge.recording.parts import (
    continue_after,
    continues_elsewhere,
    drop_stored,
    floor_by_time,
    forget,
)
from bridge.room import Room
from bridge.spec import RecordedFile
from schedules.archive import Archive, Recording, RecordingFile, recording_directory
from schedules.errors import ScheduleError
from schedules.model import Booking
from schedules.outage import database_down, describe
from schedules.rules.timeline import records_now
from schedules.service import BookingService
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
        await self._file(await self.archive.get(recording_id), found, ended)
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

    async def adopt_orphans(self, bookings: BookingService) -> int:
        """Store the archive entries of recording directories the archive does not know: a
        recording started while the database was down, and the server stopped before it came
        back. Their files are on disk; `recover` then finishes them like any other."""
        known = await self.archive.directories()
        found = await asyncio.get_running_loop().run_in_executor(
            None, _recording_directories, self.root
        )
        adopted = 0
        for directory, written_at in found:
            if directory in known:
                continue
            booking_id, recording_id = directory.split("/")
            try:
                booking = await bookings.get(booking_id)
            except ScheduleError:
                log.warning("recording directory %s belongs to no booking; left alone", directory)
                continue
            await self.archive.add_recording(
                Recording(
                    recording_id,
                    booking_id,
                    booking.title,
                    booking.studio_ids,
                    "recording",
                    directory,
                    written_at,
                    None,
                    None,
                    1,
                )
            )
            log.info("recording %s of booking %s adopted from disk", recording_id, booking_id)
            adopted += 1
        return adopted

    async def delete_files(self, recording: Recording) -> None:
        """Remove a recording's directory from this disk (off the event loop)."""
        root = self.root.resolve()
        directory = (root / recording.directory).resolve()
        if directory.is_relative_to(root) and directory != root and directory.exists():
            await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, directory)

    async def recover(
        self,
        bookings: BookingService,
        now: datetime,
        elsewhere: Callable[[str], Awaitable[bool]] | None = None,
    ) -> int:
        """Finalize recordings left unfinished by a crash whose show is over; how many.

        In a cluster `elsewhere` says whether a booking's room runs on another live node. A
        recording's parts are then on the disks of the nodes that recorded them: this node
        finishes only what is on its own disk, and a part of a show that another node went
        on with (it took the room over while this node was down) is filed at once as a
        recording of its own, so that nothing on this disk is invisible to the archive."""
        done = 0
        if elsewhere is not None:
            done += await self._file_parts_continued_elsewhere(bookings, now, elsewhere)
        await self.adopt_orphans(bookings)
        for rec in await self.archive.search(finished_only=False, status="recording"):
            directory = self.root / rec.directory
            if elsewhere is not None and not directory.exists():
                continue  # recorded on another node's disk: that node finishes it
            try:
                booking = await bookings.get(rec.booking_id)
                if records_now(booking, now):
                    continue  # still on air: the autopilot continues it as a new part
            except ScheduleError:
                pass
            if not await self._copied_back(rec, directory):
                continue
            found = (
                await asyncio.get_running_loop().run_in_executor(
                    None, finalize_directory, directory
                )
                if directory.exists()
                else []
            )
            await self._file(rec, found, now)
            done += 1
        return done

    async def _copied_back(self, rec: Recording, directory: Path) -> bool:
        """Whether a later part's directory holds its earlier part too (copied back from the
        store), so that finalizing joins the whole show; False leaves it for the next start."""
        if self.earlier is None or not continues_elsewhere(directory):
            return True
        try:
            await self.earlier.fetch(rec.directory)
        except StorageError as exc:
            log.warning(
                "recording %s waits for its earlier part in the object store: %s", rec.id, exc
            )
            return False
        return True

    async def finish_from_store(self, rec: Recording, now: datetime) -> bool:
        """Finalize and file a recording that a dead node left unfinished, from its segments
        in the object store (raises StorageError while the store fails); False when the store
        holds none of it (its files are on that node's disk: it files them when it is back)."""
        assert self.earlier is not None
        if not await self.earlier.fetch(rec.directory):
            return False
        found = await asyncio.get_running_loop().run_in_executor(
            None, finalize_directory, self.root / rec.directory
        )
        await self._file(rec, found, now)
        return True

    async def _file(self, rec: Recording, found: list[RecordedFile], now: datetime) -> None:
        files = [archive_file(rec.id, f) for f in found]
        if any(f.kind == "program" for f in files):
            await self.archive.finish(rec.id, now, files)
        else:
            await self.archive.fail(rec.id, now)
        log.info(
            "recovered recording %s of booking %s: %d files", rec.id, rec.booking_id, len(files)
        )

    async def _file_parts_continued_elsewhere(
        self, bookings: BookingService, now: datetime, elsewhere: Callable[[str], Awaitable[bool]]
    ) -> int:
        """File each part on this disk of a recording another node went on with (or finished)
        as a recording of its own, under a new id; how many."""
        filed = 0
        for directory, written_at in await asyncio.get_running_loop().run_in_executor(
            None, _recording_directories, self.root
        ):
            booking_id, recording_id = directory.split("/")
            try:
                entry = await self.archive.get(recording_id)
            except ScheduleError:
                continue  # unknown: adopted as an orphan next
            if entry.status == "recording":
                if not await elsewhere(booking_id):
                    continue  # nobody went on with it: recovered or continued here
            elif entry.node_id in (None, self.archive.node_id):
                continue  # finished here: what is left is not media of the show
            if self.earlier is not None and not await self._keep_unstored(directory):
                continue  # all of it is in the store, joined by the node that went on
            part = self.archive.new_recording(booking_id, entry.title, entry.studios, written_at)
            target = self.root / part.directory
            (self.root / directory).rename(target)
            await self.archive.add_recording(part)
            found = await asyncio.get_running_loop().run_in_executor(
                None, finalize_directory, target
            )
            await self._file(part, found, now)
            log.warning(
                "a part of recording %s recorded here was filed as recording %s: another node "
                "went on with the show",
                recording_id,
                part.id,
            )
            filed += 1
        return filed

    async def _keep_unstored(self, directory: str) -> bool:
        """Drop this disk's segments of a part that the store holds (the node that went on
        with the show joins them from there); whether anything is left to file."""
        local = self.root / directory
        loop = asyncio.get_running_loop()
        dropped = await loop.run_in_executor(None, drop_stored, local)
        if await loop.run_in_executor(None, first_written, local) is not None:
            return True
        await loop.run_in_executor(None, forget, local)
        await loop.run_in_executor(None, shutil.rmtree, local)
        log.info(
            "the %d segments of %s recorded here are in the object store, joined by the node "
            "that went on with the show",
            dropped,
            directory,
        )
        return False


def archive_file(recording_id: str, f: RecordedFile) -> RecordingFile:
    """The archive record of a finalized file (the program's MP4 or a studio's WebM)."""
    return RecordingFile(
        recording_id=recording_id,
        name=f.name,
        kind=f.kind,
        studio_id=f.studio_id,
        media_type=f.media_type,
        bytes=f.bytes,
        sha256=f.sha256,
        duration_s=round(f.duration_s, 3),
    )


def _recording_directories(root: Path) -> list[tuple[str, datetime]]:
    """Every `<booking>/<recording>` directory under `root` holding media, with the time its
    oldest file was written (off the event loop: it reads the disk)."""
    out: list[tuple[str, datetime]] = []
    if not root.is_dir():
        return out
    for booking_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for rec_dir in sorted(p for p in booking_dir.iterdir() if p.is_dir()):
            oldest = first_written(rec_dir)
            if oldest is not None:
                out.append((f"{booking_dir.name}/{rec_dir.name}", oldest))
    return out
