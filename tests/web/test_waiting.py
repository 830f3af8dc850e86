"""What a booking waits for, from each reader's point of view (web/pages/waiting.py): a table
of readers and booking states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schedules.model import Booking, BookingStatus, BookingStudio, PartnerAnswer, Role
from schedules.rules.access import Principal
from web.pages.waiting import Wait, Waiting, waiting_for

NOW = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
P, A, N = PartnerAnswer.PENDING, PartnerAnswer.ACCEPTED, PartnerAnswer.DECLINED
S = BookingStatus
PRODUCER = Principal("leyla", Role.PRODUCER, None)
ADMIN = Principal("root", Role.ADMIN, None)
VIEWER = Principal("staff", Role.VIEWER, None)
TREND = Principal("operator-trend", Role.OPERATOR, "trend")
DHA = Principal("operator-dha", Role.OPERATOR, "dha")


def booking(status: BookingStatus, ends_hour: int = 15, **answers: PartnerAnswer) -> Booking:
    return Booking(
        id="b1",
        title="Caspian morning",
        status=status,
        starts_at=datetime(2030, 1, 15, ends_hour - 1, tzinfo=UTC),
        ends_at=datetime(2030, 1, 15, ends_hour, tzinfo=UTC),
        setup_minutes=15,
        teardown_minutes=5,
        record=True,
        layout="auto",
        notes="",
        sequence=0,
        studios=tuple(BookingStudio(sid, a) for sid, a in answers.items()),
        created_by="leyla",
        created_at=NOW,
        updated_at=NOW,
    )


CASES = [
    # (reader, booking, what it waits for)
    (TREND, booking(S.REQUESTED, trend=P, dha=A), Waiting(Wait.YOUR_ANSWER)),
    (TREND, booking(S.REQUESTED, trend=A, dha=P), Waiting(Wait.STUDIOS, ("dha",))),
    (PRODUCER, booking(S.REQUESTED, trend=P, dha=P), Waiting(Wait.STUDIOS, ("trend", "dha"))),
    (VIEWER, booking(S.REQUESTED, trend=P, dha=A), Waiting(Wait.STUDIOS, ("trend",))),
    (PRODUCER, booking(S.CONFIRMED, trend=A, dha=A), Waiting(Wait.READY)),
    (TREND, booking(S.CONFIRMED, trend=A, dha=A), Waiting(Wait.READY)),
    # Three or more studios, one declined: the producer decides, the others wait for that.
    (
        PRODUCER,
        booking(S.REQUESTED, trend=N, dha=A, uza=A),
        Waiting(Wait.YOUR_DECISION, ("trend",)),
    ),
    (ADMIN, booking(S.REQUESTED, trend=N, dha=A, uza=P), Waiting(Wait.YOUR_DECISION, ("trend",))),
    (TREND, booking(S.REQUESTED, trend=N, dha=A, uza=A), Waiting(Wait.PRODUCER, ("trend",))),
    (DHA, booking(S.REQUESTED, trend=N, dha=A, uza=A), Waiting(Wait.PRODUCER, ("trend",))),
    (VIEWER, booking(S.REQUESTED, trend=N, dha=A, uza=A), Waiting(Wait.PRODUCER, ("trend",))),
    # A studio that still has to answer hears so first, whatever else is going on.
    (DHA, booking(S.REQUESTED, trend=N, dha=P, uza=A), Waiting(Wait.YOUR_ANSWER)),
    (PRODUCER, booking(S.DECLINED, trend=A, dha=N), Waiting(Wait.DECLINED, ("dha",))),
    (TREND, booking(S.DECLINED, trend=P, dha=N), Waiting(Wait.DECLINED, ("dha",))),
    (PRODUCER, booking(S.CANCELLED, trend=A, dha=A), Waiting(Wait.CANCELLED)),
    (PRODUCER, booking(S.LIVE, trend=A, dha=A), Waiting(Wait.ON_AIR)),
    (PRODUCER, booking(S.COMPLETED, trend=A, dha=A), Waiting(Wait.OVER)),
    # Over by the clock though nobody answered: nothing to wait for any more.
    (TREND, booking(S.REQUESTED, 7, trend=P, dha=A), Waiting(Wait.OVER)),
]


@pytest.mark.parametrize(
    ("reader", "b", "expected"),
    [pytest.param(r, b, w, id=f"{r.name}, {b.status.value}, {w.wait.value}") for r, b, w in CASES],
)
def test_what_a_booking_waits_for(reader: Principal, b: Booking, expected: Waiting) -> None:
    assert waiting_for(b, reader, NOW) == expected
