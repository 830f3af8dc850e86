"""The joint program's picture: each studio's latest frame in its tile, labelled, on one canvas.

Works on 4:2:0 planes (the encoder's format) so that nothing is converted twice: each input is
scaled once by swscale (PyAV) straight into its tile size, copied into the planes of the frame
that goes to the encoder, and labelled with text rendered once per studio (Pillow, DejaVu) and
cached. A studio without a picture shows a slate with its name and "signal lost" instead of
freezing or vanishing. CPU work: call it from a worker thread, never the event loop.

Few and large steps per frame, because this runs beside the event loop in one process: each
step in C gives the GIL up and must win it back, and on a busy server each win can wait up to
the interpreter's switch interval. So the canvas is the output frame itself (no copy into a new
one), and each tile keeps one scaler (a swscale context made once and single-threaded) instead
of the one PyAV makes for every new decoded frame, with a pool of threads, every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from bridge.program.graphics import Painter, Scene
from bridge.program.layout import Tile, tiles_for

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
BLACK_Y, NEUTRAL_UV = 16, 128
SLATE_YUV = (38, 138, 122)  # a dark blue-grey, unmistakably not a picture
LABEL_BOX_Y = 24
TEXT_Y = 235

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]


@dataclass(frozen=True)
class Source:
    """One studio's input to the program: its label and latest frame (None when lost)."""

    label: str
    frame: av.VideoFrame | None


def _font_path() -> str | None:
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), None)


@lru_cache(maxsize=256)
def text_mask(text: str, size: int) -> NDArray[np.uint8]:
    """An anti-aliased alpha mask (0-255) of `text` at `size` pixels, with even dimensions."""
    path = _font_path()
    font = ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    w, h = max(2, right - left + 2), max(2, bottom - top + 2)
    w, h = w + w % 2, h + h % 2
    image = Image.new("L", (w, h), 0)
    ImageDraw.Draw(image).text((1 - left, 1 - top), text, fill=255, font=font)
    return np.asarray(image, dtype=np.uint8)


def _canvas(width: int, height: int) -> tuple[av.VideoFrame, Planes]:
    """A new black yuv420p frame and writable views of its planes (rows trimmed of padding)."""
    frame = av.VideoFrame(width, height, "yuv420p")
    planes = []
    for plane, value in zip(frame.planes, (BLACK_Y, NEUTRAL_UV, NEUTRAL_UV), strict=True):
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(
            plane.height, plane.line_size
        )
        view = rows[:, : plane.width]
        view[:] = value
        planes.append(view)
    y, u, v = planes
    return frame, (y, u, v)


