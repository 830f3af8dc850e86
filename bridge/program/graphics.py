"""The program's graphics: a lower third per studio, the logo in a corner, a clock; shown and
hidden live with a short fade, drawn into every program frame (so the recording and every
output carry them).

Two sides, as for the rest of the program. On the event loop, `Graphics` keeps what the
producer asked for and gives each frame tick a `Scene`: a frozen snapshot of what to draw and
how opaque, or None when nothing is on screen, so that hidden graphics cost the compositor
nothing. On the program's worker, `Painter` draws a scene onto the frame's planes: each card is
drawn once (when its text, or the size of its studio's tile, changes) and only blended after
that, over its own rectangle.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PIL import Image

from bridge.program.layout import Tile
from bridge.program.overlay import (
    Overlay,
    Planes,
    clock_card,
    logo_picture,
    lower_third_card,
    overlay_of_image,
)
from bridge.spec import CORNERS, Corner, GraphicsState, LowerThirdState

FADE_S = 0.3  # a short fade: a lower third that pops on looks like a glitch
CARD_CACHE = 32  # cards kept drawn: a few studios, a layout switch or two, the clock


@dataclass
class Fade:
    """An element's visibility as it changes over FADE_S: opacity 0..1 at any moment."""

    visible: bool = False
    since: float = float("-inf")  # when the current fade began (monotonic seconds)

    def opacity(self, now: float, span: float) -> float:
        done = 1.0 if span <= 0 else min(1.0, max(0.0, (now - self.since) / span))
        return done if self.visible else 1.0 - done

    def turn(self, visible: bool, now: float, span: float) -> None:
        """Fade in or out from where it is now (a hide in mid fade-in fades back from there)."""
        if visible == self.visible:
            return
        current = self.opacity(now, span)
        self.visible = visible
        self.since = now - (current if visible else 1.0 - current) * span


@dataclass(frozen=True)
class LowerThirdShot:
    """A studio's lower third in one frame."""

    studio_id: str
    name: str
    title: str
    opacity: float


@dataclass(frozen=True)
class Scene:
    """What one program frame shows of the graphics (made on the event loop at its tick)."""

    order: tuple[str, ...]  # the studios in program order: the compositor's tiles' order
    lower_thirds: tuple[LowerThirdShot, ...] = ()
    logo: Overlay | None = None
    logo_corner: Corner = "top-right"
    logo_opacity: float = 0.0
    clock: tuple[str, str] | None = None  # (label, "HH:MM")
    clock_opacity: float = 0.0


@dataclass
class _LowerThird:
    name: str
    title: str
    fade: Fade = field(default_factory=Fade)


def _corner(corner: str) -> Corner:
    for known in CORNERS:
        if corner == known:
            return known
    raise ValueError(f"corner must be one of {', '.join(CORNERS)}")


