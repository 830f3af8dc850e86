"""The archive: recordings of telebridges and their files (storage and search only)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import db
from schedules.errors import NotFound

# Rows read at a time while a search filters outside SQL.
SEARCH_PAGE = 500


@dataclass(frozen=True)
class RecordingFile:
    """One finished file of a recording: the program, or one studio's own feed (ISO)."""

    recording_id: str
    name: str
    kind: str  # "program" | "iso"
    studio_id: str | None
    media_type: str
    bytes: int
    sha256: str
    duration_s: float
    # Where the file lives: None on this server's disk (in the recording's directory), else
    # the object store's `s3://<bucket>/<key>`, written once the upload is verified.
    location: str | None = None


@dataclass(frozen=True)
class Recording:
    """A telebridge's recording: one archive entry, possibly written in several parts."""

    id: str
    booking_id: str
    title: str
    studios: tuple[str, ...]
    status: str  # "recording" | "finished" | "failed" | "deleting"
    directory: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    parts: int
    files: tuple[RecordingFile, ...] = ()
    # The node of a cluster whose disk holds its files that are not in the object store.
    node_id: str | None = None


def recording_directory(booking_id: str, recording_id: str) -> str:
    """Where a recording's files go, relative to the recordings root."""
    return f"{booking_id}/{recording_id}"


def _file(row: Any) -> RecordingFile:
    return RecordingFile(
        row.recording_id,
        row.name,
        row.kind,
        row.studio_id,
        row.media_type,
        row.bytes,
        row.sha256,
        row.duration_s,
        row.location,
    )


def _recording_values(rec: Recording) -> dict[str, Any]:
    return {
        "id": rec.id,
        "booking_id": rec.booking_id,
        "title": rec.title,
        "studios": list(rec.studios),
        "status": rec.status,
        "directory": rec.directory,
        "started_at": rec.started_at,
        "ended_at": rec.ended_at,
        "duration_s": rec.duration_s,
        "parts": rec.parts,
    }


