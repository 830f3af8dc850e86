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

# (studios, starts_at, ends_at, setup, teardown, studios expected in the conflict or None)
CASES = [
    pytest.param(
        ["dha", "kabar"], "2026-12-01T15:20:00Z", "2026-12-01T16:00:00Z", 15, 5, None,
        id="adjacent-after: setup starts 15:05 exactly when teardown ends",
    ),
    pytest.param(
        ["trend", "uza"], "2026-12-01T12:00:00Z", "2026-12-01T13:40:00Z", 15, 5, None,
        id="adjacent-before: teardown ends 13:45 exactly when setup starts",
    ),
    pytest.param(
        ["dha", "kabar"], "2026-12-01T15:19:00Z", "2026-12-01T16:00:00Z", 15, 5, ["dha"],
        id="one-minute overlap of setup with teardown",
    ),
    pytest.param(
        ["trend", "uza"], "2026-12-01T12:00:00Z", "2026-12-01T13:41:00Z", 15, 5, ["trend"],
        id="one-minute overlap of teardown with setup",
    ),
    pytest.param(
        ["dha", "ansa"], "2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z", 0, 0, ["dha"],
        id="show starts when the other show ends but its teardown still runs",
    ),
    pytest.param(
        ["ansa", "trend"], "2026-12-01T12:00:00Z", "2026-12-01T14:00:00Z", 0, 0, ["trend"],
        id="show ends when the other show starts but its setup already runs",
    ),
    pytest.param(
        ["qazcontent", "kabar"], "2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z", 15, 5, None,
        id="other studios at the same time",
    ),
    pytest.param(
        ["trend", "dha"], "2026-12-01T14:10:00Z", "2026-12-01T14:20:00Z", 0, 0, ["trend", "dha"],
        id="inside the show, both studios",
    ),
    pytest.param(
        ["trend", "uza"], "2026-12-01T18:00:00+04:00", "2026-12-01T19:00:00+04:00", 15, 5,
        ["trend"],
        id="same studio, same instant in Baku offset +04:00",
    ),
    pytest.param(
        ["dha", "ansa"], "2026-12-01T17:00:00+03:00", "2026-12-01T18:00:00+03:00", 15, 5,
        ["dha"],
        id="same studio, same instant in Istanbul offset +03:00",
    ),
    pytest.param(
        ["trend", "kabar"], "2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z", 15, 5, ["trend"],
        id="same studio, same instant in Z",
    ),
    pytest.param(
        ["dha", "uza"], "2026-12-01T20:04:00+05:00", "2026-12-01T21:00:00+05:00", 0, 0, ["dha"],
        id="Tashkent offset lands one minute inside the Istanbul teardown",
    ),
    pytest.param(
        ["dha", "uza"], "2026-12-01T20:05:00+05:00", "2026-12-01T21:00:00+05:00", 0, 0, None,
        id="Tashkent offset lands exactly at the end of the Istanbul teardown",
    ),
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
        (c.booking_id, c.studio_id, c.title, c.starts_at, c.ends_at)
        for c in caught.value.conflicts
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
