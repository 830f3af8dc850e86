"""Background tasks of the app's services: ending one cleanly, waiting for the app's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from bridge.cancelling import cancel_and_wait

__all__ = ["cancel_and_wait", "sleep_until"]  # cancel_and_wait: the bridge's, for web's tasks


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
