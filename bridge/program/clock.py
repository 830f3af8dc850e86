"""The program's clocks: ticks counted from one origin, each tick's work on one worker thread.

A clock runs on the event loop only to keep time; what a tick makes (a program frame, a block
of sound) is made on the clock's own worker thread, in order, and handed back on the loop. When
the worker is still busy at the next tick, that tick is dropped (and counted) rather than
queued, so the work never falls further and further behind; a clock may let one tick wait
instead (`wait_one`), run the moment the worker is free, so that a worker held up now and
then (a loaded machine's scheduling) makes every frame a little late rather than drop one,
while one that is too slow still drops. Tick n is the moment
origin + n * period: work is stamped with the tick it belongs to, so a dropped tick is a gap in
time, never a shift of what follows; and since the program's picture and sound count from the
same origin, a moment of the program is the same moment for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from bridge.cancelling import cancel_and_wait

log = logging.getLogger("telebridge.bridge.program_clock")

T = TypeVar("T")
R = TypeVar("R")


class TickClock(Generic[T]):
    """Ticks every `period` seconds; `work(tick)` gives the job of a tick, which runs on the
    clock's worker thread, and `publish` gets its result back on the event loop."""

    def __init__(
        self,
        name: str,
        period: float,
        work: Callable[[int], Callable[[], T]],
        publish: Callable[[T], None],
        nice: int = 0,
        wait_one: bool = False,
    ) -> None:
        self.name = name
        self.period = period
        self.dropped = 0  # ticks that found the worker still busy (and another one waiting)
        self.waited = 0  # ticks that waited for the worker (wait_one)
        self._wait_one = wait_one
        self._waiting: int | None = None  # the tick waiting for the worker
        self.origin: float | None = None  # the loop time tick 0 belongs to
        # One thread: what a tick makes depends on the ticks before (decoder and encoder state).
        # `nice` > 0 lowers the worker's priority (and that of the threads it starts, such as an
        # encoder's): on a machine short of CPU the program's picture gives up frames before its
        # sound gives up blocks.
        self._worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name, initializer=_be_nice, initargs=(nice,)
        )
        self._work = work
        self._publish = publish
        self._busy = False
        self._task: asyncio.Task[None] | None = None

    def start(self, origin: float | None = None) -> None:
        """Start ticking; tick 0 is at loop time `origin` (default: now; after a stop, the
        first start's origin, so that ticks go on counting the same time). A no-op while
        ticking."""
        if self._task is None:
            if origin is None:
                origin = self.origin
            if origin is None:
                origin = asyncio.get_running_loop().time()
            self.origin = origin
            self._task = asyncio.ensure_future(self._tick_forever(origin))

    @property
    def ticking(self) -> bool:
        """Whether the clock ticks (started and not stopped since)."""
        return self._task is not None

    def tick_now(self) -> int:
        """The tick the clock is at now (0 before it starts)."""
        if self.origin is None:
            return 0
        return round((asyncio.get_running_loop().time() - self.origin) / self.period)

    def call_on_worker(self, job: Callable[[], R]) -> R:
        """Run `job` on the worker thread and wait for it (before the clock starts: setting up
        what the worker's threads are to inherit, such as an encoder's)."""
        return self._worker.submit(job).result()

    async def on_worker(self, job: Callable[[], R]) -> R:
        """Run `job` on the clock's worker thread, after the work already given to it."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, job)

    def pause(self) -> None:
        """Stop ticking now (start goes on from the same origin); work already on the worker
        still finishes and is published."""
        if self._task is not None:
            self._task.cancel()  # it ends at its next await, before it could tick again
            self._task = None

    async def stop(self) -> None:
        """Stop ticking; work already on the worker still finishes and is published."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    def close(self) -> None:
        """Release the worker thread (after the work given to it)."""
        self._worker.shutdown(wait=True)

    async def _tick_forever(self, origin: float) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            tick = round((loop.time() - origin) / self.period)
            next_tick += self.period
            if not self._busy:
                self._run(tick)
            elif self._wait_one and self._waiting is None:
                self._waiting = tick
                self.waited += 1
            else:
                self.dropped += 1
            delay = next_tick - loop.time()
            if delay < -self.period:  # the loop itself stalled: skip ahead instead of bursting
                next_tick = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    def _run(self, tick: int) -> None:
        self._busy = True
        future = asyncio.get_running_loop().run_in_executor(self._worker, self._work(tick))
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[T]) -> None:
        self._busy = False
        try:
            self._hand_back(future)
        finally:
            waiting, self._waiting = self._waiting, None
            if waiting is not None and self._task is not None:
                self._run(waiting)  # its job takes what is newest now

    def _hand_back(self, future: asyncio.Future[T]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.error("%s: the work of a tick failed: %s", self.name, error)
            return
        self._publish(future.result())


def _be_nice(nice: int) -> None:
    """Lower this thread's scheduling priority by `nice` (Linux: a thread's own nice value)."""
    if nice and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
