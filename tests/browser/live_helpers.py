"""Helpers of the live browser tests: waiting on a console's stats (the API calls are in
harness/)."""

from __future__ import annotations

import time
from typing import Any

from harness.waiting import eventually_sync

# The least any wait in a page gets (see `wait`).
PATIENCE_S = 45.0


def wait(page: Any, expression: str, timeout_s: float) -> float:
    """Seconds until `expression` is true in the page (fails after `timeout_s`, saying what
    the console's stats were then)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    # A bound against hanging, never a measure of speed: a loaded CI machine (two or three
    # times slower than a quiet one) gets at least PATIENCE_S whatever the test expects.
    timeout_s = max(timeout_s, PATIENCE_S)
    try:
        page.wait_for_function(expression, timeout=timeout_s * 1000, polling=200)
    except PlaywrightTimeout:
        stats = page.evaluate(
            "() => JSON.stringify(window.telebridge ? window.telebridge.stats : null)"
        )
        raise AssertionError(f"not within {timeout_s:g} s: {expression}\nstats: {stats}") from None
    return time.monotonic() - started


# The lighter profile, for tests whose point is not the picture's size: every console's
# encoder and every decoder of its picture cost about half as much at 960x540 as at 1280x720,
# and the suite runs on two shared cores.
LIGHT_QUALITY = "540p30"
LIGHT = (960, 540)


def sees(partner: str, width: int = 1280, height: int = 720) -> str:
    return (
        f"() => {{ const p = window.telebridge && window.telebridge.stats.partners['{partner}'];"
        f" return p && p.width === {width} && p.height === {height} && p.audioBytes > 0"
        " && p.status === 'live'; }"
    )


SENT_FPS = "() => { const o = window.telebridge.stats.outbound; return o ? o.fps || 0 : 0; }"


def received_fps(partner: str) -> str:
    return (
        f"() => {{ const p = window.telebridge.stats.partners['{partner}'];"
        " return p ? p.fps || 0 : 0; }"
    )


def relayed_rates(
    sender: Any, receiver: Any, partner: str, floor: float = 12, ratio: float = 0.8
) -> tuple[float, float]:
    """(sent, received) frame rates once the receiver gets at least `ratio` of what the sender
    encodes, and at least `floor` fps."""

    def rates() -> tuple[float, float] | None:
        sent = float(sender.evaluate(SENT_FPS))
        got = float(receiver.evaluate(received_fps(partner)))
        return (sent, got) if sent >= floor and got >= min(sent * ratio, 25) else None

    return eventually_sync(
        rates,
        timeout=20,
        interval=0.5,
        message=lambda: (
            f"{partner} relayed at the rate it is sent: sent/received "
            f"{sender.evaluate(SENT_FPS)}/{receiver.evaluate(received_fps(partner))} fps"
        ),
    )
