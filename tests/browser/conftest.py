"""A real `telebridge serve --demo` process and a real headless Chromium from Debian."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.chromium import CHROMIUM, launch_chromium
from harness.server import running_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The real server with the demo seeded, on a free loopback port; yields its base URL."""
    with running_server(tmp_path) as running:
        yield running.base


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[object]:
    """A fresh Chromium profile driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        context = launch_chromium(
            p, tmp_path / "chromium-profile", viewport={"width": 1400, "height": 1000}
        )
        # Generous: a bound against hanging on a loaded CI machine, not a measure of speed.
        context.set_default_timeout(45_000)
        try:
            yield context
        finally:
            context.close()
