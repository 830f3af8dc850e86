"""What the audience's routes read, kept for a moment: every viewer's player reloads the
playlist every second or two, and a thousand viewers must not make a thousand database queries
and file reads a second. A booking is kept BOOKING_TTL_S (a change of its stream access or a
cancellation reaches viewers that much later, twice that at most while it is read again), a
playlist PLAYLIST_TTL_S (the bridge replaces it every 2 s; nginx's /live/ block keeps it a
second as well)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from schedules.model import Booking

BOOKING_TTL_S = 2.0
PLAYLIST_TTL_S = 0.5
ENTRIES = 512  # bookings watched at once; the oldest entry goes first
# A kept value this many ttls past its time is still served while it is read again.
STALE_TTLS = 1

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key as read in the last `ttl` seconds (bounded; least recently read first
    out). Errors are never kept: the next request asks again.

    A value is read by one request at a time: the requests that miss while it is being read
    wait for that read (a thousand players whose playlist expired together make one query,
    not a thousand that queue for the database's connections), and for up to STALE_TTLS
    more ttls the value kept is served at once while it is read again."""

    def __init__(
        self,
        ttl: float,
        entries: int = ENTRIES,
        keep_none: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.entries = entries
        self.keep_none = keep_none  # False: a missing value is read again at once
        self._kept: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._reading: dict[K, asyncio.Task[V]] = {}

    def forget(self, key: K) -> None:
        """Read `key` afresh next time."""
        self._kept.pop(key, None)

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The value of `key`: kept, or `read()` now (once for all who ask meanwhile)."""
        now = self.clock()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl:
            self._kept.move_to_end(key)
            return kept[1]
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._read(key, read))
            # Its error reaches whoever waits for it; a read nobody waits for (a kept value
            # was served meanwhile) fails quietly and the next request asks again.
            reading.add_done_callback(_retrieve)
            self._reading[key] = reading
        if kept is not None and now - kept[0] < self.ttl * (1 + STALE_TTLS):
            return kept[1]  # a moment old; the read under way brings the next one
        # Shielded: a viewer who hangs up must not cancel the read the others wait for.
        return await asyncio.shield(reading)

    async def _read(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await read()
        finally:
            self._reading.pop(key, None)
        if value is None and not self.keep_none:
            self._kept.pop(key, None)
            return value
        self._kept[key] = (self.clock(), value)
        self._kept.move_to_end(key)
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)
        return value


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()


class WatchCache:
    """The audience routes' bookings and playlists."""

    def __init__(self) -> None:
        self.bookings: Recent[str, tuple[Booking, bool]] = Recent(BOOKING_TTL_S)
        # A stream that is not live yet is looked for again at once: it starts the moment its
        # first playlist is there.
        self.playlists: Recent[str, str | None] = Recent(PLAYLIST_TTL_S, keep_none=False)
