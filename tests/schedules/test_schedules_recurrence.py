"""Weekly series: one series id, conflicting weeks skipped, occurrences independent afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schedules.errors import Conflict
from schedules.model import BookingStatus

FIRST = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # a Tuesday; Baku has no daylight saving


def series(body, until, **recurrence):
    return body(title="Weekly digest", recurrence={"until": until, **recurrence})


@pytest.mark.parametrize(
    ("until", "interval", "count"),
    [
        pytest.param("2026-12-01", 1, 1, id="until the first day: one"),
        pytest.param("2026-12-07", 1, 1, id="until the day before the second: one"),
        pytest.param("2026-12-28", 1, 4, id="until a Monday: four"),
        pytest.param("2026-12-29", 1, 5, id="until the fifth Tuesday inclusive: five"),
        pytest.param("2026-12-29", 2, 3, id="every second week: three"),
        pytest.param("2027-03-02", 4, 4, id="every fourth week over the new year: four"),
    ],
)
async def test_weekly_until_a_date(service, body, counts, until, interval, count):
    result = await service.create(series(body, until, interval_weeks=interval), "producer")
    assert not result.skipped
    assert [b.starts_at for b in result.created] == [
        FIRST + timedelta(weeks=interval * i) for i in range(count)
    ]
    assert all(b.ends_at - b.starts_at == timedelta(hours=1) for b in result.created)
    series_ids = {b.series_id for b in result.created}
    assert len(series_ids) == 1 and None not in series_ids
    assert len({b.id for b in result.created}) == count
    assert all(b.status is BookingStatus.REQUESTED for b in result.created)
    assert await counts() == (count, 2 * count, count)
    for b in result.created:
        (created,) = await service.audit(b.id)
        assert created.action == "created"
        assert created.details["series_id"] == b.series_id


async def test_single_booking_has_no_series(book):
    assert (await book()).series_id is None


async def test_conflicting_weeks_are_skipped(service, body, book, counts):
    blockers = [
        await book(
            title="Ankara briefing",
            studios=["dha", "aa"],
            starts_at="2026-12-15T17:30:00+03:00",  # 14:30 UTC, inside the third week
            ends_at="2026-12-15T18:30:00+03:00",
        ),
        await book(
            title="Baku desk",
            studios=["trend", "azertac"],
            starts_at="2026-12-29T18:55:00+04:00",  # 14:55 UTC, inside the fifth week
            ends_at="2026-12-29T19:30:00+04:00",
        ),
    ]
    before = await counts()
    result = await service.create(series(body, "2026-12-29"), "producer")
    created_starts = [b.starts_at for b in result.created]
    assert created_starts == [FIRST + timedelta(weeks=w) for w in (0, 1, 3)]
    assert [(s.starts_at, s.ends_at) for s in result.skipped] == [
        (FIRST + timedelta(weeks=w), FIRST + timedelta(weeks=w, hours=1)) for w in (2, 4)
    ]
    assert [[(c.booking_id, c.studio_id) for c in s.conflicts] for s in result.skipped] == [
        [(blockers[0].id, "dha")],
        [(blockers[1].id, "trend")],
    ]
    assert await counts() == (before[0] + 3, before[1] + 6, before[2] + 3)
    stored = await service.search(start=FIRST, studio_ids=["trend"])
    assert sorted(b.starts_at for b in stored if b.title == "Weekly digest") == created_starts


async def test_all_weeks_conflicting_is_a_conflict(service, body, book, counts):
    blockers = [
        await book(
            title=f"Week {w}",
            studios=["dha", "aa"],
            starts_at=(FIRST + timedelta(weeks=w)).isoformat(),
            ends_at=(FIRST + timedelta(weeks=w, minutes=30)).isoformat(),
        )
        for w in (0, 1)
    ]
    before = await counts()
    with pytest.raises(Conflict) as caught:
        await service.create(series(body, "2026-12-08"), "producer")
    assert [(c.booking_id, c.studio_id) for c in caught.value.conflicts] == [
        (b.id, "dha") for b in blockers
    ]
    assert await counts() == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("cancel", id="cancel one"),
        pytest.param("move", id="move one"),
        pytest.param("retitle", id="retitle one"),
        pytest.param("confirm", id="confirm one"),
    ],
)
async def test_changing_one_occurrence_leaves_the_others(service, body, clock, change):
    created = (await service.create(series(body, "2026-12-22"), "producer")).created
    assert len(created) == 4
    target = created[1]
    clock.advance(hours=2)
    if change == "cancel":
        await service.cancel(target.id, "producer")
    elif change == "move":
        await service.update(
            target.id,
            {"starts_at": "2026-12-08T19:00:00+04:00", "ends_at": "2026-12-08T20:00:00+04:00"},
            "producer",
        )
    elif change == "retitle":
        await service.update(target.id, {"title": "Special edition"}, "producer")
    else:
        await service.confirm(target.id, "trend", "op-trend")
        await service.confirm(target.id, "dha", "op-dha")
    others = [b for b in created if b.id != target.id]
    for before in others:
        assert await service.get(before.id) == before
    changed = await service.get(target.id)
    assert changed != target
    assert changed.series_id == target.series_id


async def test_cancelled_occurrence_frees_its_slot(service, body, book):
    created = (await service.create(series(body, "2026-12-22"), "producer")).created
    await service.cancel(created[2].id, "producer")
    other = await book(
        title="Istanbul special",
        studios=["dha", "albayrak"],
        starts_at=created[2].starts_at.isoformat(),
        ends_at=created[2].ends_at.isoformat(),
    )
    assert other.starts_at == created[2].starts_at
