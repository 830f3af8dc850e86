"""What a node finds of its recordings when it starts, and what dead nodes left: finished.

A crash leaves recordings unfinished: their archive entry says "recording" and their segments
are on disk (and, with object storage, their closed segments in the store). At each start the
node finalizes and files those whose show is over, adopts the directories the archive never
heard of (started while the database was down), and files a part of a show that another node
went on with as a recording of its own, so that nothing on this disk is invisible to the
archive. A recording that a dead node left is finished from the store (left_behind.py here).
The live side (when a room records, and its end) is control.py here.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bridge.recording.directory import finalize_directory, first_written
from bridge.recording.parts import continues_elsewhere, drop_stored, forget
from bridge.spec import RecordedFile
from schedules.archive import Archive, Recording, RecordingFile
from schedules.errors import ScheduleError
from schedules.rules.timeline import records_now
from schedules.service import BookingService
from web.storage.earlier_parts import EarlierParts
from web.storage.s3 import StorageError

log = logging.getLogger("telebridge.web.recording")


class RecordingsOnDisk(Protocol):
    """Where a node's recordings are: its archive, its directory, and (with object storage)
    where earlier parts are copied back from (web.live.recordings.control.RecordingControl)."""

    archive: Archive
    root: Path
    earlier: EarlierParts | None


class RecordingRecovery:
    """Finishes the recordings a crash left, on this disk or in the object store."""

    def __init__(self, disk: RecordingsOnDisk) -> None:
        self._disk = disk

    async def adopt_orphans(self, bookings: BookingService) -> int:
        """Store the archive entries of recording directories the archive does not know: a
        recording started while the database was down, and the server stopped before it came
        back. Their files are on disk; `recover` then finishes them like any other."""
        known = await self._disk.archive.directories()
        found = await asyncio.get_running_loop().run_in_executor(
            None, _recording_directories, self._disk.root
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
            await self._disk.archive.add_recording(
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
        for rec in await self._disk.archive.search(finished_only=False, status="recording"):
            directory = self._disk.root / rec.directory
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
            await file_found(self._disk.archive, rec, found, now)
            done += 1
        return done

    async def _copied_back(self, rec: Recording, directory: Path) -> bool:
        """Whether a later part's directory holds its earlier part too (copied back from the
        store), so that finalizing joins the whole show; False leaves it for the next start."""
        if self._disk.earlier is None or not continues_elsewhere(directory):
            return True
        try:
            await self._disk.earlier.fetch(rec.directory)
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
        assert self._disk.earlier is not None
        if not await self._disk.earlier.fetch(rec.directory):
            return False
        found = await asyncio.get_running_loop().run_in_executor(
            None, finalize_directory, self._disk.root / rec.directory
        )
        await file_found(self._disk.archive, rec, found, now)
        return True

    async def _file_parts_continued_elsewhere(
        self, bookings: BookingService, now: datetime, elsewhere: Callable[[str], Awaitable[bool]]
    ) -> int:
        """File each part on this disk of a recording another node went on with (or finished)
        as a recording of its own, under a new id; how many."""
        filed = 0
        for directory, written_at in await asyncio.get_running_loop().run_in_executor(
            None, _recording_directories, self._disk.root
        ):
            booking_id, recording_id = directory.split("/")
            try:
                entry = await self._disk.archive.get(recording_id)
            except ScheduleError:
                continue  # unknown: adopted as an orphan next
            if entry.status == "recording":
                if not await elsewhere(booking_id):
                    continue  # nobody went on with it: recovered or continued here
            elif entry.node_id in (None, self._disk.archive.node_id):
                continue  # finished here: what is left is not media of the show
            if self._disk.earlier is not None and not await self._keep_unstored(directory):
                continue  # all of it is in the store, joined by the node that went on
            archive = self._disk.archive
            part = archive.new_recording(booking_id, entry.title, entry.studios, written_at)
            target = self._disk.root / part.directory
            (self._disk.root / directory).rename(target)
            await self._disk.archive.add_recording(part)
            found = await asyncio.get_running_loop().run_in_executor(
                None, finalize_directory, target
            )
            await file_found(self._disk.archive, part, found, now)
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
        local = self._disk.root / directory
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


async def file_found(
    archive: Archive, rec: Recording, found: list[RecordedFile], now: datetime
) -> None:
    """File a finalized recording's files in the archive: finished when the program is among
    them, failed when it is not."""
    files = [archive_file(rec.id, f) for f in found]
    if any(f.kind == "program" for f in files):
        await archive.finish(rec.id, now, files)
    else:
        await archive.fail(rec.id, now)
    log.info("recovered recording %s of booking %s: %d files", rec.id, rec.booking_id, len(files))


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
