"""A PostgreSQL server that stops mid-show or is down at start: clear 503s, the show goes on,
nothing is lost or half-written, and everything comes back by itself.

Each test runs its own PostgreSQL cluster (tests/pg_server.py) so that it can stop and start it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from databases import require_postgres
from live_studios import FMT, Studio, book, live_pair, sees
from pg_server import PgServer, running_pg
from webtools import Client, ClockedApp

from harness.waiting import eventually
from schedules.timeutil import rfc3339
from web.access.joinlinks import join_token
from web.outage.audit_outbox import RETRY_S
from web.services import GESTURES, OUTAGE, RECORDINGS, SIGNER
from web.settings import Settings

pytestmark = pytest.mark.usefixtures("test_network")
COME_BACK_WITHIN = 20.0  # seconds: the watch retries after 1, 2, 4, 8 s and pings every 5 s


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL cluster of this test alone, with an empty `app` database."""
    require_postgres()
    with running_pg(durable=True) as pg:  # crashed below: what it acknowledged must survive
        pg.sql("CREATE DATABASE app")
        yield pg


@pytest.fixture
def settings(tmp_path: Path, own_pg: PgServer) -> Settings:
    """The app on this test's own PostgreSQL (replaces the per-backend settings)."""
    return Settings.load(
        {}, data_dir=tmp_path / "data", secret="test-secret", database_url=own_pg.url("app")
    )


async def health(client: Client) -> dict[str, Any]:
    resp = await client.get("/healthz")
    assert resp.status == 200, await resp.text()  # alive whatever the database does
    doc: dict[str, Any] = await resp.json()
    return doc


async def wait_for_database(client: Client, state: str) -> None:
    async def says_so() -> bool:
        return bool((await health(client))["database"] == state)

    await eventually(
        says_so,
        timeout=COME_BACK_WITHIN,
        interval=0.2,
        message=f"/healthz saying the database is {state}",
    )


async def assert_unavailable(resp: Any) -> None:
    assert resp.status == 503, await resp.text()
    assert resp.headers["Retry-After"] == "5"
    doc = await resp.json()
    assert doc["error"]["code"] == "database_unavailable"
    assert "nothing was saved" in doc["error"]["message"]


def show(c: ClockedApp, days: int, title: str) -> dict[str, Any]:
    """A booking of Trend and DHA, an hour `days` after the app's clock."""
    starts = c.clock() + timedelta(days=days)
    return {
        "title": title,
        "studios": ["trend", "dha"],
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
    }


