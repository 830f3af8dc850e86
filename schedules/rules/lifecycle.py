"""The booking lifecycle as an explicit transition table.

requested -> confirmed (every partner studio accepted) -> live -> completed; a partner's decline
makes it declined, a producer's cancel cancelled. An edit or reschedule sends it back to
requested so that the partners confirm again.
"""

from __future__ import annotations

import enum

from schedules.errors import InvalidTransition
from schedules.model import BookingStatus


class Action(enum.StrEnum):
    """What can happen to a booking as a whole."""

    CONFIRM = "confirm"  # the last partner studio accepted
    DECLINE = "decline"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    GO_LIVE = "go live"
    COMPLETE = "complete"


S = BookingStatus
TRANSITIONS: dict[BookingStatus, dict[Action, BookingStatus]] = {
    S.REQUESTED: {
        Action.CONFIRM: S.CONFIRMED,
        Action.DECLINE: S.DECLINED,
        Action.CANCEL: S.CANCELLED,
        Action.RESCHEDULE: S.REQUESTED,
    },
    S.CONFIRMED: {
        Action.DECLINE: S.DECLINED,
        Action.CANCEL: S.CANCELLED,
        Action.RESCHEDULE: S.REQUESTED,
        Action.GO_LIVE: S.LIVE,
    },
    S.DECLINED: {
        # A producer may replace the declining studio or move the time and ask again.
        Action.RESCHEDULE: S.REQUESTED,
        Action.CANCEL: S.CANCELLED,
    },
    S.LIVE: {Action.COMPLETE: S.COMPLETED},
    S.COMPLETED: {},
    S.CANCELLED: {},
}


def next_status(status: BookingStatus, action: Action) -> BookingStatus:
    """The status after `action`, or InvalidTransition when the table does not allow it."""
    try:
        return TRANSITIONS[status][action]
    except KeyError:
        raise InvalidTransition(status.value, action.value) from None


def allowed_actions(status: BookingStatus) -> frozenset[Action]:
    """The actions the table allows from `status` (the pages show only these buttons)."""
    return frozenset(TRANSITIONS[status])
