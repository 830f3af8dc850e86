"""The program's x264 preset: CPU per second of program against the picture's fidelity.

The program's encode is the largest single cost of a composed room (measured with
`bench/rooms_per_node.py --program` and /proc per thread: x264's threads were 0.20–0.24 of a
room's 0.59 CPU-s/s with `veryfast`). This encodes the same 720p30 camera-like picture (the
moving test pattern with grain that `bench/rooms_per_node.py` publishes, made by Debian's ffmpeg)
with each preset at the program's settings (`bridge/program/engine.py`: zerolatency, a 2 s GOP,
CBR), decodes it again and prints, per preset and bitrate: CPU-s per second of program, the
encoder's wall time per frame, and the luma PSNR against the source (mean and worst frame).

    .venv/bin/python bench/program_preset.py [--frames 300] [--kbps 4000 2500]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bridge.program.engine import ProgramFormat, make_encoder
from harness.vp8_file import make_vp8_file

PRESETS = ("ultrafast", "superfast", "veryfast", "faster")


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _source(frames: int) -> list[av.VideoFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        path = make_vp8_file(Path(tmp) / "studio.webm", seconds=frames / 30 + 1)
        out: list[av.VideoFrame] = []
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                out.append(frame.reformat(format="yuv420p"))
                if len(out) == frames:
                    break
    return out


def _luma(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray()[: frame.height].astype(np.float64)


def measure(source: list[av.VideoFrame], preset: str, kbps: int) -> str:
    fmt = ProgramFormat(kbps=kbps, preset=preset)
    encoder = make_encoder(fmt)
    decoder = av.CodecContext.create("h264", "r")
    decoded: list[av.VideoFrame] = []
    cpu, wall = 0.0, 0.0
    for i, frame in enumerate(source):
        frame.pts = i
        c0, t0 = _cpu(), time.perf_counter()
        packets = encoder.encode(frame)
        cpu += _cpu() - c0
        wall += time.perf_counter() - t0
        for packet in packets:
            decoded += decoder.decode(packet)
    for packet in encoder.encode(None):
        decoded += decoder.decode(packet)
    psnr = []
    for original, back in zip(source, decoded, strict=False):
        mse = float(np.mean((_luma(original) - _luma(back)) ** 2))
        psnr.append(10 * np.log10(255**2 / max(mse, 1e-9)))
    seconds = len(source) / fmt.fps
    return (
        f"  {preset:10} {kbps:5d} kb/s  {cpu / seconds:6.3f} CPU-s/s  "
        f"{wall / len(source) * 1000:5.1f} ms/frame  "
        f"Y-PSNR {np.mean(psnr):5.2f} dB (worst frame {min(psnr):5.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--kbps", type=int, nargs="+", default=[4000, 2500])
    args = parser.parse_args()
    source = _source(args.frames)
    print(
        f"{len(source)} frames 1280x720 of the bench's studio picture; default preset: "
        f"{ProgramFormat().preset}"
    )
    for kbps in args.kbps:
        for preset in PRESETS:
            print(measure(source, preset, kbps), flush=True)


if __name__ == "__main__":
    main()
