"""Composing and encoding the joint program: real-time factor and CPU, against ffmpeg.

The same 720p30 inputs (raw frames made here, 2, 4 and 6 studios) are composed into one 1280x720
picture and encoded once with libx264 (a room's preset, zerolatency, 4 Mbps): by Telebridge's
program engine (compositor + PyAV), and by the `ffmpeg` command line (xstack + libx264) in the
same run.
A real-time factor below 1 means faster than real time.

    .venv/bin/python bench/program_encode.py [--seconds 10]   (needs Debian's ffmpeg)
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bridge.program.compositor import Source
from bridge.program.engine import ProgramEngine, ProgramFormat

W, H, FPS = 1280, 720, 30
PRESET = ProgramFormat().preset  # a room's, for both
FRAMES_PER_INPUT = 60


def _inputs(count: int) -> list[list[np.ndarray]]:
    """`count` studios' 2-second loops of textured, moving 720p frames (yuv420p, packed)."""
    rng = np.random.default_rng(11)
    studios = []
    for s in range(count):
        base = rng.integers(0, 255, (H // 8, W // 8, 3), dtype=np.uint8)
        frames = []
        for i in range(FRAMES_PER_INPUT):
            rgb = np.roll(base, i + s * 7, axis=1).repeat(8, axis=0).repeat(8, axis=1)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frames.append(frame.reformat(format="yuv420p").to_ndarray())
        studios.append(frames)
    return studios


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def telebridge(inputs: list[list[np.ndarray]], seconds: float) -> tuple[float, float]:
    """(real-time factor, CPU seconds per second of program) of the program engine."""
    engine = ProgramEngine(ProgramFormat(W, H, FPS, 4000, PRESET))
    labels = [f"Studio {i + 1} · City" for i in range(len(inputs))]
    frames = [[av.VideoFrame.from_ndarray(f, format="yuv420p") for f in s] for s in inputs]
    total = int(seconds * FPS)
    cpu0, t0 = _cpu_self(), time.perf_counter()
    for n in range(total):
        sources = [Source(labels[i], frames[i][n % FRAMES_PER_INPUT]) for i in range(len(inputs))]
        engine.render(sources, "auto", 0)
    elapsed, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    engine.close()
    return elapsed / seconds, cpu / seconds


def ffmpeg(inputs: list[list[np.ndarray]], seconds: float, tmp: Path) -> tuple[float, float]:
    """The same composition and encoding by the ffmpeg command line."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    for i, studio in enumerate(inputs):
        raw = tmp / f"in{i}.yuv"
        raw.write_bytes(b"".join(f.tobytes() for f in studio))
        args += [
            "-stream_loop",
            "-1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            f"{W}x{H}",
            "-r",
            str(FPS),
            "-i",
            str(raw),
        ]
    n = len(inputs)
    if n == 2:
        scale = "".join(f"[{i}:v]scale=640:360[s{i}];" for i in range(2))
        graph = scale + "[s0][s1]hstack=inputs=2,pad=1280:720:0:180[v]"
    elif n == 4:
        scale = "".join(f"[{i}:v]scale=640:360[s{i}];" for i in range(4))
        graph = scale + "[s0][s1][s2][s3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v]"
    else:  # 3x2 of 426x240 tiles, each centred in its 1280/3 x 360 cell, as bridge.program.layout
        scale = "".join(f"[{i}:v]scale=426:240[s{i}];" for i in range(6))
        cells = "0_58|426_58|852_58|0_420|426_420|852_420"
        stack = "".join(f"[s{i}]" for i in range(6))
        graph = scale + f"{stack}xstack=inputs=6:layout={cells}:fill=black,pad=1280:720[v]"
    args += [
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        PRESET,
        "-tune",
        "zerolatency",
        "-b:v",
        "4M",
        "-g",
        "60",
        "-bf",
        "0",
        "-f",
        "null",
        "-",
    ]
    cpu0, t0 = _cpu_children(), time.perf_counter()
    subprocess.run(args, check=True)
    elapsed, cpu = time.perf_counter() - t0, _cpu_children() - cpu0
    return elapsed / seconds, cpu / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is not installed (apt-get install ffmpeg)")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (2, 4, 6):
            inputs = _inputs(count)
            ours = telebridge(inputs, args.seconds)
            theirs = ffmpeg(inputs, args.seconds, Path(tmp))
            print(
                f"{count} studios, 720p30 program: Telebridge RTF {ours[0]:.2f} "
                f"({ours[1]:.2f} CPU-s/s) | ffmpeg RTF {theirs[0]:.2f} "
                f"({theirs[1]:.2f} CPU-s/s) | ratio {ours[0] / theirs[0]:.2f}"
            )


if __name__ == "__main__":
    main()
