"""The booking lifecycle as an explicit transition table.

requested -> confirmed (every partner studio accepted) -> live -> completed; a partner's decline
makes it declined, a producer's cancel cancelled. An edit or reschedule sends it back to
requested so that the partners confirm again.

With three or more studios one studio's decline does not end the telebridge: that studio is
withdrawn (the booking waits, requested, for the producer), and the producer either goes on
without it (`without_studio`) or cancels. A booking is declined only when fewer than two
studios that have not declined would be left.

The answers themselves (`after_answer`, `without_studio`) are pure: the service reads, applies
them and stores the result.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from datetime import datetime

from schedules.errors import InvalidTransition, NotAllowed, ValidationError
from schedules.model import MIN_STUDIOS, Booking, BookingStatus, BookingStudio, PartnerAnswer


class Action(enum.StrEnum):
    """What can happen to a booking as a whole."""

    CONFIRM = "confirm"  # the last partner studio accepted
    DECLINE = "decline"  # a studio declined and too few would be left: declined for everyone
    # One of three or more studios declined: back to requested until the producer decides.
    WITHDRAW = "withdraw a studio from"
    LEAVE_OUT = "leave a studio out of"  # the producer goes on without a studio that declined
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    GO_LIVE = "go live"
    COMPLETE = "complete"


S = BookingStatus
TRANSITIONS: dict[BookingStatus, dict[Action, BookingStatus]] = {
    S.REQUESTED: {
        Action.CONFIRM: S.CONFIRMED,
        Action.DECLINE: S.DECLINED,
        Action.WITHDRAW: S.REQUESTED,
        Action.LEAVE_OUT: S.REQUESTED,
        Action.CANCEL: S.CANCELLED,
        Action.RESCHEDULE: S.REQUESTED,
    },
    S.CONFIRMED: {
        Action.DECLINE: S.DECLINED,
        # It cannot go on air with a studio that declined.
        Action.WITHDRAW: S.REQUESTED,
        Action.LEAVE_OUT: S.CONFIRMED,
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


def _part(booking: Booking, studio_id: str) -> BookingStudio:
    for part in booking.studios:
        if part.studio_id == studio_id:
            return part
    problem = f'studio "{studio_id}" is not part of this booking'
    raise ValidationError(f"studio: {problem}", {"studio": problem})


def decline_ends_booking(booking: Booking, studio_id: str) -> bool:
    """Whether `studio_id` declining declines the whole booking: fewer than MIN_STUDIOS studios
    that have not declined would be left (always so with two studios)."""
    left = [
        s
        for s in booking.studios
        if s.studio_id != studio_id and s.answer is not PartnerAnswer.DECLINED
    ]
    return len(left) < MIN_STUDIOS


def after_answer(
    booking: Booking, studio_id: str, answer: PartnerAnswer, at: datetime, reason: str = ""
) -> Booking:
    """The booking once `studio_id` has answered (accepted or declined) at `at`; the booking
    itself when it already had that answer.

    A decline bumps the sequence: calendars show the event cancelled (for everyone, or for the
    declining studio) and say why. An acceptance bumps it only when it takes back a decline.
    """
    verb = "confirm" if answer is PartnerAnswer.ACCEPTED else "decline"
    part = _part(booking, studio_id)
    if booking.status not in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED):
        raise InvalidTransition(booking.status.value, verb)
    if part.answer is answer:
        return booking  # answering twice the same way changes nothing
    declined = answer is PartnerAnswer.DECLINED
    parts = tuple(
        BookingStudio(s.studio_id, answer, at, reason if declined else "")
        if s.studio_id == studio_id
        else s
        for s in booking.studios
    )
    status: BookingStatus = booking.status
    if declined:
        ends = decline_ends_booking(booking, studio_id)
        status = next_status(status, Action.DECLINE if ends else Action.WITHDRAW)
    elif all(p.answer is PartnerAnswer.ACCEPTED for p in parts):
        status = next_status(status, Action.CONFIRM)
    bump = 1 if declined or part.answer is PartnerAnswer.DECLINED else 0
    return replace(
        booking, studios=parts, status=status, sequence=booking.sequence + bump, updated_at=at
    )


def without_studio(booking: Booking, studio_id: str, at: datetime) -> Booking:
    """The booking going on without `studio_id`, a studio that declined: confirmed when every
    remaining studio has accepted, else still requested; a new revision for the calendars.

    Only while the booking is requested or confirmed (InvalidTransition), only for a studio
    that declined (NotAllowed "not_declined") and only while MIN_STUDIOS remain (NotAllowed
    "too_few_studios").
    """
    part = _part(booking, studio_id)
    status = next_status(booking.status, Action.LEAVE_OUT)
    if part.answer is not PartnerAnswer.DECLINED:
        raise NotAllowed(
            "not_declined",
            f'Studio "{studio_id}" has not declined: only a studio that declined can be left '
            "out (edit the booking to change its studios)",
        )
    parts = tuple(s for s in booking.studios if s.studio_id != studio_id)
    if len(parts) < MIN_STUDIOS:
        raise NotAllowed(
            "too_few_studios",
            f'Without studio "{studio_id}" only {len(parts)} would be left; a telebridge '
            f"needs at least {MIN_STUDIOS} studios (cancel it instead)",
        )
    if status is BookingStatus.REQUESTED and all(p.answer is PartnerAnswer.ACCEPTED for p in parts):
        status = next_status(status, Action.CONFIRM)
    return replace(
        booking, studios=parts, status=status, sequence=booking.sequence + 1, updated_at=at
    )
