"""Alerts wait for their own grace: the recording the autopilot starts a moment after the show's
start raises no "Recording is not running on air" (it did, and cleared a second later, at every
show start), while one that does not start within the grace is raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from web.live.alerts import RECORDING_GRACE_SECONDS, AlertBook
from web.live.room_view import RoomView

AT = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)


def _room(recording: bool) -> RoomView:
    return RoomView(
        booking_id="bk1",
        title="Morning link",
        state="on_air",
        open=True,
        opens_at=AT - timedelta(minutes=15),
        on_air_at=AT,
        off_air_at=AT + timedelta(hours=1),
        recording=recording,
        should_record=True,
    )


def _raised(book: AlertBook, seconds_not_recording: float) -> list[str]:
    kinds: list[str] = []
    t = 0.0
    while t < seconds_not_recording:
        kinds += [a.kind for a in book.update([_room(False)], AT, t) if a.active]
        t += 0.5
    kinds += [a.kind for a in book.update([_room(True)], AT, t) if a.active]
    return kinds


def test_a_recording_started_a_second_after_the_show_start_raises_nothing() -> None:
    book = AlertBook()
    assert _raised(book, 1.0) == []
    assert not book.active and not book.kept


def test_a_recording_not_running_after_the_grace_is_raised() -> None:
    book = AlertBook()
    assert _raised(book, RECORDING_GRACE_SECONDS + 1.0) == ["recording_stopped"]
