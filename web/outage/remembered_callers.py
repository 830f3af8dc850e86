"""Callers the server has recently checked against the database, for while it is down.

A producer in the middle of a show must still switch the program and pull a fader when the
booking database goes away, and master control must still reconnect. Tokens and sessions live
in the database, so each one the server accepted is remembered (by its digest only, with its
own expiry) and accepted again while the database cannot be asked. Nothing is remembered that
the database did not accept, and nothing can be revoked while it is down, so this grants no
more than the database would have.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from schedules.rules.access import Principal

REMEMBERED = 5000  # the most recently seen credentials; older ones need the database
LONGEST = timedelta(hours=24)  # a credential with no expiry of its own, seen this long ago


@dataclass(frozen=True)
class _Seen:
    principal: Principal
    valid_until: datetime


class RememberedCallers:
    """Credential digest -> the caller it was, until the credential's own expiry."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    def remember(
        self, digest: str, principal: Principal, now: datetime, expires: datetime | None
    ) -> None:
        """The database accepted this credential just now."""
        until = now + LONGEST if expires is None else min(expires, now + LONGEST)
        self._seen[digest] = _Seen(principal, until)
        self._seen.move_to_end(digest)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def forget(self, digest: str) -> None:
        """The credential was ended (logout, or the database refused it)."""
        self._seen.pop(digest, None)

    def recall(self, digest: str, now: datetime) -> Principal | None:
        """Who this credential was, if it was accepted before and has not expired since."""
        seen = self._seen.get(digest)
        if seen is None or seen.valid_until <= now:
            return None
        return seen.principal
