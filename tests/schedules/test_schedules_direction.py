"""Cues and chat of a booking on a real database: kept with the booking, read by who may, and
every bad body refused by field with nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from harness.waiting import eventually
from schedules import db, store
from schedules.direction.parse import MAX_MESSAGE
from schedules.direction.record import CueKind
from schedules.direction.service import DirectionService
from schedules.errors import InvalidTransition, NotFound, ValidationError
from schedules.model import Booking, BookingStatus
from schedules.service import BookingService

Book = Callable[..., Awaitable[Booking]]


@pytest.fixture
def direction(engine: AsyncEngine, service: BookingService) -> DirectionService:
    return DirectionService(engine, service.clock, service.write_lock)


async def test_a_cue_is_kept_and_acknowledged_once_by_its_studio(
    direction: DirectionService, book: Book, clock: Any
) -> None:
    booking = await book()
    sent = await direction.send_cue(booking.id, {"studio": "dha", "cue": "stand_by"}, "anna")
    assert (sent.studio_id, sent.kind, sent.text, sent.sent_by) == (
        "dha",
        CueKind.STAND_BY,
        "",
        "anna",
    )
    assert sent.sent_at == clock.now and sent.acknowledged_at is None
    free = await direction.send_cue(
        booking.id, {"studio": "trend", "cue": "free", "text": " Look at camera 2 "}, "anna"
    )
    assert free.text == "Look at camera 2" and free.id > sent.id
    with pytest.raises(NotFound):  # a cue to Istanbul is not Baku's to acknowledge
        await direction.acknowledge(booking.id, sent.id, "trend", "operator-baku")
    with pytest.raises(NotFound):
        await direction.acknowledge(booking.id, 9999, "dha", "operator-istanbul")
    clock.advance(seconds=3)
    seen = await direction.acknowledge(booking.id, sent.id, "dha", "operator-istanbul")
    assert seen.acknowledged_at == clock.now and seen.acknowledged_by == "operator-istanbul"
    clock.advance(seconds=5)
    again = await direction.acknowledge(booking.id, sent.id, "dha", "someone else")
    assert (again.acknowledged_at, again.acknowledged_by) == (
        seen.acknowledged_at,
        seen.acknowledged_by,
    )
    assert [c.id for c in await direction.cues(booking.id)] == [sent.id, free.id]
    assert [c.id for c in await direction.cues(booking.id, "dha")] == [sent.id]
    with pytest.raises(NotFound):
        await direction.cues("nosuchbooking")


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ("stand by", None),
        ({}, {"studio", "cue"}),
        ({"studio": "ansa", "cue": "stand_by"}, {"studio"}),
        ({"studio": "dha", "cue": "STAND BY"}, {"cue"}),
        ({"studio": "dha", "cue": 3}, {"cue"}),
        ({"studio": "dha", "cue": "free"}, {"text"}),
        ({"studio": "dha", "cue": "free", "text": "   "}, {"text"}),
        ({"studio": "dha", "cue": "free", "text": "x" * 201}, {"text"}),
        ({"studio": "dha", "cue": "free", "text": "two\nlines"}, {"text"}),
        ({"studio": "dha", "cue": "wrap_up", "text": 5}, {"text"}),
        ({"studio": "dha", "cue": "wrap_up", "colour": "red"}, {"colour"}),
        ({"studio": ["dha"], "cue": "wrap_up"}, {"studio"}),
    ],
)
async def test_a_bad_cue_is_refused_by_field_and_nothing_is_kept(
    direction: DirectionService, book: Book, data: object, fields: set[str] | None
) -> None:
    booking = await book()
    with pytest.raises(ValidationError) as refused:
        await direction.send_cue(booking.id, data, "anna")
    if fields is not None:
        assert set(refused.value.fields) == fields, refused.value.fields
    assert await direction.cues(booking.id) == []


async def test_no_cue_or_message_for_a_booking_that_is_over(
    direction: DirectionService, service: BookingService, book: Book
) -> None:
    booking = await book()
    await direction.post_message(booking.id, {"text": "before"}, "anna", None)
    await service.cancel(booking.id, "anna")
    with pytest.raises(InvalidTransition):
        await direction.send_cue(booking.id, {"studio": "dha", "cue": "stand_by"}, "anna")
    with pytest.raises(InvalidTransition):
        await direction.post_message(booking.id, {"text": "after"}, "anna", None)
    assert [m.text for m in await direction.messages(booking.id)] == ["before"]  # history stays
    with pytest.raises(NotFound):
        await direction.send_cue("nosuchbooking", {"studio": "dha", "cue": "stand_by"}, "a")


async def test_cues_and_chat_go_on_after_air_until_the_teardown_ends(
    direction: DirectionService, service: BookingService, book: Book, clock: Any
) -> None:
    """The studios stay on the line after air ("that's a wrap, thank you Baku"): a completed
    show once refused every cue and message at once, while its room was still open."""
    booking = await book(teardown_minutes=15)
    for studio in ("trend", "dha"):
        await service.confirm(booking.id, studio, f"operator-{studio}")
    await service.go_live(booking.id, "autopilot")
    clock.now = booking.ends_at + timedelta(minutes=1)
    await service.complete(booking.id, "autopilot")
    cue = {"studio": "dha", "cue": "off_air"}
    await direction.send_cue(booking.id, cue, "anna")
    await direction.post_message(booking.id, {"text": "That's a wrap, thank you"}, "anna", None)
    clock.now = booking.busy_until - timedelta(seconds=1)
    await direction.post_message(booking.id, {"text": "Thanks, bye"}, "operator", "dha")
    clock.now = booking.busy_until  # the teardown is over
    with pytest.raises(InvalidTransition):
        await direction.send_cue(booking.id, cue, "anna")
    with pytest.raises(InvalidTransition):
        await direction.post_message(booking.id, {"text": "late"}, "anna", None)
    assert [m.text for m in await direction.messages(booking.id)] == [
        "That's a wrap, thank you",
        "Thanks, bye",
    ]


async def test_each_reader_sees_the_messages_meant_for_it(
    direction: DirectionService, book: Book
) -> None:
    """To everyone, privately to one studio, and from a studio to production; the text is kept
    as written, markup included (pages show it as text)."""
    booking = await book(studios=["trend", "dha", "ansa"])
    everyone = await direction.post_message(booking.id, {"text": "Two minutes"}, "anna", None)
    to_dha = await direction.post_message(
        booking.id, {"text": "<b>Istanbul</b>, mic 2\nplease", "to": "dha"}, "anna", None
    )
    from_ansa = await direction.post_message(
        booking.id, {"text": "Our guest is late", "to": "ansa"}, "op-rome", "ansa"
    )
    ansa_to_all = await direction.post_message(
        booking.id, {"text": "Ready in Rome"}, "op-rome", "ansa"
    )
    assert to_dha.text == "<b>Istanbul</b>, mic 2\nplease"
    ids = [m.id for m in (everyone, to_dha, from_ansa, ansa_to_all)]
    assert ids == sorted(ids)

    async def seen(reader: str | None, after: int = 0) -> list[int]:
        return [
            m.id for m in await direction.messages(booking.id, after=after, reader_studio=reader)
        ]

    assert await seen(None) == ids  # production reads everything
    assert await seen("dha") == [everyone.id, to_dha.id, ansa_to_all.id]
    assert await seen("ansa") == [everyone.id, from_ansa.id, ansa_to_all.id]
    assert await seen("trend") == [everyone.id, ansa_to_all.id]
    assert await seen("trend", after=everyone.id) == [ansa_to_all.id]  # a console catching up
    assert (from_ansa.from_studio, from_ansa.to_studio, from_ansa.author) == (
        "ansa",
        "ansa",
        "op-rome",
    )
    assert from_ansa.seen_by(None) and from_ansa.seen_by("ansa") and not from_ansa.seen_by("dha")


@pytest.mark.parametrize(
    ("data", "from_studio", "fields"),
    [
        ({}, None, {"text"}),
        ({"text": ""}, None, {"text"}),
        ({"text": " \n "}, None, {"text"}),
        ({"text": "x" * (MAX_MESSAGE + 1)}, None, {"text"}),
        ({"text": "bell\x07"}, None, {"text"}),
        ({"text": "esc\x1b[31mred"}, None, {"text"}),
        ({"text": "c1\x85next line"}, None, {"text"}),
        ({"text": 42}, None, {"text"}),
        ({"text": "hi", "to": "ansa"}, None, {"to"}),  # not in this booking
        ({"text": "hi", "to": 7}, None, {"to"}),
        ({"text": "hi", "to": "dha"}, "trend", {"to"}),  # studios do not whisper to each other
        ({"text": "hi", "html": True}, None, {"html"}),
    ],
)
async def test_a_bad_message_is_refused_by_field_and_nothing_is_kept(
    direction: DirectionService,
    book: Book,
    data: object,
    from_studio: str | None,
    fields: set[str],
) -> None:
    booking = await book()
    with pytest.raises(ValidationError) as refused:
        await direction.post_message(booking.id, data, "anna", from_studio)
    assert set(refused.value.fields) == fields, refused.value.fields
    assert await direction.messages(booking.id) == []


async def test_the_longest_message_and_a_tab_are_kept(
    direction: DirectionService, book: Book
) -> None:
    booking = await book()
    longest = "é" * MAX_MESSAGE
    kept = await direction.post_message(booking.id, {"text": longest}, "anna", None)
    tabbed = await direction.post_message(booking.id, {"text": "a\tb"}, "anna", None)
    assert [m.text for m in await direction.messages(booking.id)] == [longest, "a\tb"]
    assert kept.id < tabbed.id
    with pytest.raises(NotFound):  # a studio not in the booking writes nothing
        await direction.post_message(booking.id, {"text": "hi"}, "x", "ansa")


async def test_a_console_sees_the_newest_cue_to_its_studio_and_the_newest_message_for_it(
    direction: DirectionService, book: Book
) -> None:
    """What the state poll shows, read without the booking: the same as the last of the
    studio's cues and the last message it may read."""
    booking = await book(studios=["trend", "dha", "ansa"])
    assert await direction.console_view(booking.id, "dha") == (None, 0)
    first = await direction.send_cue(booking.id, {"studio": "dha", "cue": "stand_by"}, "anna")
    to_trend = await direction.send_cue(booking.id, {"studio": "trend", "cue": "wrap_up"}, "anna")
    everyone = await direction.post_message(booking.id, {"text": "Two minutes"}, "anna", None)
    private = await direction.post_message(booking.id, {"text": "mic", "to": "ansa"}, "anna", None)
    cue, last = await direction.console_view(booking.id, "dha")
    assert (cue, last) == (first, everyone.id)
    assert await direction.console_view(booking.id, "ansa") == (None, private.id)
    latest = await direction.send_cue(booking.id, {"studio": "dha", "cue": "off_air"}, "anna")
    assert (await direction.console_view(booking.id, "dha"))[0] == latest
    assert await direction.latest_cues(booking.id) == [to_trend, latest]
    with pytest.raises(NotFound):
        await direction.latest_cues("nosuchbooking")


