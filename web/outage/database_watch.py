"""Whether the database answers, and what the server does until it does.

A show must not stop because the database restarts: the server starts even when the database
is down (every request that needs it gets 503, see web/errors.py), migrates the schema as soon
as the database answers, and only then starts what reads the bookings (the autopilot). Once up,
it keeps watching so that /healthz, /metrics and master control can say when it is not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from schedules.db import CONNECT_TIMEOUT, migrate, ping, safe_url
from schedules.outage import database_down, describe
from web.tasks import cancel_and_wait

log = logging.getLogger("telebridge.web.database")

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 15.0
WATCH_INTERVAL_S = 5.0
# One check without an answer is a slow moment (of the database, or of this loop under load);
# this many in a row (about half a minute) is a database that hangs: down, as if it refused.
UNANSWERED_CHECKS_DOWN = 3
# Migrating a large schema may take longer than a ping; still bounded.
MIGRATE_TIMEOUT_S = 60.0


class DatabaseWatch:
    """The database's state as the server last saw it, and the retry loop until it is ready."""

    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self.engine = engine
        self.where = safe_url(url)
        self.migrated = False
        self.up = False
        self.problem = ""  # the last error, one line, while the database is down
        self.unanswered = 0  # checks in a row that got no answer within their bound
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> bool:
        """Migrate now if the database answers; False (and a clear log line) if it does not."""
        try:
            async with asyncio.timeout(MIGRATE_TIMEOUT_S):
                await migrate(self.engine)
        except Exception as exc:
            if not database_down(exc):
                raise  # a real error (a broken schema, a bad URL): starting would be wrong
            self._went_down(describe(exc))
            return False
        self.migrated = True
        self._came_back()
        return True

    def start(self, when_ready: Callable[[], Awaitable[None]]) -> None:
        """Retry until migrated, then run `when_ready` once; afterwards keep watching."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run(when_ready))

    async def stop(self) -> None:
        """Stop watching."""
        await cancel_and_wait(self._task)
        self._task = None

    def status(self) -> str:
        """`ok` or `unavailable` (for /healthz and /metrics)."""
        return "ok" if self.up else "unavailable"

    async def _run(self, when_ready: Callable[[], Awaitable[None]]) -> None:
        delay = RETRY_FIRST_S
        while not self.migrated:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
            if await self.open():
                await when_ready()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            try:
                await ping(self.engine, CONNECT_TIMEOUT)
            except TimeoutError:
                self._unanswered()
            except Exception as exc:
                if database_down(exc):
                    self._went_down(describe(exc))
                else:
                    log.exception("database check failed")
            else:
                self._came_back()

    def _unanswered(self) -> None:
        # No answer within the bound: the database is slow, or this server is (its event loop
        # late under load). One such check is said in one line, not as a fault; requests go on
        # asking it. UNANSWERED_CHECKS_DOWN in a row is an outage, said as one.
        self.unanswered += 1
        if self.unanswered < UNANSWERED_CHECKS_DOWN:
            log.warning(
                "the database at %s did not answer a check within %g s",
                self.where,
                CONNECT_TIMEOUT,
            )
        else:
            self._went_down(
                f"no answer to {self.unanswered} checks in a row, {CONNECT_TIMEOUT:g} s each"
            )

    def _went_down(self, problem: str) -> None:
        if self.up or not self.problem:
            log.error(
                "database not answering at %s (%s); live rooms go on, requests that need it "
                "get 503, retrying",
                self.where,
                problem,
            )
        self.up, self.problem = False, problem

    def _came_back(self) -> None:
        self.unanswered = 0
        if not self.up and self.problem:
            log.warning("database answering again at %s", self.where)
        self.up, self.problem = True, ""
