"""A booking's timeline as tables: join links, the room being due, the show's phase and the
autopilot's lifecycle steps, at moments read on the partner cities' wall clocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from schedules.model import Booking, BookingStatus, BookingStudio
from schedules.rules.lifecycle import Action, next_status
from schedules.rules.timeline import (
    ROOM_STATUSES,
    JoinState,
    JoinWindow,
    Phase,
    join_state,
    join_window,
    on_air,
    phase,
    records_now,
    room_due,
    steps_due,
)
from schedules.timeutil import from_wall_clock

S = BookingStatus
J = JoinState
GRACE = 30  # minutes a join link stays open after the show's end


def at(wall: str, zone: str, day: str = "2026-12-01") -> datetime:
    """The moment a wall clock in `zone` shows `wall` ("17:45" or "17:44:59") on `day`."""
    return from_wall_clock(f"{day}T{wall}", zone)


def booking(
    status: BookingStatus = S.CONFIRMED,
    starts_at: datetime = datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    ends_at: datetime = datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
    setup: int = 15,
    teardown: int = 5,
) -> Booking:
    """Trend (Baku) and DHA (Istanbul), on air 18:00-19:00 in Baku (14:00-15:00 UTC) unless told."""
    created = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    return Booking(
        id="b1",
        title="Caspian morning",
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        setup_minutes=setup,
        teardown_minutes=teardown,
        record=True,
        layout="auto",
        notes="",
        sequence=0,
        studios=(BookingStudio("trend"), BookingStudio("dha")),
        created_by="producer",
        created_at=created,
        updated_at=created,
    )


def test_join_window_runs_from_line_check_to_teardown_end_plus_grace():
    assert join_window(booking(), GRACE) == JoinWindow(
        at("17:45", "Asia/Baku"), at("19:35", "Asia/Baku")
    )
    # The studios are booked through the teardown: their links stay open for it, then the grace.
    assert join_window(booking(teardown=60), 0).valid_until == at("20:00", "Asia/Baku")
    assert join_window(booking(teardown=0), 0).valid_until == at("19:00", "Asia/Baku")


# (status, now, what a join link can do then); line check at 17:45 in Baku, 16:45 in Istanbul.
JOIN_STATES = [
    pytest.param(S.CONFIRMED, at("17:44:59", "Asia/Baku"), J.NOT_YET, id="before line check"),
    pytest.param(S.CONFIRMED, at("16:45", "Europe/Istanbul"), J.OPEN, id="line check starts"),
    pytest.param(S.CONFIRMED, at("19:00", "Asia/Almaty"), J.OPEN, id="on air, Almaty clock"),
    pytest.param(S.LIVE, at("20:30", "Asia/Bishkek"), J.OPEN, id="live, Bishkek clock"),
    pytest.param(S.REQUESTED, at("15:30", "Europe/Rome"), J.OPEN, id="not yet confirmed"),
    pytest.param(S.LIVE, at("19:00", "Asia/Tashkent"), J.OPEN, id="on air, Tashkent"),
    pytest.param(S.LIVE, at("19:00", "Asia/Baku"), J.OPEN, id="at the show's end"),
    pytest.param(S.LIVE, at("18:34:59", "Europe/Istanbul"), J.OPEN, id="last second of grace"),
    pytest.param(S.LIVE, at("19:35", "Asia/Baku"), J.CLOSED, id="grace over"),
    pytest.param(S.CONFIRMED, at("17:00", "Europe/Rome"), J.CLOSED, id="an hour later, Rome"),
    pytest.param(S.CANCELLED, at("17:00", "Europe/Istanbul"), J.CANCELLED, id="cancelled"),
    pytest.param(S.CANCELLED, at("09:00", "Asia/Baku"), J.CANCELLED, id="cancelled early"),
    pytest.param(S.DECLINED, at("18:30", "Asia/Baku"), J.CANCELLED, id="declined"),
    # A completed show keeps its links (and room) for the whole window they promise.
    pytest.param(S.COMPLETED, at("18:30", "Asia/Baku"), J.OPEN, id="completed early"),
    pytest.param(S.COMPLETED, at("19:10", "Asia/Baku"), J.OPEN, id="completed, in grace"),
    pytest.param(S.COMPLETED, at("19:34:59", "Asia/Baku"), J.OPEN, id="completed, last second"),
    pytest.param(S.COMPLETED, at("19:35", "Asia/Baku"), J.CLOSED, id="completed, window over"),
]


@pytest.mark.parametrize(("status", "now", "expected"), JOIN_STATES)
def test_join_state(status, now, expected):
    assert join_state(booking(status), now, GRACE) is expected


def test_join_window_follows_rome_across_the_spring_switch():
    # 29 March 2026: Rome moves from +01:00 to +02:00 at 02:00; the show is at 10:00 CEST.
    show = booking(
        starts_at=at("10:00", "Europe/Rome", "2026-03-29"),
        ends_at=at("11:00", "Europe/Rome", "2026-03-29"),
    )
    assert join_state(show, at("09:44", "Europe/Rome", "2026-03-29"), GRACE) is JoinState.NOT_YET
    assert join_state(show, at("09:45", "Europe/Rome", "2026-03-29"), GRACE) is JoinState.OPEN
    assert join_state(show, at("11:45", "Asia/Baku", "2026-03-29"), GRACE) is JoinState.OPEN
    assert join_state(show, at("11:34", "Europe/Rome", "2026-03-29"), GRACE) is JoinState.OPEN
    assert join_state(show, at("11:35", "Europe/Rome", "2026-03-29"), GRACE) is JoinState.CLOSED


# (booking, now, whether its room should be open); the autopilot reads blocking bookings only.
ROOM_DUE = [
    pytest.param(booking(), at("17:44:59", "Asia/Baku"), False, id="before line check"),
    pytest.param(booking(), at("16:45", "Europe/Istanbul"), True, id="line check starts"),
    pytest.param(booking(), at("19:30", "Asia/Almaty"), True, id="on air"),
    pytest.param(booking(), at("21:00", "Asia/Bishkek"), True, id="at the show's end"),
    pytest.param(booking(), at("19:29:59", "Asia/Tashkent"), True, id="last second of grace"),
    pytest.param(booking(), at("16:34:59", "Europe/Rome"), True, id="in the teardown's grace"),
    pytest.param(booking(), at("16:35", "Europe/Rome"), False, id="grace over, Rome"),
    pytest.param(booking(setup=0), at("18:00", "Asia/Baku"), True, id="no setup: at the start"),
    pytest.param(booking(setup=0), at("17:59:59", "Asia/Baku"), False, id="no setup: before"),
    pytest.param(booking(S.LIVE), at("19:10", "Asia/Baku"), True, id="live, in grace"),
    pytest.param(booking(S.REQUESTED), at("18:10", "Asia/Baku"), True, id="requested, on air"),
]


@pytest.mark.parametrize(("show", "now", "expected"), ROOM_DUE)
def test_room_due(show, now, expected):
    assert room_due(show, now, GRACE) is expected


@pytest.mark.parametrize("status", sorted(ROOM_STATUSES))
@pytest.mark.parametrize("now", [p.values[1] for p in JOIN_STATES])
def test_a_room_is_due_exactly_while_its_links_are_open(status, now):
    # The autopilot reads the bookings in ROOM_STATUSES: blocking ones, and completed ones,
    # whose room stays open to the end of the window their links promise.
    show = booking(status)
    assert room_due(show, now, GRACE) is (join_state(show, now, GRACE) is JoinState.OPEN)


# (now, phase) for line check 13:45, on air 14:00-15:00 UTC.
PHASES = [
    pytest.param(at("16:44", "Europe/Istanbul"), Phase.UPCOMING, id="before line check"),
    pytest.param(at("17:45", "Asia/Baku"), Phase.LINE_CHECK, id="line check starts"),
    pytest.param(at("18:59:59", "Asia/Almaty"), Phase.LINE_CHECK, id="a second before air"),
    pytest.param(at("20:00", "Asia/Bishkek"), Phase.ON_AIR, id="on air"),
    pytest.param(at("19:59:59", "Asia/Tashkent"), Phase.ON_AIR, id="a second before the end"),
    pytest.param(at("16:00", "Europe/Rome"), Phase.TEARDOWN, id="off air"),
    pytest.param(at("23:00", "Asia/Baku"), Phase.TEARDOWN, id="hours later"),
]


@pytest.mark.parametrize(("now", "expected"), PHASES)
def test_phase(now, expected):
    show = booking()
    assert (
        phase(now, opens_at=show.busy_from, on_air_at=show.starts_at, off_air_at=show.ends_at)
        is expected
    )


GO, DONE = Action.GO_LIVE, Action.COMPLETE
# (status, now, the steps due); on air 18:00-19:00 in Baku.
STEPS = [
    pytest.param(S.CONFIRMED, at("17:59:59", "Asia/Baku"), (), id="confirmed, in line check"),
    pytest.param(S.CONFIRMED, at("17:00", "Europe/Istanbul"), (GO,), id="confirmed, at start"),
    pytest.param(S.CONFIRMED, at("19:30", "Asia/Almaty"), (GO,), id="confirmed, on air"),
    pytest.param(S.CONFIRMED, at("21:00", "Asia/Bishkek"), (GO, DONE), id="confirmed, at end"),
    pytest.param(S.LIVE, at("19:59:59", "Asia/Tashkent"), (), id="live, on air"),
    pytest.param(S.LIVE, at("16:00", "Europe/Rome"), (DONE,), id="live, at end"),
    pytest.param(S.REQUESTED, at("18:30", "Asia/Baku"), (), id="never confirmed"),
    pytest.param(S.REQUESTED, at("19:30", "Asia/Baku"), (), id="never confirmed, ended"),
    pytest.param(S.DECLINED, at("18:30", "Asia/Baku"), (), id="declined"),
    pytest.param(S.CANCELLED, at("19:30", "Asia/Baku"), (), id="cancelled"),
    pytest.param(S.COMPLETED, at("19:30", "Asia/Baku"), (), id="completed"),
]


@pytest.mark.parametrize(("status", "now", "expected"), STEPS)
def test_steps_due(status, now, expected):
    show = booking(status)
    steps = steps_due(show, now)
    assert steps == expected
    for step in steps:  # each step is one the lifecycle allows, in that order
        show = replace(show, status=next_status(show.status, step))


# (booking, now, on air, records): on air from its start to its end, recorded when it says so.
ON_AIR = [
    pytest.param(booking(), at("17:50", "Asia/Baku"), False, False, id="line check, Baku"),
    pytest.param(booking(), at("17:00", "Europe/Istanbul"), True, True, id="start, Istanbul"),
    pytest.param(booking(), at("20:59:59", "Asia/Bishkek"), True, True, id="last second, Bishkek"),
    pytest.param(booking(), at("20:00", "Asia/Almaty"), False, False, id="the end, Almaty"),
    pytest.param(booking(), at("20:03", "Asia/Tashkent"), False, False, id="teardown, Tashkent"),
    pytest.param(
        replace(booking(), record=False), at("15:30", "Europe/Rome"), True, False, id="unrecorded"
    ),
]


@pytest.mark.parametrize(("show", "now", "airs", "records"), ON_AIR)
def test_on_air_and_recording(show, now, airs, records):
    assert on_air(show, now) is airs
    assert records_now(show, now) is records
    # The same moment as master control's phase of the show says it.
    shown = phase(now, opens_at=show.busy_from, on_air_at=show.starts_at, off_air_at=show.ends_at)
    assert (shown is Phase.ON_AIR) is airs
