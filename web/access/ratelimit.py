"""A sliding-window limiter of failed login attempts, by user name and by client address."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """Allows `limit` failures per key within `window` seconds; memory bounded by `max_keys`."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds until another attempt is allowed for all `keys` (0: allowed now)."""
        wait = 0.0
        for key in keys:
            q = self._recent(key)
            if len(q) >= self.limit:
                wait = max(wait, q[0] + self.window - self.clock())
        return int(wait) + 1 if wait > 0 else 0

    def fail(self, *keys: str) -> None:
        """Count one failed attempt against every key."""
        now = self.clock()
        if len(self._failures) >= self.max_keys:
            # Under a flood of distinct keys, forget the stalest rather than grow without end.
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]
        for key in keys:
            self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)

    def succeed(self, *keys: str) -> None:
        """Forget the failures of `keys` after a good login."""
        for key in keys:
            self._failures.pop(key, None)
