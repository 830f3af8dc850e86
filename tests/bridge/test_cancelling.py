"""Ending a task from another: the ender's own cancellation is never swallowed (no network)."""

from __future__ import annotations

import asyncio

import pytest

from bridge.cancelling import cancel_and_wait

# Both stand for a background task (a tap's pump, an output's attempt) that a closer ends.


async def _forever() -> None:
    await asyncio.Event().wait()


async def test_the_ended_tasks_cancellation_is_not_an_error() -> None:
    task = asyncio.ensure_future(_forever())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()
    await cancel_and_wait(None)
    await cancel_and_wait(task)  # ended already: nothing to do


async def test_a_closer_cancelled_while_it_waits_is_cancelled() -> None:
    """An output's attempt closes its tap when stop() cancels it: the attempt must end. With
    `suppress(CancelledError)` it went on to its backoff and its next attempt, for ever."""
    went_on = asyncio.Event()
    slow_to_end_started = asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            slow_to_end_started.set()
            await asyncio.sleep(0.2)  # cleaning up (ending ffmpeg, a thread) takes a moment
            raise

    async def attempt() -> None:
        inner = asyncio.ensure_future(slow_to_end())
        await asyncio.sleep(0)
        await cancel_and_wait(inner)  # the tap's close
        went_on.set()  # the backoff and the next attempt
        await asyncio.sleep(3600)

    outer = asyncio.ensure_future(attempt())
    await asyncio.wait_for(slow_to_end_started.wait(), 5)  # the tap's pump is ending
    outer.cancel()  # stop(), meanwhile
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(outer, 5)
    assert not went_on.is_set()
