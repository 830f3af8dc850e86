"""Helpers of the live browser tests: bookings through the API, waiting on console stats."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def producer_token(data_dir: Path) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "web.cli",
            "token",
            "create",
            "--role",
            "producer",
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


def book(base: str, token: str, studios: list[str], starts_in: timedelta) -> dict[str, str]:
    start = datetime.now(UTC) + starts_in
    booking = api(
        base,
        token,
        "POST",
        "/api/bookings",
        {
            "title": "Live link test",
            "studios": studios,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "setup_minutes": 15,
        },
    )["booking"]
    links = api(base, token, "GET", f"/api/bookings/{booking['id']}/join-links")["links"]
    return {link["studio"]: link["url"] for link in links}


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
