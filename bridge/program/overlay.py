"""The program's graphics as pre-rendered overlays: drawn once, blended every frame.

A card (a lower third, the clock) or the logo is drawn once with Pillow as an RGBA picture, and
turned once into what blending on the program's 4:2:0 planes needs: per plane, the colour
already multiplied by its alpha and the share of the picture underneath that stays, so that a
blend is a multiply, two adds and a shift, with no division. Blending then touches only the
overlay's own rectangle. Nothing here draws text per frame.
CPU work: build overlays off the event loop (the program's worker or an executor).
"""

from __future__ import annotations

import io
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
RGBA = tuple[int, int, int, int]

BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
REGULAR_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# The look: a dark blue box, slightly see-through, with a red bar at its left edge.
BOX: RGBA = (14, 28, 58, 225)
BAR: RGBA = (210, 40, 40, 255)
NAME_INK: RGBA = (255, 255, 255, 255)
TITLE_INK: RGBA = (205, 215, 232, 255)
MIN_TEXT_PX = 10


@lru_cache(maxsize=64)
def font(bold: bool, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu (it has the partners' Latin, Turkic and Cyrillic letters) at `size` pixels."""
    path = BOLD_FONT if bold else REGULAR_FONT
    if Path(path).exists():
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


ROUNDING = 255  # added to colour x alpha once, when the overlay is made: see Overlay
HIGH_BYTE = 1 if sys.byteorder == "little" else 0  # of a 16-bit number, in memory

# Blend scratch, one per thread: each program blends on its own worker thread, and a buffer
# shared by every overlay there stays in the cache between them.
_scratch = threading.local()


def _scratch_for(h: int, w: int) -> NDArray[np.uint16]:
    buffer: NDArray[np.uint16] | None = getattr(_scratch, "buffer", None)
    if buffer is None or buffer.size < h * w:
        buffer = _scratch.buffer = np.empty(max(h * w, 1 << 16), dtype=np.uint16)
    return buffer[: h * w].reshape(h, w)


@dataclass(frozen=True)
class Overlay:
    """An RGBA picture ready to blend: per plane, colour x alpha (alpha 0..255) and 255 - alpha.

    The chroma planes are half size; width and height are even, so an overlay placed at even
    coordinates lines its chroma up with the frame's. A blend is
    (underneath x (255 - alpha) + colour x alpha + 255) >> 8, which is exact at alpha 0 and 255
    and within one step between (the + 255 is kept in `premul`); three bytes per pixel are read,
    so a frame's graphics stay cheap even when the compositor's own work has pushed them out of
    the cache.
    """

    width: int
    height: int
    premul: tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint16]]
    keep: tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]

    def blend(self, canvas: Planes, x: int, y: int, opacity: float = 1.0) -> None:
        """Blend onto the frame's planes at (x, y) (made even), clipped to the frame."""
        x, y = max(0, x - x % 2), max(0, y - y % 2)
        k = round(min(1.0, max(0.0, opacity)) * 256)
        if k <= 0:
            return
        for plane in range(3):
            dst, premul, keep = canvas[plane], self.premul[plane], self.keep[plane]
            px, py = (x, y) if plane == 0 else (x // 2, y // 2)
            h = min(premul.shape[0], dst.shape[0] - py)
            w = min(premul.shape[1], dst.shape[1] - px)
            if h <= 0 or w <= 0:
                return
            region = dst[py : py + h, px : px + w]
            p: NDArray[np.uint16] = premul[:h, :w]
            kp: NDArray[np.uint16] | NDArray[np.uint8] = keep[:h, :w]
            if k < 256:  # fading: the alpha scaled down, the picture underneath kept more
                p = ((((p.astype(np.uint32) - ROUNDING) * k) >> 8) + ROUNDING).astype(np.uint16)
                kp = (255 - (((255 - kp.astype(np.uint32)) * k) >> 8)).astype(np.uint16)
            out = _scratch_for(h, w)
            np.multiply(region, kp, out=out, dtype=np.uint16)  # at most 255 * 255
            np.add(out, p, out=out)  # + colour x alpha + 255: at most 255 * 256 in all
            # >> 8 is the high byte of each 16-bit sum: copied straight, no shift pass.
            region[...] = out.view(np.uint8)[:, HIGH_BYTE::2]


def overlay_of(rgba: NDArray[np.uint8]) -> Overlay:
    """The overlay of an RGBA picture (h, w, 4), in limited-range BT.601 like the encoder's
    input; an odd width or height gets a transparent row or column."""
    h, w = rgba.shape[:2]
    if h % 2 or w % 2:
        padded = np.zeros((h + h % 2, w + w % 2, 4), dtype=np.uint8)
        padded[:h, :w] = rgba
        rgba, (h, w) = padded, padded.shape[:2]
    rgb = rgba[..., :3].astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    alpha = rgba[..., 3].astype(np.float32)
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255

    def halve(a: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)), dtype=np.float32)

    # Chroma: the 2x2 mean of colour x alpha over the mean alpha, i.e. premultiplied averages,
    # so that a letter's edge does not bleed the box's colour into the picture.
    alpha_c = halve(alpha)
    premul = tuple(
        np.ascontiguousarray(np.rint(p).astype(np.uint16) + ROUNDING)
        for p in (y * alpha, halve(u * alpha), halve(v * alpha))
    )
    keep = tuple(
        np.ascontiguousarray((255 - np.rint(a)).astype(np.uint8)) for a in (alpha, alpha_c)
    )
    return Overlay(w, h, (premul[0], premul[1], premul[2]), (keep[0], keep[1], keep[1]))


