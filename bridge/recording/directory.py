"""A recording's directory: what its files are called, and what a finished one holds.

One directory per recording. While recording, each stream is written as numbered segments: the
program as `program-000000.ts`, `program-000001.ts`..., each studio's own feed (ISO) as
`iso-<studio>-000000.webm`... (VP8) or `.mkv` (H.264); a restart of the server mid-show
continues the numbering (a new part of the same recording). Finished, each stream is one file,
`program.mp4` or `iso-<studio>.webm` (or `.mp4` for H.264), and the archive's poster is
`poster.jpg` beside them. Only this module knows these names: `web` gets typed files from it
and never parses a name.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import av

from bridge.recording.finalize import FinishedFile, finished_file, holds_no_picture
from bridge.recording.isolated import FinalizeFailed, finalize
from bridge.spec import FileKind, RecordedFile

log = logging.getLogger("telebridge.bridge.recorder")

PROGRAM = "program"  # the program's stream
ISO_PREFIX = "iso-"  # a studio's own feed: iso-<studio id>
POSTER = "poster.jpg"
SEGMENT_GLOB = "*-[0-9][0-9][0-9][0-9][0-9][0-9].*"
# A segment's suffix -> its stream's finished file: the program's MPEG-TS and a studio's H.264
# in Matroska become MP4 (H.264 and Opus play in MP4 in every browser); VP8 stays WebM.
FINISHED_SUFFIX = {".ts": ".mp4", ".mkv": ".mp4", ".webm": ".webm"}
MEDIA_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
# A segment being copied back from the object store (bridge/recording/parts.py): a segment
# only once it is whole.
PARTIAL_COPY = ".fetching"
# What finalizing leaves beside a file while it works (its journal, its unfinished copy), and a
# copy a crash cut short.
LEFTOVER_SUFFIXES = (".segments", ".tmp", PARTIAL_COPY)


def iso_stream(studio_id: str) -> str:
    """The stream name of a studio's own feed."""
    return f"{ISO_PREFIX}{studio_id}"


def segment_path(directory: Path, stream: str, index: int, extension: str) -> Path:
    """The file of a stream's segment number `index`."""
    return directory / f"{stream}-{index:06d}.{extension}"


def segments_of(directory: Path, stream: str, extension: str) -> list[Path]:
    """A stream's segment files in `directory`, in order."""
    return sorted(directory.glob(f"{stream}-*.{extension}"))


def program_file(directory: Path) -> Path:
    """Where the finished program goes."""
    return directory / f"{PROGRAM}.mp4"


def recorded_file(finished: FinishedFile) -> RecordedFile:
    """A finished file as the archive registers it: its kind and studio from its name."""
    path = finished.path
    kind, studio_id = _stream_kind(path.stem)
    return RecordedFile(
        kind=kind,
        studio_id=studio_id,
        name=path.name,
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        bytes=finished.bytes,
        sha256=finished.sha256,
        duration_s=finished.duration_s,
        path=path,
    )


def _stream_kind(stream: str) -> tuple[FileKind, str | None]:
    if stream.startswith(ISO_PREFIX):
        return "iso", stream.removeprefix(ISO_PREFIX)
    return "program", None


def _streams(directory: Path) -> dict[str, list[Path]]:
    """Each stream that has segments in `directory`: its name and its segments in order."""
    streams: dict[str, list[Path]] = {}
    for path in sorted(directory.glob(SEGMENT_GLOB)):
        if path.suffix in FINISHED_SUFFIX:
            streams.setdefault(path.stem.rsplit("-", 1)[0], []).append(path)
    return streams


def closed_segments(directory: Path, still_writing: bool) -> list[Path]:
    """The segments in `directory` that will never change again: while the recording is
    still being written, every segment of each stream but its newest (the recorder closes a
    segment before it opens the next); once it is not, all of them. Reads the disk: call it
    off the event loop."""
    closed: list[Path] = []
    for segments in _streams(directory).values():
        closed += segments[:-1] if still_writing else segments
    return sorted(closed)


def _finalize_streams(directory: Path, streams: dict[str, list[Path]]) -> list[RecordedFile]:
    out: list[RecordedFile] = []
    for name, segments in sorted(streams.items()):
        target = directory / f"{name}{FINISHED_SUFFIX[segments[0].suffix]}"
        try:
            out.append(recorded_file(finalize(segments, target)))
        except FinalizeFailed as exc:  # its segments stay: the next start tries again
            log.error("%s in %s; its segments are kept", exc, directory)
        except ValueError:
            # Segments opened just before a crash, cut off before their first picture: the
            # one being written, which a kill -9 may lose. Removed, not left unlisted.
            empty = [seg for seg in segments if holds_no_picture(seg)]
            for seg in empty:
                seg.unlink()
            log.warning(
                "nothing readable in the segments of %s in %s (%d without a picture, removed)",
                name,
                directory,
                len(empty),
            )
    return out


def finalize_isos(directory: Path) -> list[RecordedFile]:
    """Finalize every studio's own feed that has segments in `directory`: those recorded now,
    and those of a part before a restart whose studio did not come back (call it off the
    event loop)."""
    streams = _streams(directory)
    return _finalize_streams(
        directory, {k: v for k, v in streams.items() if k.startswith(ISO_PREFIX)}
    )


def finalize_directory(directory: Path) -> list[RecordedFile]:
    """Finalize every stream left in `directory` as segments, by stream name.

    For a recording whose server died: `program-000001.ts`... becomes `program.mp4`,
    `iso-trend-000001.webm`... becomes `iso-trend.webm`; a finalizing the crash interrupted is
    finished (finalize.settle). A stream already finalized (its segments removed) but never
    registered is returned as it is. Call it off the event loop.
    """
    streams = _streams(directory)
    out = _finalize_streams(directory, streams)
    for path in sorted(directory.iterdir()):
        if path.suffix in LEFTOVER_SUFFIXES and path.is_file():
            path.unlink()  # a journal or a .tmp whose finalizing is over (settled above)
            continue
        finished = path.suffix in MEDIA_TYPES and not path.match(SEGMENT_GLOB)
        if finished and path.stem not in streams:
            try:
                out.append(recorded_file(finished_file(path)))
            except (av.FFmpegError, OSError):
                log.warning("finished file %s cannot be read", path)
    return sorted(out, key=lambda f: f.path.stem)


def first_written(directory: Path) -> datetime | None:
    """When the oldest segment or finished file in `directory` was written; None when it holds
    none (reads the disk: call it off the event loop)."""
    times = [
        f.stat().st_mtime
        for f in directory.iterdir()
        if f.suffix in FINISHED_SUFFIX or f.suffix in MEDIA_TYPES
    ]
    return datetime.fromtimestamp(min(times), UTC) if times else None
