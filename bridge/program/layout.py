"""Where each studio sits in the joint program: the layouts as pure geometry.

Tiles keep the studios' 16:9 pictures whole (letterboxed inside their cell, never stretched) and
use even coordinates, because the program is 4:2:0 and chroma planes are half size.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYOUTS = ("auto", "side-by-side", "grid", "solo", "pip")
# The layouts that show one studio large: switching to one of them names that studio.
STUDIO_LAYOUTS = ("solo", "pip")
ASPECT = 16 / 9
PIP_SCALE = 0.25  # the small pictures of picture-in-picture: a quarter of the width
MARGIN = 0.02  # picture-in-picture inset from the edges, as a share of the width


@dataclass(frozen=True)
class Tile:
    """A rectangle of the program picture, in pixels (even numbers)."""

    x: int
    y: int
    w: int
    h: int


def _even(v: float) -> int:
    return int(v) // 2 * 2


def _fit(x: float, y: float, w: float, h: float) -> Tile:
    """The largest 16:9 tile centred in the cell (x, y, w, h)."""
    if w / h > ASPECT:
        tw, th = h * ASPECT, h
    else:
        tw, th = w, w / ASPECT
    return Tile(_even(x + (w - tw) / 2), _even(y + (h - th) / 2), _even(tw), _even(th))


def _grid(count: int, cols: int, rows: int, width: int, height: int) -> list[Tile | None]:
    cw, ch = width / cols, height / rows
    tiles: list[Tile | None] = []
    last_row_count = count - cols * (rows - 1)
    for i in range(count):
        row, col = divmod(i, cols)
        x_offset = 0.0
        if row == rows - 1 and last_row_count < cols:
            x_offset = (cols - last_row_count) * cw / 2  # centre an incomplete last row
        tiles.append(_fit(col * cw + x_offset, row * ch, cw, ch))
    return tiles


def resolve(layout: str, count: int) -> str:
    """The concrete layout `auto` stands for with `count` studios shown."""
    if layout != "auto":
        return layout
    if count <= 1:
        return "solo"
    return "side-by-side" if count == 2 else "grid"


def tiles_for(
    layout: str, count: int, width: int, height: int, focus: int = 0
) -> list[Tile | None]:
    """One tile per studio (None: not on screen); `focus` is the studio of solo and pip."""
    if count <= 0:
        return []
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    focus = min(max(focus, 0), count - 1)
    concrete = resolve(layout, count)
    if concrete == "solo" or count == 1:
        return [_fit(0, 0, width, height) if i == focus else None for i in range(count)]
    if concrete == "pip":
        tiles: list[Tile | None] = [None] * count
        tiles[focus] = _fit(0, 0, width, height)
        w, margin = width * PIP_SCALE, width * MARGIN
        h = w / ASPECT
        others = [i for i in range(count) if i != focus]
        for n, i in enumerate(reversed(others)):
            x = width - margin - (n + 1) * w - n * margin
            tiles[i] = Tile(_even(x), _even(height - margin - h), _even(w), _even(h))
        return tiles
    if concrete == "side-by-side" and count <= 3:
        return _grid(count, count, 1, width, height)
    if count <= 4:
        return _grid(count, 2, 2, width, height)
    return _grid(count, 3, 2, width, height)  # 5 or 6 studios: 3x2
