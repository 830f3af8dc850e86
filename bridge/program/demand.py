"""Who uses the program now: a room composes and encodes its picture only while someone does.

Composing and encoding the program's picture is most of a room's CPU (the relay alone costs a
fraction of it). Its users are the recording, the live outputs, the return feeds that consoles
show and the control rooms; each holds a claim while it uses the program. When the last claim
is let go the picture stops after a short linger (a console that reconnects, or a recording
stopped and started again, does not stop and restart the encoder), and the first new claim
starts it again at once, with a keyframe. The sound keeps running: its levels and silence are
what the monitor and the alerts watch, and it costs little.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("telebridge.bridge.program_demand")

LINGER_S = 10.0  # the program's picture goes on this long after its last user left


class Claim:
    """One user's hold on the program; `release` lets it go (once; again is a no-op)."""

    def __init__(self, demand: ProgramDemand, user: str) -> None:
        self.user = user
        self._demand: ProgramDemand | None = demand

    def release(self) -> None:
        """Let the program go (it stops after the linger if this was its last user)."""
        demand, self._demand = self._demand, None
        if demand is not None:
            demand.released(self)


class ProgramDemand:
    """Counts the program's users; calls `start` on the first, `stop` a linger after the last.

    Both are synchronous and called on the event loop, so a start can never overtake a stop
    still under way (and a user's first frame does not wait for the loop to come round).
    """

    def __init__(
        self,
        start: Callable[[], None],
        stop: Callable[[], None],
        linger: float = LINGER_S,
    ) -> None:
        self._start = start
        self._stop = stop
        self.linger = linger
        self._claims: list[Claim] = []
        self._stopping: asyncio.TimerHandle | None = None
        self._begun = False  # nothing starts before the room opens (begin)
        self._closed = False
        self.running = False

    @property
    def users(self) -> tuple[str, ...]:
        """Who holds the program now, as they named themselves."""
        return tuple(c.user for c in self._claims)

    def claim(self, user: str) -> Claim:
        """Hold the program for `user` ("recording", "output web", "return DHA"...); it runs
        from now on until every claim is released."""
        claim = Claim(self, user)
        if self._closed:
            return claim
        self._claims.append(claim)
        if self._stopping is not None:
            self._stopping.cancel()
            self._stopping = None
        if not self.running and self._begun:
            self.running = True
            log.info("program picture on (%s)", user)
            self._start()
        return claim

    def released(self, claim: Claim) -> None:
        """A claim was let go (called by Claim.release)."""
        if claim in self._claims:
            self._claims.remove(claim)
        if not self._claims and self.running and self._stopping is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._stopping = loop.call_later(self.linger, self._linger_over)

    def begin(self) -> None:
        """The room opened: the picture runs, and stops after the linger unless claimed."""
        self._begun = True
        self.running = True
        self._start()
        if not self._claims:
            self._stopping = asyncio.get_running_loop().call_later(self.linger, self._linger_over)

    def _linger_over(self) -> None:
        self._stopping = None
        if self._claims or not self.running:
            return
        self.running = False
        log.info("program picture off (nobody uses it)")
        self._stop()

    def close(self) -> None:
        """The room closes: no more starts or stops (the caller stops the engines)."""
        self._closed = True
        if self._stopping is not None:
            self._stopping.cancel()
            self._stopping = None
        self._claims.clear()
