"""Whose clock a time is read on: the zone a booking was entered in (kept, checked, carried
through the store and the JSON), and the zone each login reads its pages in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schedules.accounts import Accounts
from schedules.errors import ValidationError
from schedules.fields import booking_json
from schedules.model import Role
from schedules.rules.zones import ZONE_PROBLEM, check_zone, entry_zone, reading_zone
from schedules.validation import parse_draft

LAYOUTS = ("auto",)


@pytest.mark.parametrize(
    ("own", "role", "studio_zone", "expected"),
    [
        pytest.param("", Role.OPERATOR, "Asia/Baku", "Asia/Baku", id="operator: its studio's"),
        pytest.param("Europe/Rome", Role.OPERATOR, "Asia/Baku", "Europe/Rome", id="operator: own"),
        pytest.param("", Role.PRODUCER, None, "UTC", id="producer: the site's"),
        pytest.param("Asia/Baku", Role.PRODUCER, None, "Asia/Baku", id="producer: own"),
        pytest.param("", Role.VIEWER, None, "UTC", id="viewer: the site's"),
        pytest.param("", Role.ADMIN, None, "UTC", id="admin: the site's"),
        # Only operators are bound to a studio: a studio zone given for another role is no
        # default of theirs.
        pytest.param("", Role.PRODUCER, "Asia/Baku", "UTC", id="producer: never a studio's"),
        pytest.param("Mars/Base", Role.VIEWER, None, "UTC", id="unknown own: the site's"),
        pytest.param("", Role.OPERATOR, "Mars/Base", "UTC", id="unknown studio zone"),
    ],
)
def test_the_zone_a_person_reads_pages_in(
    own: str, role: Role, studio_zone: str | None, expected: str
) -> None:
    assert reading_zone(own, role, studio_zone, "UTC") == expected


def test_the_sites_default_is_whatever_the_site_says() -> None:
    assert reading_zone("", Role.PRODUCER, None, "Asia/Tashkent") == "Asia/Tashkent"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Asia/Baku", "Asia/Baku"),
        (" Europe/Rome ", "Europe/Rome"),
        ("", ""),
        (None, ""),
        ("UTC", "UTC"),
    ],
)
def test_a_zone_name_is_an_iana_zone_or_nothing(value: object, expected: str) -> None:
    assert check_zone(value) == expected


@pytest.mark.parametrize("value", ["Mars/Base", "asia/baku", "+04:00", "Baku", 4, ["Asia/Baku"]])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=ZONE_PROBLEM):
        check_zone(value)


@pytest.mark.parametrize(
    ("booking_zone", "reader", "expected"),
    [
        ("Asia/Baku", "UTC", "Asia/Baku"),
        ("", "Europe/Rome", "Europe/Rome"),  # a booking from before zones were kept
        ("Gone/Zone", "UTC", "UTC"),
    ],
)
def test_a_booking_is_edited_on_the_clock_it_was_entered_on(
    booking_zone: str, reader: str, expected: str
) -> None:
    assert entry_zone(booking_zone, reader) == expected


BAKU_BODY: dict[str, Any] = {
    "title": "Caspian evening",
    "studios": ["trend", "ansa"],
    "starts_at": "2026-12-07T17:00:00+04:00",
    "ends_at": "2026-12-07T18:00:00+04:00",
    "zone": "Asia/Baku",
}


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as refused:
        parse_draft({**BAKU_BODY, "zone": "Asia/Bakuu"}, LAYOUTS)
    assert refused.value.fields == {"zone": ZONE_PROBLEM}
    assert refused.value.message == f"zone: {ZONE_PROBLEM}"


def test_a_body_without_a_zone_says_none_and_an_edit_keeps_the_bookings() -> None:
    assert parse_draft({k: v for k, v in BAKU_BODY.items() if k != "zone"}, LAYOUTS).zone == ""
    assert parse_draft({**BAKU_BODY, "zone": None}, LAYOUTS).zone == ""


async def test_a_baku_booking_keeps_its_1700_through_the_store(service: Any) -> None:
    created = (await service.create(BAKU_BODY, "producer")).created[0]
    stored = await service.get(created.id)
    assert stored.zone == "Asia/Baku"
    assert stored.starts_at == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # stored in UTC
    assert stored.starts_at.astimezone(ZoneInfo(stored.zone)).strftime("%H:%M") == "17:00"
    doc = booking_json(stored)
    assert doc["zone"] == "Asia/Baku"
    assert list(doc).index("zone") == list(doc).index("ends_at") + 1

    # A PATCH without a zone keeps it; one with another zone changes it (and says so in the log).
    kept = await service.update(stored.id, {"title": "Caspian evening news"}, "producer")
    assert kept.zone == "Asia/Baku"
    moved = await service.update(stored.id, {"zone": "Europe/Rome"}, "producer")
    assert moved.zone == "Europe/Rome" and moved.starts_at == stored.starts_at
    assert (await service.audit(stored.id))[-1].details == {"zone": ["Asia/Baku", "Europe/Rome"]}

    with pytest.raises(ValidationError):
        await service.update(stored.id, {"zone": "Nowhere/Town"}, "producer")
    assert (await service.get(stored.id)).zone == "Europe/Rome"  # nothing changed


async def test_a_weekly_series_keeps_the_wall_clock_of_the_bookings_zone(service: Any) -> None:
    # Entered at 10:00 Rome with no zone of its own for the series: it keeps 10:00 Rome across
    # the spring switch, not the first studio's (Baku's) clock.
    result = await service.create(
        {
            **BAKU_BODY,
            "starts_at": "2027-03-22T10:00:00+01:00",
            "ends_at": "2027-03-22T11:00:00+01:00",
            "zone": "Europe/Rome",
            "recurrence": {"until": "2027-04-05"},
        },
        "producer",
    )
    rome = ZoneInfo("Europe/Rome")
    assert [b.starts_at.astimezone(rome).strftime("%H:%M") for b in result.created] == [
        "10:00",
        "10:00",
        "10:00",
    ]


async def test_a_login_keeps_its_zone_and_reads_its_studios(engine: Any) -> None:
    accounts = Accounts(engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    producer = await accounts.add_user("elnur", "producer", "hash", now)
    operator = await accounts.add_user("op", "operator", "hash", now, studio_id="ansa")
    found = await accounts.user_by_id(producer.id)
    assert found is not None and found.time_zone == "" and found.studio_zone == ""
    await accounts.set_time_zone(producer.id, "Asia/Baku")
    found = await accounts.user_by_name("elnur")
    assert found is not None and found.time_zone == "Asia/Baku"
    with pytest.raises(ValidationError) as refused:
        await accounts.set_time_zone(producer.id, "Asia/Atlantis")
    assert refused.value.fields == {"time_zone": ZONE_PROBLEM}
    await accounts.set_time_zone(producer.id, "")  # back to the default
    assert (await accounts.user_by_id(producer.id)).time_zone == ""  # type: ignore[union-attr]

    op = await accounts.user_by_id(operator.id)
    assert op is not None and op.studio_zone == "Europe/Rome"
    assert reading_zone(op.time_zone, op.role, op.studio_zone, "UTC") == "Europe/Rome"

    await accounts.add_session("digest", operator.id, now, datetime(2026, 12, 2, tzinfo=UTC))
    session = await accounts.live_session("digest", now)
    assert session is not None and session[0].studio_zone == "Europe/Rome"
