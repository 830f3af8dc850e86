"""Conflicts: busy windows are setup + show + teardown, across partner cities and offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schedules.errors import Conflict

# The booking in the way: trend (Baku) + dha (Istanbul), on air 14:00-15:00 UTC,
# 15 min setup and 5 min teardown, so both studios are busy 13:45-15:05 UTC.
EXISTING = {
    "title": "Caspian morning",
    "studios": ["trend", "dha"],
    "starts_at": "2026-12-01T14:00:00Z",
    "ends_at": "2026-12-01T15:00:00Z",
    "setup_minutes": 15,
    "teardown_minutes": 5,
}


def at(time: str) -> str:
    """RFC 3339 text for a time on 2026-12-01: "15:20" is UTC, "18:00+04:00" has an offset."""
    return f"2026-12-01T{time[:5]}:00{time[5:] or 'Z'}"


def case(name, studio_ids, starts_at, ends_at, setup, teardown, expected):
    return pytest.param(studio_ids, at(starts_at), at(ends_at), setup, teardown, expected, id=name)


# (name, studios, start, end, setup, teardown, studios expected in the conflict or None)
CASES = [
    case("adjacent after: setup from 15:05", ["dha", "kabar"], "15:20", "16:00", 15, 5, None),
    case("adjacent before: teardown to 13:45", ["trend", "uza"], "12:00", "13:40", 15, 5, None),
    case("setup overlaps teardown by 1 min", ["dha", "kabar"], "15:19", "16:00", 15, 5, ["dha"]),
    case("teardown overlaps setup by 1 min", ["trend", "uza"], "12:00", "13:41", 15, 5, ["trend"]),
    case("show right after show, in teardown", ["dha", "ansa"], "15:00", "16:00", 0, 0, ["dha"]),
    case("show right before show, in setup", ["ansa", "trend"], "12:00", "14:00", 0, 0, ["trend"]),
    case("other studios, same time", ["qazcontent", "kabar"], "14:00", "15:00", 15, 5, None),
    case("inside the show", ["trend", "dha"], "14:10", "14:20", 0, 0, ["trend", "dha"]),
    # The same instant written in different offsets is the same busy window.
    case("same, Baku", ["trend", "uza"], "18:00+04:00", "19:00+04:00", 15, 5, ["trend"]),
    case("same, Istanbul", ["dha", "ansa"], "17:00+03:00", "18:00+03:00", 15, 5, ["dha"]),
    case("same, Rome", ["ansa", "dha"], "15:00+01:00", "16:00+01:00", 15, 5, ["dha"]),
    case("same, Z", ["trend", "kabar"], "14:00", "15:00", 15, 5, ["trend"]),
    # Offsets of other partner cities, one minute either side of the busy window's edges.
    case("Tashkent in teardown", ["dha", "uza"], "20:04+05:00", "21:00+05:00", 0, 0, ["dha"]),
    case("Tashkent after teardown", ["dha", "uza"], "20:05+05:00", "21:00+05:00", 0, 0, None),
    case("Bishkek in setup", ["kabar", "trend"], "19:00+06:00", "19:46+06:00", 0, 0, ["trend"]),
    case("Bishkek before setup", ["kabar", "trend"], "19:00+06:00", "19:45+06:00", 0, 0, None),
]


@pytest.mark.parametrize(
    ("studio_ids", "starts_at", "ends_at", "setup", "teardown", "expected"), CASES
)
async def test_busy_windows(
    service, body, counts, studio_ids, starts_at, ends_at, setup, teardown, expected
):
    existing = (await service.create(EXISTING, "producer")).created[0]
    new = body(
        studios=studio_ids,
        starts_at=starts_at,
        ends_at=ends_at,
        setup_minutes=setup,
        teardown_minutes=teardown,
    )
    if expected is None:
        result = await service.create(new, "producer")
        assert len(result.created) == 1 and not result.skipped
        return
    before = await counts()
    with pytest.raises(Conflict) as caught:
        await service.create(new, "producer")
    assert sorted(c.studio_id for c in caught.value.conflicts) == sorted(expected)
    assert {c.booking_id for c in caught.value.conflicts} == {existing.id}
    assert await counts() == before  # nothing stored on conflict


@pytest.mark.parametrize(
    ("finish", "blocks"),
    [
        pytest.param("none", True, id="requested blocks"),
        pytest.param("confirm", True, id="confirmed blocks"),
        pytest.param("live", True, id="live blocks"),
        pytest.param("cancel", False, id="cancelled frees the studios"),
        pytest.param("decline", False, id="declined frees the studios"),
    ],
)
async def test_only_blocking_statuses_block(service, body, finish, blocks):
    first = (await service.create(EXISTING, "producer")).created[0]
    if finish in ("confirm", "live"):
        await service.confirm(first.id, "trend", "op-trend")
        await service.confirm(first.id, "dha", "op-dha")
    if finish == "live":
        await service.go_live(first.id, "autopilot")
    if finish == "cancel":
        await service.cancel(first.id, "producer")
    if finish == "decline":
        await service.decline(first.id, "dha", "op-dha", "no crew")
    again = body(title="Second take", studios=["dha", "aa"])
    if blocks:
        with pytest.raises(Conflict):
            await service.create(again, "producer")
    else:
        assert len((await service.create(again, "producer")).created) == 1


async def test_conflict_names_every_booking_and_studio(service, body, counts):
    baku = (await service.create(EXISTING, "producer")).created[0]
    central = (
        await service.create(
            body(
                title="Steppe evening",
                studios=["kabar", "qazcontent"],
                starts_at="2026-12-01T19:30:00+06:00",  # 13:30 UTC, Bishkek wall clock
                ends_at="2026-12-01T20:30:00+06:00",
            ),
            "producer",
        )
    ).created[0]
    before = await counts()
    with pytest.raises(Conflict) as caught:
        await service.create(
            body(
                title="Everyone at once",
                studios=["trend", "dha", "kabar", "qazcontent", "aa"],
                starts_at="2026-12-01T14:30:00Z",
                ends_at="2026-12-01T16:00:00Z",
            ),
            "producer",
        )
    items = {
        (c.booking_id, c.studio_id, c.title, c.starts_at, c.ends_at) for c in caught.value.conflicts
    }
    baku_times = (datetime(2026, 12, 1, 14, tzinfo=UTC), datetime(2026, 12, 1, 15, tzinfo=UTC))
    central_times = (
        datetime(2026, 12, 1, 13, 30, tzinfo=UTC),
        datetime(2026, 12, 1, 14, 30, tzinfo=UTC),
    )
    assert items == {
        (baku.id, "trend", "Caspian morning", *baku_times),
        (baku.id, "dha", "Caspian morning", *baku_times),
        (central.id, "kabar", "Steppe evening", *central_times),
        (central.id, "qazcontent", "Steppe evening", *central_times),
    }
    message = str(caught.value)
    for booking_id, studio_id, *_ in items:
        assert f"{studio_id} in {booking_id}" in message
    assert "aa in" not in message
    assert await counts() == before
