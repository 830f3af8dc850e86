"""Helpers of the live browser tests: waiting on a console's stats (the API calls are in
harness/)."""

from __future__ import annotations

import time
from typing import Any


def wait(page: Any, expression: str, timeout_s: float) -> float:
    """Seconds until `expression` is true in the page (fails after `timeout_s`)."""
    started = time.monotonic()
    page.wait_for_function(expression, timeout=timeout_s * 1000, polling=200)
    return time.monotonic() - started


def sees(partner: str, width: int = 1280, height: int = 720) -> str:
    return (
        f"() => {{ const p = window.telebridge && window.telebridge.stats.partners['{partner}'];"
        f" return p && p.width === {width} && p.height === {height} && p.audioBytes > 0"
        " && p.status === 'live'; }"
    )
