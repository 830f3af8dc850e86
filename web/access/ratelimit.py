"""Failed logins, limited per (user name, client address) pair and per address.

A pair may fail `limit` times; after that each further attempt of that pair waits twice as long
as the one before (1, 2, 4 ... s, at most `max_delay`), so guessing one password gets slow
while the same name from any other address is untouched: failing on purpose cannot lock
somebody else out. An address may fail on at most `limit` different names within the window
(one password tried on many logins). A pair is forgotten `window` seconds after its last
failure, or at once when its password was right. Waits run from when a failure is known.

An attempt counts as a failure from the moment it starts, before its password is checked: the
check runs off the event loop and takes a while, so attempts sent at once would otherwise all
be checked before the first failure was counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_DELAY_S = 60.0


@dataclass
class _Pair:
    """One name's failures from one address: how many, and when the last one started."""

    failures: int
    last: float


class FailureLimiter:
    """The login limiter; memory bounded by `max_keys` pairs."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        max_delay: float = MAX_DELAY_S,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self.max_delay = max_delay
        self._by_address: dict[str, dict[str, _Pair]] = {}
        self._pairs = 0

    def delay(self, failures: int) -> float:
        """Seconds a pair with `failures` must wait after its last one before trying again."""
        if failures < self.limit:
            return 0.0
        return min(self.max_delay, 2.0 ** (failures - self.limit))

    def begin(self, name: str, address: str) -> int:
        """Start an attempt: 0 when it may go ahead (it is counted as a failure from now on,
        unless `succeeded` or `withdraw` says otherwise), else the whole seconds to wait
        (nothing counted)."""
        now = self.clock()
        pairs = self._live(address, now)
        pair = pairs.get(name)
        if pair is None:
            if len(pairs) >= self.limit:
                return _seconds(min(p.last for p in pairs.values()) + self.window - now)
            self._make_room()
            pair = _Pair(0, now)
            self._by_address.setdefault(address, {})[name] = pair
            self._pairs += 1
        else:
            wait = pair.last + self.delay(pair.failures) - now
            if wait > 0:
                return _seconds(wait)
        pair.failures += 1
        pair.last = now
        return 0

    def failed(self, name: str, address: str) -> None:
        """The password was wrong: the pair's wait runs from now, when the failure is known
        (the check itself takes a good part of a second)."""
        pair = self._by_address.get(address, {}).get(name)
        if pair is not None:
            pair.last = max(pair.last, self.clock())

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: forget the pair's failures (and free its place among the
        address's names)."""
        self._drop(address, name)

    def withdraw(self, name: str, address: str) -> None:
        """The attempt got no answer (the database did not answer): take its count back."""
        pair = self._by_address.get(address, {}).get(name)
        if pair is not None:
            pair.failures -= 1
            if pair.failures <= 0:
                self._drop(address, name)

    def _live(self, address: str, now: float) -> dict[str, _Pair]:
        pairs = self._by_address.get(address, {})
        for name in [n for n, p in pairs.items() if now - p.last >= self.window]:
            self._drop(address, name)
        return pairs

    def _drop(self, address: str, name: str) -> None:
        pairs = self._by_address.get(address)
        if pairs is not None and pairs.pop(name, None) is not None:
            self._pairs -= 1
            if not pairs:
                del self._by_address[address]

    def _make_room(self) -> None:
        # Under a flood of distinct addresses, forget the stalest pair rather than grow
        # without end.
        if self._pairs < self.max_keys:
            return
        address, name = min(
            ((a, n) for a, pairs in self._by_address.items() for n in pairs),
            key=lambda key: self._by_address[key[0]][key[1]].last,
        )
        self._drop(address, name)


def _seconds(wait: float) -> int:
    """A wait as the whole seconds of a Retry-After header (never 0: 0 means go ahead)."""
    return max(1, math.ceil(wait))
