"""Coroutines run at once, as far as they go without waiting; only the rest becomes a task.

aiortc's RTP handling and sending are coroutines that almost never wait: on a direct candidate
pair a send goes straight to the socket. Awaiting them from a packet's handling on the event
loop, or making a task of each, costs more than the work inside (a task is scheduled, stepped
and finished for every packet). Python 3.12's eager tasks do this for a whole loop; the bridge
runs on 3.11 too, and wants it only for these calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("telebridge.bridge.aiortc_hooks.eager")

# What went on waiting: asyncio keeps only weak references to its tasks.
_WAITING: set[asyncio.Future[None]] = set()


def run_eagerly(coroutine: Coroutine[Any, Any, None], what: str) -> None:
    """Run `coroutine` until it finishes or first waits; what then remains runs as a task on
    the running loop. A failure is logged (as `what`), never raised to the caller, whose
    packet handling must go on."""
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return
    except Exception as exc:
        log.warning("%s failed: %r", what, exc)
        return
    task = asyncio.ensure_future(_go_on(coroutine, waiting))
    _WAITING.add(task)
    task.add_done_callback(lambda t: _ended(t, what))


async def _go_on(coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Step `coroutine` on from where it waits, as a task steps its own: wait for the future
    it yielded (None: it only gave way), then resume it, until it returns."""
    try:
        while True:
            if waiting is not None:
                # The coroutine reads the future's result (or exception) when resumed.
                await asyncio.wait([waiting])
            waiting = coroutine.send(None)
    except StopIteration:
        return
    except asyncio.CancelledError:
        coroutine.close()
        raise


def _ended(task: asyncio.Future[None], what: str) -> None:
    _WAITING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s failed: %r", what, task.exception())
