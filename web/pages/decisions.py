"""What the booking page says about answers and irreversible steps: who declined, when and
why, whether the producer may go on without that studio, what a decline would do, and who
cancelled. The decisions themselves are the lifecycle's (schedules.rules.lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schedules.errors import ScheduleError
from schedules.model import AuditEvent, Booking, BookingStatus, PartnerAnswer
from schedules.rules.access import Principal, can_answer, can_book
from schedules.rules.lifecycle import decline_ends_booking, without_studio
from web.pages.waiting import waiting_for

ANSWERING = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)
# A booking that will not happen: no countdown to air, no join links.
CALLED_OFF = frozenset({BookingStatus.DECLINED, BookingStatus.CANCELLED})
# The confirmation dialogs a page can open (?ask=...): a studio's decline, the cancel.
CANCEL_DIALOG = "cancel"
DECLINE_DIALOG = "decline-"


@dataclass(frozen=True)
class Decline:
    """A studio that declined: when, why, and whether the producer may go on without it."""

    studio_id: str
    at: datetime | None
    reason: str
    can_continue: bool


@dataclass(frozen=True)
class Cancellation:
    """Who cancelled the booking, when and why (from its audit log)."""

    actor: str
    at: datetime
    reason: str


def declines(booking: Booking, p: Principal, now: datetime) -> list[Decline]:
    """The studios that declined, each with the producer's way on when there is one."""
    out = []
    for part in booking.studios:
        if part.answer is not PartnerAnswer.DECLINED:
            continue
        allowed = can_book(p) and booking.status in ANSWERING
        if allowed:
            try:
                without_studio(booking, part.studio_id, now)
            except ScheduleError:
                allowed = False
        out.append(Decline(part.studio_id, part.answered_at, part.decline_reason, allowed))
    return out


def cancellation(booking: Booking, audit: list[AuditEvent] | None) -> Cancellation | None:
    """The cancel that ended `booking`, when it is cancelled and its log is at hand."""
    if booking.status is not BookingStatus.CANCELLED or not audit:
        return None
    for event in reversed(audit):
        if event.action == "cancelled":
            return Cancellation(event.actor, event.at, str(event.details.get("reason") or ""))
    return None


def decision_context(
    booking: Booking,
    p: Principal,
    audit: list[AuditEvent] | None,
    now: datetime,
    *,
    ask: str = "",
) -> dict[str, Any]:
    """The booking page's values for answers, declines and the cancel dialog."""
    answering = booking.status in ANSWERING
    answerable = [s.studio_id for s in booking.studios if answering and can_answer(p, s.studio_id)]
    # What a decline of each studio the reader may still decline for would do.
    ends = {
        sid: decline_ends_booking(booking, sid)
        for sid in answerable
        if booking.answer_of(sid) is not PartnerAnswer.DECLINED
    }
    dialogs = {CANCEL_DIALOG} | {DECLINE_DIALOG + sid for sid in ends}
    return {
        "answerable": answerable,
        "decline_ends": ends,
        "declines": declines(booking, p, now),
        "cancellation": cancellation(booking, audit),
        "called_off": booking.status in CALLED_OFF,
        "waiting": waiting_for(booking, p, now),
        # A dialog to show open (a page without scripts, or a refused reason).
        "ask": ask if ask in dialogs else "",
    }
