"""The declaration of a booking's fields: it covers the table and the records, keeps the JSON in
its documented order, and lists in the audit log what an edit changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from schedules import db
from schedules.fields import (
    BODY_FIELDS,
    BOOKING_FIELDS,
    RESCHEDULING,
    booking_json,
    changes,
    columns_of,
    from_columns,
)
from schedules.model import Booking, BookingDraft, BookingStatus, BookingStudio
from schedules.validation import parse_draft

LAYOUTS = ("auto", "grid", "pip")
WHEN = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
BOOKING = Booking(
    id="b1",
    title="Caspian morning",
    status=BookingStatus.CONFIRMED,
    starts_at=WHEN,
    ends_at=WHEN.replace(hour=15),
    setup_minutes=15,
    teardown_minutes=5,
    record=True,
    layout="auto",
    notes="",
    sequence=2,
    studios=(BookingStudio("trend"), BookingStudio("dha")),
    created_by="producer",
    created_at=WHEN.replace(day=1, hour=9),
    updated_at=WHEN.replace(day=1, hour=10),
    series_id="s1",
    quality="1080p30",
)


def test_every_column_of_bookings_but_the_key_is_declared():
    declared = {f.column for f in BOOKING_FIELDS if f.column}
    assert declared == set(db.bookings.c.keys()) - {"id"}


def test_the_declaration_names_the_records_fields():
    stored = {f.name for f in BOOKING_FIELDS if f.column and not f.derived}
    assert stored | {"id", "studios"} == {f.name for f in dataclasses.fields(Booking)}
    draft_fields = {f.name for f in dataclasses.fields(BookingDraft)} - {"recurrence"}
    assert {f.name for f in BOOKING_FIELDS if f.drafted} == draft_fields
    assert {
        "title",
        "studios",
        "starts_at",
        "ends_at",
        "setup_minutes",
        "teardown_minutes",
        "record",
        "layout",
        "quality",
        "stream",
        "notes",
        "zone",
        "recurrence",
    } == BODY_FIELDS
    assert {
        "studio_ids",
        "starts_at",
        "ends_at",
        "setup_minutes",
        "teardown_minutes",
    } == RESCHEDULING


def test_json_keeps_its_documented_order_and_values():
    assert booking_json(BOOKING) == {
        "id": "b1",
        "series_id": "s1",
        "title": "Caspian morning",
        "status": "confirmed",
        "studios": ["trend", "dha"],
        "starts_at": "2026-12-01T14:00:00Z",
        "ends_at": "2026-12-01T15:00:00Z",
        "zone": "",
        "setup_minutes": 15,
        "teardown_minutes": 5,
        "setup_starts_at": "2026-12-01T13:45:00Z",
        "teardown_ends_at": "2026-12-01T15:05:00Z",
        "record": True,
        "layout": "auto",
        "quality": "1080p30",
        "stream": "private",
        "notes": "",
        "sequence": 2,
        "created_by": "producer",
        "created_at": "2026-12-01T09:00:00Z",
        "updated_at": "2026-12-01T10:00:00Z",
    }
    assert list(booking_json(BOOKING)) == [f.json_name for f in BOOKING_FIELDS]


def test_columns_read_back_into_the_same_booking():
    row = {"id": BOOKING.id, **columns_of(BOOKING)}
    assert row["status"] == "confirmed"
    assert (row["busy_from"], row["busy_until"]) == (BOOKING.busy_from, BOOKING.busy_until)
    again = Booking(id=row["id"], studios=BOOKING.studios, **from_columns(row))
    assert again == BOOKING


# (an edit's body, the audit log's change list)
CHANGES = [
    pytest.param({}, {}, id="nothing"),
    pytest.param({"title": " Caspian   morning "}, {}, id="same title, tidied"),
    pytest.param({"starts_at": "2026-12-01T18:00:00+04:00"}, {}, id="same start, Baku offset"),
    pytest.param(
        {"title": "Caspian evening"},
        {"title": ["Caspian morning", "Caspian evening"]},
        id="title",
    ),
    pytest.param(
        {"studios": ["dha", "trend"]},
        {"studio_ids": [["trend", "dha"], ["dha", "trend"]]},
        id="studios reordered",
    ),
    pytest.param(
        {"starts_at": "2026-12-01T17:30:00+03:00", "setup_minutes": 30},
        {
            "starts_at": ["2026-12-01T14:00:00Z", "2026-12-01T14:30:00Z"],
            "setup_minutes": [15, 30],
        },
        id="start from Istanbul and setup",
    ),
    pytest.param(
        {
            "record": False,
            "layout": "grid",
            "quality": "540p30",
            "stream": "public",
            "notes": "Bring the flag",
        },
        {
            "record": [True, False],
            "layout": ["auto", "grid"],
            "quality": ["1080p30", "540p30"],
            "stream": ["private", "public"],
            "notes": ["", "Bring the flag"],
        },
        id="record, layout, quality, stream, notes",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CHANGES)
def test_changes(body, expected):
    draft = parse_draft(body, LAYOUTS, base=BOOKING, allow_recurrence=False)
    assert changes(BOOKING, draft) == expected