class Graphics:
    """What the producer has put on screen; a `Scene` per frame (event-loop side)."""

    def __init__(
        self,
        width: int,
        height: int,
        fade_s: float = FADE_S,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.width, self.height = width, height
        self.fade_s = fade_s
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._order: tuple[str, ...] = ()
        self._lower: dict[str, _LowerThird] = {}
        self._logo: Overlay | None = None
        self._logo_png: bytes | None = None
        self._logo_fade = Fade()
        self._logo_corner: Corner = "top-right"
        self._logo_asked = 0  # the newest set_logo call: an older one finishing late loses
        self._zone: ZoneInfo | None = None
        self._zone_name: str | None = None
        self._clock_label = ""
        self._clock_fade = Fade()
        self._reading_text = ""
        self._reading_zone: ZoneInfo | None = None
        self._reading_until = float("-inf")  # monotonic time the reading above turns stale

    def set_order(self, studio_ids: Sequence[str]) -> None:
        """The studios in program order; a studio no longer in it loses its lower third."""
        self._order = tuple(studio_ids)
        for gone in [s for s in self._lower if s not in self._order]:
            del self._lower[gone]

    def set_lower_third(self, studio_id: str, name: str, title: str, visible: bool) -> None:
        """A studio's lower third: its text (at once) and whether it is shown (fading)."""
        now = self._monotonic()
        current = self._lower.get(studio_id)
        if current is None:
            current = self._lower[studio_id] = _LowerThird(name, title)
        current.name, current.title = name, title
        current.fade.turn(visible, now, self.fade_s)

    async def set_logo(self, png: bytes | None, corner: str = "top-right") -> None:
        """Show the logo `png` in `corner`, or (None) fade it out. The picture is decoded and
        scaled off the event loop, once per new picture (ValueError: not an image)."""
        self._logo_corner = _corner(corner)
        self._logo_asked += 1
        asked = self._logo_asked
        if png is not None and png != self._logo_png:
            loop = asyncio.get_running_loop()
            overlay = await loop.run_in_executor(None, self._logo_overlay, png)
            if asked != self._logo_asked:
                return  # a newer call decided meanwhile
            self._logo, self._logo_png = overlay, png
        self._logo_fade.turn(png is not None, self._monotonic(), self.fade_s)

    def _logo_overlay(self, png: bytes) -> Overlay:
        try:
            # A channel's logo, an eighth of the picture at most; even sizes, since an odd one
            # would be padded past that (4:2:0 needs even).
            picture = logo_picture(png, self.width // 16 * 2, self.height // 16 * 2)
        except OSError as exc:  # Pillow's "cannot identify image file" and broken data
            raise ValueError(f"the logo is not a readable image: {exc}") from None
        return overlay_of_image(picture)

    def set_clock(self, zone: str | None, label: str = "") -> None:
        """Show a clock of IANA `zone` labelled `label` (a city), or (None) fade it out."""
        if zone is not None:
            try:
                self._zone = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f'"{zone}" is not a known IANA time zone') from None
            self._zone_name, self._clock_label = zone, label
        else:
            self._zone_name = None  # the zone stays for the fade out
        self._clock_fade.turn(zone is not None, self._monotonic(), self.fade_s)

    def state(self) -> GraphicsState:
        """What the graphics show (or are fading to) now."""
        return GraphicsState(
            lower_thirds=tuple(
                LowerThirdState(sid, lt.name, lt.title, lt.fade.visible)
                for sid in self._order
                if (lt := self._lower.get(sid)) is not None
            ),
            logo=self._logo_fade.visible,
            corner=self._logo_corner,
            clock_zone=self._zone_name,
            clock_label=self._clock_label,
        )

    def _reading(self, now: float, zone: ZoneInfo) -> str:
        """The clock's "HH:MM", read from the wall clock once a minute (at its turn), not once
        a frame."""
        if now >= self._reading_until or zone is not self._reading_zone:
            local = self._wall_clock().astimezone(zone)
            self._reading_text = local.strftime("%H:%M")
            self._reading_zone = zone
            self._reading_until = now + 60 - local.second - local.microsecond / 1e6
        return self._reading_text

    def scene(self) -> Scene | None:
        """The graphics of the frame being made now; None when nothing is on screen."""
        now, span = self._monotonic(), self.fade_s
        shots = tuple(
            LowerThirdShot(sid, lt.name, lt.title, opacity)
            for sid in self._order
            if (lt := self._lower.get(sid)) is not None
            and (opacity := lt.fade.opacity(now, span)) > 0
        )
        logo = self._logo_fade.opacity(now, span) if self._logo is not None else 0.0
        clock = self._clock_fade.opacity(now, span) if self._zone is not None else 0.0
        if not shots and logo <= 0 and clock <= 0:
            return None
        reading = None
        if clock > 0 and self._zone is not None:
            reading = (self._clock_label, self._reading(now, self._zone))
        return Scene(
            order=self._order,
            lower_thirds=shots,
            logo=self._logo if logo > 0 else None,
            logo_corner=self._logo_corner,
            logo_opacity=logo,
            clock=reading,
            clock_opacity=clock,
        )


def _even(v: int) -> int:
    """Overlays sit on even coordinates: the chroma planes are half size."""
    return max(0, v - v % 2)


def label_height(tile: Tile, label_size: int) -> int:
    """The height of the compositor's studio label box at the bottom of a tile (see
    Compositor.compose: its text size, the box's padding, its margin)."""
    size = max(10, min(label_size, tile.h // 12))
    return int(size * 1.25) + 2 + 2 * 6


def lower_third_spot(tile: Tile, card_height: int, label_size: int) -> tuple[int, int]:
    """Where a studio's lower third sits: at the tile's left, just above its label."""
    margin = max(8, tile.h // 40)
    bottom = tile.y + tile.h - margin - label_height(tile, label_size) - margin
    return _even(tile.x + margin), _even(max(tile.y, bottom - card_height))


def corner_spot(corner: Corner, w: int, h: int, width: int, height: int) -> tuple[int, int]:
    """Where a w x h element sits in a corner of the program, inside a safe margin."""
    margin = height // 24
    x = margin if corner.endswith("left") else width - margin - w
    y = margin if corner.startswith("top") else height - margin - h
    return _even(x), _even(y)


Rect = tuple[int, int, int, int]  # x, y, w, h


def _drawn(draw: Callable[..., Image.Image], *args: object) -> Overlay:
    return overlay_of_image(draw(*args))


class Painter:
    """Draws scenes onto program frames (the program's worker thread only)."""

    def __init__(self, width: int, height: int, label_size: int) -> None:
        self.width, self.height = width, height
        self.label_size = label_size
        self._cards: OrderedDict[tuple[object, ...], Overlay] = OrderedDict()
        # Where each element was last drawn ("lower_third/<studio>", "logo", "clock"): for the
        # tests that look for the graphics in recorded frames.
        self.placed: dict[str, Rect] = {}

    def _card(self, key: tuple[object, ...], draw: Callable[[], Overlay]) -> Overlay:
        card = self._cards.get(key)
        if card is None:
            card = self._cards[key] = draw()
            while len(self._cards) > CARD_CACHE:
                self._cards.popitem(last=False)
        else:
            self._cards.move_to_end(key)
        return card

    def paint(self, canvas: Planes, scene: Scene, tiles: Sequence[Tile | None]) -> None:
        """Blend the scene's elements onto the frame whose studios sit in `tiles`."""
        where = dict(zip(scene.order, tiles, strict=False))
        for shot in scene.lower_thirds:
            tile = where.get(shot.studio_id)
            if tile is None:
                continue  # not in the picture now (solo of another studio)
            margin = max(8, tile.h // 40)
            size, room = max(14, tile.h // 18), tile.w - 2 * margin
            card = self._card(
                ("lower_third", shot.name, shot.title, size, room),
                functools.partial(_drawn, lower_third_card, shot.name, shot.title, size, room),
            )
            x, y = lower_third_spot(tile, card.height, self.label_size)
            card.blend(canvas, x, y, shot.opacity)
            self.placed[f"lower_third/{shot.studio_id}"] = (x, y, card.width, card.height)
        if scene.clock is not None:
            label, reading = scene.clock
            size = max(12, self.height // 28)
            card = self._card(
                ("clock", label, reading, size),
                functools.partial(_drawn, clock_card, label, reading, size),
            )
            # The top corner the logo does not use, whether the logo shows or not: a clock
            # that moved when the logo went off would look like a mistake.
            corner: Corner = "top-right" if scene.logo_corner == "top-left" else "top-left"
            x, y = corner_spot(corner, card.width, card.height, self.width, self.height)
            card.blend(canvas, x, y, scene.clock_opacity)
            self.placed["clock"] = (x, y, card.width, card.height)
        if scene.logo is not None:
            logo = scene.logo
            x, y = corner_spot(scene.logo_corner, logo.width, logo.height, self.width, self.height)
            logo.blend(canvas, x, y, scene.logo_opacity)
            self.placed["logo"] = (x, y, logo.width, logo.height)
