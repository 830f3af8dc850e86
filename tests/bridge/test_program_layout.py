"""The program's layouts and compositor: geometry tables and real frames (no network)."""

from __future__ import annotations

import itertools

import av
import numpy as np
import pytest

from bridge.program.compositor import SLATE_YUV, Compositor, Source
from bridge.program.layout import LAYOUTS, Tile, resolve, tiles_for

W, H = 1280, 720


def _overlap(a: Tile, b: Tile) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


@pytest.mark.parametrize(
    ("layout", "count", "shown"),
    [
        ("auto", 1, 1),
        ("auto", 2, 2),
        ("auto", 3, 3),
        ("auto", 4, 4),
        ("auto", 5, 5),
        ("auto", 6, 6),
        ("side-by-side", 2, 2),
        ("side-by-side", 3, 3),
        ("grid", 4, 4),
        ("grid", 6, 6),
        ("solo", 4, 1),
        ("pip", 2, 2),
        ("pip", 4, 4),
    ],
)
def test_every_layout_places_whole_16_9_pictures_inside_the_frame(
    layout: str, count: int, shown: int
) -> None:
    tiles = [t for t in tiles_for(layout, count, W, H) if t is not None]
    assert len(tiles) == shown
    for t in tiles:
        assert t.x >= 0 and t.y >= 0 and t.x + t.w <= W and t.y + t.h <= H
        assert t.x % 2 == t.y % 2 == t.w % 2 == t.h % 2 == 0  # 4:2:0 needs even edges
        assert abs(t.w / t.h - 16 / 9) < 0.02  # never stretched
    if layout != "pip":
        assert not any(_overlap(a, b) for a, b in itertools.combinations(tiles, 2))


@pytest.mark.parametrize(
    ("count", "expected"), [(1, "solo"), (2, "side-by-side"), (3, "grid"), (4, "grid"), (6, "grid")]
)
def test_auto_picks_by_the_number_of_studios(count: int, expected: str) -> None:
    assert resolve("auto", count) == expected


def test_solo_and_pip_follow_the_focus_studio() -> None:
    solo = tiles_for("solo", 3, W, H, focus=2)
    assert solo[:2] == [None, None] and solo[2] == Tile(0, 0, W, H)
    pip = tiles_for("pip", 3, W, H, focus=1)
    assert pip[1] == Tile(0, 0, W, H)
    assert all(t is not None and t.w == W // 4 // 2 * 2 for t in (pip[0], pip[2]))


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        tiles_for("mosaic", 2, W, H)


def _solid(rgb: tuple[int, int, int]) -> av.VideoFrame:
    img = np.zeros((720, 1280, 3), np.uint8)
    img[:] = rgb
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def _rgb_at(frame: av.VideoFrame, x: int, y: int) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")[y, x].astype(int)


def test_the_compositor_shows_each_studio_in_its_tile_and_a_slate_for_a_lost_one() -> None:
    colours = [(200, 40, 40), (40, 160, 40), (40, 40, 200)]
    sources = [Source(f"Studio {i}", _solid(c)) for i, c in enumerate(colours)]
    sources.append(Source("Qazcontent · Astana", None))
    out = Compositor(W, H).compose(sources, "grid")
    assert (out.width, out.height, out.format.name) == (W, H, "yuv420p")
    tiles = tiles_for("grid", 4, W, H)
    for tile, colour in zip(tiles[:3], colours, strict=True):
        assert tile is not None
        centre = _rgb_at(out, tile.x + tile.w // 2, tile.y + tile.h // 4)
        assert np.abs(centre - colour).max() < 12
    slate = tiles[3]
    assert slate is not None
    yuv = out.to_ndarray()  # packed yuv420p: the Y plane first
    assert abs(int(yuv[slate.y + 4, slate.x + 4]) - SLATE_YUV[0]) <= 2
    # The slate carries text (the studio's name, "signal lost"): bright pixels in its middle.
    middle = yuv[slate.y + slate.h // 3 : slate.y + 2 * slate.h // 3, slate.x : slate.x + slate.w]
    assert (middle > 200).sum() > 500


def test_each_picture_is_labelled() -> None:
    out = Compositor(W, H).compose([Source("Trend · Baku", _solid((40, 40, 40)))], "solo")
    y = out.to_ndarray()[:H]
    bottom_left = y[H - 80 : H, 0:400]
    assert (bottom_left > 200).sum() > 300  # white label text
    assert (bottom_left < 30).sum() > 3000  # on its dark box


def test_frames_of_any_size_are_scaled_into_their_tiles() -> None:
    small = av.VideoFrame.from_ndarray(np.full((360, 640, 3), 200, np.uint8), format="rgb24")
    out = Compositor(W, H).compose([Source("A", small), Source("B", _solid((0, 0, 0)))], "auto")
    assert out.width == W and out.height == H


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_layout_fails_with_six_lost_studios(layout: str) -> None:
    out = Compositor(W, H).compose([Source(f"S{i}", None) for i in range(6)], layout, focus=5)
    assert out.width == W
