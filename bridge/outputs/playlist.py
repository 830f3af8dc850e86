"""HLS names and playlists: which files an HLS directory holds, and the sliding playlist.

The playlist is a media playlist (HLS version 3: TS segments, decimal durations) of the last
HLS_WINDOW segments, each with its wall-clock start (EXT-X-PROGRAM-DATE-TIME). HlsPlaylist is
the window of one run with no file work of its own: it says which files may go, and a file that
left the window is deleted only KEEP_WINDOWS windows later, since a viewer may still be fetching
it. A segment whose number does not follow the last one starts over as a discontinuity, and the
discontinuities that slid out are counted in EXT-X-DISCONTINUITY-SEQUENCE (RFC 8216 6.2.2).

Only this module knows the names (segment numbers are also media sequence numbers, and a name
is never reused); the web route asks `hls_file` which name it may serve, and `media_type` how.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

PLAYLIST = "index.m3u8"
PLAYLIST_MEDIA_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_MEDIA_TYPE = "video/mp2t"
SEGMENT_STREAM, SEGMENT_EXTENSION = "seg", "ts"  # seg-000123.ts (see recording.directory)
HLS_WINDOW = 6  # segments in the playlist: 12 s of program
KEEP_WINDOWS = 2  # a segment's file is deleted two windows after it left the playlist
PLAYLIST_TMP = PLAYLIST + ".tmp"  # written whole, then os.replace'd onto PLAYLIST
SEGMENT_FILE = re.compile(r"seg-([0-9]{6,})\.ts")  # group 1: the sequence number
_SERVED = re.compile(r"index\.m3u8|seg-[0-9]{6,}\.ts")  # ASCII digits only: not \d


def hls_file(directory: Path, name: str) -> Path | None:
    """The file of `name` in an HLS directory, or None when `name` is not a playlist's or a
    segment's name (anything else, e.g. `../x`, a temporary file or a path, is refused)."""
    return directory / name if _SERVED.fullmatch(name) else None


def media_type(name: str) -> str:
    """The Content-Type to serve a file of an HLS directory with."""
    return PLAYLIST_MEDIA_TYPE if name.endswith(".m3u8") else SEGMENT_MEDIA_TYPE


def segment_name(sequence: int) -> str:
    """The file of the segment with media sequence number `sequence`."""
    return f"{SEGMENT_STREAM}-{sequence:06d}.{SEGMENT_EXTENSION}"


@dataclasses.dataclass(frozen=True)
class HlsSegment:
    """A finished segment as the playlist lists it."""

    sequence: int  # its media sequence number, which is also its file's number
    duration_s: float
    started_at: datetime  # wall clock (UTC) of its first frame: EXT-X-PROGRAM-DATE-TIME
    bytes: int = 0
    discontinuity: bool = False  # the first of a new run: its timestamps jump

    @property
    def name(self) -> str:
        """Its file's name, relative to the playlist."""
        return segment_name(self.sequence)


def _extinf(seconds: float) -> float:
    return round(seconds, 3)  # as the playlist writes it


def _date_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def playlist_text(
    segments: Sequence[HlsSegment],
    target_duration: int,
    discontinuity_sequence: int = 0,
    ended: bool = False,
) -> str:
    """A media playlist (HLS version 3: TS segments, decimal durations) of `segments`, whose
    sequence numbers follow one another."""
    first = segments[0].sequence if segments else 0
    if any(s.sequence != first + i for i, s in enumerate(segments)):
        raise ValueError("a playlist's segments must have consecutive sequence numbers")
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
    ]
    if discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_date_time(segment.started_at)}")
        lines.append(f"#EXTINF:{_extinf(segment.duration_s):.3f},")
        lines.append(segment.name)
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


class HlsPlaylist:
    """The sliding window of one run (no file work: it says which files may go)."""

    def __init__(
        self,
        window: int = HLS_WINDOW,
        min_target: int = 2,
        discontinuity_sequence: int = 0,
        retired: Iterable[str] = (),
    ) -> None:
        self.window = window
        self.segments: deque[HlsSegment] = deque()
        self.discontinuity_sequence = discontinuity_sequence
        # Never lowered: RFC 8216 wants it fixed, and a player's reload pace follows it.
        self.target_duration = min_target
        self._added = 0
        self._keep = KEEP_WINDOWS * window
        self._retired: deque[tuple[int, str]] = deque((self._keep, name) for name in retired)

    def add(self, segment: HlsSegment) -> list[str]:
        """List a finished segment; returns the files that may be deleted now.

        A segment whose number does not follow the last one (the writer lost one: a disk
        error) cannot share a playlist with the segments before it: they are let go, and it
        starts over as a discontinuity."""
        if self.segments and segment.sequence != self.segments[-1].sequence + 1:
            segment = dataclasses.replace(segment, discontinuity=True)
            self._slide(keep=0)
        self.segments.append(segment)
        self._added += 1
        self.target_duration = max(self.target_duration, math.ceil(_extinf(segment.duration_s)))
        self._slide(keep=self.window)
        due: list[str] = []
        while self._retired and self._retired[0][0] <= self._added:
            due.append(self._retired.popleft()[1])
        return due

    def _slide(self, keep: int) -> None:
        while len(self.segments) > keep:
            gone = self.segments.popleft()
            if gone.discontinuity:
                self.discontinuity_sequence += 1  # RFC 8216 6.2.2
            self._retired.append((self._added + self._keep, gone.name))

    def text(self, ended: bool = False) -> str:
        """The playlist as it stands."""
        return playlist_text(
            list(self.segments), self.target_duration, self.discontinuity_sequence, ended
        )

    def bitrate_kbps(self) -> float | None:
        """The segments' bitrate over the window (None before the first)."""
        seconds = sum(s.duration_s for s in self.segments)
        return sum(s.bytes for s in self.segments) * 8 / seconds / 1000 if seconds else None
