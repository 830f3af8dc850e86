"""One audit line per gesture on a control that moves continuously (a fader).

A fader sends its value while it is dragged, a few times a second; the audit log that partners
read should say "set DHA to -12 dB", not list every step. Changes to the same control closer
together than `settle_s` (by the app's clock) make one line, written once the control rests,
with the final value; a gesture that ends where it started writes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schedules.service import Clock
from schedules.timeutil import utc_now
from web.outage.audit_outbox import AuditLine, AuditOutbox
from web.tasks import cancel_and_wait, sleep_until

SETTLE_S = 1.5


@dataclass
class _Gesture:
    booking_id: str
    actor: str
    action: str
    before: dict[str, Any]  # the control's state when the gesture began
    after: dict[str, Any]
    changed_at: datetime  # the clock's time of the last change
    timer: asyncio.Task[None]


class SettledAudit:
    """Audit lines for continuous controls, written when each control comes to rest."""

    def __init__(
        self, audit: AuditOutbox, settle_s: float = SETTLE_S, clock: Clock = utc_now
    ) -> None:
        self.audit = audit
        self.settle_s = settle_s
        self.clock = clock
        self._gestures: dict[tuple[str, str], _Gesture] = {}
        self._writes: set[asyncio.Task[None]] = set()  # held so they are not collected

    def note(
        self,
        control: tuple[str, str],
        booking_id: str,
        actor: str,
        action: str,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        """`control` (e.g. booking and studio) went from `before` to `after` just now."""
        gesture = self._gestures.pop(control, None)
        if gesture is not None:
            gesture.timer.cancel()
            if gesture.actor == actor and self.clock() < self._rests_at(gesture):
                before = gesture.before  # the same gesture goes on
            else:  # someone else's, or one at rest whose timer has not run yet: it ends here
                self._write_soon(gesture)
        self._gestures[control] = _Gesture(
            booking_id,
            actor,
            action,
            before,
            after,
            self.clock(),
            asyncio.ensure_future(self._later(control)),
        )

    @property
    def settling(self) -> int:
        """Gestures not yet at rest, and lines of rested ones still being written."""
        return len(self._gestures) + len(self._writes)

    def _rests_at(self, gesture: _Gesture) -> datetime:
        """When `gesture` is at rest, by the clock."""
        return gesture.changed_at + timedelta(seconds=self.settle_s)

    async def _later(self, control: tuple[str, str]) -> None:
        # By the app's clock: a test's clock that stands still holds the gesture open however
        # slowly the machine runs.
        await sleep_until(self.clock, self._rests_at(self._gestures[control]), self.settle_s)
        # Popped before the write: a new change from here on starts a new gesture instead of
        # ending this one again.
        self._write_soon(self._gestures.pop(control))

    def _write_soon(self, gesture: _Gesture) -> None:
        """Write `gesture`'s line in the background (held in `_writes` until written)."""
        write = asyncio.ensure_future(self._write(gesture))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def _write(self, gesture: _Gesture) -> None:
        if gesture.after == gesture.before:
            return  # moved and put back: nothing changed on air
        # The change is on air already: its line waits out a database outage.
        await self.audit.write(
            AuditLine(
                gesture.booking_id,
                gesture.actor,
                gesture.action,
                gesture.after,
                at=gesture.changed_at,  # when the control came to rest
            )
        )

    async def flush(self) -> None:
        """Write every gesture still settling (the server is stopping)."""
        gestures, self._gestures = list(self._gestures.values()), {}
        for gesture in gestures:
            await cancel_and_wait(gesture.timer)
            await self._write(gesture)
