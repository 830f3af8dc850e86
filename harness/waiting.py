"""Waiting for a condition instead of for a fixed time.

A test that sleeps and then asserts is either slow (the sleep is long) or flaky (the machine is
loaded and the sleep was not long enough). These poll a condition until it holds, with a bound
generous enough for a loaded 2-core CI machine, and fail with what was last seen.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT_S = 10.0
INTERVAL_S = 0.05
# A bound against hanging, never a measure of speed (the benches measure): whatever a test
# expects on a quiet machine, a condition gets at least this long, because CI runs on 2 cores
# that another process may keep busy (three times slower, and more while Chromium starts).
PATIENCE_S = 30.0

Message = str | Callable[[], object]


def _failure(message: Message, timeout: float, last: object) -> AssertionError:
    """The error of a condition that never held: the message (or what it computes now)."""
    said = message() if callable(message) else message
    return AssertionError(f"{said or 'the condition'} not within {timeout:g} s (last: {last!r})")


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    # Not asyncio.timeout: the bound is checked between tries, so a try in progress finishes
    # and the failure says what was last seen.
    timeout: float = TIMEOUT_S,  # noqa: ASYNC109
    interval: float = INTERVAL_S,
    message: Message = "",
) -> T:
    """The first truthy value of `condition` (plain or async), tried every `interval` s."""
    timeout = max(timeout, PATIENCE_S)
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        value: T = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if time.monotonic() > deadline:
            raise _failure(message, timeout, value)
        await asyncio.sleep(interval)


def eventually_sync(
    condition: Callable[[], T],
    timeout: float = TIMEOUT_S,
    interval: float = INTERVAL_S,
    message: Message = "",
) -> T:
    """`eventually` for code without an event loop (the Playwright tests, process start-up)."""
    timeout = max(timeout, PATIENCE_S)
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _failure(message, timeout, value)
        time.sleep(interval)
