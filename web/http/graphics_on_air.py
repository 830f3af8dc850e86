"""A booking's stored graphics put on its open room's program: at once after each change, and
when the room opens (also again after a restart mid-show).

What is stored is what goes on air: the room is told each studio's lower third in the chosen
language (shown or not), the clock and the logo, and the room leaves alone what did not change
(no fade starts again). The logo's picture is read from the database once and kept here until
an admin replaces or removes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bridge.room import Room
from bridge.spec import CORNERS as BRIDGE_CORNERS
from schedules.errors import NotFound
from schedules.graphics.record import CORNERS, BookingGraphics
from schedules.graphics.service import GraphicsService
from schedules.model import Booking
from schedules.outage import database_down, describe

log = logging.getLogger("telebridge.web.graphics")

# The corners a producer may pick (schedules) are those the program draws (bridge).
if CORNERS != BRIDGE_CORNERS:
    raise RuntimeError("schedules.graphics.record.CORNERS must be bridge.spec.CORNERS")


class GraphicsOnAir:
    """Puts stored graphics on open rooms."""

    def __init__(self, service: GraphicsService, database_up: Callable[[], bool]) -> None:
        self.service = service
        self._database_up = database_up
        self._logo: bytes | None = None
        self._logo_read = False  # the picture above is the stored one (None: there is none)

    async def logo_png(self) -> bytes | None:
        """The site's logo picture (read once, then kept until it changes)."""
        if not self._logo_read:
            stored = await self.service.logo()
            self._logo, self._logo_read = (stored.png if stored else None), True
        return self._logo

    async def show(self, room: Room, graphics: BookingGraphics) -> None:
        """Make the room's program show `graphics` (a room without a program has none)."""
        state = room.graphics_state()
        if state is None:
            return
        on_air = {lt.studio_id: lt for lt in state.lower_thirds}
        screen = graphics.on_screen
        for studio in room.spec.studios:
            text = graphics.text_of(studio.id)
            if text is not None:
                room.set_lower_third(studio.id, text.name, text.title, studio.id in screen.shown)
            elif studio.id in on_air:  # its texts were removed: off the screen
                was = on_air[studio.id]
                room.set_lower_third(studio.id, was.name, was.title, False)
        clock = screen.clock
        room.set_clock(clock.zone if clock else None, clock.label if clock else "")
        png = await self.logo_png() if screen.logo_visible else None
        await room.set_logo(png, screen.logo_corner)

    async def opened(self, booking: Booking, room: Room) -> None:
        """A room just opened: show what its booking's graphics were set to. Never raises:
        a room opens whatever its graphics do (with the database away, it opens without
        them, and the producer's next change puts them on)."""
        if not self._database_up():
            return
        try:
            await self.show(room, await self.service.of(booking.id))
        except Exception as exc:
            if database_down(exc):
                log.info(
                    "graphics of booking %s wait for the database: %s", booking.id, describe(exc)
                )
            else:
                log.warning("graphics of booking %s not shown: %r", booking.id, exc)

    async def logo_changed(self, png: bytes | None, rooms: Iterable[Room]) -> None:
        """The site's logo is now `png` (None: removed): every open room shows its booking's
        graphics again, so that those showing the logo show the new one (or none), and those
        whose producer left it on while it was removed show it again."""
        self._logo, self._logo_read = png, True
        for room in list(rooms):
            if room.graphics_state() is None:
                continue
            try:
                graphics = await self.service.of(room.spec.booking_id)
            except NotFound:  # the booking went while its room closes: nothing to show
                continue
            await self.show(room, graphics)
