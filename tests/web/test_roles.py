"""The role matrix: who may do what through the API, and what operators may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from webtools import Client, assert_error, booking_body, create

from web.services import BOOKINGS

H = dict[str, dict[str, str]]
ROLES = ("admin", "producer", "operator", "viewer", "anonymous")
CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found"}


@dataclass(frozen=True)
class Action:
    """One request of the matrix; `{own}` is a Trend + DHA booking, `{other}` a DHA + Qazcontent
    one (the Trend operator's studio is not in it). Mutating actions get fresh bookings."""

    name: str
    method: str
    path: str
    body: Any = None
    mutates: bool = False


A = Action
# Expected status per role, in the order of ROLES: admin, producer, operator, viewer, anonymous.
MATRIX: list[tuple[Action, tuple[int, int, int, int, int]]] = [
    (A("list studios", "GET", "/api/studios"), (200, 200, 200, 200, 401)),
    (A("add studio", "POST", "/api/studios", "studio", True), (201, 403, 403, 403, 401)),
    (A("list bookings", "GET", "/api/bookings"), (200, 200, 200, 200, 401)),
    (A("book", "POST", "/api/bookings", "booking", True), (201, 201, 403, 403, 401)),
    (A("get own", "GET", "/api/bookings/{own}"), (200, 200, 200, 200, 401)),
    (
        A("edit own", "PATCH", "/api/bookings/{own}", {"title": "Renamed"}, True),
        (200, 200, 403, 403, 401),
    ),
    (
        A("confirm own studio", "POST", "/api/bookings/{own}/confirm", {"studio": "trend"}, True),
        (200, 403, 200, 403, 401),
    ),
    (
        A("confirm other studio", "POST", "/api/bookings/{own}/confirm", {"studio": "dha"}, True),
        (200, 403, 403, 403, 401),
    ),
    (
        A("decline own studio", "POST", "/api/bookings/{own}/decline", {"studio": "trend"}, True),
        (200, 403, 200, 403, 401),
    ),
    (A("cancel own", "POST", "/api/bookings/{own}/cancel", None, True), (200, 200, 403, 403, 401)),
    (A("join links own", "GET", "/api/bookings/{own}/join-links"), (200, 200, 200, 403, 401)),
    (A("audit own", "GET", "/api/bookings/{own}/audit"), (200, 200, 200, 200, 401)),
    (A("ics own", "GET", "/api/bookings/{own}.ics"), (200, 200, 200, 200, 401)),
    # The operator's studio is not in {other}: it does not exist for the operator (no leak).
    (A("get other", "GET", "/api/bookings/{other}"), (200, 200, 404, 200, 401)),
    (
        A("edit other", "PATCH", "/api/bookings/{other}", {"title": "Renamed"}, True),
        (200, 200, 403, 403, 401),
    ),
    (
        A("confirm in other", "POST", "/api/bookings/{other}/confirm", {"studio": "dha"}, True),
        (200, 403, 404, 403, 401),
    ),
    (
        A("cancel other", "POST", "/api/bookings/{other}/cancel", None, True),
        (200, 200, 403, 403, 401),
    ),
    (A("join links other", "GET", "/api/bookings/{other}/join-links"), (200, 200, 404, 403, 401)),
    (A("audit other", "GET", "/api/bookings/{other}/audit"), (200, 200, 404, 200, 401)),
    (A("ics other", "GET", "/api/bookings/{other}.ics"), (200, 200, 404, 200, 401)),
]


async def test_role_matrix(app: web.Application, client: Client, headers: H) -> None:
    svc = app[BOOKINGS]
    slot = iter(range(2, 1000))

    async def pair() -> dict[str, str]:
        day = next(slot)
        own = await svc.create(booking_body(day, 10, studios=["trend", "dha"]), "setup")
        other = await svc.create(booking_body(day, 14, studios=["dha", "qazcontent"]), "setup")
        return {"own": own.created[0].id, "other": other.created[0].id}

    shared = await pair()
    failures = []
    for action, expected in MATRIX:
        assert len(expected) == len(ROLES)
        for role, status in zip(ROLES, expected, strict=True):
            ids = await pair() if action.mutates else shared
            body = action.body
            if body == "studio":
                n = next(slot)
                body = {
                    "id": f"studio-{n}",
                    "name": f"Studio {n}",
                    "organisation": "Test",
                    "city": "Baku",
                    "timezone": "Asia/Baku",
                }
            elif body == "booking":
                body = booking_body(next(slot), 18, studios=["trend", "kabar"])
            path = action.path.format(**ids)
            resp = await client.request(action.method, path, json=body, headers=headers[role])
            case = f"{role:9} {action.name:22} {action.method} {path}"
            try:
                if status >= 400:
                    error = await assert_error(resp, status, CODES[status])
                    if status == 404:
                        # The same answer as for a booking that does not exist at all.
                        assert ids["other"] in error["message"], error
                else:
                    text = await resp.text()
                    assert resp.status == status, f"expected {status}, got {resp.status}: {text}"
            except AssertionError as exc:
                failures.append(f"{case}: {exc}")
    assert not failures, f"{len(failures)} role-matrix cells wrong:\n" + "\n".join(failures)


async def test_operators_list_only_their_studios_bookings(client: Client, headers: H) -> None:
    h = headers["producer"]
    with_trend = await create(client, h, days=3, hour=10, studios=["dha", "trend"])
    without = await create(client, h, days=3, hour=10, studios=["ansa", "kabar"])
    for query in ("", "?studio=trend", "?studio=ansa", "?studio=dha"):
        resp = await client.get("/api/bookings" + query, headers=headers["operator"])
        assert resp.status == 200
        listed = (await resp.json())["bookings"]
        assert all("trend" in [s["id"] for s in b["studios"]] for b in listed), query
        assert without["id"] not in [b["id"] for b in listed]
    everything = (await (await client.get("/api/bookings", headers=headers["operator"])).json())[
        "bookings"
    ]
    assert with_trend["id"] in [b["id"] for b in everything]
    viewer = (await (await client.get("/api/bookings", headers=headers["viewer"])).json())[
        "bookings"
    ]
    assert {with_trend["id"], without["id"]} <= {b["id"] for b in viewer}


async def test_operators_get_only_their_studios_join_link(client: Client, headers: H) -> None:
    b = await create(client, headers["producer"], studios=["dha", "trend", "ansa"])
    resp = await client.get(f"/api/bookings/{b['id']}/join-links", headers=headers["operator"])
    assert resp.status == 200
    links = (await resp.json())["links"]
    assert [link["studio"] for link in links] == ["trend"]
    assert f"/join/{b['id']}/trend?" in links[0]["url"]
    everyone = await client.get(f"/api/bookings/{b['id']}/join-links", headers=headers["admin"])
    assert [link["studio"] for link in (await everyone.json())["links"]] == [
        "dha",
        "trend",
        "ansa",
    ]
