"""The database watch when the database (or this server) is too slow to answer a check."""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from pg_server import PgServer, pg_bindir, running_pg

from harness.waiting import eventually
from schedules.db import make_engine
from web.outage import database_watch
from web.outage.database_watch import DatabaseWatch

pytestmark = pytest.mark.skipif(pg_bindir() is None, reason="needs Debian's postgresql")


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended meanwhile
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == parent:
            found.append(int(stat.parent.name))
    return found


@contextmanager
def frozen(pg: PgServer) -> Iterator[None]:
    """Every process of the PostgreSQL server stopped (SIGSTOP): connections stay open and
    nothing answers, as with a server stuck on its disk or a network that drops everything."""
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    pids = [postmaster, *_children(postmaster)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@asynccontextmanager
async def watched(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[PgServer, DatabaseWatch]]:
    """A private PostgreSQL and a started watch on it, checking every 0.2 s with a 0.5 s bound."""
    monkeypatch.setattr(database_watch, "WATCH_INTERVAL_S", 0.2)
    monkeypatch.setattr(database_watch, "CONNECT_TIMEOUT", 0.5)
    caplog.set_level(logging.INFO, logger="telebridge.web.database")
    with running_pg() as pg:
        engine = make_engine(pg.url())
        watch = DatabaseWatch(engine, pg.url())
        try:
            assert await watch.open()

            async def ready() -> None:
                return None

            watch.start(ready)
            yield pg, watch
        finally:
            await watch.stop()
            await engine.dispose()


async def test_a_check_without_an_answer_in_time_is_a_warning_not_a_fault(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under load a check can go unanswered for its whole bound: that is said in one line,
    not logged as a fault with a traceback (which an operator reads as a broken database)."""
    async with watched(monkeypatch, caplog) as (pg, watch):
        with frozen(pg):
            await eventually(
                lambda: "did not answer" in caplog.text, timeout=30, message="the warning"
            )
        await eventually(lambda: watch.up, timeout=30, message="answering again")
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not faults, [r.getMessage() for r in faults]
    said = [r for r in caplog.records if "did not answer" in r.getMessage()]
    assert said[0].levelno == logging.WARNING and said[0].exc_info is None


async def test_a_database_that_hangs_for_several_checks_is_down_until_it_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that stops answering without refusing (stuck on its disk, a network that
    drops everything) is an outage once UNANSWERED_CHECKS_DOWN checks in a row got no answer:
    /healthz and master control say so, and it is up again with its first answer."""
    async with watched(monkeypatch, caplog) as (pg, watch):
        with frozen(pg):
            await eventually(lambda: not watch.up, timeout=30, message="down")
            assert watch.status() == "unavailable"
            found = re.fullmatch(r"no answer to (\d+) checks in a row, 0.5 s each", watch.problem)
            assert found and int(found[1]) >= 3, watch.problem
        await eventually(lambda: watch.up, timeout=30, message="answering again")
        assert (watch.status(), watch.problem, watch.unanswered) == ("ok", "", 0)
    said = [r.getMessage() for r in caplog.records]
    warned = [m for m in said if "did not answer a check" in m]
    assert len(warned) == database_watch.UNANSWERED_CHECKS_DOWN - 1, said
    down = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(down) == 1 and "no answer to 3 checks in a row" in down[0].getMessage(), said
    assert any("answering again" in m for m in said), said
