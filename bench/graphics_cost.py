"""What the program's graphics cost the compositor: ms per 720p30 frame without graphics,
with graphics hidden, and with a lower third, the logo and the clock shown.

The same two textured 720p studio pictures are composed side by side by the program's
compositor (scaling, labels, packing; no encoding), the three cases taking turns frame by frame
so that a machine's changing load falls on all of them alike; the figures are the medians of
the frames' times. The scene is taken per frame, as the frame clock does (on the event loop,
not the compositor's worker: timed apart).
Goal (issue 13): shown / none at most 1.15, hidden / none about 1.00.

    .venv/bin/python bench/graphics_cost.py [--frames 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bridge.program.compositor import Compositor, Source
from bridge.program.graphics import Graphics, Scene

W, H = 1280, 720
STUDIOS = ("trend", "ansa")


def _pictures() -> list[av.VideoFrame]:
    """Two textured 720p studio pictures (yuv420p, as the decoders give them)."""
    rng = np.random.default_rng(13)
    out = []
    for _ in STUDIOS:
        rgb = rng.integers(0, 255, (H // 8, W // 8, 3), dtype=np.uint8)
        rgb = np.ascontiguousarray(rgb.repeat(8, axis=0).repeat(8, axis=1))
        out.append(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"))
    return out


def _logo() -> bytes:
    """A 600 x 300 logo with transparency, as an admin would upload it."""
    picture = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((0, 0, 599, 299), 60, fill=(200, 30, 40, 230))
    draw.text((150, 120), "TELEBRIDGE", fill=(255, 255, 255, 255), font_size=48)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


async def _graphics() -> tuple[Graphics, Graphics]:
    """(hidden: a lower third and the clock set and then hidden; shown: lower third, logo and
    clock on screen), both past their fades."""
    hidden = Graphics(W, H, fade_s=0.0)
    hidden.set_order(STUDIOS)
    hidden.set_lower_third("trend", "Ayşə Məmmədova", "Economist, Baku", False)
    await hidden.set_logo(None)
    hidden.set_clock(None)
    shown = Graphics(W, H, fade_s=0.0)
    shown.set_order(STUDIOS)
    shown.set_lower_third("trend", "Ayşə Məmmədova", "Economist, Baku", True)
    await shown.set_logo(_logo(), "top-right")
    shown.set_clock("Asia/Baku", "Baku")
    return hidden, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=3000, help="frames per case")
    args = parser.parse_args()
    hidden, shown = asyncio.run(_graphics())
    pictures = _pictures()
    sources = [Source(f"{s.upper()} · City", p) for s, p in zip(STUDIOS, pictures, strict=True)]
    compositor = Compositor(W, H)
    cases: dict[str, Callable[[], Scene | None]] = {
        "none": lambda: None,
        "hidden": hidden.scene,
        "shown": shown.scene,
    }
    assert hidden.scene() is None and shown.scene() is not None
    times: dict[str, list[float]] = {name: [] for name in cases}
    scenes: list[float] = []  # taking the shown scene: the frame clock's work, on the loop
    for n in range(args.frames + 20):
        for name, make in cases.items():
            taken = time.perf_counter()
            scene = make()
            started = time.perf_counter()
            compositor.compose(sources, "side-by-side", 0, scene)
            if n >= 20:  # the first frames warm up (the cards are drawn once there)
                times[name].append(time.perf_counter() - started)
                if name == "shown":
                    scenes.append(started - taken)
    ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"compositor, 720p30, 2 studios side by side, median of {args.frames} frames each:")
    print(f"  no graphics                     {ms['none']:.3f} ms/frame")
    print(f"  graphics hidden                 {ms['hidden']:.3f} ms/frame")
    print(f"  lower third + logo + clock      {ms['shown']:.3f} ms/frame")
    print(f"  ratio hidden / none             {ms['hidden'] / ms['none']:.3f}")
    print(f"  ratio shown / none              {ms['shown'] / ms['none']:.3f}  (goal <= 1.15)")
    scene_ms = statistics.median(scenes) * 1000
    print(f"  (taking the shown scene, on the event loop: {scene_ms:.3f} ms/frame)")


if __name__ == "__main__":
    main()