def _planes(frame: av.VideoFrame) -> Planes:
    """The Y, U, V planes of a yuv420p frame (PyAV packs U and V into h/4 rows each)."""
    packed = np.asarray(frame.to_ndarray(), dtype=np.uint8)
    w, h = frame.width, frame.height
    y = packed[:h]
    u = packed[h : h + h // 4].reshape(h // 2, w // 2)
    v = packed[h + h // 4 :].reshape(h // 2, w // 2)
    return y, u, v


def _fill(canvas: Planes, tile: Tile, yuv: tuple[int, int, int]) -> None:
    y, u, v = canvas
    y[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w] = yuv[0]
    u[tile.y // 2 : (tile.y + tile.h) // 2, tile.x // 2 : (tile.x + tile.w) // 2] = yuv[1]
    v[tile.y // 2 : (tile.y + tile.h) // 2, tile.x // 2 : (tile.x + tile.w) // 2] = yuv[2]


def _scaled(scaler: VideoReformatter, frame: av.VideoFrame, tile: Tile) -> av.VideoFrame:
    try:
        return scaler.reformat(frame, width=tile.w, height=tile.h, format="yuv420p", threads=1)
    except TypeError:  # PyAV before 15 has no `threads` (and scales on one thread)
        return scaler.reformat(frame, width=tile.w, height=tile.h, format="yuv420p")


def _paste(canvas: Planes, tile: Tile, frame: av.VideoFrame, scaler: VideoReformatter) -> None:
    sy, su, sv = _planes(_scaled(scaler, frame, tile))
    y, u, v = canvas
    y[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w] = sy
    u[tile.y // 2 : (tile.y + tile.h) // 2, tile.x // 2 : (tile.x + tile.w) // 2] = su
    v[tile.y // 2 : (tile.y + tile.h) // 2, tile.x // 2 : (tile.x + tile.w) // 2] = sv


def _stamp(canvas: Planes, mask: NDArray[np.uint8], x: int, y: int, box: bool) -> None:
    """Write white text (and, with `box`, a dark box behind it) at (x, y) of the Y plane."""
    cy, cu, cv = canvas
    h, w = mask.shape
    h, w = min(h, cy.shape[0] - y), min(w, cy.shape[1] - x)
    if h <= 0 or w <= 0:
        return
    x, y = x - x % 2, y - y % 2
    region = cy[y : y + h, x : x + w].astype(np.uint16)
    alpha = mask[:h, :w].astype(np.uint16)
    if box:
        pad = 6
        bx, by = max(0, x - pad), max(0, y - pad)
        cy[by : y + h + pad, bx : x + w + pad] = LABEL_BOX_Y
        cu[by // 2 : (y + h + pad) // 2, bx // 2 : (x + w + pad) // 2] = NEUTRAL_UV
        cv[by // 2 : (y + h + pad) // 2, bx // 2 : (x + w + pad) // 2] = NEUTRAL_UV
        region = cy[y : y + h, x : x + w].astype(np.uint16)
    cy[y : y + h, x : x + w] = ((region * (255 - alpha) + TEXT_Y * alpha) // 255).astype(np.uint8)


class Compositor:
    """Lays the studios out on a fixed-size canvas, one call per program frame."""

    def __init__(
        self, width: int = 1280, height: int = 720, lost_text: str = "signal lost"
    ) -> None:
        if width % 2 or height % 4:
            raise ValueError("the program needs an even width and a height divisible by 4")
        self.width, self.height = width, height
        self.lost_text = lost_text
        self.label_size = max(12, self.height // 30)
        self.painter = Painter(width, height, self.label_size)
        # One scaler per tile position: its swscale context is reused while the tile's size
        # and the studio's picture size stay the same.
        self._scalers: dict[int, VideoReformatter] = {}

    def compose(
        self,
        sources: list[Source],
        layout: str = "auto",
        focus: int = 0,
        scene: Scene | None = None,
    ) -> av.VideoFrame:
        """The program frame of `sources` in `layout` (`focus`: the solo/pip studio's index),
        with the graphics of `scene` on top (None: no graphics on screen, nothing to do)."""
        frame, canvas = _canvas(self.width, self.height)
        tiles = tiles_for(layout, len(sources), self.width, self.height, focus)
        for index, (source, tile) in enumerate(zip(sources, tiles, strict=True)):
            if tile is None:
                continue
            if source.frame is None:
                self._slate(canvas, tile, source.label)
                continue
            scaler = self._scalers.get(index)
            if scaler is None:
                scaler = self._scalers[index] = VideoReformatter()
            _paste(canvas, tile, source.frame, scaler)
            size = max(10, min(self.label_size, tile.h // 12))
            mask = text_mask(source.label, size)
            margin = max(8, tile.h // 40)
            _stamp(canvas, mask, tile.x + margin, tile.y + tile.h - margin - mask.shape[0], True)
        if scene is not None:
            self.painter.paint(canvas, scene, tiles)
        return frame

    def _slate(self, canvas: Planes, tile: Tile, label: str) -> None:
        _fill(canvas, tile, SLATE_YUV)
        name = text_mask(label, max(14, tile.h // 10))
        lost = text_mask(self.lost_text, max(10, tile.h // 16))
        top = tile.y + (tile.h - name.shape[0] - lost.shape[0] - tile.h // 20) // 2
        _stamp(canvas, name, tile.x + (tile.w - name.shape[1]) // 2, top, False)
        _stamp(
            canvas,
            lost,
            tile.x + (tile.w - lost.shape[1]) // 2,
            top + name.shape[0] + tile.h // 20,
            False,
        )
