"""What the audience's routes read, kept for a moment: every viewer's player reloads the
playlist every second or two, and a thousand viewers must not make a thousand database queries
and file reads a second. A booking is kept BOOKING_TTL_S (a change of its stream access or a
cancellation reaches viewers that much later), a playlist PLAYLIST_TTL_S (the bridge replaces
it every 2 s; nginx's /live/ block keeps it a second as well)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from schedules.model import Booking

BOOKING_TTL_S = 2.0
PLAYLIST_TTL_S = 0.5
ENTRIES = 512  # bookings watched at once; the oldest entry goes first

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key as read in the last `ttl` seconds (bounded; least recently read first
    out). Errors are never kept: the next request asks again."""

    def __init__(self, ttl: float, entries: int = ENTRIES, keep_none: bool = True) -> None:
        self.ttl = ttl
        self.entries = entries
        self.keep_none = keep_none  # False: a missing value is read again at once
        self._kept: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def forget(self, key: K) -> None:
        """Read `key` afresh next time."""
        self._kept.pop(key, None)

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The value of `key`: kept, or `read()` now and kept."""
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl:
            self._kept.move_to_end(key)
            return kept[1]
        value = await read()
        if value is None and not self.keep_none:
            return value
        self._kept[key] = (now, value)
        self._kept.move_to_end(key)
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)
        return value


class WatchCache:
    """The audience routes' bookings and playlists."""

    def __init__(self) -> None:
        self.bookings: Recent[str, tuple[Booking, bool]] = Recent(BOOKING_TTL_S)
        # A stream that is not live yet is looked for again at once: it starts the moment its
        # first playlist is there.
        self.playlists: Recent[str, str | None] = Recent(PLAYLIST_TTL_S, keep_none=False)
