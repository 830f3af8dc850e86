"""The program's graphics, offline: overlays drawn once and blended over their own rectangle,
fades, the scene a frame takes (none while hidden), and where each element lands."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import av
import numpy as np
import pytest
from PIL import Image

from bridge.program.compositor import Compositor, Source
from bridge.program.graphics import FADE_S, Fade, Graphics, Painter
from bridge.program.layout import tiles_for
from bridge.program.overlay import overlay_of

W, H = 1280, 720


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def planes(y: int = 16, uv: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.full((H, W), y, np.uint8),
        np.full((H // 2, W // 2), uv, np.uint8),
        np.full((H // 2, W // 2), uv, np.uint8),
    )


def picture(shade: int) -> av.VideoFrame:
    rgb = np.full((360, 640, 3), shade, np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def y_plane(frame: av.VideoFrame) -> np.ndarray:
    return np.asarray(frame.to_ndarray())[:H].astype(int)


def png(width: int, height: int, rgba: tuple[int, int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), rgba).save(out, format="PNG")
    return out.getvalue()


def test_an_overlay_blends_by_its_alpha_over_its_own_rectangle_only() -> None:
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[..., :3] = 255  # white
    rgba[:, :10, 3] = 255  # left half opaque
    rgba[:, 10:, 3] = 128  # right half about half see-through
    overlay = overlay_of(rgba)
    canvas = planes(y=16)
    overlay.blend(canvas, 100, 50)
    y = canvas[0]
    assert (y[50:60, 100:110] == 235).all()  # limited-range white
    assert np.abs(y[50:60, 110:120].astype(int) - (16 + 235) // 2).max() <= 1
    outside = np.ones_like(y, bool)
    outside[50:60, 100:120] = False
    assert (y[outside] == 16).all()
    assert (canvas[1] == 128).all() and (canvas[2] == 128).all()  # white has no colour

    # Half faded: half way from the picture to the overlay; fully faded out: untouched.
    faded = planes(y=16)
    overlay.blend(faded, 100, 50, opacity=0.5)
    assert abs(int(faded[0][55, 105]) - (16 + 235) // 2) <= 1
    gone = planes(y=16)
    overlay.blend(gone, 100, 50, opacity=0.0)
    assert (gone[0] == 16).all()


def test_an_overlay_is_clipped_at_the_frame_and_evened_for_chroma() -> None:
    rgba = np.full((7, 9, 4), 255, np.uint8)  # odd: padded with transparent pixels
    overlay = overlay_of(rgba)
    assert (overlay.width, overlay.height) == (10, 8)
    canvas = planes(y=16)
    overlay.blend(canvas, W - 4, H - 3)  # mostly past the corner: only what fits is drawn
    assert (canvas[0][H - 4 :, W - 4 :] == 235).all()
    assert (canvas[0][: H - 4] == 16).all()


def test_a_fade_takes_its_time_and_turns_back_from_where_it_is() -> None:
    fade = Fade()
    assert fade.opacity(0.0, FADE_S) == 0.0
    fade.turn(True, 10.0, 0.3)
    assert fade.opacity(10.0, 0.3) == 0.0
    assert fade.opacity(10.15, 0.3) == pytest.approx(0.5)
    assert fade.opacity(10.3, 0.3) == 1.0
    fade.turn(False, 10.4, 0.3)
    fade.turn(True, 10.55, 0.3)  # hidden half way, shown again: from 0.5 back up
    assert fade.opacity(10.55, 0.3) == pytest.approx(0.5)
    assert fade.opacity(10.7, 0.3) == pytest.approx(1.0)


def test_hidden_graphics_give_no_scene_and_leave_the_frame_as_it_was() -> None:
    ticks = Ticks()
    graphics = Graphics(W, H, monotonic=ticks)
    graphics.set_order(["baku", "rome"])
    assert graphics.scene() is None
    graphics.set_lower_third("baku", "Ayşə Məmmədova", "Economist", False)  # text, not shown
    assert graphics.scene() is None

    graphics.set_lower_third("baku", "Ayşə Məmmədova", "Economist", True)
    ticks.now += FADE_S / 2
    middle = graphics.scene()
    assert middle is not None and middle.lower_thirds[0].opacity == pytest.approx(0.5)
    ticks.now += FADE_S
    assert graphics.scene() is not None
    graphics.set_lower_third("baku", "Ayşə Məmmədova", "Economist", False)
    ticks.now += FADE_S / 2
    assert graphics.scene() is not None  # fading out
    ticks.now += FADE_S / 2 + 0.01
    assert graphics.scene() is None  # gone: the frames cost what they cost without graphics

    compositor = Compositor(W, H)
    sources = [Source("Trend · Baku", picture(60)), Source("ANSA · Rome", picture(190))]
    plain = y_plane(compositor.compose(sources))
    again = y_plane(compositor.compose(sources, scene=graphics.scene()))
    assert (plain == again).all()


def test_a_lower_third_lands_on_its_studios_tile_and_only_while_it_is_in_the_picture() -> None:
    graphics = Graphics(W, H, fade_s=0.0)
    graphics.set_order(["baku", "rome"])
    graphics.set_lower_third("rome", "Giulia <i>Rossi</i>", "Correspondent, Rome", True)
    compositor = Compositor(W, H)
    sources = [Source("Trend · Baku", picture(60)), Source("ANSA · Rome", picture(190))]
    plain = y_plane(compositor.compose(sources))
    shown = y_plane(compositor.compose(sources, scene=graphics.scene()))
    x, y, w, h = compositor.painter.placed["lower_third/rome"]
    rome_tile = tiles_for("auto", 2, W, H, 0)[1]
    assert rome_tile is not None
    assert rome_tile.x <= x and x + w <= rome_tile.x + rome_tile.w
    assert rome_tile.y <= y and y + h <= rome_tile.y + rome_tile.h
    changed = np.argwhere(plain != shown)
    assert changed.size and changed[:, 1].min() >= x and changed[:, 1].max() < x + w
    assert changed[:, 0].min() >= y and changed[:, 0].max() < y + h
    # The dark box with light text over Rome's bright picture.
    assert np.median(shown[y : y + h, x : x + w]) < np.median(plain[y : y + h, x : x + w]) - 80

    # Baku alone on air: Rome's lower third is not drawn over Baku.
    solo = compositor.compose(sources, "solo", 0, scene=graphics.scene())
    alone = compositor.compose(sources, "solo", 0)
    assert (y_plane(solo) == y_plane(alone)).all()


def test_cards_are_drawn_once_and_only_blended_afterwards() -> None:
    graphics = Graphics(
        W, H, fade_s=0.0, wall_clock=lambda: datetime(2030, 3, 4, 10, 5, tzinfo=UTC)
    )
    graphics.set_order(["baku"])
    graphics.set_lower_third("baku", "Ayşə Məmmədova", "Economist", True)
    graphics.set_clock("Asia/Baku", "Baku")
    painter = Painter(W, H, label_size=24)
    tiles = tiles_for("auto", 1, W, H, 0)
    scene = graphics.scene()
    assert scene is not None and scene.clock == ("Baku", "14:05")  # Baku is UTC+4
    painter.paint(planes(), scene, tiles)
    cards = dict(painter._cards)
    for _ in range(10):
        painter.paint(planes(), scene, tiles)
    assert len(painter._cards) == 2
    assert all(painter._cards[k] is cards[k] for k in cards)  # the same pre-rendered overlays
    # A new text draws one new card.
    graphics.set_lower_third("baku", "Ayşə Məmmədova", "Chief economist", True)
    painter.paint(planes(), graphics.scene(), tiles)  # type: ignore[arg-type]
    assert len(painter._cards) == 3


async def test_the_logo_sits_in_its_corner_and_the_clock_in_the_other_top_corner() -> None:
    graphics = Graphics(W, H, fade_s=0.0)
    graphics.set_order([])
    await graphics.set_logo(png(600, 300, (250, 200, 0, 255)), "top-left")
    graphics.set_clock("Europe/Rome", "Rome")
    compositor = Compositor(W, H)
    frame = compositor.compose([], scene=graphics.scene())
    lx, ly, lw, lh = compositor.painter.placed["logo"]
    cx, cy, _cw, _ch = compositor.painter.placed["clock"]
    assert (lx, ly) == (H // 24, H // 24) and lw <= W // 8 and lh <= H // 8  # made smaller
    assert cx > W // 2 and cy == H // 24  # top right, since the logo has the top left
    rgb = frame.to_ndarray(format="rgb24")
    r, g, b = rgb[ly + lh // 2, lx + lw // 2].astype(int)
    assert r > 200 and g > 160 and b < 60  # the logo's yellow

    await graphics.set_logo(None, "top-left")
    state = graphics.state()
    assert (state.logo, state.corner, state.clock_zone) == (False, "top-left", "Europe/Rome")
    with pytest.raises(ValueError):
        await graphics.set_logo(b"not a picture", "top-left")
    with pytest.raises(ValueError):
        await graphics.set_logo(png(4, 4, (0, 0, 0, 0)), "middle")
    with pytest.raises(ValueError):
        graphics.set_clock("Mars/Olympus", "")


async def test_the_newest_logo_wins_when_two_are_decoded_at_once() -> None:
    graphics = Graphics(W, H, fade_s=0.0)
    first, second = png(300, 100, (255, 0, 0, 255)), png(100, 300, (0, 0, 255, 255))
    await asyncio.gather(graphics.set_logo(first, "top-right"), graphics.set_logo(second))
    scene = graphics.scene()
    assert scene is not None and scene.logo is not None
    assert scene.logo.height > scene.logo.width  # the second one's shape


def test_a_studio_that_leaves_takes_its_lower_third_along() -> None:
    graphics = Graphics(W, H, fade_s=0.0)
    graphics.set_order(["baku", "rome"])
    graphics.set_lower_third("rome", "Giulia Rossi", "", True)
    graphics.set_lower_third("baku", "Ayşə Məmmədova", "", False)
    assert [(s.studio_id, s.visible) for s in graphics.state().lower_thirds] == [
        ("baku", False),
        ("rome", True),
    ]
    graphics.set_order(["baku"])
    assert [s.studio_id for s in graphics.state().lower_thirds] == ["baku"]
    assert graphics.scene() is None
