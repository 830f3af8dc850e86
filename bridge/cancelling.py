"""Ending a background task from another, without swallowing the ender's own cancellation.

`with suppress(CancelledError): await task` after `task.cancel()` also swallows a cancel aimed
at the task that waits: that task then runs on as if never cancelled. A live output's attempt
closing its program tap when `stop()` cancelled it went on to its backoff and its next
attempt, for ever, and `stop()` (and with it the room's close) waited for ever: a CI run hung
in the teardown of tests/bridge/test_outputs_push.py.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Future[Any] | None) -> None:
    """Cancel `task` and wait until it has ended; its own cancellation is not an error (any
    other exception of it is raised here), but a cancellation of the caller while it waits
    goes on to the caller.

    `asyncio.wait` tells the two apart: it raises only when the caller is cancelled, never for
    the task's end. (A caller already cleaning up after its own cancellation waits normally:
    `Task.cancelling()` cannot tell that from a new cancel, so it is not used.)
    """
    if task is None:
        return
    task.cancel()
    await asyncio.wait([task])
    error = None if task.cancelled() else task.exception()
    if error is not None:
        raise error