class Archive:
    """Recordings on the booking database."""

    def __init__(self, engine: AsyncEngine, node_id: str | None = None) -> None:
        self.engine = engine
        self.node_id = node_id  # this node's, in a cluster: written on what it finishes

    @staticmethod
    def new_recording(
        booking_id: str, title: str, studios: Sequence[str], now: datetime
    ) -> Recording:
        """A new recording of the booking, not yet stored (its id and directory are made here,
        so a show can start recording while the database is away and be stored later)."""
        recording_id = secrets.token_hex(6)
        return Recording(
            recording_id,
            booking_id,
            title,
            tuple(studios),
            "recording",
            recording_directory(booking_id, recording_id),
            now,
            None,
            None,
            1,
        )

    async def open_recording(
        self, booking_id: str, title: str, studios: Sequence[str], now: datetime
    ) -> Recording:
        """The booking's unfinished recording (a restart continues it), else a new one."""
        r = db.recordings
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(r).where(r.c.booking_id == booking_id, r.c.status == "recording")
                )
            ).first()
            if row is not None:
                await conn.execute(r.update().where(r.c.id == row.id).values(parts=row.parts + 1))
                return self._recording(row, parts=row.parts + 1)
            recording = self.new_recording(booking_id, title, studios, now)
            await conn.execute(r.insert().values(**_recording_values(recording)))
        return recording

    async def directories(self) -> set[str]:
        """The directory of every recording the archive knows, finished or not."""
        r = db.recordings
        async with self.engine.connect() as conn:
            return set((await conn.execute(sa.select(r.c.directory))).scalars())

    async def add_recording(self, recording: Recording) -> None:
        """Store a recording made by `new_recording` (again: a second call changes nothing)."""
        r = db.recordings
        async with self.engine.begin() as conn:
            found = await conn.execute(sa.select(r.c.id).where(r.c.id == recording.id))
            if found.first() is None:
                await conn.execute(r.insert().values(**_recording_values(recording)))

    async def finish(
        self, recording_id: str, ended_at: datetime, files: Sequence[RecordingFile]
    ) -> Recording:
        """Register the finalized files and mark the recording finished."""
        r, f = db.recordings, db.recording_files
        duration = max((x.duration_s for x in files if x.kind == "program"), default=None)
        async with self.engine.begin() as conn:
            await conn.execute(f.delete().where(f.c.recording_id == recording_id))
            if files:
                await conn.execute(
                    f.insert(),
                    [
                        {
                            "recording_id": recording_id,
                            "name": x.name,
                            "kind": x.kind,
                            "studio_id": x.studio_id,
                            "media_type": x.media_type,
                            "bytes": x.bytes,
                            "sha256": x.sha256,
                            "duration_s": x.duration_s,
                        }
                        for x in files
                    ],
                )
            await conn.execute(
                r.update()
                .where(r.c.id == recording_id)
                .values(
                    status="finished",
                    ended_at=ended_at,
                    duration_s=duration,
                    node_id=self.node_id,
                )
            )
        return await self.get(recording_id)

    async def node_of(self, recording_id: str) -> str | None:
        """The node whose disk holds the recording's files (None alone, or unknown id)."""
        r = db.recordings
        async with self.engine.connect() as conn:
            found = await conn.execute(sa.select(r.c.node_id).where(r.c.id == recording_id))
            return found.scalar()

    async def set_location(self, recording_id: str, name: str, location: str | None) -> None:
        """Record where a finished file lives now (its upload to the object store verified)."""
        f = db.recording_files
        async with self.engine.begin() as conn:
            await conn.execute(
                f.update()
                .where(f.c.recording_id == recording_id, f.c.name == name)
                .values(location=location)
            )

    async def fail(self, recording_id: str, ended_at: datetime) -> None:
        """Mark a recording that could not be finalized."""
        r = db.recordings
        async with self.engine.begin() as conn:
            await conn.execute(
                r.update().where(r.c.id == recording_id).values(status="failed", ended_at=ended_at)
            )

    async def mark_deleting(self, recording_id: str) -> None:
        """Take a recording out of every listing before its files go: a deletion cut short
        leaves an entry nobody sees (and `delete` again completes it), never a listed one
        whose files are gone."""
        r = db.recordings
        async with self.engine.begin() as conn:
            await conn.execute(r.update().where(r.c.id == recording_id).values(status="deleting"))

    async def delete(self, recording_id: str) -> None:
        """Remove a recording and its files' rows (its media already deleted)."""
        r, f = db.recordings, db.recording_files
        async with self.engine.begin() as conn:
            await conn.execute(f.delete().where(f.c.recording_id == recording_id))
            await conn.execute(r.delete().where(r.c.id == recording_id))

    async def get(self, recording_id: str) -> Recording:
        """One recording with its files, or NotFound."""
        found = await self.search(ids=[recording_id], finished_only=False)
        if not found:
            raise NotFound("recording", recording_id)
        return found[0]

    async def search(
        self,
        *,
        text: str = "",
        studio: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        booking: str | None = None,
        ids: Sequence[str] | None = None,
        directories: Sequence[str] | None = None,
        finished_only: bool = True,
        status: str | None = None,
        visible: Callable[[Recording], bool] | None = None,
        limit: int = 200,
    ) -> list[Recording]:
        """Recordings, newest first, by title text, studio, date range or booking; only those
        `visible` accepts (the asker's access rule). The limit counts what passes every filter:
        an operator whose organisation took part in few shows still sees them all."""
        r, f = db.recordings, db.recording_files
        query = sa.select(r).order_by(r.c.started_at.desc(), r.c.id)
        if finished_only:
            query = query.where(r.c.status == "finished")
        if status is not None:
            query = query.where(r.c.status == status)
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(r.c.title.ilike(pattern, escape="\\"))
        if start is not None:
            query = query.where(r.c.started_at >= start)
        if end is not None:
            query = query.where(r.c.started_at < end)
        if booking is not None:
            query = query.where(r.c.booking_id == booking)
        if ids is not None:
            query = query.where(r.c.id.in_(list(ids)))
        if directories is not None:
            query = query.where(r.c.directory.in_(list(directories)))
        async with self.engine.connect() as conn:
            rows: list[Any] = []
            # Read in pages until `limit` rows pass the filters that cannot be put in SQL (the
            # studios are a JSON list, which databases query differently; the access rule).
            offset = 0
            while len(rows) < limit:
                page = list(await conn.execute(query.limit(SEARCH_PAGE).offset(offset)))
                offset += len(page)
                for row in page:
                    if studio is not None and studio not in row.studios:
                        continue
                    if visible is not None and not visible(self._recording(row)):
                        continue
                    rows.append(row)
                    if len(rows) == limit:
                        break
                if len(page) < SEARCH_PAGE:
                    break
            if not rows:
                return []
            file_rows = await conn.execute(
                sa.select(f)
                .where(f.c.recording_id.in_([row.id for row in rows]))
                .order_by(f.c.kind.desc(), f.c.name)
            )
            files: dict[str, list[RecordingFile]] = {}
            for fr in file_rows:
                files.setdefault(fr.recording_id, []).append(_file(fr))
        return [self._recording(row, files=tuple(files.get(row.id, ()))) for row in rows]

    @staticmethod
    def _recording(
        row: Any, parts: int | None = None, files: tuple[RecordingFile, ...] = ()
    ) -> Recording:
        return Recording(
            row.id,
            row.booking_id,
            row.title,
            tuple(row.studios),
            row.status,
            row.directory,
            row.started_at,
            row.ended_at,
            row.duration_s,
            parts if parts is not None else row.parts,
            files,
            row.node_id,
        )