def _even(v: float) -> int:
    return max(2, int(v) + int(v) % 2)


def _line_height(f: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    if isinstance(f, ImageFont.FreeTypeFont):
        ascent, descent = f.getmetrics()
        return int(ascent + descent)
    return int(f.getbbox("Ag")[3])


def lower_third_card(name: str, title: str, size: int, max_width: int) -> Image.Image:
    """A lower third: the name in bold over the title, in a box with a bar at its left.

    `size` is the name's pixel size (the title's is 70% of it); a line that would not fit in
    `max_width` makes both smaller, down to MIN_TEXT_PX, and is cut at the box's edge below
    that. Text is drawn as text: markup in it shows as typed.
    """
    pad = max(4, size // 3)
    bar = max(3, size // 6)
    room = max(1, max_width - bar - 2 * pad)
    name_font, title_font = font(True, size), font(False, max(MIN_TEXT_PX, size * 7 // 10))
    widest = max(name_font.getlength(name), title_font.getlength(title) if title else 0.0)
    if widest > room:
        size = max(MIN_TEXT_PX, int(size * room / widest))
        name_font = font(True, size)
        title_font = font(False, max(MIN_TEXT_PX, size * 7 // 10))
        widest = max(name_font.getlength(name), title_font.getlength(title) if title else 0.0)
    name_h, title_h = _line_height(name_font), _line_height(title_font) if title else 0
    gap = pad // 2 if title else 0
    width = min(_even(bar + 2 * pad + widest), max_width - max_width % 2)
    height = _even(2 * pad + name_h + gap + title_h)
    card = Image.new("RGBA", (width, height), BOX)
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, bar - 1, height - 1), fill=BAR)
    draw.text((bar + pad, pad), name, font=name_font, fill=NAME_INK)
    if title:
        draw.text((bar + pad, pad + name_h + gap), title, font=title_font, fill=TITLE_INK)
    return card


def clock_card(label: str, time_text: str, size: int) -> Image.Image:
    """The clock: the city (as the producer wrote it) and the time in bold, in a box."""
    pad = max(4, size // 3)
    bold, regular = font(True, size), font(False, size)
    label_w = regular.getlength(label) + pad if label else 0.0
    width = _even(2 * pad + label_w + bold.getlength(time_text))
    height = _even(2 * pad + _line_height(bold))
    card = Image.new("RGBA", (width, height), BOX)
    draw = ImageDraw.Draw(card)
    if label:
        draw.text((pad, pad), label, font=regular, fill=TITLE_INK)
    draw.text((pad + label_w, pad), time_text, font=bold, fill=NAME_INK)
    return card


def logo_picture(png: bytes, max_width: int, max_height: int) -> Image.Image:
    """The logo as RGBA without its transparent margins (it sits at the corner's margin, and
    no time goes into blending nothing), made smaller (never larger) to fit max_width x
    max_height."""
    with Image.open(io.BytesIO(png)) as opened:
        picture = opened.convert("RGBA")
    box = picture.getbbox()  # of what is not fully transparent (RGBA: by alpha)
    if box is not None:
        picture = picture.crop(box)
    picture.thumbnail((max(2, max_width), max(2, max_height)), Image.Resampling.LANCZOS)
    return picture


def overlay_of_image(picture: Image.Image) -> Overlay:
    """`overlay_of` a Pillow picture (any mode)."""
    return overlay_of(np.asarray(picture.convert("RGBA"), dtype=np.uint8))
