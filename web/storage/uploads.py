"""The uploader: recordings leave this server's disk for the object store, nothing lost.

Two lanes, each one upload at a time, so that a long finished file never holds up a live show:

- Segments: every `SEGMENT_SCAN_S` the recording directories are read; each segment that will
  never change again (`closed_segments`: a newer one of its stream exists, or the recording is
  not being written now) and that the store does not hold at its size goes up, to
  `<recording>/segments/`. They stay on disk for finalizing: a node lost mid-show loses at
  most the segment being written.
- Finished files: every `FINISHED_SCAN_S` the archive is asked which directories on disk
  belong to finished recordings; each of their files not yet in the store goes up (the
  program's poster first), verified against the archive's SHA-256 (web/storage/transfer.py),
  then its location is written to the archive, and only then is the local copy removed. Once
  all of a recording's files are stored, its segment objects are deleted and its directory
  goes.

What is pending is read from the disk and the archive at every pass, never kept only in memory:
after a restart the uploads go on where they stood. When the store fails, the lane waits 1, 2,
4 ... up to `RETRY_MAX_S` seconds and tries again; the files stay on disk and are served from
there meanwhile. When the database is down the finished lane waits for it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from bridge.recording.directory import POSTER, closed_segments
from bridge.recording.parts import forget, note_stored
from bridge.recording.poster import poster_of
from schedules.archive import Archive, Recording
from schedules.outage import database_down, describe
from web.storage.objects import RecordingObjects, location
from web.storage.s3 import StorageError
from web.storage.transfer import LocalFileMismatch, upload_file
from web.tasks import cancel_and_wait

log = logging.getLogger("telebridge.web.storage")

SEGMENT_SCAN_S = 2.0  # a segment is 2 s of a show
FINISHED_SCAN_S = 5.0
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
SEGMENT_TYPE = "application/octet-stream"  # never served from the store: finalizing joins them

Pass = Callable[[], Awaitable[int]]


def recording_directories(root: Path) -> list[str]:
    """Every `<booking>/<recording>` directory under `root` (reads the disk: off the loop)."""
    if not root.is_dir():
        return []
    return [
        f"{booking.name}/{recording.name}"
        for booking in sorted(p for p in root.iterdir() if p.is_dir())
        for recording in sorted(p for p in booking.iterdir() if p.is_dir())
    ]


def _unchecked_segments(
    root: Path, writing: Collection[str], checked: dict[str, set[str]]
) -> dict[str, list[tuple[Path, int]]]:
    """Each directory's closed segments not yet known to be stored, with their sizes."""
    out: dict[str, list[tuple[Path, int]]] = {}
    for directory in recording_directories(root):
        closed = closed_segments(root / directory, directory in writing)
        if not closed:
            continue  # finished, or its first segment still open
        known = checked.get(directory, set())
        out[directory] = []
        for path in closed:
            if path.name not in known:
                try:
                    out[directory].append((path, path.stat().st_size))
                except FileNotFoundError:
                    continue  # joined into its finished file just now
    return out


def _remove_local(directory: Path, names: Collection[str], everything: bool) -> None:
    """Delete stored files' local copies; the directory too once all of it is stored."""
    for name in names:
        (directory / name).unlink(missing_ok=True)
    if everything:
        forget(directory)  # the notes of which segments the store held: all of it is there
        # Something else in it (a file nobody registered) is left for a person to look at.
        with contextlib.suppress(OSError):
            directory.rmdir()


def _first_bytes(path: Path, n: int) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


