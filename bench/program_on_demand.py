"""The program's picture on demand: what an unused program costs, and how fast it comes back.

A 720p30 program engine (a room's preset) composes two moving 720p studios. The
figures: this process's CPU-s/s while nobody uses the program (after the linger: the picture
stopped, the studios' latest frames still kept) and while one subscriber takes it; and, over
repeated stops and starts, the time from a user's claim to its first (key)frame, against the
goal of one second (issue 16).

    .venv/bin/python bench/program_on_demand.py [--seconds 10] [--starts 10]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bridge.program.engine import ProgramEngine, ProgramFormat
from harness.waiting import eventually

LINGER_S = 0.5


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _textured(seed: int) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24").reformat(
        format="yuv420p"
    )


async def _feed(engine: ProgramEngine, stop: asyncio.Event) -> None:
    """The studios' decoded pictures arriving at 30 fps (what the decoders hand the engine)."""
    frames = [[_textured(s * 100 + i) for i in range(15)] for s in range(2)]
    n = 0
    while not stop.is_set():
        for studio in range(2):
            engine.update(studio, frames[studio][n % 15])
        n += 1
        await asyncio.sleep(1 / 30)


async def _cpu_per_second(seconds: float) -> float:
    cpu, wall = _cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    return (_cpu() - cpu) / (time.monotonic() - wall)


async def run(seconds: float, starts: int) -> None:
    engine = ProgramEngine(ProgramFormat(), linger=LINGER_S)
    engine.set_sources(["Trend · Baku", "ANSA · Roma"])
    stop = asyncio.Event()
    feeder = asyncio.ensure_future(_feed(engine, stop))
    engine.start()
    try:
        await eventually(lambda: not engine.composing, message="the unused picture stopping")
        idle = await _cpu_per_second(seconds)
        queue = engine.subscribe("bench")
        composing = await _cpu_per_second(seconds)
        engine.unsubscribe(queue)
        waits = []
        for _ in range(starts):
            await eventually(lambda: not engine.composing, message="the picture stopping")
            await asyncio.sleep(0.3)
            claimed = time.monotonic()
            queue = engine.subscribe("bench")
            while not (await queue.get()).is_keyframe:
                pass
            waits.append(time.monotonic() - claimed)
            engine.unsubscribe(queue)
    finally:
        stop.set()
        await feeder
        await engine.stop()
    print(f"720p30 program of 2 studios ({ProgramFormat().preset}), this process:")
    print(f"  nobody uses it (picture stopped): {idle:.3f} CPU-s/s")
    print(f"  one user (composed and encoded):  {composing:.3f} CPU-s/s")
    print(
        f"  claim to first keyframe over {starts} starts: median "
        f"{statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms (goal < 1 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--starts", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.starts))


if __name__ == "__main__":
    main()
