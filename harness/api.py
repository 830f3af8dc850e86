"""The server's JSON API from outside (urllib, no event loop): calls and a booking."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any


def api(
    base: str, token: str, method: str, path: str, body: Any = None, timeout: float = 45
) -> Any:
    """One API call with a bearer token; the decoded JSON answer (HTTPError on 4xx/5xx). The
    timeout is a bound against hanging on a loaded CI machine, not a measure of speed."""
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.loads(r.read())


def book(
    base: str,
    token: str,
    studios: list[str],
    starts_in: timedelta,
    title: str = "Live link test",
    quality: str | None = None,
) -> dict[str, str]:
    """Book an hour from `starts_in` from now with a 15 min line check (in the `quality`
    profile, else the default); join URLs per studio."""
    start = datetime.now(UTC) + starts_in
    body: dict[str, object] = {
        "title": title,
        "studios": studios,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "setup_minutes": 15,
    }
    if quality is not None:
        body["quality"] = quality
    booking = api(base, token, "POST", "/api/bookings", body)["booking"]
    links = api(base, token, "GET", f"/api/bookings/{booking['id']}/join-links")["links"]
    return {link["studio"]: link["url"] for link in links}
