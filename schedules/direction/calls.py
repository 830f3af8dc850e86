"""A studio's call to production ("I need you"): a live signal, not a record.

A call is open from the operator's press until production answers it, or until CALL_SECONDS
pass without another press (nobody answered: the operator presses again if it still matters).
It lives in the memory of the web process that the console and the control room talk to; only
its start and its answer go to the audit log, which is the web side's to write. A studio has
at most one open call: pressing again keeps the call and restarts its time, so a worried
operator hammering the button makes one call, one audit line.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from schedules.service import Clock

CALL_SECONDS = 60
# Every open call is one studio of one open room, so a few hundred at the most; the bound only
# guards memory against a bug: beyond it the call pressed longest ago is dropped.
MAX_CALLS = 1024


@dataclass(frozen=True)
class Call:
    """One studio calling production."""

    booking_id: str
    studio_id: str
    since: datetime  # the first press: how long the studio has been waiting
    pressed_at: datetime  # the latest press: the call lasts CALL_SECONDS from it
    lasts: timedelta = timedelta(seconds=CALL_SECONDS)

    @property
    def expires_at(self) -> datetime:
        """When the call ends unanswered."""
        return self.pressed_at + self.lasts


class CallBoard:
    """The open calls of every booking, by booking and studio, oldest press first."""

    def __init__(
        self,
        clock: Clock,
        *,
        lasts: timedelta = timedelta(seconds=CALL_SECONDS),
        size: int = MAX_CALLS,
    ) -> None:
        self.clock = clock
        self.lasts = lasts
        self.size = size
        self._calls: OrderedDict[tuple[str, str], Call] = OrderedDict()

    def call(self, booking_id: str, studio_id: str) -> tuple[Call, bool]:
        """The studio presses "Call the producer": its open call, and whether it is new."""
        now = self.clock()
        key = (booking_id, studio_id)
        open_call = self._open(key, now)
        if open_call is not None:
            pressed = replace(open_call, pressed_at=now)
            self._calls[key] = pressed
            self._calls.move_to_end(key)
            return pressed, False
        self._purge(now)
        while len(self._calls) >= self.size:
            self._calls.popitem(last=False)
        new = Call(booking_id, studio_id, since=now, pressed_at=now, lasts=self.lasts)
        self._calls[key] = new
        return new, True

    def answer(self, booking_id: str, studio_id: str) -> Call | None:
        """Production answers: the studio's open call ends (None: it had none open)."""
        key = (booking_id, studio_id)
        open_call = self._open(key, self.clock())
        self._calls.pop(key, None)
        return open_call

    def of_studio(self, booking_id: str, studio_id: str) -> Call | None:
        """The studio's open call, if any."""
        return self._open((booking_id, studio_id), self.clock())

    def of_booking(self, booking_id: str) -> list[Call]:
        """The booking's open calls, the longest-waiting first."""
        now = self.clock()
        calls = [c for (b, _s), c in self._calls.items() if b == booking_id and now < c.expires_at]
        return sorted(calls, key=lambda c: (c.since, c.studio_id))

    def _open(self, key: tuple[str, str], now: datetime) -> Call | None:
        found = self._calls.get(key)
        if found is not None and now >= found.expires_at:
            del self._calls[key]
            return None
        return found

    def _purge(self, now: datetime) -> None:
        for key in [k for k, c in self._calls.items() if now >= c.expires_at]:
            del self._calls[key]