class Uploader:
    """Moves recordings to the object store; starts and stops with the app."""

    def __init__(
        self,
        objects: RecordingObjects,
        archive: Archive,
        root: Path,
        writing: Callable[[], Collection[str]],
    ) -> None:
        self.objects = objects
        self.archive = archive
        self.root = root
        # The recording directories being written right now (their newest segments are open).
        self.writing = writing
        self.segment_scan_s = SEGMENT_SCAN_S
        self.finished_scan_s = FINISHED_SCAN_S
        self.retry_first_s = RETRY_FIRST_S
        self.retry_max_s = RETRY_MAX_S
        self.uploaded_segments = 0
        self.uploaded_files = 0
        self.failures = 0  # passes cut short by the store
        self._problems: dict[str, str] = {}  # each failing lane's last error
        # What the store holds of each directory's segments (read from it once per process,
        # then kept up as segments go up), and the names already compared with the disk.
        self._stored: dict[str, dict[str, int]] = {}
        self._checked: dict[str, set[str]] = {}
        self._refused: set[tuple[str, str]] = set()  # files whose bytes are not the archive's
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Run both lanes in the background."""
        if not self._tasks:
            self._tasks = [
                asyncio.ensure_future(self._lane(self.segments_pass, lambda: self.segment_scan_s)),
                asyncio.ensure_future(self._lane(self.finished_pass, lambda: self.finished_scan_s)),
            ]

    async def stop(self) -> None:
        """Stop both lanes (an upload in flight is dropped; it is pending again next start)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await cancel_and_wait(task)
        await self.objects.client.close()

    @property
    def problem(self) -> str:
        """The store's last error while a lane fails, one line; "" while all goes well."""
        return next((p for p in self._problems.values() if p), "")

    async def _lane(self, one_pass: Pass, every_s: Callable[[], float]) -> None:
        name = one_pass.__name__
        delay = 0.0
        while True:
            try:
                await one_pass()
            except StorageError as exc:
                self.failures += 1
                delay = min(self.retry_max_s, delay * 2 if delay else self.retry_first_s)
                if not self.problem:
                    log.warning("object storage failed: %s; retrying, files stay local", exc)
                self._problems[name] = str(exc)
                await asyncio.sleep(delay)
                continue
            except Exception as exc:
                if database_down(exc):
                    log.debug("finished recordings wait for the database: %s", describe(exc))
                else:  # a bug: said loudly, and the lane goes on after a pause
                    log.exception("the object storage uploader failed")
                    await asyncio.sleep(self.retry_max_s)
            else:
                if self._problems.pop(name, None) and not self.problem:
                    log.info("object storage answers again")
                delay = 0.0
            await asyncio.sleep(every_s())

    # Segments

    async def segments_pass(self) -> int:
        """Upload the closed segments the store lacks; how many went up."""
        loop = asyncio.get_running_loop()
        before = set(self.writing())
        found = await loop.run_in_executor(
            None, _unchecked_segments, self.root, before, self._checked
        )
        # A recording that started while the disk was read may have a segment open that
        # looked closed: it waits for the next pass.
        started = set(self.writing()) - before
        for gone in set(self._checked) - set(found):
            self._checked.pop(gone, None)  # finalized or removed: nothing to follow
            self._stored.pop(gone, None)
        done = 0
        for directory, segments in found.items():
            if directory in started or not segments:
                continue
            done += await self._upload_segments(directory, segments)
        return done

    async def _upload_segments(self, directory: str, segments: list[tuple[Path, int]]) -> int:
        if directory not in self._stored:
            self._stored[directory] = await self.objects.stored_segments(directory)
        stored = self._stored[directory]
        checked = self._checked.setdefault(directory, set())
        held: list[str] = []  # in the store now, as on this disk
        done = 0
        try:
            for path, size in segments:
                if (
                    path.name in stored
                    and stored[path.name] != size
                    and not (await self._holds_the_start_of(directory, path, stored[path.name]))
                ):
                    # Not a copy cut short (sent while still being written when a server went
                    # down, sent again whole below): another node's segment under this name,
                    # which overwriting would lose. Numbering (bridge/recording/parts.py)
                    # prevents it; should it happen, this copy stays on the disk.
                    log.error(
                        "segment %s of %s differs from the store's (%d bytes, stored %d); "
                        "kept on disk, not uploaded",
                        path.name,
                        directory,
                        size,
                        stored[path.name],
                    )
                elif stored.get(path.name) != size:
                    key = self.objects.segments_prefix(directory) + path.name
                    try:
                        up = await upload_file(
                            self.objects.client, self.objects.url.bucket, key, path, SEGMENT_TYPE
                        )
                    except FileNotFoundError:
                        continue  # joined into its finished file meanwhile
                    stored[path.name] = up.size
                    self.uploaded_segments += 1
                    done += 1
                    held.append(path.name)
                else:
                    held.append(path.name)
                checked.add(path.name)
        finally:
            # Noted on the disk: should this node die, coming back it knows which of its
            # segments the node that went on with the show joins from the store.
            await asyncio.get_running_loop().run_in_executor(
                None, note_stored, self.root / directory, held
            )
        return done

    async def _holds_the_start_of(self, directory: str, path: Path, stored_size: int) -> bool:
        """Whether the store's object of segment `path` is its first `stored_size` bytes."""
        try:
            head = await asyncio.get_running_loop().run_in_executor(
                None, _first_bytes, path, stored_size
            )
        except FileNotFoundError:
            return False
        if len(head) != stored_size:
            return False  # the store's is the longer one
        key = self.objects.segments_prefix(directory) + path.name
        return await self.objects.client.get(self.objects.url.bucket, key) == head

    # Finished files

    async def finished_pass(self) -> int:
        """Upload the files of finished recordings still on disk; how many went up."""
        loop = asyncio.get_running_loop()
        directories = await loop.run_in_executor(None, recording_directories, self.root)
        if not directories:
            return 0
        done = 0
        for recording in await self.archive.search(directories=directories, limit=1000):
            done += await self._settle(recording)
        return done

    async def _settle(self, recording: Recording) -> int:
        """Upload what of `recording` is only on disk; remove the local copies of what the
        store holds verified; once it holds all of it, the segments' objects and the
        directory go."""
        directory = self.root / recording.directory
        stored = {f.name for f in recording.files if f.location}
        done, cleaned = 0, False
        try:
            for f in recording.files:
                if f.location is not None or (recording.id, f.name) in self._refused:
                    continue
                path = directory / f.name
                if not path.exists():
                    continue  # never here, or removed by hand: nothing to upload
                if f.kind == "program":
                    await self._upload_poster(recording, path)
                key = self.objects.file_key(recording.directory, f.name)
                try:
                    up = await upload_file(
                        self.objects.client,
                        self.objects.url.bucket,
                        key,
                        path,
                        f.media_type,
                        sha256_hex=f.sha256,
                    )
                except LocalFileMismatch as exc:
                    self._refused.add((recording.id, f.name))
                    log.error("recording %s: %s; kept on disk, not uploaded", recording.id, exc)
                    continue
                await self.archive.set_location(recording.id, f.name, location(up.bucket, key))
                stored.add(f.name)
                self.uploaded_files += 1
                done += 1
                log.info(
                    "recording %s: %s stored at s3://%s/%s (%d bytes, verified)",
                    recording.id,
                    f.name,
                    up.bucket,
                    key,
                    up.size,
                )
            if len(stored) == len(recording.files):
                await self.objects.delete_segments(recording.directory)
                cleaned = True
        finally:
            # Only what the archive now says is in the store, checked against its SHA-256; the
            # directory only once the segments' objects are gone too (else the next pass,
            # finding it, deletes them).
            names = set(stored)
            if "program" in {f.kind for f in recording.files if f.name in stored}:
                names.add(POSTER)
            await asyncio.get_running_loop().run_in_executor(
                None, _remove_local, directory, names, cleaned
            )
        return done

    async def _upload_poster(self, recording: Recording, program: Path) -> None:
        """The archive's poster, made from the program while it is still on disk."""
        try:
            poster = await asyncio.get_running_loop().run_in_executor(None, poster_of, program)
        except Exception as exc:  # an unreadable program still goes up; only its poster is lost
            log.warning("recording %s: no poster (%s)", recording.id, exc)
            return
        key = self.objects.file_key(recording.directory, POSTER)
        await upload_file(self.objects.client, self.objects.url.bucket, key, poster, "image/jpeg")
