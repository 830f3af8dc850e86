"""A recording whose parts were written on two nodes: numbering on, and what another copy keeps.

A node that takes a show over mid-recording records the next part into a directory of its own,
while the earlier part's closed segments are in the object store (web/storage). Two rules keep
the parts apart and joinable:

- The new part is numbered after the stored segments (`continue_after` writes the floor, each
  recorder starts at `next_index`), so no two different segments ever share a name: finalizing
  joins the stored ones, copied back, and the new ones in order.
- The node that recorded the earlier part notes each segment the store took (`note_stored`).
  Back after a crash, it drops those (the new owner joins them: `drop_stored`) and files only
  what never reached the store.

Both notes are small files beside the segments; only this module reads or writes them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from bridge.recording.directory import FINISHED_SUFFIX

NUMBERING = "numbering.json"  # {stream: the first index this directory's recorders may use}
EVERY_STREAM = ""  # the key in NUMBERING of a floor for every stream
STORED = "stored.txt"  # one segment name a line: the object store holds it
INDEX_DIGITS = 6
# A segment holds at least 2 s of its stream (recorder.SEGMENT_SECONDS), and each part starts
# one more: counting one a second, plus one per part, is above anything a recording can have
# numbered since it began, whatever the store can say.
SEGMENTS_PER_SECOND_AT_MOST = 1.0


def floor_by_time(elapsed_s: float, parts: int) -> int:
    """A first index above every segment of a recording that began `elapsed_s` ago and is now
    in its part number `parts`: for when the earlier segments cannot be listed."""
    return int(max(elapsed_s, 0.0) * SEGMENTS_PER_SECOND_AT_MOST) + 1 + max(parts, 1)


def segment_of(name: str) -> tuple[str, int] | None:
    """A segment file's stream and index (`iso-trend-000007.webm` -> ("iso-trend", 7)); None
    for any other file."""
    stem, dot, suffix = name.rpartition(".")
    stream, dash, index = stem.rpartition("-")
    if not (dot and dash and stream) or f".{suffix}" not in FINISHED_SUFFIX:
        return None
    if len(index) != INDEX_DIGITS or not index.isdigit():
        return None
    return stream, int(index)


def _floors(directory: Path) -> dict[str, int]:
    try:
        data = json.loads((directory / NUMBERING).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def next_index(directory: Path, stream: str) -> int:
    """The number of a stream's next segment in `directory`: after its highest segment there
    (of any extension), and not below the floor of an earlier part kept elsewhere. Reads the
    disk: call it off the event loop."""
    highest = -1
    for path in directory.glob(f"{stream}-*.*"):
        found = segment_of(path.name)
        if found is not None and found[0] == stream:
            highest = max(highest, found[1])
    floors = _floors(directory)
    return max(highest + 1, floors.get(stream, 0), floors.get(EVERY_STREAM, 0))


def continue_after(directory: Path, names: Iterable[str], at_least: int = 0) -> dict[str, int]:
    """Number this directory's segments after `names` (the earlier part's segments, kept
    elsewhere), and every stream's from `at_least` at least, durably: a crash right after must
    not number from 0 again. Returns the floors."""
    floors = _floors(directory)
    if at_least > floors.get(EVERY_STREAM, 0):
        floors[EVERY_STREAM] = at_least
    for name in names:
        found = segment_of(name)
        if found is not None:
            stream, index = found
            floors[stream] = max(floors.get(stream, 0), index + 1)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{NUMBERING}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(floors, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(directory / NUMBERING)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return floors


def continues_elsewhere(directory: Path) -> bool:
    """Whether `directory` is a later part of a recording whose earlier part is kept
    elsewhere (its segments must be copied back before it is finalized)."""
    return (directory / NUMBERING).is_file()


def note_stored(directory: Path, names: Iterable[str]) -> None:
    """Note that the store holds these segments of `directory` (a lost note costs only a
    duplicate part later, so it is appended without fsync)."""
    lines = "".join(f"{name}\n" for name in names)
    if lines:
        with contextlib.suppress(FileNotFoundError), (directory / STORED).open("a") as fh:
            fh.write(lines)  # FileNotFoundError: finalized and removed meanwhile


def stored_names(directory: Path) -> set[str]:
    """The segments of `directory` that the store holds, as noted."""
    try:
        text = (directory / STORED).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line for line in text.splitlines() if segment_of(line) is not None}


def drop_stored(directory: Path) -> int:
    """Delete the local copies of segments the store holds (another node joined them into its
    part of the recording); how many. Reads the disk: call it off the event loop."""
    dropped = 0
    for name in stored_names(directory):
        path = directory / name
        if path.is_file():
            path.unlink()
            dropped += 1
    return dropped


def forget(directory: Path) -> None:
    """Remove the notes (the recording is finished and stored: nothing more to number)."""
    for name in (NUMBERING, STORED, f"{NUMBERING}.tmp"):
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()
