"""Two server processes on one PostgreSQL never double-book a studio.

Both servers get the same conflicting bookings at the same instant (a barrier releases the two
requests together), round after round; in each round exactly one is accepted and the other
gets 409 naming the booking that won, and afterwards no studio has two bookings that overlap.
"""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.server import ServerProcess, producer_token, running_server

ROUNDS = 12
FMT = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def two_servers(tmp_path: Path, shared_database: str) -> Iterator[tuple[ServerProcess, ...]]:
    """Two `telebridge serve` processes with their own data dirs and one database."""
    settings = {"TELEBRIDGE_DATABASE_URL": shared_database, "TELEBRIDGE_SECRET": "race-secret"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        running_server(tmp_path / "a", settings) as a,
        running_server(tmp_path / "b", settings) as b,
    ):
        yield a, b


def post(base: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        base + "/api/bookings",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def race(
    servers: tuple[ServerProcess, ...], token: str, bodies: list[dict[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """POST bodies[i] to servers[i], all released at the same instant; their answers."""
    results: list[tuple[int, dict[str, Any]]] = [(0, {})] * len(servers)
    barrier = threading.Barrier(len(servers))

    def send(i: int) -> None:
        barrier.wait(timeout=10)
        results[i] = post(servers[i].base, token, bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(servers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def slot(start: datetime, minutes: int, studios: list[str], title: str) -> dict[str, Any]:
    return {
        "title": title,
        "studios": studios,
        "starts_at": start.strftime(FMT),
        "ends_at": (start + timedelta(minutes=minutes)).strftime(FMT),
    }


def test_simultaneous_conflicting_bookings_on_two_servers_accept_exactly_one(
    two_servers: tuple[ServerProcess, ServerProcess], shared_database: str
) -> None:
    a, b = two_servers
    # One database: valid on both servers.
    token = producer_token(a.data, {"TELEBRIDGE_DATABASE_URL": shared_database})
    base = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    for n in range(ROUNDS):
        start = base + timedelta(hours=3 * n)
        # The two overlap by half an hour and share one studio, listed in different orders
        # (locks are taken in sorted order, so the two never deadlock).
        bodies = [
            slot(start, 60, ["trend", "dha"], f"Round {n} on A"),
            slot(start + timedelta(minutes=30), 60, ["uza", "dha"], f"Round {n} on B"),
        ]
        results = race((a, b), token, bodies)
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409], f"round {n}: {results}"
        winner = next(doc for status, doc in results if status == 201)["booking"]
        loser = next(doc for status, doc in results if status == 409)["error"]
        assert loser["code"] == "conflict"
        assert {c["booking_id"] for c in loser["conflicts"]} == {winner["id"]}
        assert {c["studio_id"] for c in loser["conflicts"]} == {"dha"}

    # What the database holds, read through the other server: one booking per round, no studio
    # booked twice at once.
    request = urllib.request.Request(
        b.base + "/api/bookings", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        bookings = [bk for bk in json.loads(r.read())["bookings"] if bk["title"][:5] == "Round"]
    assert len(bookings) == ROUNDS
    busy: dict[str, list[tuple[str, str]]] = {}
    for bk in bookings:
        for studio in bk["studios"]:
            busy.setdefault(studio["id"], []).append((bk["starts_at"], bk["ends_at"]))
    for sid, spans in busy.items():
        spans.sort()
        for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
            assert e1 <= s2, f"{sid} is booked twice at once: {spans}"
