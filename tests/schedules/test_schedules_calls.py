"""A studio's call to production on the call board: one open call per studio, kept open by
pressing again, ended by an answer or by a minute without a press, and a board that never
grows past its bound."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schedules.direction.calls import CALL_SECONDS, CallBoard


def test_a_call_is_open_until_answered(clock: Any) -> None:
    board = CallBoard(clock)
    call, new = board.call("b1", "dha")
    assert new and call.since == call.pressed_at == clock.now
    assert call.expires_at == clock.now + timedelta(seconds=CALL_SECONDS)
    clock.advance(seconds=5)
    trend, _ = board.call("b1", "trend")
    board.call("b2", "dha")  # another booking's call is not this one's
    assert board.of_studio("b1", "dha") == call
    assert board.of_booking("b1") == [call, trend]  # the longest-waiting first
    assert board.answer("b1", "dha") == call
    assert board.of_studio("b1", "dha") is None
    assert board.answer("b1", "dha") is None  # a second producer answering: nothing to end
    assert [c.studio_id for c in board.of_booking("b1")] == ["trend"]


def test_pressing_again_keeps_the_call_and_restarts_its_minute(clock: Any) -> None:
    board = CallBoard(clock)
    first, _ = board.call("b1", "dha")
    clock.advance(seconds=CALL_SECONDS - 1)
    again, new = board.call("b1", "dha")
    assert not new
    assert again.since == first.since  # still the same call, waiting since the first press
    assert again.expires_at == clock.now + timedelta(seconds=CALL_SECONDS)
    assert len(board.of_booking("b1")) == 1


def test_an_unanswered_call_runs_out_after_a_minute(clock: Any) -> None:
    board = CallBoard(clock)
    board.call("b1", "dha")
    clock.advance(seconds=CALL_SECONDS - 0.001)
    assert board.of_studio("b1", "dha") is not None
    clock.advance(seconds=0.001)
    assert board.of_studio("b1", "dha") is None
    assert board.of_booking("b1") == []
    _, new = board.call("b1", "dha")  # a press after that is a new call
    assert new


def test_the_board_keeps_at_most_its_bound_dropping_the_longest_unpressed(clock: Any) -> None:
    board = CallBoard(clock, size=3)
    for studio in ("a", "b", "c"):
        board.call("b1", studio)
        clock.advance(seconds=1)
    board.call("b1", "a")  # pressed again: now the freshest
    board.call("b1", "d")
    assert sorted(c.studio_id for c in board.of_booking("b1")) == ["a", "c", "d"]
    clock.advance(seconds=CALL_SECONDS)  # all run out: room for new ones without dropping
    for studio in ("e", "f", "g"):
        board.call("b2", studio)
    assert [c.studio_id for c in board.of_booking("b2")] == ["e", "f", "g"]
