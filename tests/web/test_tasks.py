"""A step repeated in the background (web/tasks.py): it outlives every failure, waits out a
database that is away quietly, says loudly which failures were bugs, and stops when told."""

from __future__ import annotations

import logging

import pytest

from harness.waiting import eventually
from schedules.outage import DatabaseUnavailable
from web.tasks import Repeating

LOG = "telebridge.test.tasks"


async def test_a_repeating_step_outlives_its_failures_and_names_the_bugs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[Exception | None] = [
        DatabaseUnavailable(ConnectionRefusedError("refused")),
        ValueError("a bug"),
        None,
    ]
    runs: list[int] = []

    async def step() -> None:
        runs.append(len(runs))
        outcome = outcomes[len(runs) - 1] if len(runs) <= len(outcomes) else None
        if outcome is not None:
            raise outcome

    repeating = Repeating(step, 0.01, "counting", logging.getLogger(LOG))
    with caplog.at_level(logging.DEBUG, logger=LOG):
        repeating.start()
        repeating.start()  # a second start is a no-op: one loop
        await eventually(lambda: len(runs) >= 5, message="the step runs on after its failures")
        await repeating.stop()
    assert not repeating.running
    after_stop = len(runs)
    assert runs == list(range(after_stop)), "one loop, never two steps at once"
    said = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert said == [
        (logging.DEBUG, "counting waits for the database (ConnectionRefusedError: refused)", False),
        (logging.ERROR, "counting failed", True),
    ]
