"""A booking's program graphics and the site's logo: validated, kept, audited.

Nothing here touches the live room: the web side puts what is stored on the room's program
(at once when it is open, when it opens otherwise), so a bad request can never reach the
picture, and a room opened later, or again after a restart, shows what was chosen.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schedules import store
from schedules.errors import InvalidTransition, ValidationError
from schedules.graphics import store as graphics_store
from schedules.graphics.parse import check_logo, parse_change, parse_texts
from schedules.graphics.record import (
    FIRST_LANGUAGE,
    BookingGraphics,
    GraphicsChange,
    Logo,
    LowerThird,
)
from schedules.model import AuditEvent, Booking, BookingStatus
from schedules.service import Clock

# A booking that is over, called off or refused takes no new graphics (what it had stays).
FINAL = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED, BookingStatus.COMPLETED})
# The audit log is per booking; the logo is the site's. Its lines go under this id, which no
# booking can have (booking ids are letters, digits, - and _).
SITE = "(site)"


def _studio_ids(booking: Booking) -> tuple[str, ...]:
    return tuple(s.studio_id for s in booking.studios)


def _check_open(booking: Booking) -> None:
    if booking.status in FINAL:
        raise InvalidTransition(booking.status.value, "change the graphics of")


def _with_text(texts: tuple[LowerThird, ...], text: LowerThird) -> tuple[LowerThird, ...]:
    """`texts` with `text` in its studio's and language's place (or last, when new)."""
    key = (text.studio_id, text.language)
    if any((t.studio_id, t.language) == key for t in texts):
        return tuple(text if (t.studio_id, t.language) == key else t for t in texts)
    return (*texts, text)


def applied(
    now: BookingGraphics, change: GraphicsChange, studio_ids: tuple[str, ...], has_logo: bool
) -> BookingGraphics:
    """The booking's graphics after `change` (ValidationError: a lower third without any text
    to show, or a logo shown before one was uploaded)."""
    screen, texts = now.on_screen, now.texts
    if change.language is not None:
        screen = replace(screen, language=change.language)
    if change.text is not None and change.studio_id is not None:
        language = change.language or now.language or FIRST_LANGUAGE
        text = LowerThird(change.studio_id, language, change.text.name, change.text.title)
        texts = _with_text(texts, text)
    after = BookingGraphics(now.booking_id, screen, texts)
    if change.visible is not None:
        shown = set(screen.shown)
        if change.studio_id is not None:
            if change.visible and after.text_of(change.studio_id) is None:
                raise ValidationError(
                    "The studio has no lower-third text yet",
                    {"lower_third": "no text is stored for this studio: give its name"},
                )
            targets: tuple[str, ...] = (change.studio_id,)
        else:
            targets = tuple(s for s in studio_ids if after.text_of(s) is not None)
            if change.visible and not targets:
                raise ValidationError(
                    "No studio has a lower-third text yet",
                    {"visible": "no studio has a lower-third text yet"},
                )
        shown = shown | set(targets) if change.visible else shown - set(targets)
        screen = replace(screen, shown=tuple(s for s in studio_ids if s in shown))
    if change.clock_given:
        screen = replace(screen, clock=change.clock)
    if change.logo_visible is not None:
        if change.logo_visible and not has_logo:
            raise ValidationError(
                "No logo has been uploaded", {"logo.visible": "no logo has been uploaded yet"}
            )
        screen = replace(screen, logo_visible=change.logo_visible)
    if change.logo_corner is not None:
        screen = replace(screen, logo_corner=change.logo_corner)
    return BookingGraphics(now.booking_id, screen, texts)


def _details(change: GraphicsChange) -> dict[str, Any]:
    """What the audit log says of a change: the parts given, as given."""
    details: dict[str, Any] = {}
    if change.studio_id is not None:
        details["studio"] = change.studio_id
    if change.text is not None:
        details.update(name=change.text.name, title=change.text.title)
    if change.visible is not None:
        details["visible"] = change.visible
    if change.language is not None:
        details["language"] = change.language
    if change.clock_given:
        clock = change.clock
        # One value, as the booking page's audit log writes values: "Asia/Baku (Baku)".
        details["clock"] = f"{clock.zone} ({clock.label})" if clock else None
    if change.logo_visible is not None:
        details["logo_visible"] = change.logo_visible
    if change.logo_corner is not None:
        details["logo_corner"] = change.logo_corner
    return details


class GraphicsService:
    """Graphics on the booking service's database, under its write lock."""

    def __init__(self, engine: AsyncEngine, clock: Clock, write_lock: asyncio.Lock) -> None:
        self.engine = engine
        self.clock = clock
        self._write_lock = write_lock

    async def _read(self, conn: AsyncConnection, booking_id: str) -> BookingGraphics:
        return BookingGraphics(
            booking_id,
            await graphics_store.on_screen(conn, booking_id),
            await graphics_store.texts_of(conn, booking_id),
        )

    async def of(self, booking_id: str) -> BookingGraphics:
        """The booking's graphics (NotFound: no such booking)."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await self._read(conn, booking_id)

    async def _booking(self, booking_id: str) -> Booking:
        async with self.engine.connect() as conn:
            return await store.get_booking(conn, booking_id)

    async def change(self, booking_id: str, data: object, actor: str) -> BookingGraphics:
        """Validate and keep a change (a lower third shown or hidden, its text, the language,
        the clock, the logo); its audit line is written with it."""
        booking = await self._booking(booking_id)
        studio_ids = _studio_ids(booking)
        change = parse_change(data, studio_ids)
        _check_open(booking)
        now = self.clock()
        async with self._write_lock, self.engine.begin() as conn:
            before = await self._read(conn, booking_id)
            has_logo = await graphics_store.has_logo(conn)
            after = applied(before, change, studio_ids, has_logo)
            for text in after.texts:
                if text not in before.texts:
                    await graphics_store.put_text(conn, booking_id, text, actor, now)
            if after.on_screen != before.on_screen:
                await graphics_store.put_on_screen(conn, booking_id, after.on_screen, actor, now)
            await store.append_audit(
                conn, AuditEvent(booking_id, now, actor, "changed the graphics", _details(change))
            )
            return await self._read(conn, booking_id)

    async def set_texts(self, booking_id: str, data: object, actor: str) -> BookingGraphics:
        """Make the given lower-third texts the booking's (those left out are removed)."""
        booking = await self._booking(booking_id)
        texts = parse_texts(data, _studio_ids(booking))
        _check_open(booking)
        now = self.clock()
        async with self._write_lock, self.engine.begin() as conn:
            await graphics_store.replace_texts(conn, booking_id, texts, actor, now)
            details = {
                "texts": len(texts),
                "languages": list(dict.fromkeys(t.language for t in texts)),
            }
            await store.append_audit(
                conn, AuditEvent(booking_id, now, actor, "changed the lower thirds", details)
            )
            return await self._read(conn, booking_id)

    async def logo(self) -> Logo | None:
        """The site's logo, if any."""
        async with self.engine.connect() as conn:
            return await graphics_store.logo(conn)

    async def has_logo(self) -> bool:
        """Whether the site has a logo (without reading the picture)."""
        async with self.engine.connect() as conn:
            return await graphics_store.has_logo(conn)

    async def put_logo(self, png: bytes, actor: str) -> Logo:
        """Check (off the event loop: it decodes the picture) and keep the site's logo."""
        picture = await asyncio.get_running_loop().run_in_executor(None, check_logo, png)
        now = self.clock()
        async with self._write_lock, self.engine.begin() as conn:
            await graphics_store.put_logo(conn, picture, actor, now)
            details = {"width": picture.width, "height": picture.height, "sha256": picture.sha256}
            await store.append_audit(
                conn, AuditEvent(SITE, now, actor, "uploaded the logo", details)
            )
        return replace(picture, uploaded_by=actor, uploaded_at=now)

    async def remove_logo(self, actor: str) -> bool:
        """Remove the site's logo; False when there was none."""
        now = self.clock()
        async with self._write_lock, self.engine.begin() as conn:
            removed = await graphics_store.delete_logo(conn)
            if removed:
                await store.append_audit(conn, AuditEvent(SITE, now, actor, "removed the logo", {}))
        return removed

    async def site_audit(self) -> list[AuditEvent]:
        """The logo's audit lines, oldest first."""
        async with self.engine.connect() as conn:
            return await store.audit_of(conn, SITE)
