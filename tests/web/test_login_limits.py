"""The login limit: counted before the password check, per (name, client address) pair with a
growing delay, and per address across names; nobody can lock somebody else out."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aiohttp import web
from helpers import DEMO_PASSWORD
from webtools import Client, anon_csrf

from web.access.ratelimit import FailureLimiter
from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, BOOKINGS, CLOCK, LIMITER, SETTINGS
from web.settings import Settings

ATTACKER = {"X-Forwarded-For": "203.0.113.7"}
VICTIM = {"X-Forwarded-For": "198.51.100.20"}
# Fewer than the default 5 where only the rule matters: every failure costs a real scrypt check.
LIMIT = 3
COLLEAGUES = ("producer", "admin", "viewer", "operator-trend", "operator-dha")


class Ticks:
    """A monotonic clock that a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def attempt(
    client: Client, name: str, password: str, headers: dict[str, str] | None = None
) -> tuple[int, str | None]:
    """One login through the form (token from a fresh GET); (status, Retry-After)."""
    token = await anon_csrf(client)
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "name": name, "password": password},
        headers=headers or {},
        allow_redirects=False,
    )
    await resp.read()
    return resp.status, resp.headers.get("Retry-After")


async def proxied_app(settings: Settings, aiohttp_client: Any, ticks: Ticks) -> Client:
    """The demo app behind a trusted proxy (X-Forwarded-For names the browser), LIMIT failed
    logins allowed, its login limiter on `ticks`."""
    app: web.Application = await make_app(
        replace(settings, trust_proxy="true", login_attempts=LIMIT)
    )
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], app[CLOCK]())
    app[LIMITER].clock = ticks
    client: Client = await aiohttp_client(app)
    return client


async def test_attempts_sent_at_once_are_counted_before_any_password_is_checked(
    app: web.Application, client: Client
) -> None:
    limit = app[SETTINGS].login_attempts
    token = await anon_csrf(client)

    async def guess(i: int) -> int:
        resp = await client.post(
            "/login",
            data={"csrf_token": token, "name": "producer", "password": f"guess-{i}"},
            allow_redirects=False,
        )
        await resp.read()
        return resp.status

    statuses = await asyncio.gather(*(guess(i) for i in range(40)))
    # Only `limit` of them had their password checked; the others were turned away at once.
    assert sorted(statuses) == [401] * limit + [429] * (40 - limit), statuses


async def test_failures_slow_down_one_name_from_one_address_and_nobody_else(
    settings: Settings, aiohttp_client: Any
) -> None:
    ticks = Ticks()
    client = await proxied_app(settings, aiohttp_client, ticks)
    for i in range(LIMIT):
        assert await attempt(client, "producer", f"guess-{i}", ATTACKER) == (401, None)

    # The pair now waits 1 s, and even the right password does not get through meanwhile.
    assert await attempt(client, "Producer", DEMO_PASSWORD, ATTACKER) == (429, "1")
    # Anyone else is untouched: the victim logs in from its own address...
    assert (await attempt(client, "producer", DEMO_PASSWORD, VICTIM))[0] == 303
    # ...and the attacker's address may still try other names.
    assert (await attempt(client, "viewer", "wrong", ATTACKER))[0] == 401

    # Each further failure of the pair doubles its wait.
    for wait in (1, 2, 4):
        ticks.now += wait - 0.5
        assert await attempt(client, "producer", "wrong", ATTACKER) == (429, "1")
        ticks.now += 0.5
        assert await attempt(client, "producer", "wrong", ATTACKER) == (401, None)
        assert await attempt(client, "producer", "wrong", ATTACKER) == (429, str(wait * 2))

    # A window without failures forgets the pair.
    ticks.now += settings.login_window_seconds
    assert (await attempt(client, "producer", DEMO_PASSWORD, ATTACKER))[0] == 303


async def test_one_address_may_fail_on_only_so_many_names(
    settings: Settings, aiohttp_client: Any
) -> None:
    ticks = Ticks()
    client = await proxied_app(settings, aiohttp_client, ticks)
    for i in range(LIMIT):
        assert (await attempt(client, f"nobody-{i}", "wrong", ATTACKER))[0] == 401
    # A new name from that address waits until the oldest failure leaves the window...
    status, retry = await attempt(client, "viewer", DEMO_PASSWORD, ATTACKER)
    assert (status, retry) == (429, str(settings.login_window_seconds))
    # ...while the names it already tried keep their own (shorter) count, and other
    # addresses do not notice.
    assert (await attempt(client, "nobody-0", "wrong", ATTACKER))[0] == 401
    assert (await attempt(client, "viewer", DEMO_PASSWORD, VICTIM))[0] == 303
    ticks.now += settings.login_window_seconds
    assert (await attempt(client, "viewer", DEMO_PASSWORD, ATTACKER))[0] == 303


async def test_a_right_password_takes_its_count_back(
    settings: Settings, aiohttp_client: Any
) -> None:
    client = await proxied_app(settings, aiohttp_client, Ticks())
    # Colleagues behind one address log in every morning: their logins use up nothing.
    assert len(COLLEAGUES) > LIMIT
    for name in COLLEAGUES:
        assert (await attempt(client, name, DEMO_PASSWORD, ATTACKER))[0] == 303
    # A right password forgets the pair's failures, all of them.
    for i in range(LIMIT - 1):
        assert (await attempt(client, "producer", f"typo-{i}", ATTACKER))[0] == 401
    assert (await attempt(client, "producer", DEMO_PASSWORD, ATTACKER))[0] == 303
    for i in range(LIMIT):
        assert (await attempt(client, "producer", f"typo-{i}", ATTACKER))[0] == 401


async def test_a_forged_forwarded_for_does_not_make_a_new_address(
    settings: Settings, aiohttp_client: Any
) -> None:
    # Without a trusted proxy the header is anyone's words: the pair stays the same one.
    app: web.Application = await make_app(
        replace(settings, trust_proxy="false", login_attempts=LIMIT)
    )
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], app[CLOCK]())
    app[LIMITER].clock = Ticks()
    client: Client = await aiohttp_client(app)
    for i in range(LIMIT):
        assert (await attempt(client, "producer", f"guess-{i}", ATTACKER))[0] == 401
    assert (await attempt(client, "producer", DEMO_PASSWORD, VICTIM))[0] == 429


def test_the_delay_grows_to_its_cap_and_memory_stays_bounded() -> None:
    ticks = Ticks()
    limiter = FailureLimiter(5, 300, max_keys=3, clock=ticks)
    for _ in range(5):
        assert limiter.begin("producer", "a") == 0
    waits = []
    for _ in range(10):
        wait = limiter.begin("producer", "a")
        waits.append(wait)
        ticks.now += wait
        assert limiter.begin("producer", "a") == 0
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]

    # A wait runs from when the failure is known, not from when its check began.
    for _ in range(5):
        assert limiter.begin("slow", "b") == 0
        ticks.now += 0.9  # the password check
        limiter.failed("slow", "b")
    ticks.now += 0.5
    assert limiter.begin("slow", "b") == 1  # 1.4 s after the check began, 0.5 s after it failed

    # An attempt that got no answer (the database was down) is taken back.
    assert limiter.begin("viewer", "a") == 0
    limiter.withdraw("viewer", "a")
    assert limiter.begin("viewer", "a") == 0

    # A flood of new addresses pushes out the stalest pairs, never grows past max_keys.
    for i in range(10):
        ticks.now += 1
        assert limiter.begin("admin", f"flood-{i}") == 0
    assert sum(len(pairs) for pairs in limiter._by_address.values()) == 3
    assert limiter._pairs == 3
