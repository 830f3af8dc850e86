"""Validation: bad input names the field at fault and never changes what is stored."""

from __future__ import annotations

from datetime import datetime

import pytest

from schedules.errors import ValidationError

DROP = object()  # marks a field to remove from the valid body

# (changes to the valid body, the one key expected in ValidationError.fields)
INVALID = [
    pytest.param({"starts_at": "2026-12-01T14:00:00"}, "starts_at", id="naive starts_at"),
    pytest.param({"ends_at": "2026-12-01T15:00:00"}, "ends_at", id="naive ends_at"),
    pytest.param({"starts_at": datetime(2026, 12, 1, 14)}, "starts_at", id="naive datetime object"),
    pytest.param({"starts_at": "2026-12-01"}, "starts_at", id="date without time"),
    pytest.param({"starts_at": "1 Dec 2026 14:00 UTC"}, "starts_at", id="not RFC 3339"),
    pytest.param({"title": DROP}, "title", id="missing title"),
    pytest.param({"studios": DROP}, "studios", id="missing studios"),
    pytest.param({"starts_at": DROP}, "starts_at", id="missing starts_at"),
    pytest.param({"ends_at": DROP}, "ends_at", id="missing ends_at"),
    pytest.param({"title": "   \n "}, "title", id="blank title"),
    pytest.param({"title": "x" * 201}, "title", id="title too long"),
    pytest.param({"title": 42}, "title", id="title is a number"),
    pytest.param({"studios": "trend,dha"}, "studios", id="studios is a string"),
    pytest.param({"studios": [1, 2]}, "studios", id="studios are numbers"),
    pytest.param({"starts_at": 1796220000}, "starts_at", id="starts_at is a number"),
    pytest.param({"setup_minutes": "15"}, "setup_minutes", id="setup_minutes is text"),
    pytest.param({"setup_minutes": True}, "setup_minutes", id="setup_minutes is a boolean"),
    pytest.param({"setup_minutes": 241}, "setup_minutes", id="setup_minutes too long"),
    pytest.param({"teardown_minutes": -1}, "teardown_minutes", id="negative teardown"),
    pytest.param({"teardown_minutes": 2.5}, "teardown_minutes", id="fractional teardown"),
    pytest.param({"record": "yes"}, "record", id="record is text"),
    pytest.param({"notes": 5}, "notes", id="notes is a number"),
    pytest.param({"notes": "n" * 4001}, "notes", id="notes too long"),
    pytest.param({"colour": "red"}, "colour", id="unknown field"),
    pytest.param({"ends_at": "2026-12-01T14:00:00Z"}, "ends_at", id="end equals start"),
    pytest.param({"ends_at": "2026-12-01T13:00:00Z"}, "ends_at", id="end before start"),
    pytest.param(
        {"ends_at": "2026-12-01T17:00:00+03:00"}, "ends_at", id="end equals start in other offset"
    ),
    pytest.param({"ends_at": "2026-12-02T02:01:00Z"}, "ends_at", id="12 h and one minute"),
    pytest.param({"studios": ["trend"]}, "studios", id="one studio"),
    pytest.param({"studios": []}, "studios", id="no studios"),
    pytest.param(
        {"studios": ["trend", "dha", "albayrak", "qazcontent", "kabar", "uza", "azertac"]},
        "studios",
        id="seven studios",
    ),
    pytest.param({"studios": ["trend", "dha", "trend"]}, "studios", id="duplicate studio"),
    pytest.param({"studios": ["trend", "reuters"]}, "studios", id="unknown studio id"),
    pytest.param({"layout": "mosaic"}, "layout", id="bad layout"),
    pytest.param(
        {"starts_at": "2026-11-20T11:59:00Z", "ends_at": "2026-11-20T13:00:00Z"},
        "starts_at",
        id="start one minute in the past",
    ),
    pytest.param({"recurrence": {"until": "next year"}}, "recurrence", id="bad recurrence until"),
    pytest.param(
        {"recurrence": {"until": "2026-12-29", "frequency": "daily"}},
        "recurrence",
        id="daily recurrence",
    ),
    pytest.param(
        {"recurrence": {"until": "2026-11-30"}}, "recurrence", id="until before the first"
    ),
    pytest.param(
        {
            "studios": ["uza", "trend"],
            "starts_at": "2026-12-02T01:00:00+05:00",  # still 1 December in UTC
            "ends_at": "2026-12-02T02:00:00+05:00",
            "recurrence": {"until": "2026-12-01"},
        },
        "recurrence",
        id="until before the first on the series wall clock",
    ),
]


