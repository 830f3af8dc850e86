"""Audit lines that wait, on the app's clock: a fader's gesture rests when the clock says so,
and lines held through a database outage go out, in order, when the clock says the retry is due,
each with the time it happened at.

The booking service is the real one on the app's SQLite database; the outage is a second real
service whose database file cannot be opened (the driver's own error), so no media is needed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from webtools import ClockedApp

from bridge.program.layout import LAYOUTS
from harness.waiting import eventually
from schedules.db import make_engine
from schedules.service import BookingService
from web.live.settled_audit import SETTLE_S, SettledAudit
from web.outage.audit_outbox import RETRY_S, AuditLine, AuditOutbox
from web.services import BOOKINGS

SOUND = "changed the program sound"


class Unreachable(BookingService):
    """The real booking service on a database that cannot be opened, counting its failures."""

    failed = 0

    async def note(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().note(*args, **kwargs)
        except Exception:
            self.failed += 1
            raise


async def demo_booking(c: ClockedApp) -> str:
    """The demo's booking (seeded by the `clocked` fixture)."""
    found = await c.app[BOOKINGS].search()
    assert found, "the demo seeds a booking"
    return found[0].id


async def logged(
    c: ClockedApp, booking_id: str, actions: tuple[str, ...]
) -> list[tuple[str, str, dict[str, object], str]]:
    """The booking's audit lines of these actions: (actor, action, details, at)."""
    events = await c.app[BOOKINGS].audit(booking_id)
    return [
        (e.actor, e.action, dict(e.details), e.at.isoformat())
        for e in events
        if e.action in actions
    ]


async def test_lines_held_by_an_outage_go_in_order_once_the_retry_is_due(
    clocked: ClockedApp, tmp_path: Path
) -> None:
    c = clocked
    booking = await demo_booking(c)
    down_engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'db.sqlite3'}")
    down = Unreachable(down_engine, c.clock, layouts=LAYOUTS)
    outbox = AuditOutbox(down, clock=c.clock)
    outbox.start()
    actions = ("switched the program", "studio joined", SOUND)
    try:
        switched_at = c.clock()
        await outbox.write(AuditLine(booking, "producer", "switched the program"))
        c.clock.advance(seconds=1)
        joined_at = c.clock()
        outbox.put(AuditLine(booking, "bridge", "studio joined", {"studio": "dha"}))
        await outbox.write(AuditLine(booking, "producer", SOUND))  # behind the waiting ones
        assert outbox.waiting == 3 and await logged(c, booking, actions) == []
        # The writer's own try has failed too, so it waits for its retry by the clock
        # (standing still); only now does the database come back and the clock move. A
        # writer whose try failed after the move waited for a moment the clock never read.
        await eventually(lambda: down.failed >= 2, message="the writer's first try")
        outbox.bookings = c.app[BOOKINGS]  # the database answers again
        c.clock.advance(seconds=RETRY_S)
        await eventually(lambda: outbox.waiting == 0, message="the held lines written")
        lines = await logged(c, booking, actions)
        assert [line[1] for line in lines] == list(actions)
        # Stamped when they happened, not when the database came back.
        assert [line[3] for line in lines] == [
            switched_at.isoformat(),
            joined_at.isoformat(),
            joined_at.isoformat(),
        ]
    finally:
        await outbox.stop()
        await down_engine.dispose()


async def test_a_gesture_is_one_line_written_when_the_clock_says_the_control_rests(
    clocked: ClockedApp,
) -> None:
    c = clocked
    clock = c.clock
    booking = await demo_booking(c)
    outbox = AuditOutbox(c.app[BOOKINGS], clock=clock)
    gestures = SettledAudit(outbox, clock=clock)

    def move(actor: str, before: float, after: float) -> None:
        gestures.note(
            (booking, "dha"), booking, actor, SOUND, {"gain_db": before}, {"gain_db": after}
        )

    async def written() -> list[tuple[str, float]]:
        found = await logged(c, booking, (SOUND,))
        return [(actor, float(str(details["gain_db"]))) for actor, _, details, _ in found]

    async def count_is(n: int) -> bool:
        return len(await written()) == n

    try:
        # A drag: a step every 80 ms of the clock, however long the machine takes for them.
        for before, after in ((0, -2), (-2, -5), (-5, -9), (-9, -12)):
            move("producer", before, after)
            clock.advance(seconds=0.08)
        for _ in range(5):
            await asyncio.sleep(0)  # the gesture's timer runs and finds it not at rest
        assert gestures.settling == 1 and await written() == []
        clock.advance(seconds=SETTLE_S)
        await eventually(lambda: count_is(1), message="the drag's line")
        assert await written() == [("producer", -12)]

        # Moved and put back: nothing changed on air, nothing is written.
        move("producer", -12, -10)
        move("producer", -10, -12)
        clock.advance(seconds=SETTLE_S)
        await eventually(lambda: gestures.settling == 0, message="the wiggle at rest")
        await gestures.flush()
        assert await written() == [("producer", -12)]

        # A change after the control came to rest by the clock starts a new gesture, even
        # before the old one's timer has looked: the old one is written as it was.
        move("producer", -12, -6)
        clock.advance(seconds=SETTLE_S)
        move("producer", -6, -3)
        await eventually(lambda: count_is(2), message="the rested gesture's line")
        assert (await written())[1] == ("producer", -6)

        # Someone else takes the control: the producer's gesture ends there, at once.
        move("admin", -3, 0)
        await eventually(lambda: count_is(3), message="the producer's last line")
        assert (await written())[2] == ("producer", -3)
        clock.advance(seconds=SETTLE_S)
        await eventually(lambda: count_is(4), message="the admin's line")
        assert await written() == [
            ("producer", -12),
            ("producer", -6),
            ("producer", -3),
            ("admin", 0),
        ]
    finally:
        await gestures.flush()
        await outbox.stop()
