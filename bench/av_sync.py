"""Lip sync of the recordings: a flash and a beep every second, through a live Room.

Two aiortc studios send a black picture with one full-white frame at each whole second of their
own media clock, and silence with a 50 ms 1 kHz beep starting at the same instants (picture and
sound count from one shared start, so the source is in sync by construction; the second studio
is half a second later, so its flashes and beeps are told apart from the first's in the
program). The Room composes and records them; the finished files are decoded with PyAV: flash
onsets from the mean luma (per studio's tile in the program), beep onsets from a 1 ms RMS
envelope (to the sample), and each flash paired with the beep within a quarter second of it.
Printed per file (the program, and each studio's own feed): the audio - video offset, median,
min and max over the pairs; positive means the sound is late. Also each path's own delay from
the source (the files' timelines mapped back to the loop clock) and the program mixer's jitter
buffer sampled while recording (between blocks).

    .venv/bin/python bench/av_sync.py [--seconds 12]   (as root: enters the test network namespace)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.netns import ensure_netns  # noqa: E402
from harness.avsync import (  # noqa: E402
    RATE,
    FlashBeepStudio,
    SharedStart,
    beep_onsets,
    flash_onsets,
    pair,
)

STUDIOS = (("baku", 0.0), ("rome", 0.5))  # (id, phase of its flashes and beeps in seconds)


@dataclasses.dataclass
class Run:
    """The finished files, and the loop times (monotonic) their timelines start at."""

    files: list[Any]
    source_start: float  # the studios' media clocks' 0
    program_start: float  # program.mp4's time 0
    iso_start: dict[str, float]  # each iso-*.webm's time 0
    buffered_ms: dict[str, list[float]]  # the mixer's jitter buffer, sampled while recording


async def record(directory: Path, seconds: float, warmup: float) -> Run:
    """Run the room with both studios, record `seconds`, return the finished files."""
    from bridge.room import Room
    from bridge.spec import RoomSpec, StudioSpec

    now = datetime.now(UTC)
    spec = RoomSpec(
        booking_id="bk-av-sync",
        title="A/V sync",
        studios=tuple(StudioSpec(sid, sid.upper()) for sid, _ in STUDIOS),
        opens_at=now - timedelta(minutes=5),
        on_air_at=now,
        off_air_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=1, minutes=10),
        program=True,
    )
    room = Room(spec)
    start = SharedStart()
    studios = [FlashBeepStudio(sid, len(STUDIOS) - 1, start, phase) for sid, phase in STUDIOS]
    try:
        for studio in studios:
            await studio.join(room)
        await asyncio.sleep(warmup)  # connected, pictures and sound in the program
        room.start_recording(directory)
        production = room.production
        assert production is not None and production.recording is not None
        engine = production.engine
        assert engine.origin is not None
        program_start = engine.origin + production.recording.recorder.video_origin / engine.fmt.fps
        iso_start = {sid: getattr(iso, "_started", 0.0) for sid, iso in room.isos.items()}
        buffered: dict[str, list[float]] = {sid: [] for sid, _ in STUDIOS}
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            for sid, ch in production.audio.mixer.channels.items():
                buffered[sid].append(ch.buffer.size / RATE * 1000)
            await asyncio.sleep(0.05)
        files = await room.stop_recording()
    finally:
        for studio in studios:
            await studio.close()
        await room.close()
    assert start.t0 is not None
    return Run(list(files), start.t0, program_start, iso_start, buffered)


def _delay(at: float, source: float) -> float:
    """How long after the source's last flash-and-beep instant `at` is (both loop times)."""
    since = at - source
    return since - float(np.floor(since + 0.1))  # delays from -0.1 s to 0.9 s


def report(
    name: str, pairs: list[tuple[float, float]], counts: str, start: float, source: float
) -> None:
    """One line: the offset over the pairs, and each path's delay from the source."""
    if not pairs:
        print(f"{name:20s} no pairs ({counts})")
        return
    ms = [(a - v) * 1000 for v, a in pairs]
    video = statistics.median(_delay(start + v, source) * 1000 for v, _ in pairs)
    audio = statistics.median(_delay(start + a, source) * 1000 for _, a in pairs)
    med = statistics.median(ms)
    side = "audio late" if med > 0 else "audio early"
    print(
        f"{name:20s} A-V median {med:+6.1f} ms  min {min(ms):+6.1f}  max {max(ms):+6.1f}  "
        f"pairs {len(ms):2d} ({counts})  {side:11s}  "
        f"[from the source: video {video:5.1f} ms, audio {audio:5.1f} ms]"
    )


def analyse(run: Run) -> None:
    from bridge.program.engine import ProgramFormat
    from bridge.program.layout import tiles_for

    fmt = ProgramFormat()
    tiles = tiles_for("auto", len(STUDIOS), fmt.width, fmt.height)
    # The middle of each tile: the letterbox and the label stay out of the measurement.
    regions = [(t.x + t.w // 4, t.y + t.h // 4, t.w // 2, t.h // 2) for t in tiles if t is not None]
    phases = dict(STUDIOS)
    for f in sorted(run.files, key=lambda f: (f.kind != "program", f.studio_id or "")):
        path = f.path
        beeps = beep_onsets(path)
        if f.kind == "program":
            per_tile = flash_onsets(path, regions)
            everything: list[tuple[float, float]] = []
            for (sid, phase), flashes in zip(STUDIOS, per_tile, strict=True):
                pairs = pair(flashes, beeps)
                everything += pairs
                counts = f"of {len(flashes)} flashes, {len(beeps)} beeps"
                report(
                    f"program, {sid}", pairs, counts, run.program_start, run.source_start + phase
                )
            counts = f"of {sum(map(len, per_tile))} flashes, {len(beeps)} beeps"
            offsets = [a - v for v, a in everything]
            if offsets:
                print(
                    f"{'program, both':20s} A-V median {statistics.median(offsets) * 1000:+6.1f} "
                    f"ms  min {min(offsets) * 1000:+6.1f}  max {max(offsets) * 1000:+6.1f}  "
                    f"pairs {len(offsets):2d} ({counts})"
                )
        else:
            sid = f.studio_id
            (flashes,) = flash_onsets(path, None)
            counts = f"of {len(flashes)} flashes, {len(beeps)} beeps"
            report(
                f"iso-{sid}",
                pair(flashes, beeps),
                counts,
                run.iso_start.get(sid, 0.0),
                run.source_start + phases[sid],
            )
    for sid, levels in run.buffered_ms.items():
        if levels:
            print(
                f"mixer jitter buffer, {sid}: median {statistics.median(levels):.0f} ms "
                f"(min {min(levels):.0f}, max {max(levels):.0f}) while recording"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="record here and keep the files")
    args = parser.parse_args()
    ensure_netns()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp) / "rec"
        run = asyncio.run(record(directory, args.seconds, args.warmup))
        for f in run.files:
            print(f"{f.name}: {f.duration_s:.2f} s")
        analyse(run)


if __name__ == "__main__":
    main()
