"""The program graphics of a booking on a real database: lower-third texts per studio and
language, what is on screen, the site's logo; every bad body refused by field with nothing
kept, and every change in the audit log."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules.errors import InvalidTransition, NotFound, ValidationError
from schedules.graphics.parse import MAX_LOGO_BYTES, check_logo
from schedules.graphics.record import ClockSetting, LowerThird, OnScreen
from schedules.graphics.service import SITE, GraphicsService
from schedules.model import Booking
from schedules.service import BookingService

Book = Callable[..., Awaitable[Booking]]


@pytest.fixture
def graphics(engine: AsyncEngine, service: BookingService) -> GraphicsService:
    return GraphicsService(engine, service.clock, service.write_lock)


def png(width: int = 64, height: int = 32, mode: str = "RGBA") -> bytes:
    """A real PNG picture (half transparent when it has alpha)."""
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30, 128) if mode == "RGBA" else 90).save(
        out, format="PNG"
    )
    return out.getvalue()


async def test_texts_per_language_and_the_first_stored_is_shown(
    graphics: GraphicsService, service: BookingService, book: Book
) -> None:
    booking = await book()
    fresh = await graphics.of(booking.id)
    assert (fresh.on_screen, fresh.texts, fresh.language) == (OnScreen(), (), None)

    az = {"studio": "trend", "language": "az", "name": "Ayşə Məmmədova", "title": "İqtisadçı"}
    en = {"studio": "trend", "language": "en", "name": "Aysha Mammadova", "title": "Economist"}
    tr = {"studio": "dha", "language": "tr", "name": "Ali <b>Yılmaz</b>", "title": ""}
    kept = await graphics.set_texts(booking.id, {"texts": [az, en, tr]}, "anna")
    assert kept.languages == ("az", "en", "tr")
    assert kept.language == "az"  # nobody picked one: the first stored
    assert kept.text_of("trend") == LowerThird("trend", "az", "Ayşə Məmmədova", "İqtisadçı")
    # No text in the shown language: the studio's first one, markup kept as text.
    assert kept.text_of("dha") == LowerThird("dha", "tr", "Ali <b>Yılmaz</b>", "")

    picked = await graphics.change(booking.id, {"language": "en"}, "anna")
    assert picked.language == "en" and picked.text_of("trend") is not None
    assert picked.text_of("trend").name == "Aysha Mammadova"  # type: ignore[union-attr]

    # Replacing the set: Azerbaijani left out goes; English edited in its place.
    en["title"] = "Chief economist"
    again = await graphics.set_texts(booking.id, {"texts": [en, tr]}, "anna")
    assert [(t.studio_id, t.language, t.title) for t in again.texts] == [
        ("trend", "en", "Chief economist"),
        ("dha", "tr", ""),
    ]
    actions = [e.action for e in await service.audit(booking.id)]
    assert actions.count("changed the lower thirds") == 2
    assert actions.count("changed the graphics") == 1


async def test_a_lower_third_is_shown_hidden_and_its_text_kept(
    graphics: GraphicsService, service: BookingService, book: Book
) -> None:
    booking = await book(studios=["trend", "dha", "ansa"])
    shown = await graphics.change(
        booking.id,
        {
            "studio": "dha",
            "lower_third": {"name": "  Ali Yılmaz ", "title": "Correspondent, Istanbul"},
            "language": "tr",
            "visible": True,
        },
        "anna",
    )
    assert shown.on_screen.shown == ("dha",) and shown.language == "tr"
    assert shown.texts == (LowerThird("dha", "tr", "Ali Yılmaz", "Correspondent, Istanbul"),)
    # A text without a language goes under the one shown.
    rome = await graphics.change(
        booking.id,
        {"studio": "ansa", "lower_third": {"name": "Giulia Rossi"}, "visible": True},
        "anna",
    )
    assert rome.on_screen.shown == ("dha", "ansa")  # in booking order
    assert rome.text_of("ansa") == LowerThird("ansa", "tr", "Giulia Rossi", "")
    hidden = await graphics.change(booking.id, {"studio": "dha", "visible": False}, "anna")
    assert hidden.on_screen.shown == ("ansa",)
    assert hidden.text_of("dha") is not None  # hiding keeps the text for the next time
    # Without a studio: every studio's lower third that has a text.
    everyone = await graphics.change(booking.id, {"visible": True}, "anna")
    assert everyone.on_screen.shown == ("dha", "ansa")
    nobody = await graphics.change(booking.id, {"visible": False}, "anna")
    assert nobody.on_screen.shown == ()

    lines = [e for e in await service.audit(booking.id) if e.action == "changed the graphics"]
    assert lines[0].details == {
        "studio": "dha",
        "name": "Ali Yılmaz",
        "title": "Correspondent, Istanbul",
        "visible": True,
        "language": "tr",
    }
    assert [e.details.get("visible") for e in lines] == [True, True, False, True, False]


async def test_clock_and_logo_on_screen(
    graphics: GraphicsService, service: BookingService, book: Book
) -> None:
    booking = await book()
    with pytest.raises(ValidationError) as refused:  # nothing uploaded yet
        await graphics.change(booking.id, {"logo": {"visible": True}}, "anna")
    assert set(refused.value.fields) == {"logo.visible"}
    assert await graphics.logo() is None
    uploaded = await graphics.put_logo(png(), "admin")
    assert (uploaded.width, uploaded.height, uploaded.uploaded_by) == (64, 32, "admin")
    stored = await graphics.logo()
    assert stored is not None and stored.png == png() and stored.sha256 == uploaded.sha256

    on = await graphics.change(
        booking.id,
        {"clock": {"zone": "Asia/Baku", "label": "Baku"}, "logo": {"visible": True}},
        "anna",
    )
    assert on.on_screen.clock == ClockSetting("Asia/Baku", "Baku")
    assert (on.on_screen.logo_visible, on.on_screen.logo_corner) == (True, "top-right")
    moved = await graphics.change(booking.id, {"logo": {"corner": "bottom-left"}}, "anna")
    assert (moved.on_screen.logo_visible, moved.on_screen.logo_corner) == (True, "bottom-left")
    off = await graphics.change(booking.id, {"clock": None}, "anna")
    assert off.on_screen.clock is None and off.on_screen.logo_visible

    assert await graphics.remove_logo("admin") is True
    assert await graphics.remove_logo("admin") is False
    assert await graphics.logo() is None
    site = [(e.actor, e.action) for e in await graphics.site_audit()]
    assert site == [("admin", "uploaded the logo"), ("admin", "removed the logo")]
    assert all(e.booking_id == SITE for e in await graphics.site_audit())


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ("show it", {"body"}),
        ({}, {"body"}),
        ({"colour": "red"}, {"colour", "body"}),
        ({"studio": "ansa", "visible": True}, {"studio"}),  # not in the booking
        ({"studio": "trend"}, {"visible"}),
        ({"studio": "trend", "visible": "yes"}, {"visible"}),
        ({"lower_third": {"name": "Ali"}, "visible": True}, {"studio"}),
        ({"studio": "trend", "lower_third": "Ali", "visible": True}, {"lower_third"}),
        ({"studio": "trend", "lower_third": {}, "visible": True}, {"lower_third.name"}),
        ({"studio": "trend", "lower_third": {"name": "  "}, "visible": True}, {"lower_third.name"}),
        ({"studio": "trend", "lower_third": {"name": 7}, "visible": True}, {"lower_third.name"}),
        (
            {"studio": "trend", "lower_third": {"name": "x" * 81}, "visible": True},
            {"lower_third.name"},
        ),
        (
            {"studio": "trend", "lower_third": {"name": "A", "title": "t" * 121}, "visible": True},
            {"lower_third.title"},
        ),
        (
            {"studio": "trend", "lower_third": {"name": "Ali\nYılmaz"}, "visible": True},
            {"lower_third.name"},
        ),
        (
            {"studio": "trend", "lower_third": {"name": "A", "title": "a\u2028b"}, "visible": True},
            {"lower_third.title"},
        ),
        (
            {"studio": "trend", "lower_third": {"name": "A", "x": 1}, "visible": True},
            {"lower_third.x"},
        ),
        ({"studio": "trend", "visible": True}, {"lower_third"}),  # no text stored for it yet
        ({"visible": True}, {"visible"}),  # no studio has a text yet
        ({"language": "de"}, {"language"}),
        ({"language": ["en"]}, {"language"}),
        ({"clock": {"zone": "Mars/Olympus"}}, {"clock.zone"}),
        ({"clock": {"zone": "../etc/passwd"}}, {"clock.zone"}),
        ({"clock": {"zone": "Asia/Baku", "label": "B" * 41}}, {"clock.label"}),
        ({"clock": {"zone": "Asia/Baku", "label": "a\tb"}}, {"clock.label"}),
        ({"clock": "Asia/Baku"}, {"clock"}),
        ({"logo": {}}, {"logo"}),
        ({"logo": {"corner": "middle"}}, {"logo.corner"}),
        ({"logo": {"visible": 1}}, {"logo.visible"}),
        ({"logo": True}, {"logo"}),
    ],
)
async def test_a_bad_change_is_refused_by_field_and_nothing_is_kept(
    graphics: GraphicsService, book: Book, data: object, fields: set[str]
) -> None:
    booking = await book()
    with pytest.raises(ValidationError) as refused:
        await graphics.change(booking.id, data, "anna")
    assert set(refused.value.fields) == fields, refused.value.fields
    kept = await graphics.of(booking.id)
    assert (kept.on_screen, kept.texts) == (OnScreen(), ())


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"texts"}),
        ({"texts": {"studio": "trend"}}, {"texts"}),
        ({"texts": ["Ali"]}, {"texts[0]"}),
        ({"texts": [{"studio": "trend", "language": "en"}]}, {"texts[0].name"}),
        (
            {"texts": [{"studio": "ansa", "language": "en", "name": "Giulia"}]},
            {"texts[0].studio"},
        ),
        (
            {"texts": [{"studio": "trend", "language": "xx", "name": "Ali"}]},
            {"texts[0].language"},
        ),
        (
            {
                "texts": [
                    {"studio": "trend", "language": "en", "name": "Ali"},
                    {"studio": "trend", "language": "en", "name": "Veli"},
                ]
            },
            {"texts[1]"},
        ),
        (
            {"texts": [{"studio": "trend", "language": "en", "name": "A", "role": "x"}]},
            {"texts[0].role"},
        ),
        ({"texts": [], "extra": 1}, {"extra"}),
    ],
)
async def test_bad_texts_are_refused_by_field_and_nothing_is_kept(
    graphics: GraphicsService, book: Book, data: object, fields: set[str]
) -> None:
    booking = await book()
    before = {"texts": [{"studio": "dha", "language": "tr", "name": "Ali"}]}
    await graphics.set_texts(booking.id, before, "anna")
    with pytest.raises(ValidationError) as refused:
        await graphics.set_texts(booking.id, data, "anna")
    assert set(refused.value.fields) == fields, refused.value.fields
    assert (await graphics.of(booking.id)).texts == (LowerThird("dha", "tr", "Ali", ""),)


async def test_no_graphics_for_a_booking_that_is_over_or_unknown(
    graphics: GraphicsService, service: BookingService, book: Book
) -> None:
    booking = await book()
    texts: dict[str, Any] = {"texts": [{"studio": "dha", "language": "tr", "name": "Ali"}]}
    await graphics.set_texts(booking.id, texts, "anna")
    await service.cancel(booking.id, "anna")
    with pytest.raises(InvalidTransition):
        await graphics.change(booking.id, {"language": "en"}, "anna")
    with pytest.raises(InvalidTransition):
        await graphics.set_texts(booking.id, texts, "anna")
    assert len((await graphics.of(booking.id)).texts) == 1  # what it had stays readable
    for call in (
        graphics.of("nosuchbooking"),
        graphics.change("nosuchbooking", {"language": "en"}, "a"),
        graphics.set_texts("nosuchbooking", texts, "a"),
    ):
        with pytest.raises(NotFound):
            await call


@pytest.mark.parametrize(
    ("picture", "problem"),
    [
        (b"", "must be a PNG picture"),
        (b"GIF89a" + bytes(100), "must be a PNG picture"),
        (png()[:60], "must be a PNG picture"),  # cut short: the header reads, the pixels do not
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "must be a PNG picture"),
        (png(1921, 10), "must be at most 1920 x 1080 pixels"),
        (png(10, 1081), "must be at most 1920 x 1080 pixels"),
        (b"\x89PNG\r\n\x1a\n" + bytes(MAX_LOGO_BYTES), "must be at most 1 MB"),
    ],
)
async def test_a_logo_that_is_not_a_small_png_is_refused(
    graphics: GraphicsService, picture: bytes, problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await graphics.put_logo(picture, "admin")
    assert refused.value.fields == {"logo": problem}
    assert await graphics.logo() is None


def test_a_logo_is_any_png_up_to_full_hd() -> None:
    for picture in (png(1920, 1080), png(8, 8, mode="L"), png(2, 2)):
        assert check_logo(picture).png == picture
