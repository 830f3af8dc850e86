"""Studios: a fresh database migrated and seeded through the service, and studio validation."""

from __future__ import annotations

import pytest

from schedules import db
from schedules.errors import DuplicateId, ValidationError
from schedules.model import Studio
from schedules.service import BookingService

PARTNER_IDS = ["trend", "dha", "albayrak", "qazcontent", "kabar", "uza", "azertac", "aa", "ansa"]


async def test_fresh_database_seeded_through_the_service(empty_database, clock, partners, layouts):
    engine = db.make_engine(empty_database)
    try:
        assert await db.migrate(engine) == 0  # found nothing
        assert await db.migrate(engine) == db.SCHEMA_VERSION  # found itself: no-op
        service = BookingService(engine, clock=clock, layouts=layouts)
        for partner in partners:
            assert await service.add_studio(partner) == Studio(**partner)
        assert sorted(await service.studios_by_id()) == sorted(PARTNER_IDS)
        # Listed by organisation, then name (the database's binary order: "ANSA" < "Albayrak").
        listed = await service.studios()
        assert listed == sorted(listed, key=lambda s: (s.organisation, s.name))
        with pytest.raises(DuplicateId, match='studio "ansa" already exists'):
            await service.add_studio({**partners[-1], "city": "Milan"})
        assert (await service.studios_by_id(["ansa"]))["ansa"].city == "Rome"
    finally:
        await engine.dispose()


async def test_partners_are_seeded(studios):
    assert sorted(studios) == sorted(PARTNER_IDS)
    assert studios["aa"] == Studio(
        "aa", "Anadolu Ajansı", "Anadolu Ajansı", "Ankara", "Europe/Istanbul"
    )
    assert studios["ansa"].timezone == "Europe/Rome"


GOOD = {
    "id": "kabar-osh",
    "name": "Kabar Osh",
    "organisation": "Kabar",
    "city": "Osh",
    "timezone": "Asia/Bishkek",
}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"id": "Kabar Osh"}, {"id"}, id="id with capitals and a space"),
        pytest.param({"id": "k"}, {"id"}, id="id too short"),
        pytest.param({"id": "-osh"}, {"id"}, id="id starting with a dash"),
        pytest.param({"timezone": "Asia/Osh"}, {"timezone"}, id="unknown zone"),
        pytest.param({"timezone": "+06:00"}, {"timezone"}, id="an offset is not a zone"),
        pytest.param({"name": "  "}, {"name"}, id="blank name"),
        pytest.param({"city": None}, {"city"}, id="no city"),
        pytest.param({"organisation": 7}, {"organisation"}, id="organisation a number"),
        pytest.param({"name": "n" * 201}, {"name"}, id="name too long"),
        pytest.param({"id": "", "timezone": ""}, {"id", "timezone"}, id="two problems"),
    ],
)
async def test_bad_studio_is_refused(service, changes, fields):
    before = await service.studios()
    with pytest.raises(ValidationError) as caught:
        await service.add_studio({**GOOD, **changes})
    assert set(caught.value.fields) == fields
    assert await service.studios() == before


async def test_good_studio_is_added(service):
    added = await service.add_studio({**GOOD, "name": "  Kabar Osh  "})
    assert added == Studio("kabar-osh", "Kabar Osh", "Kabar", "Osh", "Asia/Bishkek")
    assert (await service.studios_by_id(["kabar-osh"]))["kabar-osh"] == added
