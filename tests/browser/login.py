"""Logging a demo user in through the login form (every demo login has the same password)."""

from __future__ import annotations

from typing import Any

DEMO_PASSWORD = "telebridge-demo"


def log_in(page: Any, base: str, name: str, then: str = "/bookings") -> None:
    """Log `name` in (anyone logged in before is logged out) and land on `then`."""
    page.context.clear_cookies()
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"**{then}")
