"""Background tasks of the app's services: ending one cleanly, waiting for the app's clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any


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


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has ended (its cancellation is not an error)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