async def test_the_history_is_what_each_reader_may_see(
    direction: DirectionService, book: Book
) -> None:
    booking = await book(studios=["trend", "dha", "ansa"])
    cue = await direction.send_cue(booking.id, {"studio": "dha", "cue": "stand_by"}, "anna")
    other = await direction.send_cue(booking.id, {"studio": "ansa", "cue": "stand_by"}, "anna")
    everyone = await direction.post_message(booking.id, {"text": "Two minutes"}, "anna", None)
    private = await direction.post_message(booking.id, {"text": "psst", "to": "ansa"}, "anna", None)
    assert await direction.history(booking.id) == ([cue, other], [everyone, private])
    assert await direction.history(booking.id, "dha") == ([cue], [everyone])


async def _waiting_on_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool((await conn.execute(query)).scalar())


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has one writer at a time anyway
@pytest.mark.parametrize("write", ["cue", "message"])
async def test_nothing_lands_on_a_booking_another_server_is_cancelling(
    engine: AsyncEngine, engine_url: str, book: Book, clock: Any, write: str
) -> None:
    """Another server cancels the booking in a transaction still open while this one writes:
    the write waits for the booking's row, then sees the cancellation and refuses."""
    booking = await book()
    here = DirectionService(engine, clock, asyncio.Lock())  # this server's own write lock
    other = db.make_engine(engine_url)  # the other server's connections
    try:
        async with other.begin() as conn:
            await store.lock_booking(conn, booking.id)
            stored = await store.get_booking(conn, booking.id)
            await store.update_booking(conn, replace(stored, status=BookingStatus.CANCELLED))
            attempt = asyncio.ensure_future(
                here.send_cue(booking.id, {"studio": "dha", "cue": "stand_by"}, "anna")
                if write == "cue"
                else here.post_message(booking.id, {"text": "hello"}, "anna", None)
            )
            await eventually(lambda: _waiting_on_a_lock(engine), message="a write waiting")
            assert not attempt.done()
        with pytest.raises(InvalidTransition):
            await attempt
    finally:
        await other.dispose()
    assert await here.history(booking.id) == ([], [])