async def next_snapshot(ws: Any, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first monitor snapshot for which `wanted` holds (within COME_BACK_WITHIN s)."""
    deadline = time.monotonic() + COME_BACK_WITHIN
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "master control never showed it"
        message = await ws.receive_json(timeout=left)
        if message["type"] == "snapshot" and wanted(message):
            return dict(message)


async def bookings_titled(c: ClockedApp) -> list[str]:
    resp = await c.client.get("/api/bookings", headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    return sorted(b["title"] for b in (await resp.json())["bookings"])


async def test_an_outage_mid_show_keeps_the_room_live_and_loses_no_booking(
    clocked: ClockedApp, studios: Callable[..., Studio], own_pg: PgServer
) -> None:
    c = clocked
    links, trend, dha = await live_pair(c, studios)
    before = await c.client.post(
        "/api/bookings",
        json=show(c, 2, "Before the outage"),
        headers=c.headers["producer"],
    )
    assert before.status == 201, await before.text()
    stored = await bookings_titled(c)
    assert "Before the outage" in stored

    # Master control, connected before the outage (logging in needs the database).
    monitor = await c.client.ws_connect("/ws/monitor", headers=c.headers["producer"])

    own_pg.stop("immediate")  # a crash of the database server, not a polite shutdown
    during = show(c, 3, "During the outage")
    await assert_unavailable(
        await c.client.post("/api/bookings", json=during, headers=c.headers["producer"])
    )
    await assert_unavailable(await c.client.get("/api/bookings", headers=c.headers["producer"]))
    await wait_for_database(c.client, "unavailable")
    assert (await health(c.client))["status"] == "degraded"

    # Master control keeps its live figures and says what is wrong.
    snapshot = await next_snapshot(monitor, lambda m: m["database"] == "unavailable")
    assert [a["kind"] for a in snapshot["alerts"]] == ["database_unavailable"]
    (room,) = [r for r in snapshot["rooms"] if r["open"]]
    assert all(s["connected"] for s in room["studios"])

    # The show goes on: both studios still see each other, and one that drops out comes back
    # in (its join token is checked against the open room, not the database).
    await sees(trend, dha)
    await sees(dha, trend)
    await dha.close()
    dha_again = studios("dha", 200)
    await dha_again.join(c.client, links["dha"])
    await sees(trend, dha_again)
    await sees(dha_again, trend)

    # The producer directs the show as before (their token was checked before the outage),
    # and master control can reconnect; a token never seen gets the database's 503.
    booking_id = links["dha"].booking
    resp = await c.client.post(
        f"/api/bookings/{booking_id}/program",
        json={"layout": "solo", "studio": "dha"},
        headers=c.headers["producer"],
    )
    assert resp.status == 200, await resp.text()
    resp = await c.client.post(
        f"/api/bookings/{booking_id}/program/audio",
        json={"studio": "trend", "gain_db": -6},
        headers=c.headers["producer"],
    )
    assert resp.status == 200, await resp.text()
    await assert_unavailable(
        await c.client.post(
            f"/api/bookings/{booking_id}/program",
            json={"layout": "grid"},
            headers=c.headers["admin"],
        )
    )
    page = await c.client.get("/monitor", headers=c.headers["producer"])
    assert page.status == 200, await page.text()  # master control reloads its page
    # The producer reloads the booking page: the live controls are there, with a warning.
    page = await c.client.get(f"/bookings/{booking_id}", headers=c.headers["producer"])
    text = await page.text()
    assert page.status == 200, text
    assert 'id="database-down"' in text and 'id="live-control"' in text
    again = await c.client.ws_connect("/ws/monitor", headers=c.headers["producer"])
    hello = await again.receive_json(timeout=5)
    assert hello["type"] == "hello" and any(r["booking_id"] == booking_id for r in hello["rooms"])
    await again.close()
    # The fader comes to rest (by the app's clock): its line joins those waiting for the database,
    # with the time of the fader's last move.
    faded_at = rfc3339(c.clock())
    c.clock.advance(seconds=c.app[GESTURES].settle_s)
    await eventually(lambda: c.app[GESTURES].settling == 0, message="the fader's line queued")

    own_pg.start()
    await wait_for_database(c.client, "ok")
    c.clock.advance(seconds=RETRY_S)  # the audit outbox's next try is due
    assert (await health(c.client))["status"] == "ok"
    snapshot = await next_snapshot(monitor, lambda m: m["database"] == "ok")
    assert "database_unavailable" not in [a["kind"] for a in snapshot["alerts"]]
    # Cleared by the same sample that saw the database back.
    assert [a["kind"] for a in snapshot["changed"] if not a["active"]] == ["database_unavailable"]
    await monitor.close()
    # The refused booking was not half-written: sending it again is accepted, once.
    again = await c.client.post("/api/bookings", json=during, headers=c.headers["producer"])
    assert again.status == 201, await again.text()
    assert await bookings_titled(c) == sorted([*stored, "During the outage"])
    # What happened on air during the outage reaches the audit log once the database is back:
    # the rejoin, the program switch and the fader, in that order.
    actions: list[str] = []

    async def all_logged() -> list[dict[str, Any]] | None:
        resp = await c.client.get(
            f"/api/bookings/{booking_id}/audit", headers=c.headers["producer"]
        )
        events: list[dict[str, Any]] = (await resp.json())["events"]
        actions[:] = [e["action"] for e in events]
        # Trend, DHA, and DHA again.
        done = actions.count("studio joined") >= 3 and "changed the program sound" in actions
        return events if done else None

    events = await eventually(
        all_logged,
        timeout=COME_BACK_WITHIN,
        interval=0.3,
        message=lambda: f"the outage's lines in the audit log (it has {actions})",
    )
    switched = actions.index("switched the program")
    assert actions.index("changed the program sound") > switched
    assert events[switched]["details"] == {"layout": "solo", "studio": "dha"}
    # Each line keeps the time it happened at, not the time the database came back.
    faded = events[actions.index("changed the program sound")]
    assert faded["at"] == faded_at, (faded["at"], faded_at)


async def test_the_server_starts_with_the_database_down_and_migrates_when_it_answers(
    settings: Settings, own_pg: PgServer, aiohttp_client: Callable[..., Any]
) -> None:
    from web.app import make_app

    own_pg.stop("immediate")
    started = time.monotonic()
    app = await make_app(settings)  # no exception: it serves what it can
    client = await aiohttp_client(app)
    assert time.monotonic() - started < 10  # one bounded attempt, not a hang
    assert (await health(client))["database"] == "unavailable"
    await assert_unavailable(
        await client.get("/api/bookings", headers={"Authorization": "Bearer nope"})
    )
    login = await client.get("/login")
    assert login.status == 200  # pages that need no database still answer

    own_pg.start()
    await wait_for_database(client, "ok")
    # Migrated by the watch: the schema is there and the API answers (401 for a bad token,
    # which needs the accounts table).
    resp = await client.get("/api/bookings", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401, await resp.text()


async def test_a_show_due_during_an_outage_opens_records_and_is_filed_when_it_is_back(
    clocked: ClockedApp, studios: Callable[..., Studio], own_pg: PgServer
) -> None:
    c = clocked
    starts = c.clock() + timedelta(minutes=30)
    links = await book(c, starts)  # records; its line check opens 15 min before
    booking_id = links["trend"].booking
    for studio in ("trend", "dha"):  # confirmed: the autopilot puts it on air and completes it
        resp = await c.client.post(
            f"/api/bookings/{booking_id}/confirm",
            json={"studio": studio},
            headers=c.headers["admin"],
        )
        assert resp.status == 200, await resp.text()

    async def read_by_autopilot() -> bool:
        return c.app[OUTAGE].remembered(booking_id) is not None

    await eventually(
        read_by_autopilot,
        timeout=COME_BACK_WITHIN,
        interval=0.2,
        message="the autopilot read the new booking",
    )
    own_pg.stop("immediate")
    await wait_for_database(c.client, "unavailable")

    # The line check opens on time: the join page, the room, both studios live.
    c.clock.set(starts - timedelta(minutes=14))
    page = await c.client.get(f"/join/{booking_id}/trend?token={links['trend'].token}")
    assert page.status == 200, await page.text()
    assert "Caspian energy week" in await page.text()
    trend, dha = studios("trend", 40), studios("dha", 200)
    await trend.join(c.client, links["trend"])
    await dha.join(c.client, links["dha"])
    await sees(trend, dha)
    await sees(dha, trend)
    # A valid link of a show the autopilot never read gets the database's 503.
    unknown = join_token(c.app[SIGNER], "neverread", "trend")
    page = await c.client.get(f"/join/neverread/trend?token={unknown}")
    assert page.status == 503 and page.headers["Retry-After"] == "5", await page.text()

    # On air: the recording starts although the archive cannot be written yet.
    c.clock.set(starts + timedelta(seconds=1))

    async def recording() -> bool:
        return c.app[RECORDINGS].is_recording(booking_id)

    await eventually(
        recording, timeout=COME_BACK_WITHIN, interval=0.2, message="the recording started"
    )
    assert [r.booking_id for r in c.app[RECORDINGS].unstored] == [booking_id]
    await asyncio.sleep(3.0)  # stays: seconds of program recorded during the outage, to keep

    own_pg.start()
    await wait_for_database(c.client, "ok")

    async def live_in_database() -> bool:
        resp = await c.client.get(f"/api/bookings/{booking_id}", headers=c.headers["producer"])
        return resp.status == 200 and (await resp.json())["booking"]["status"] == "live"

    await eventually(
        live_in_database,
        timeout=COME_BACK_WITHIN,
        interval=0.2,
        message="the booking went live in the database",
    )
    assert c.app[RECORDINGS].unstored == []
    await sees(trend, dha)  # the show never stopped

    # Off air: the recording made during the outage is filed like any other.
    c.clock.set(starts + timedelta(hours=1, seconds=1))

    async def filed() -> bool:
        resp = await c.client.get(
            f"/api/recordings?booking={booking_id}", headers=c.headers["producer"]
        )
        found = (await resp.json())["recordings"] if resp.status == 200 else []
        return bool(found) and any(f["kind"] == "program" for f in found[0]["files"])

    await eventually(
        filed, timeout=COME_BACK_WITHIN, interval=0.2, message="the recording reached the archive"
    )
    resp = await c.client.get(f"/api/bookings/{booking_id}", headers=c.headers["producer"])
    assert (await resp.json())["booking"]["status"] == "completed"
