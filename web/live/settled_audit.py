"""One audit line per gesture on a control that moves continuously (a fader).

A fader sends its value while it is dragged, a few times a second; the audit log that partners
read should say "set DHA to -12 dB", not list every step. Changes to the same control closer
together than `settle_s` make one line, written once the control rests, with the final value;
a gesture that ends where it started writes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from web.outage.audit_outbox import AuditLine, AuditOutbox
from web.tasks import cancel_and_wait

SETTLE_S = 1.5


@dataclass
class _Gesture:
    booking_id: str
    actor: str
    action: str
    before: dict[str, Any]  # the control's state when the gesture began
    after: dict[str, Any]
    timer: asyncio.Task[None]


class SettledAudit:
    """Audit lines for continuous controls, written when each control comes to rest."""

    def __init__(self, audit: AuditOutbox, settle_s: float = SETTLE_S) -> None:
        self.audit = audit
        self.settle_s = settle_s
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
        gesture = self._gestures.get(control)
        if gesture is not None and gesture.actor == actor:
            gesture.timer.cancel()
            before = gesture.before
        elif gesture is not None:  # someone else's gesture ends here: write it now
            gesture.timer.cancel()
            self._gestures.pop(control)
            write = asyncio.ensure_future(self._write(gesture))
            self._writes.add(write)
            write.add_done_callback(self._writes.discard)
        self._gestures[control] = _Gesture(
            booking_id, actor, action, before, after, asyncio.ensure_future(self._later(control))
        )

    async def _later(self, control: tuple[str, str]) -> None:
        await asyncio.sleep(self.settle_s)
        # Popped before the write: a new change from here on starts a new gesture instead of
        # cancelling this write.
        await self._write(self._gestures.pop(control))

    async def _write(self, gesture: _Gesture) -> None:
        if gesture.after == gesture.before:
            return  # moved and put back: nothing changed on air
        # The change is on air already: its line waits out a database outage.
        await self.audit.write(
            AuditLine(gesture.booking_id, gesture.actor, gesture.action, gesture.after)
        )

    async def flush(self) -> None:
        """Write every gesture still settling (the server is stopping)."""
        gestures, self._gestures = list(self._gestures.values()), {}
        for gesture in gestures:
            await cancel_and_wait(gesture.timer)
            await self._write(gesture)
