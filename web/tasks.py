"""Background tasks of the app's services: a step repeated on a period, ending one cleanly,
waiting for the app's clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bridge.cancelling import cancel_and_wait
from schedules.outage import database_down, describe

# cancel_and_wait: the bridge's, for web's tasks
__all__ = ["Repeating", "cancel_and_wait", "sleep_until", "waiting_for_database"]


def waiting_for_database(exc: Exception) -> str | None:
    """What a failed step waits for when it failed because the database is away (None when
    it failed for another reason)."""
    return f"the database ({describe(exc)})" if database_down(exc) else None


class Repeating:
    """A step run every `period_s` seconds in the background, from start() until stop().

    A failed step never ends it. A failure that only waits for something to come back (the
    database, by default: its watch logs the outage once) is logged at debug level; any other
    is a bug, logged with its traceback. `wait_first`: the first run comes a period after
    start() (the owner has just run the step itself).
    """

    def __init__(
        self,
        step: Callable[[], Awaitable[object]],
        period_s: float,
        doing: str,
        log: logging.Logger,
        *,
        wait_first: bool = False,
        waits_for: Callable[[Exception], str | None] = waiting_for_database,
    ) -> None:
        self.step, self.period_s, self.doing, self.log = step, period_s, doing, log
        self.wait_first, self.waits_for = wait_first, waits_for
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Begin (a no-op while running)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """End it, a step under way included, and wait until it has ended."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        if self.wait_first:
            await asyncio.sleep(self.period_s)
        while True:
            try:
                await self.step()
            except Exception as exc:
                waiting = self.waits_for(exc)
                if waiting is None:
                    self.log.exception("%s failed", self.doing)
                else:
                    self.log.debug("%s waits for %s", self.doing, waiting)
            await asyncio.sleep(self.period_s)


async def sleep_until(clock: Callable[[], datetime], moment: datetime, check_s: float) -> None:
    """Return once `clock` reads `moment` or later, looking at it at least every `check_s` s.

    It sleeps on the event loop but decides by the clock, so a clock that stands still (a
    test's) holds the caller however slowly the machine runs, until the test moves it.
    """
    while True:
        left = (moment - clock()).total_seconds()
        if left <= 0:
            return
        await asyncio.sleep(min(left, check_s))
