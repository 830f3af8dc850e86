"""Media tests that either of .ci/run's two pytest processes may run, whichever is free first.

.ci/run runs the media tests in one process and the storage, HTTP and page tests in another,
beside it. The page tests end long before the media tests on a quiet machine, which left a core
idle for minutes. So the media tests that do not drive Chromium (the bridge's and the WebRTC
ones of tests/web) are `pooled`: both processes select them and run them last, and each test
goes to the process that claims it first, by creating a file named after it in the directory
that `TELEBRIDGE_TEST_CLAIMS` names (O_EXCL: one creator wins). The other process passes over
it without a report. Without that setting (a developer's own `pytest`) every test selected runs.

Two media tests then run at once only after the page tests are done: the same load as a media
test beside the page tests, one core busy, which the media tests are written to pass under. The
page process runs them at the media process's priority, not its own lower one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import pytest

CLAIMS_SETTING = "TELEBRIDGE_TEST_CLAIMS"
POOLED = "pooled"


def claims_directory() -> Path | None:
    """Where the two processes claim pooled tests, when .ci/run set one up."""
    value = os.environ.get(CLAIMS_SETTING)
    return Path(value) if value else None


def claim(directory: Path, nodeid: str) -> bool:
    """Whether this process is the first to claim the test (and so runs it)."""
    name = hashlib.sha256(nodeid.encode()).hexdigest()
    try:
        os.close(os.open(directory / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


def pooled_last(items: list[pytest.Item]) -> None:
    """Put the pooled tests after the others, in place (each process runs its own first)."""
    items.sort(key=lambda item: item.get_closest_marker(POOLED) is not None)


def run_at_media_priority() -> None:
    """Run from now on at the priority of the media process (.ci/run starts the page tests at
    nice 10); a process that may not raise its priority (not root) stays as it is."""
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


class SharedPool:
    """The pytest plugin: runs a pooled test only when this process claims it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.priority_raised = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        if item.get_closest_marker(POOLED) is None:
            return None
        if claim(self.directory, item.nodeid):
            if not self.priority_raised:
                run_at_media_priority()
                self.priority_raised = True
            return None  # pytest runs it as usual
        # The other process runs it: tear down what the previous test left set up and the next
        # one does not need, as running it would have (pytest's own step after a teardown).
        item.session._setupstate.teardown_exact(nextitem)
        return True
