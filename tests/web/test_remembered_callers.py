"""Credentials remembered for a database outage: never longer than their own expiry or a day,
the most recent ones only, and forgotten at logout or when the database refuses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules.model import Role
from schedules.rules.access import Principal
from web.outage.remembered_callers import LONGEST, RememberedCallers

NOW = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
PRODUCER = Principal("producer-bot", Role.PRODUCER, None, via_token=True)


def test_a_credential_is_recalled_until_its_own_expiry_and_never_past_a_day() -> None:
    callers = RememberedCallers()
    callers.remember("session", PRODUCER, NOW, NOW + timedelta(hours=2))
    callers.remember("token", PRODUCER, NOW, None)  # an API token that never expires
    assert callers.recall("session", NOW + timedelta(hours=1)) == PRODUCER
    assert callers.recall("session", NOW + timedelta(hours=2)) is None
    assert callers.recall("token", NOW + LONGEST - timedelta(seconds=1)) == PRODUCER
    assert callers.recall("token", NOW + LONGEST) is None
    assert callers.recall("never-seen", NOW) is None


def test_only_the_most_recent_are_kept_and_a_refused_one_is_forgotten() -> None:
    callers = RememberedCallers(size=3)
    for n in range(4):
        callers.remember(f"c{n}", PRODUCER, NOW, None)
    callers.remember("c1", PRODUCER, NOW, None)  # seen again: the most recent now
    callers.remember("c4", PRODUCER, NOW, None)
    assert [d for d in ("c0", "c1", "c2", "c3", "c4") if callers.recall(d, NOW)] == [
        "c1",
        "c3",
        "c4",
    ]
    callers.forget("c3")  # logged out, or revoked (the database said no)
    assert callers.recall("c3", NOW) is None
