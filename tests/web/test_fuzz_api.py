"""Property-based fuzzing of the HTTP API and of the SDP offers (issue 12), on the real app.

For any request drawn from the API's own description (each route's path, query string and
body, mostly well-formed and now and then hostile; tests/web/api_strategies.py): no 5xx, no
dropped connection, the one error shape, and nothing stored changes unless the request was
accepted. For any offer drawn as edits of a real aiortc peer's offer: a 400 `bad_offer` or
an answer, and never anything else.

Bounded for CI (a fixed number of examples, no deadline: the machine may be loaded) and
reproducible: the seed is fixed and printed; TELEBRIDGE_FUZZ_SEED=<n> tries another one, and
TELEBRIDGE_FUZZ_EXAMPLES=<n> runs longer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from api_strategies import FAR_TIMES, ApiRequest, Strategies, operations
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st
from live_studios import Link, Studio, book
from sdp_mutations import fuzzed
from webtools import Client, ClockedApp, check_error, create, stored_state

from schedules import db
from schedules.timeutil import utc_now
from web.services import BOOKINGS

SEED = int(os.environ.get("TELEBRIDGE_FUZZ_SEED", "12"))
SCALE = int(os.environ.get("TELEBRIDGE_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    deadline=None,  # a loaded CI machine answers slowly now and then: not a failure
    database=None,  # nothing kept between runs: the seed alone says what runs
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app for all examples, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)
# The database plays no part in what is fuzzed: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
OPERATIONS = operations()
TIMED = [op for op in OPERATIONS if op.takes_times]
Ids = tuple[dict[str, list[str]], list[str]]
SAFE = ("GET", "HEAD")


@pytest.fixture(autouse=True)
def say_the_seed() -> None:
    print(f"fuzz seed {SEED} (TELEBRIDGE_FUZZ_SEED={SEED} runs the same examples again)")


@pytest.fixture
async def ids(app: web.Application, client: Client, headers: dict[str, dict[str, str]]) -> Ids:
    """What the drawn requests may name: bookings in several states, an output, the studios."""
    producer = headers["producer"]
    requested = await create(client, producer, days=3)
    confirmed = await create(client, producer, days=4)
    for studio in confirmed["studios"]:
        path = f"/api/bookings/{confirmed['id']}/confirm"
        await client.post(path, json={"studio": studio["id"]}, headers=headers["admin"])
    cancelled = await create(client, producer, days=5)
    await client.post(f"/api/bookings/{cancelled['id']}/cancel", json={}, headers=producer)
    resp = await client.post(
        f"/api/bookings/{requested['id']}/outputs",
        json={"kind": "rtmp", "name": "Feed", "url": "rtmp://127.0.0.1:1/live", "key": "k"},
        headers=producer,
    )
    assert resp.status == 201, await resp.text()
    output = (await resp.json())["output"]["id"]
    studios = list(await app[BOOKINGS].studios_by_id())
    bookings = [requested["id"], confirmed["id"], cancelled["id"]]
    return {"booking_id": bookings, "output_id": [output]}, studios


@pytest.fixture
def strategies(ids: Ids) -> Strategies:
    return Strategies(*ids, utc_now())


@pytest.fixture
def far_times(ids: Ids) -> Strategies:
    """Every time drawn at the ends of the calendar, with offsets up to almost a day."""
    days = FAR_TIMES.map(lambda t: t[:10])
    return Strategies(*ids, utc_now(), times=st.one_of(FAR_TIMES, days))


async def send(client: Client, req: ApiRequest, headers: dict[str, str]) -> ClientResponse:
    kw: dict[str, Any] = {"params": req.query, "headers": {**headers, **req.headers}}
    if isinstance(req.body, bytes):
        kw["data"] = req.body
        kw["headers"]["Content-Type"] = "application/json"
    elif req.has_body:
        kw["json"] = req.body
    return await client.request(req.method, req.path, allow_redirects=False, **kw)


@settings(FUZZ, max_examples=SCALE or 200)
@seed(SEED)
@given(data=st.data())
async def test_any_api_request_is_answered_without_a_server_error(
    app: web.Application,
    client: Client,
    headers: dict[str, dict[str, str]],
    strategies: Strategies,
    data: st.DataObject,
) -> None:
    req = data.draw(strategies.request(OPERATIONS), label="request")
    await answered_without_a_server_error(app, client, headers, req)


@settings(FUZZ, max_examples=SCALE or 100)
@seed(SEED)
@given(data=st.data())
async def test_any_time_at_the_ends_of_the_calendar_is_answered_without_a_server_error(
    app: web.Application,
    client: Client,
    headers: dict[str, dict[str, str]],
    far_times: Strategies,
    data: st.DataObject,
) -> None:
    """The routes that read times, with every time drawn near year 1 or 9999 (issue 12):
    a search over all routes meets such a time too seldom to count on."""
    req = data.draw(far_times.request(TIMED), label="request")
    await answered_without_a_server_error(app, client, headers, req)


async def answered_without_a_server_error(
    app: web.Application, client: Client, headers: dict[str, dict[str, str]], req: ApiRequest
) -> None:
    """The properties of every request: no 5xx, the error shape, nothing stored unless
    accepted."""
    before = await stored_state(app)
    resp = await send(client, req, headers[req.role])  # a dropped connection raises here
    text = await resp.text()
    event(f"answered {resp.status}")  # --hypothesis-show-statistics shows the spread
    assert resp.status < 500, f"{resp.status}: {text[:300]}"
    if resp.status >= 400 and resp.content_type == "application/json":
        code = json.loads(text)["error"]["code"]
        check_error(resp.status, resp.content_type, text, resp.status, code)
    if resp.status >= 300 or req.method in SAFE:
        assert await stored_state(app) == before, f"refused with {resp.status}, yet stored"


ACTOR = list(db.audit_events.c.keys()).index("actor")


async def stored_by_requests(app: web.Application) -> dict[str, list[tuple[Any, ...]]]:
    """`stored_state` less the room's own audit lines: the bridge reports a studio joining
    (or leaving, when an answered offer's connection fails) as it happens, during the examples
    after the one that caused it."""
    state = await stored_state(app)
    state["audit_events"] = [r for r in state["audit_events"] if r[ACTOR] != "bridge"]
    return state


@pytest.fixture
async def live_link(clocked: ClockedApp, studios: Callable[..., Studio]) -> tuple[Link, str]:
    """A booking open for joining (its room opens with the first offer) and a real offer."""
    ln = await book(clocked, clocked.clock() + timedelta(minutes=5))
    offer = await studios("dha", 200).offer()
    return ln["dha"], offer


@pytest.mark.usefixtures("test_network")
@settings(FUZZ, max_examples=SCALE or 150)
@seed(SEED)
@given(data=st.data())
async def test_any_offer_is_answered_or_refused_with_a_400(
    clocked: ClockedApp, live_link: tuple[Link, str], data: st.DataObject
) -> None:
    link, real = live_link
    offer = data.draw(fuzzed(real), label="offer")
    before = await stored_by_requests(clocked.app)
    if isinstance(offer, str):
        resp = await clocked.client.post(link.session(), json={"sdp": offer})
    else:
        auth = {"Authorization": f"Bearer {link.token}", "Content-Type": "application/sdp"}
        resp = await clocked.client.post(link.whip, data=offer, headers=auth)
    text = await resp.text()
    event(f"answered {resp.status}")
    if resp.status in (200, 201):
        return
    check_error(resp.status, resp.content_type, text, 400, "bad_offer")
    assert await stored_by_requests(clocked.app) == before, "a refused offer changed what is stored"
