"""What a recording leaves on disk, made in the test: program segments of real H.264."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from bridge.program.engine import ProgramFormat, make_encoder
from bridge.recording.recorder import SegmentRecorder, VideoParams

FMT = ProgramFormat(width=320, height=180, fps=30, kbps=400, preset="ultrafast")


def write_program_segments(directory: Path, seconds: float, close: bool = True) -> SegmentRecorder:
    """2 s program segments (MPEG-TS) of `seconds` of changing pictures, no MP4: what a
    recording leaves when its server stops; `close=False` leaves its last segment open, as
    while the show still records."""
    recorder = SegmentRecorder(
        directory, "program", VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps)
    )
    encoder = make_encoder(FMT)
    for n in range(int(seconds * FMT.fps)):
        img = np.full((FMT.height, FMT.width, 3), (n * 7) % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = n, Fraction(1, FMT.fps)
        for packet in encoder.encode(frame):
            recorder.write(packet)
    if close:
        for packet in encoder.encode(None):
            recorder.write(packet)
        recorder.close()
    return recorder