def apply(body: dict[str, object], changes: dict[str, object]) -> dict[str, object]:
    out = dict(body)
    for key, value in changes.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(("changes", "field"), INVALID)
async def test_invalid_booking_is_refused_and_nothing_stored(
    service, body, counts, book, changes, field
):
    await book(starts_at="2026-12-05T10:00:00Z", ends_at="2026-12-05T11:00:00Z")
    before = await counts()
    with pytest.raises(ValidationError) as caught:
        await service.create(apply(body(), changes), "producer")
    assert set(caught.value.fields) == {field}
    assert caught.value.message
    assert await counts() == before


@pytest.mark.parametrize(
    "data", [pytest.param([], id="a list"), pytest.param("title", id="a string")]
)
async def test_body_must_be_an_object(service, counts, data):
    before = await counts()
    with pytest.raises(ValidationError, match="must be a JSON object") as caught:
        await service.create(data, "producer")
    assert caught.value.fields == {}
    assert await counts() == before


async def test_several_problems_are_reported_together(service, counts):
    with pytest.raises(ValidationError) as caught:
        await service.create({"studios": ["trend"], "layout": "mosaic", "x": 1}, "producer")
    assert set(caught.value.fields) == {"title", "studios", "starts_at", "ends_at", "layout", "x"}
    assert caught.value.message == (
        "The booking has problems in: ends_at, layout, starts_at, studios, title, x"
    )
    assert await counts() == (0, 0, 0)


VALID_EDGES = [
    pytest.param({"ends_at": "2026-12-02T02:00:00Z"}, id="exactly 12 h"),
    pytest.param({"studios": ["trend", "dha"]}, id="two studios"),
    pytest.param(
        {"studios": ["trend", "dha", "albayrak", "qazcontent", "kabar", "uza"]}, id="six studios"
    ),
    pytest.param({"setup_minutes": 0, "teardown_minutes": 240}, id="buffer bounds"),
    pytest.param(
        {"starts_at": "2026-11-20T12:00:00Z", "ends_at": "2026-11-20T13:00:00Z"},
        id="starting right now",
    ),
    pytest.param({"layout": "pip", "record": False, "notes": None}, id="optional fields"),
    pytest.param({"title": "  Caspian \n morning  "}, id="title whitespace is tidied"),
]


@pytest.mark.parametrize("changes", VALID_EDGES)
async def test_valid_edges_are_accepted(service, body, counts, changes):
    result = await service.create(apply(body(), changes), "producer")
    assert len(result.created) == 1
    assert result.created[0].title == "Caspian morning"
    assert (await counts())[0] == 1


# Edits go through the same validation; a refused edit leaves the booking as it was.
INVALID_EDITS = [
    pytest.param({"ends_at": "2026-12-01T13:59:00Z"}, "ends_at", id="end before start"),
    pytest.param({"starts_at": "2026-12-01T18:00:00"}, "starts_at", id="naive start"),
    pytest.param({"studios": ["trend", "reuters"]}, "studios", id="unknown studio"),
    pytest.param({"studios": ["trend"]}, "studios", id="one studio"),
    pytest.param({"title": None}, "title", id="title set to null"),
    pytest.param({"recurrence": {"until": "2026-12-29"}}, "recurrence", id="recurrence on edit"),
    pytest.param({"id": "other"}, "id", id="unknown field"),
    pytest.param(
        {"starts_at": "2026-11-19T14:00:00Z", "ends_at": "2026-11-19T15:00:00Z"},
        "starts_at",
        id="moved into the past",
    ),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_EDITS)
async def test_invalid_edit_leaves_booking_unchanged(service, book, counts, changes, field):
    booking = await book()
    await service.confirm(booking.id, "trend", "op-trend")
    stored = await service.get(booking.id)
    before = await counts()
    with pytest.raises(ValidationError) as caught:
        await service.update(booking.id, changes, "producer")
    assert set(caught.value.fields) == {field}
    assert await service.get(booking.id) == stored
    assert await counts() == before
