"""What a booking waits for, from the point of view of whoever reads the page.

An operator needs to know that their studio has not answered; a producer, which partners have
not, and that a studio's decline waits for their decision. The wording is the templates'
(`_waiting.html`): this module only says which case it is and which studios it names.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from schedules.model import Booking, BookingStatus, PartnerAnswer, Role, Studio
from schedules.rules.access import Principal, can_book


class Wait(enum.StrEnum):
    """The cases, most pressing first for the reader."""

    YOUR_ANSWER = "your answer"  # an operator whose studio has not answered
    YOUR_DECISION = "your decision"  # a producer: a studio declined, go on without it or cancel
    PRODUCER = "producer"  # a studio declined: everyone else waits for the producer
    STUDIOS = "studios"  # partner studios have not answered yet
    READY = "ready"  # every studio confirmed: waits only for air
    DECLINED = "declined"  # declined for every studio
    CANCELLED = "cancelled"
    ON_AIR = "on air"
    OVER = "over"


@dataclass(frozen=True)
class Waiting:
    """One booking's case for one reader, and the studios the sentence names."""

    wait: Wait
    studio_ids: tuple[str, ...] = ()

    def names(self, studios: Mapping[str, Studio]) -> str:
        """The named studios' names, "Trend, DHA"."""
        return ", ".join(studios[i].name if i in studios else i for i in self.studio_ids)


def _with(booking: Booking, answer: PartnerAnswer) -> tuple[str, ...]:
    return tuple(s.studio_id for s in booking.studios if s.answer is answer)


def waiting_for(booking: Booking, p: Principal, now: datetime) -> Waiting:
    """What `booking` waits for, as `p` should read it at `now`."""
    declined = _with(booking, PartnerAnswer.DECLINED)
    status = booking.status
    if status is BookingStatus.CANCELLED:
        return Waiting(Wait.CANCELLED)
    if status is BookingStatus.DECLINED:
        return Waiting(Wait.DECLINED, declined)
    if status is BookingStatus.COMPLETED or booking.ends_at <= now:
        return Waiting(Wait.OVER)
    if status is BookingStatus.LIVE:
        return Waiting(Wait.ON_AIR)
    mine = p.studio_id if p.role is Role.OPERATOR else None
    if mine is not None and booking.answer_of(mine) is PartnerAnswer.PENDING:
        return Waiting(Wait.YOUR_ANSWER)
    if declined:
        return Waiting(Wait.YOUR_DECISION if can_book(p) else Wait.PRODUCER, declined)
    pending = _with(booking, PartnerAnswer.PENDING)
    if pending:
        return Waiting(Wait.STUDIOS, pending)
    return Waiting(Wait.READY)
