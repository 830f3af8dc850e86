"""The role matrix as tables: what each role may see and do with a booking, its join links,
the studios' calendar feeds, and the archive's recordings."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schedules.archive import Recording
from schedules.model import Booking, BookingStatus, BookingStudio, Role, Studio
from schedules.rules.access import (
    Principal,
    can_answer,
    can_book,
    can_direct,
    can_see,
    can_see_calendar_feed,
    can_see_recording,
    studio_scope,
    visible_join_studios,
)

WHEN = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
# Trend (Baku) and DHA (Istanbul) on air together.
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
    sequence=0,
    studios=(BookingStudio("trend"), BookingStudio("dha")),
    created_by="producer",
    created_at=WHEN,
    updated_at=WHEN,
)

ADMIN = Principal("aysel", Role.ADMIN, None)
PRODUCER = Principal("emre", Role.PRODUCER, None)
OPERATOR_TREND = Principal("op-trend", Role.OPERATOR, "trend")
OPERATOR_KABAR = Principal("op-kabar", Role.OPERATOR, "kabar")
VIEWER = Principal("archivist", Role.VIEWER, None)
BOT = Principal("scheduler-bot", Role.PRODUCER, None, via_token=True)

# (caller, books, sees the booking, answers for trend, for dha, join links, listing scope)
MATRIX = [
    pytest.param(ADMIN, True, True, True, True, ("trend", "dha"), None, id="admin"),
    pytest.param(PRODUCER, True, True, False, False, ("trend", "dha"), None, id="producer"),
    pytest.param(BOT, True, True, False, False, ("trend", "dha"), None, id="producer token"),
    pytest.param(
        OPERATOR_TREND, False, True, True, False, ("trend",), ["trend"], id="operator, own studio"
    ),
    pytest.param(
        OPERATOR_KABAR, False, False, False, False, (), ["kabar"], id="operator, other studio"
    ),
    pytest.param(VIEWER, False, True, False, False, (), None, id="viewer"),
]


@pytest.mark.parametrize(
    ("p", "books", "sees", "answers_trend", "answers_dha", "join_links", "scope"), MATRIX
)
def test_role_matrix(p, books, sees, answers_trend, answers_dha, join_links, scope):
    assert can_book(p) is books
    assert can_direct(p) is books  # who books also runs the show live and watches master control
    assert can_see(p, BOOKING) is sees
    assert can_answer(p, "trend") is answers_trend
    assert can_answer(p, "dha") is answers_dha
    assert visible_join_studios(p, BOOKING) == join_links
    assert studio_scope(p) == scope


# (caller, the calendar feeds of these studios it may hand out)
FEEDS = [
    pytest.param(ADMIN, {"trend", "dha", "kabar"}, id="admin"),
    pytest.param(PRODUCER, {"trend", "dha", "kabar"}, id="producer"),
    pytest.param(OPERATOR_TREND, {"trend"}, id="operator of trend"),
    pytest.param(OPERATOR_KABAR, {"kabar"}, id="operator of kabar"),
    pytest.param(VIEWER, set(), id="viewer"),
]


@pytest.mark.parametrize(("p", "feeds"), FEEDS)
def test_calendar_feeds(p, feeds):
    assert {s for s in ("trend", "dha", "kabar") if can_see_calendar_feed(p, s)} == feeds


STUDIOS = {
    s.id: s
    for s in (
        Studio("trend", "Trend", "Trend News Agency", "Baku", "Asia/Baku"),
        Studio("trend-ganja", "Trend Ganja", "Trend News Agency", "Ganja", "Asia/Baku"),
        Studio("dha", "DHA", "Demirören Haber Ajansı", "Istanbul", "Europe/Istanbul"),
        Studio("aa", "Anadolu Ajansı", "Anadolu Ajansı", "Ankara", "Europe/Istanbul"),
        Studio("qazcontent", "Qazcontent", "Qazcontent", "Astana", "Asia/Almaty"),
        Studio("kabar", "Kabar", "Kabar", "Bishkek", "Asia/Bishkek"),
        Studio("uza", "UzA", "UzA", "Tashkent", "Asia/Tashkent"),
        Studio("ansa", "ANSA", "ANSA", "Rome", "Europe/Rome"),
    )
}


def recording(*studios: str) -> Recording:
    return Recording(
        id="0123456789ab",
        booking_id="b1",
        title="Caspian morning",
        studios=studios,
        status="finished",
        directory="b1",
        started_at=WHEN,
        ended_at=WHEN.replace(hour=15),
        duration_s=3600.0,
        parts=1,
    )


def operator(studio_id: str | None) -> Principal:
    return Principal(f"op-{studio_id}", Role.OPERATOR, studio_id)


# (caller, the recording's studios, whether the caller may see it)
RECORDINGS = [
    pytest.param(ADMIN, ("kabar", "uza"), True, id="admin sees all"),
    pytest.param(PRODUCER, ("kabar", "uza"), True, id="producer sees all"),
    pytest.param(operator("trend"), ("trend", "dha"), True, id="own studio took part"),
    pytest.param(operator("trend-ganja"), ("trend", "dha"), True, id="own organisation took part"),
    pytest.param(operator("dha"), ("trend", "dha"), True, id="Istanbul partner took part"),
    pytest.param(operator("aa"), ("trend", "dha"), False, id="another Istanbul agency"),
    pytest.param(operator("qazcontent"), ("kabar", "uza"), False, id="Astana, not in it"),
    pytest.param(operator("ansa"), ("ansa", "gone"), True, id="with a studio since removed"),
    pytest.param(operator("removed"), ("trend", "dha"), False, id="own studio unknown"),
    pytest.param(VIEWER, ("trend", "dha"), False, id="viewer of no studio"),
    pytest.param(
        Principal("archivist-uza", Role.VIEWER, "uza"), ("kabar", "uza"), True, id="viewer of UzA"
    ),
]


@pytest.mark.parametrize(("p", "studios", "expected"), RECORDINGS)
def test_can_see_recording(p, studios, expected):
    assert can_see_recording(p, recording(*studios), STUDIOS) is expected


def test_the_rules_import_no_media_or_http_stack():
    code = (
        "import sys, schedules.rules.access, schedules.rules.timeline, schedules.rules.conflicts\n"
        "print(sorted(m for m in ('aiortc', 'av', 'aiohttp') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"
