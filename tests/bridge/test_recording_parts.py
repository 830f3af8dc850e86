"""A recording written on two nodes: the later part numbers on after the earlier one, and the
node that wrote the earlier part keeps only what the store never took."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bridge.program.engine import ProgramFormat, make_encoder
from bridge.recording.directory import finalize_directory, first_written
from bridge.recording.finalize import holds_no_picture
from bridge.recording.parts import (
    NUMBERING,
    continue_after,
    continues_elsewhere,
    drop_stored,
    floor_by_time,
    forget,
    next_index,
    note_stored,
    segment_of,
    stored_names,
)
from bridge.recording.recorder import SegmentRecorder, VideoParams

FMT = ProgramFormat(width=320, height=180, fps=30, kbps=500, preset="ultrafast")
PARAMS = VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps)


def _record(directory: Path, seconds: float) -> list[Path]:
    """Record `seconds` of the program into `directory`; the segments written by this run."""
    encoder = make_encoder(FMT)
    recorder = SegmentRecorder(directory, "program", PARAMS)
    before = set(recorder.segments())
    for n in range(int(seconds * FMT.fps)):
        img = np.full((FMT.height, FMT.width, 3), (n * 5) % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = n, Fraction(1, FMT.fps)
        for packet in encoder.encode(frame):
            recorder.write(packet)
    for packet in encoder.encode(None):
        recorder.write(packet)
    recorder.close()
    return [p for p in recorder.segments() if p not in before]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("program-000007.ts", ("program", 7)),
        ("iso-trend-az-000012.webm", ("iso-trend-az", 12)),
        ("iso-anka-000003.mkv", ("iso-anka", 3)),
        ("program.mp4", None),
        ("program-7.ts", None),
        ("program-00000x.ts", None),
        ("program-000007.ts.fetching", None),
        ("program-000007.txt", None),
        ("-000007.ts", None),
        ("numbering.json", None),
    ],
)
def test_a_segment_name_says_its_stream_and_index(
    name: str, expected: tuple[str, int] | None
) -> None:
    assert segment_of(name) == expected


def test_numbering_goes_on_after_the_highest_segment_and_the_floor(tmp_path: Path) -> None:
    names = ("program-000000.ts", "program-000001.ts", "program-000004.ts", "iso-x-000002.webm")
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert next_index(tmp_path, "program") == 5  # after the highest, not the count (a gap)
    assert next_index(tmp_path, "iso-x") == 3
    assert next_index(tmp_path, "iso-y") == 0
    floors = continue_after(tmp_path, ["program-000009.ts", "iso-y-000003.webm", "poster.jpg"])
    assert floors == {"program": 10, "iso-y": 4}
    assert continues_elsewhere(tmp_path)
    assert (next_index(tmp_path, "program"), next_index(tmp_path, "iso-y")) == (10, 4)
    assert next_index(tmp_path, "iso-x") == 3
    # A second takeover raises the floors, never lowers them.
    assert continue_after(tmp_path, ["program-000002.ts"]) == {"program": 10, "iso-y": 4}
    forget(tmp_path)
    assert not continues_elsewhere(tmp_path) and next_index(tmp_path, "program") == 5


def test_a_floor_by_time_is_above_anything_numbered_since_the_start(tmp_path: Path) -> None:
    # Segments are 2 s at least and each part starts one: one a second is a margin of two.
    assert floor_by_time(60.0, 2) == 63
    assert floor_by_time(-5.0, 0) == 2  # a clock behind: never below the first ones
    continue_after(tmp_path, [], at_least=floor_by_time(600.0, 3))
    (tmp_path / "iso-x-000700.webm").write_bytes(b"x")
    assert next_index(tmp_path, "program") == 604  # every stream, also those not yet seen
    assert next_index(tmp_path, "iso-x") == 701  # and after what this directory holds


def test_a_broken_numbering_note_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / NUMBERING).write_text("{not json", encoding="utf-8")
    assert next_index(tmp_path, "program") == 0


def test_parts_written_on_two_nodes_join_into_one_program(tmp_path: Path) -> None:
    node_a, node_b = tmp_path / "a" / "b1" / "r1", tmp_path / "b" / "b1" / "r1"
    earlier = _record(node_a, 5.0)
    assert len(earlier) >= 2
    # Node A dies: the store has every segment but the one being written.
    stored, lost = earlier[:-1], earlier[-1]
    note_stored(node_a, [p.name for p in stored])
    # Node B numbers its part after the stored segments, then copies them back.
    continue_after(node_b, [p.name for p in stored])
    later = _record(node_b, 4.0)
    assert min(segment_of(p.name)[1] for p in later) == len(stored)  # type: ignore[index]
    for p in stored:
        shutil.copy(p, node_b / p.name)
    files = finalize_directory(node_b)
    program = next(f for f in files if f.kind == "program")
    joined_s = sum(_seconds(p) for p in stored) + 4.0
    assert abs(program.duration_s - joined_s) < 0.3, (program.duration_s, joined_s)
    # Node A comes back: what the store holds goes, the segment it never took stays.
    assert stored_names(node_a) == {p.name for p in stored}
    assert drop_stored(node_a) == len(stored)
    assert sorted(p.name for p in node_a.iterdir() if segment_of(p.name)) == [lost.name]
    assert first_written(node_a) is not None


def _seconds(segment: Path) -> float:
    with av.open(str(segment)) as src:
        return sum(1 for _ in src.demux(video=0) if _.size) / FMT.fps


def test_a_segment_killed_before_its_first_frame_holds_no_picture(tmp_path: Path) -> None:
    (segment, *_) = _record(tmp_path / "rec", 3.0)
    assert not holds_no_picture(segment)
    header = tmp_path / "header-000000.ts"
    header.write_bytes(segment.read_bytes()[: 188 * 2])  # its PAT and PMT, no picture yet
    assert holds_no_picture(header)
    empty = tmp_path / "empty-000000.webm"
    empty.write_bytes(b"")
    assert holds_no_picture(empty)
    garbage = tmp_path / "garbage-000000.webm"
    garbage.write_bytes(bytes(range(256)) * 40)  # unreadable, but bytes a person may rescue
    assert not holds_no_picture(garbage)
