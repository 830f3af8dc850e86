"""The program's graphics over the API: who may change what, every refusal with its documented
status, markup kept as text, the logo's checks, CSRF, the answers in the shape the API
description gives, and the room's program following what is kept (at once, or when it opens)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from openapi_check import response_validator
from PIL import Image
from webtools import Client, ClockedApp, assert_error, create, login, session_csrf

from harness.waiting import eventually
from web.http.graphics import graphics_context
from web.pages import i18n
from web.services import BOOKINGS, CATALOGS, LIVE, TEMPLATES

H = dict[str, dict[str, str]]
DEMO_PASSWORD = "telebridge-demo"


@pytest.fixture
def backend() -> str:
    """Storage is tested on both databases in tests/schedules; here the HTTP side."""
    return "sqlite"


def png(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (255, 200, 0, 160)).save(out, format="PNG")
    return out.getvalue()


async def checked(
    client: Client, method: str, path: str, template: str, status: int, **kw: Any
) -> Any:
    """Call the API; the answer has `status` and matches its schema in /api/openapi.json."""
    doc = await (await client.get("/api/openapi.json")).json()
    resp = await client.request(method, path, **kw)
    text = await resp.text()
    assert resp.status == status, f"{method} {path}: {resp.status} {text}"
    body = await resp.json()
    validator = response_validator(doc, method, template, status, resp.content_type)
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors
    return body


GRAPHICS = "/api/bookings/{booking_id}/graphics"


async def test_a_producer_sets_texts_shows_and_hides_a_lower_third(
    client: Client, headers: H
) -> None:
    producer = headers["producer"]
    booking = await create(client, producer)
    path = f"/api/bookings/{booking['id']}/graphics"
    empty = await checked(client, "GET", path, GRAPHICS, 200, headers=producer)
    assert empty["graphics"]["language"] is None and empty["graphics"]["on_air"] is None
    assert [lt["visible"] for lt in empty["graphics"]["lower_thirds"]] == [False, False]

    texts = {
        "texts": [
            {"studio": "trend", "language": "az", "name": "Ayşə Məmmədova", "title": "İqtisadçı"},
            {"studio": "trend", "language": "ru", "name": "Айша Мамедова", "title": "Экономист"},
        ]
    }
    kept = await checked(
        client, "PUT", f"{path}/texts", GRAPHICS + "/texts", 200, json=texts, headers=producer
    )
    assert kept["graphics"]["languages"] == ["az", "ru"] and kept["graphics"]["language"] == "az"

    shown = await checked(
        client,
        "POST",
        path,
        GRAPHICS,
        200,
        json={
            "studio": "dha",
            "lower_third": {"name": "<script>alert(1)</script> Ali", "title": "Muhabir"},
            "language": "ru",
            "visible": True,
        },
        headers=headers["admin"],
    )
    g = shown["graphics"]
    assert g["language"] == "ru"
    assert g["lower_thirds"] == [
        {
            "studio": "trend",
            "name": "Айша Мамедова",
            "title": "Экономист",
            "language": "ru",
            "visible": False,
        },
        {
            "studio": "dha",
            "name": "<script>alert(1)</script> Ali",  # kept as text, drawn as typed
            "title": "Muhabir",
            "language": "ru",
            "visible": True,
        },
    ]
    hidden = await checked(
        client,
        "POST",
        path,
        GRAPHICS,
        200,
        json={"studio": "dha", "visible": False},
        headers=producer,
    )
    assert not any(lt["visible"] for lt in hidden["graphics"]["lower_thirds"])
    clock = await checked(
        client,
        "POST",
        path,
        GRAPHICS,
        200,
        json={"clock": {"zone": "Europe/Istanbul", "label": "İstanbul"}},
        headers=producer,
    )
    assert clock["graphics"]["clock"] == {"zone": "Europe/Istanbul", "label": "İstanbul"}

    events = await (
        await client.get(f"/api/bookings/{booking['id']}/audit", headers=producer)
    ).json()
    actions = [e["action"] for e in events["events"]]
    assert actions.count("changed the graphics") == 3 and "changed the lower thirds" in actions


async def test_only_producers_and_admins_touch_a_bookings_graphics(
    client: Client, headers: H
) -> None:
    booking = await create(client, headers["producer"])
    path = f"/api/bookings/{booking['id']}/graphics"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", path, {}),
        ("POST", path, {"json": {"language": "en"}}),
        ("PUT", f"{path}/texts", {"json": {"texts": []}}),
    ]
    for method, url, kw in calls:
        for role in ("operator", "viewer"):
            resp = await client.request(method, url, headers=headers[role], **kw)
            await assert_error(resp, 403, "forbidden")
        await assert_error(await client.request(method, url, **kw), 401, "unauthorized")
    for method in ("PUT", "DELETE"):
        for role in ("producer", "operator", "viewer"):
            resp = await client.request(
                method,
                "/api/graphics/logo",
                data=png(),
                headers={**headers[role], "Content-Type": "image/png"},
            )
            await assert_error(resp, 403, "forbidden")
    await assert_error(await client.get("/api/graphics/logo"), 401, "unauthorized")
    unknown = await client.post(
        "/api/bookings/nosuch/graphics", json={"language": "en"}, headers=headers["producer"]
    )
    await assert_error(unknown, 404, "not_found")


async def test_bad_graphics_are_refused_with_their_documented_status(
    client: Client, headers: H
) -> None:
    producer = headers["producer"]
    booking = await create(client, producer)
    path = f"/api/bookings/{booking['id']}/graphics"
    lt = {"studio": "trend", "visible": True}
    cases: list[tuple[object, list[str]]] = [
        ({}, ["body"]),
        ([], ["body"]),
        ({"studio": "trend"}, ["visible"]),
        ({"studio": "kabar", "visible": True}, ["studio"]),  # a studio not in the booking
        ({"studio": "trend", "visible": "true"}, ["visible"]),
        ({**lt, "lower_third": {"title": "no name"}}, ["lower_third.name"]),
        ({**lt, "lower_third": {"name": 5}}, ["lower_third.name"]),
        ({**lt, "lower_third": {"name": "n" * 81}}, ["lower_third.name"]),
        ({**lt, "lower_third": {"name": "A", "title": "t" * 121}}, ["lower_third.title"]),
        ({**lt, "lower_third": {"name": "Ali\u0007"}}, ["lower_third.name"]),
        ({**lt, "lower_third": {"name": "Ali", "title": "two\nlines"}}, ["lower_third.title"]),
        ({**lt}, ["lower_third"]),  # nothing to show yet
        ({"language": "fr"}, ["language"]),
        ({"clock": {"zone": "Atlantis/Capital"}}, ["clock.zone"]),
        ({"logo": {"visible": True}}, ["logo.visible"]),  # no logo uploaded
        ({"logo": {"corner": "centre"}}, ["logo.corner"]),
    ]
    for body, fields in cases:
        resp = await client.post(path, json=body, headers=producer)
        await assert_error(resp, 422, "invalid", fields=fields)
    await assert_error(await client.post(path, data=b"{", headers=producer), 400, "invalid_json")
    bad_texts = {"texts": [{"studio": "trend", "language": "en", "name": "A\tB"}]}
    resp = await client.put(f"{path}/texts", json=bad_texts, headers=producer)
    await assert_error(resp, 422, "invalid", fields=["texts[0].name"])
    after = await (await client.get(path, headers=producer)).json()
    assert after["graphics"]["texts"] == [] and after["graphics"]["clock"] is None

    await client.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=producer)
    over = await client.post(path, json={"language": "en"}, headers=producer)
    await assert_error(over, 409, "invalid_transition")


async def test_the_logo_is_a_small_png_uploaded_by_an_admin(client: Client, headers: H) -> None:
    admin = headers["admin"]
    as_png = {**admin, "Content-Type": "image/png"}
    logo = "/api/graphics/logo"
    await assert_error(await client.get(logo, headers=admin), 404, "not_found")
    await assert_error(await client.delete(logo, headers=admin), 404, "not_found")
    for body, status, code in [
        (b"GIF89a" + bytes(64), 422, "invalid"),
        (png()[:50], 422, "invalid"),
        (png(1921, 100), 422, "invalid"),
        (png(100, 1081), 422, "invalid"),
        (b"\x89PNG\r\n\x1a\n" + bytes(1024 * 1024), 413, "body_too_large"),
    ]:
        await assert_error(await client.put(logo, data=body, headers=as_png), status, code)
    wrong_type = await client.put(
        logo, data=png(), headers={**admin, "Content-Type": "application/octet-stream"}
    )
    await assert_error(wrong_type, 415, "unsupported_media_type")

    uploaded = await checked(client, "PUT", logo, logo, 200, data=png(1920, 1080), headers=as_png)
    assert (uploaded["logo"]["width"], uploaded["logo"]["height"]) == (1920, 1080)
    assert uploaded["logo"]["uploaded_by"] == "admin-bot (token)"
    served = await client.get(logo, headers=headers["viewer"])
    assert served.status == 200 and served.content_type == "image/png"
    assert await served.read() == png(1920, 1080)

    booking = await create(client, headers["producer"])
    path = f"/api/bookings/{booking['id']}/graphics"
    on = await client.post(
        path, json={"logo": {"visible": True, "corner": "bottom-right"}}, headers=admin
    )
    assert (await on.json())["graphics"]["logo"] == {
        "visible": True,
        "corner": "bottom-right",
        "available": True,
    }
    gone = await client.delete(logo, headers=admin)
    assert gone.status == 204
    after = await (await client.get(path, headers=admin)).json()
    assert after["graphics"]["logo"]["available"] is False
    assert after["graphics"]["logo"]["visible"] is False


async def test_a_session_caller_needs_the_csrf_token(client: Client) -> None:
    await login(client, "producer", DEMO_PASSWORD)
    token = await session_csrf(client)
    booking = await create(client, {"X-CSRF-Token": token})
    path = f"/api/bookings/{booking['id']}/graphics"
    forged = await client.post(path, json={"language": "en"})
    await assert_error(forged, 403, "csrf_failed")
    ok = await client.post(path, json={"language": "en"}, headers={"X-CSRF-Token": token})
    assert ok.status == 200, await ok.text()
    await client.post("/logout", data={"csrf_token": token})
    await login(client, "admin", DEMO_PASSWORD)
    admin_token = await session_csrf(client)
    forged_logo = await client.put(
        "/api/graphics/logo", data=png(), headers={"Content-Type": "image/png"}
    )
    await assert_error(forged_logo, 403, "csrf_failed")
    ok_logo = await client.put(
        "/api/graphics/logo",
        data=png(),
        headers={"Content-Type": "image/png", "X-CSRF-Token": admin_token},
    )
    assert ok_logo.status == 200, await ok_logo.text()


async def test_the_room_shows_what_is_kept_when_it_opens_and_follows_each_change(
    clocked: ClockedApp,
) -> None:
    c = clocked
    producer = c.headers["producer"]
    starts = c.clock() + timedelta(days=2)
    body = {
        "title": "Caspian energy week",
        "studios": ["trend", "dha"],
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends_at": (starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    resp = await c.client.post("/api/bookings", json=body, headers=producer)
    booking_id = (await resp.json())["booking"]["id"]
    path = f"/api/bookings/{booking_id}/graphics"
    before = await c.client.post(
        path,
        json={"studio": "trend", "lower_third": {"name": "Ayşə Məmmədova"}, "visible": True},
        headers=producer,
    )
    assert (await before.json())["graphics"]["on_air"] is None  # no room yet
    await c.client.post(
        path, json={"clock": {"zone": "Asia/Baku", "label": "Baku"}}, headers=producer
    )

    c.clock.set(starts - timedelta(minutes=5))  # inside the line check: the room opens
    await c.app[LIVE].tick()
    room = await eventually(lambda: c.app[LIVE].get(booking_id), message="the room open")
    state = room.graphics_state()
    assert state is not None
    assert [(lt.studio_id, lt.name, lt.visible) for lt in state.lower_thirds] == [
        ("trend", "Ayşə Məmmədova", True)
    ]
    assert (state.clock_zone, state.clock_label) == ("Asia/Baku", "Baku")

    hidden = await c.client.post(path, json={"studio": "trend", "visible": False}, headers=producer)
    on_air = (await hidden.json())["graphics"]["on_air"]
    assert on_air["lower_thirds"] == [
        {"studio": "trend", "name": "Ayşə Məmmədova", "title": "", "visible": False}
    ]
    state = room.graphics_state()
    assert state is not None and not state.lower_thirds[0].visible

    # The logo: shown in its corner; removed by an admin, off the program; uploaded again,
    # back on it, since the producer left it on.
    admin_png = {**c.headers["admin"], "Content-Type": "image/png"}
    assert (await c.client.put("/api/graphics/logo", data=png(), headers=admin_png)).status == 200
    logo = {"logo": {"visible": True, "corner": "bottom-left"}}
    assert (await c.client.post(path, json=logo, headers=producer)).status == 200

    def logo_on_air() -> tuple[bool, str]:
        now = room.graphics_state()
        assert now is not None
        return now.logo, now.corner

    assert logo_on_air() == (True, "bottom-left")
    assert (await c.client.delete("/api/graphics/logo", headers=c.headers["admin"])).status == 204
    assert logo_on_air() == (False, "bottom-left")
    assert (await c.client.put("/api/graphics/logo", data=png(), headers=admin_png)).status == 200
    assert logo_on_air() == (True, "bottom-left")


async def test_the_control_room_card_and_the_logo_form_render(
    app: web.Application, client: Client, headers: H
) -> None:
    """The partial the control room includes, from graphics_context's document, in a partner's
    language; names as text; and the Studios page's logo form for admins only."""
    producer = headers["producer"]
    booking = await create(client, producer)
    path = f"/api/bookings/{booking['id']}/graphics"
    await client.post(
        path,
        json={
            "studio": "dha",
            "lower_third": {"name": "<b>Ali</b> Yılmaz", "title": "Muhabir"},
            "language": "tr",
            "visible": True,
        },
        headers=producer,
    )
    stored = await app[BOOKINGS].get(booking["id"])
    context = await graphics_context(make_mocked_request("GET", "/", app=app), stored)
    assert set(context) == {"graphics", "graphics_zones"}
    assert context["graphics_zones"] == [
        {"zone": "Asia/Baku", "label": "Baku"},
        {"zone": "Europe/Istanbul", "label": "Istanbul"},
    ]
    html = (
        app[TEMPLATES]
        .get_template("_control_graphics.html")
        .render(
            translations=app[CATALOGS].get("az"),
            languages=i18n.LANGUAGES,
            booking=stored,
            studios=await app[BOOKINGS].studios_by_id(),
            csrf_token="token-1",
            **context,
        )
    )
    assert f'data-booking="{booking["id"]}"' in html and 'data-csrf="token-1"' in html
    assert "&lt;b&gt;Ali&lt;/b&gt; Yılmaz" in html and "<b>Ali</b>" not in html
    assert 'aria-pressed="true"' in html and 'aria-pressed="false"' in html
    assert 'value="Asia/Baku" data-label="Baku"' in html and 'value="Europe/Istanbul"' in html
    assert 'value="tr" selected' in html
    assert "Qrafika" in html  # "Graphics" in Azerbaijani
    assert "/static/control_graphics.js" in html

    await login(client, "admin", DEMO_PASSWORD)
    page = await (await client.get("/studios")).text()
    assert 'id="graphics-logo"' in page and "/static/graphics_logo.js" in page
    await client.post("/logout", data={"csrf_token": await session_csrf(client)})
    await login(client, "producer", DEMO_PASSWORD)
    assert 'id="graphics-logo"' not in await (await client.get("/studios")).text()
