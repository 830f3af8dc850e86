"""Sessions and logins: the form, the cookies, logout, wrong passwords, where a login leads,
password hashes, a proxy's own login, languages (the login limit: test_login_limits.py)."""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from helpers import DEMO_PASSWORD
from webtools import (
    CSRF_INPUT,
    Client,
    ClockedApp,
    anon_csrf,
    assert_error,
    check_table,
    login,
    session_csrf,
)
from yarl import URL

from schedules.timeutil import utc_now
from web.access.security import (
    DEFAULT_PASSWORD_COST,
    hash_password,
    needs_rehash,
    verify_password,
)
from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, BOOKINGS, CLOCK, SETTINGS
from web.settings import Settings

HTML_LANG = re.compile(r'<html lang="([a-z]+)"')


def set_cookie(resp: aiohttp.ClientResponse, name: str) -> str:
    """The raw Set-Cookie header that sets `name`."""
    for header in resp.headers.getall("Set-Cookie", []):
        if SimpleCookie(header).get(name) is not None:
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {resp.headers.getall('Set-Cookie', [])}")


def attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


async def page_lang(client: Client, path: str) -> str:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    match = HTML_LANG.search(await resp.text())
    assert match, "no <html lang>"
    return match.group(1)


async def test_login_form_sets_an_httponly_samesite_session(
    app: web.Application, client: Client
) -> None:
    form_page = await client.get("/login")
    assert form_page.status == 200
    anon = set_cookie(form_page, "tb_anon")
    assert {"httponly", "samesite=lax", "path=/"} <= attributes(anon)
    token = CSRF_INPUT.search(await form_page.text())
    assert token

    resp = await client.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "name": "producer",
            "password": DEMO_PASSWORD,
            "next": "/calendar",
        },
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/calendar"
    session = set_cookie(resp, "tb_session")
    attrs = attributes(session)
    assert {"httponly", "samesite=lax", "path=/"} <= attrs
    hours = app[SETTINGS].session_hours
    assert f"max-age={hours * 3600}" in attrs
    assert "secure" not in attrs  # plain HTTP here; see the next test for HTTPS
    value = SimpleCookie(session)["tb_session"].value
    assert len(value) >= 32

    me = await client.get("/api/me")
    assert me.status == 200
    doc = await me.json()
    assert (doc["name"], doc["role"], doc["studio"]) == ("producer", "producer", None)
    assert doc["csrf_token"]
    assert (await client.get("/bookings")).status == 200


HTTPS_PROXY = {"X-Forwarded-Proto": "https"}


async def test_only_pages_bind_a_browser_for_its_forms(client: Client) -> None:
    """An anonymous JSON answer (a console's state poll, the API's refusal) sets no CSRF
    cookie: one answered after the login page had set its own replaced it, and the login form
    was refused as forged (a browser test logging in beside an open console)."""
    for path in ("/api/bookings", "/join/nosuch/trend/state?token=x", "/healthz"):
        resp = await client.get(path)
        assert resp.content_type == "application/json", path
        assert "tb_anon" not in resp.cookies, path
    page = await client.get("/login")
    assert set_cookie(page, "tb_anon")


@pytest.mark.parametrize(
    ("changes", "extra", "prefixed"),
    [
        ({"trust_proxy": "true"}, HTTPS_PROXY, True),
        ({"secure_cookies": "true"}, {}, True),
        # A client cannot make itself "secure" by sending the header: only a trusted proxy can.
        ({"trust_proxy": "false"}, HTTPS_PROXY, False),
    ],
    ids=["trusted-https-proxy", "forced-secure", "untrusted-header"],
)
async def test_cookies_over_https_are_host_prefixed(
    settings: Settings,
    aiohttp_client: Any,
    changes: dict[str, Any],
    extra: dict[str, str],
    prefixed: bool,
) -> None:
    app = await make_app(replace(settings, **changes))
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], app[CLOCK]())
    client = await aiohttp_client(app)
    prefix = "__Host-" if prefixed else ""
    anon_name, session_name = f"{prefix}tb_anon", f"{prefix}tb_session"

    form = await client.get("/login", headers=extra)
    anon = set_cookie(form, anon_name)
    token = CSRF_INPUT.search(await form.text())
    assert token
    # The test client speaks plain HTTP and keeps Secure cookies to itself: a browser talking
    # HTTPS sends them back, so they are sent by hand.
    client.session.cookie_jar.clear()
    anon_cookie = f"{anon_name}={SimpleCookie(anon)[anon_name].value}"
    resp = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": "viewer", "password": DEMO_PASSWORD},
        headers={**extra, "Cookie": anon_cookie},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    session = set_cookie(resp, session_name)
    for header in (anon, session):
        attrs = attributes(header)
        assert "path=/" in attrs
        assert not any(a.startswith("domain") for a in attrs), header
        assert ("secure" in attrs) is prefixed, header
    value = SimpleCookie(session)[session_name].value

    # Read under the name of the mode in force, and only under it.
    me = await client.get("/api/me", headers={**extra, "Cookie": f"{session_name}={value}"})
    assert me.status == 200, await me.text()
    if prefixed:
        # A cookie planted under the plain name (by a neighbouring subdomain, or by a plain-HTTP
        # answer on the way) is not read over HTTPS.
        planted = await client.get("/api/me", headers={**extra, "Cookie": f"tb_session={value}"})
        await assert_error(planted, 401, "unauthorized")
        csrf = (await me.json())["csrf_token"]
        out = await client.post(
            "/logout",
            data={"csrf_token": csrf},
            headers={**extra, "Cookie": f"{session_name}={value}"},
            allow_redirects=False,
        )
        assert out.status == 303
        # A browser deletes a __Host- cookie only when the deletion is Secure too.
        assert "secure" in attributes(set_cookie(out, session_name))


HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/x",
    "///evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    " /bookings",
    "/%09/evil.example",
    "/\t/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/\n/evil.example",
    "/%00/evil.example",
    "/%20/evil.example",
    "/ /evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "/%5c%5cevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/bookings?next=//evil.example",
    "/%E2%80%AE/evil.example",
    "/\u3000/evil.example",
    "/\x7f/evil.example",
    "/" + "a" * 3000,
]
SAFE_NEXT = ["/calendar", "/bookings/abc123?tz=Asia/Baku", "/calendar?tz=Europe%2FRome", "/"]


async def test_after_login_only_paths_of_this_site(client: Client) -> None:
    login_form_next = re.compile(r'action="/login".*?name="next" value="([^"]*)"', re.S)

    def case(target: str, expected: str, location: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            # The login form carries `next` on ...
            page = await client.get("/login", params={"next": target})
            found = login_form_next.search(await page.text())
            assert found and html.unescape(found.group(1)) == expected, found
            # ... and a form that sends the browser back to it answers with a Location.
            csrf = await anon_csrf(client)
            resp = await client.post(
                "/language",
                data={"csrf_token": csrf, "language": "en", "next": target},
                allow_redirects=False,
            )
            assert resp.status == 303, await resp.text()
            assert resp.headers["Location"] == location

        return run

    await check_table(
        [(repr(t), case(t, "/bookings", "/bookings")) for t in HOSTILE_NEXT]
        # aiohttp writes a Location as yarl normalises it ("%2F" in a query becomes "/").
        + [(repr(t), case(t, t, str(URL(t)))) for t in SAFE_NEXT]
    )
    # The login itself, with the value of the report.
    token = await anon_csrf(client)
    resp = await client.post(
        "/login",
        data={
            "csrf_token": token,
            "name": "viewer",
            "password": DEMO_PASSWORD,
            "next": "/%09/evil.example",
        },
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/bookings"


async def test_logout_ends_the_session(client: Client) -> None:
    resp = await login(client, "producer", DEMO_PASSWORD)
    session = SimpleCookie(set_cookie(resp, "tb_session"))["tb_session"].value
    csrf = await session_csrf(client)

    # Logging out is a form post like any other: a forged one does nothing.
    forged = await client.post(
        "/logout",
        data={"csrf_token": "forged"},
        headers={"Accept": "application/json"},
        allow_redirects=False,
    )
    await assert_error(forged, 403, "csrf_failed")
    assert (await client.get("/api/me")).status == 200

    out = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303
    assert out.headers["Location"] == "/login"
    cleared = SimpleCookie(set_cookie(out, "tb_session"))["tb_session"]
    assert cleared.value == "" or cleared["max-age"] == "0"
    await assert_error(await client.get("/api/me"), 401, "unauthorized")

    # The old cookie value is dead on the server too, not just forgotten by this browser.
    client.session.cookie_jar.clear()
    replay = {"Cookie": f"tb_session={session}"}
    await assert_error(await client.get("/api/me", headers=replay), 401, "unauthorized")
    page = await client.get("/bookings", headers=replay, allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith("/login")


async def test_wrong_password_is_a_401_page(app: web.Application, client: Client) -> None:
    for name, password in (("producer", "not-the-password"), ("nobody", DEMO_PASSWORD)):
        resp = await login(client, name, password, expect=401)
        assert resp.content_type == "text/html"
        text = await resp.text()
        assert "Wrong name or password" in text
        assert "tb_session" not in resp.cookies
        assert f'value="{name}"' in text  # the name typed is kept, the password is not
        assert password not in text
    await assert_error(await client.get("/api/me"), 401, "unauthorized")


@pytest.fixture
async def production_cost_app(settings: Settings) -> web.Application:
    """The app with the default work factor (the other tests lower it: see tests/conftest)."""
    application = await make_app(replace(settings, password_cost=DEFAULT_PASSWORD_COST))
    await seed_demo(application[BOOKINGS], application[ACCOUNTS], utc_now())
    return application


# The work factor is the hash's, not the database's: on SQLite only (each check takes ~1 s).
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_password_hashes_are_salted_scrypt(production_cost_app: web.Application) -> None:
    app = production_cost_app
    accounts = app[ACCOUNTS]
    user = await accounts.user_by_name("producer")
    assert user is not None
    stored = user.password_hash
    # N = 2**17, r = 8, p = 1: 128 MiB per check, beyond hashlib's default memory limit.
    assert stored.startswith("scrypt$131072$8$1$")
    assert DEMO_PASSWORD not in stored
    assert verify_password(DEMO_PASSWORD, stored)
    assert not verify_password(DEMO_PASSWORD + "x", stored)
    assert hash_password("same password") != hash_password("same password")  # salted
    assert not needs_rehash(stored)


def old_hash(password: str) -> str:
    """A hash as the server made them before: scrypt with N = 2**14."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_old_hash_still_verifies_and_is_made_stronger_at_login(
    production_cost_app: web.Application, aiohttp_client: Any
) -> None:
    app = production_cost_app
    client = await aiohttp_client(app)
    accounts, password = app[ACCOUNTS], "an older password"
    weak = old_hash(password)
    assert verify_password(password, weak) and needs_rehash(weak)
    await accounts.add_user("nazim", "viewer", weak, app[CLOCK]())

    # A wrong password changes nothing.
    await login(client, "nazim", "not it", expect=401)
    user = await accounts.user_by_name("nazim")
    assert user is not None and user.password_hash == weak

    await login(client, "nazim", password)
    user = await accounts.user_by_name("nazim")
    assert user is not None
    assert user.password_hash.startswith("scrypt$131072$8$1$")
    assert verify_password(password, user.password_hash)
    assert not needs_rehash(user.password_hash)

    client.session.cookie_jar.clear()
    await login(client, "nazim", password)  # and the new hash works at the next login


async def test_a_proxys_basic_login_does_not_send_the_browser_round_in_circles(
    client: Client, headers: dict[str, dict[str, str]]
) -> None:
    # A proxy in front asked the browser for its own login; the browser repeats the header on
    # every request to the site, the app's pages included.
    basic = {"Authorization": "Basic cHJveHk6cGFzc3dvcmQ="}
    page = await client.get("/bookings", headers=basic, allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"] == "/login?next=/bookings"
    form = await client.get("/login", headers=basic, allow_redirects=False)
    assert form.status == 200, await form.text()
    token = CSRF_INPUT.search(await form.text())
    assert token
    resp = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": "producer", "password": DEMO_PASSWORD},
        headers=basic,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    assert (await client.get("/bookings", headers=basic, allow_redirects=False)).status == 200
    # The pages' own calls to the API ride on the session cookie too.
    me = await client.get("/api/me", headers=basic)
    assert me.status == 200, await me.text()
    assert (await me.json())["name"] == "producer"
    # A bearer token is ours, session cookie or not: a wrong one is refused.
    wrong = {"Authorization": "Bearer tb_" + "x" * 43}
    await assert_error(await client.get("/api/me", headers=wrong), 401, "invalid_token")

    # A tool calling the API without a session hears that its header is wrong.
    client.session.cookie_jar.clear()
    for path in ("/api/bookings", "/api/me", "/metrics"):
        await assert_error(await client.get(path, headers=basic), 401, "invalid_token")
    ok = await client.get("/api/me", headers=headers["producer"])
    assert ok.status == 200


async def test_a_stale_bearer_token_on_pages_ends_at_the_login_page(client: Client) -> None:
    """A page refused for a wrong bearer token sends the browser to the login page, which
    answers (it used to refuse the same header: /login -> /login?next=/login, for ever)."""
    wrong = {"Authorization": "Bearer tb_" + "x" * 43}
    page = await client.get("/bookings", headers=wrong, allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")
    form = await client.get(page.headers["Location"], headers=wrong, allow_redirects=False)
    assert form.status == 200, form.headers.get("Location")
    style = await client.get("/static/app.css", headers=wrong, allow_redirects=False)
    assert style.status == 200


async def test_language_choice_is_remembered_for_the_user(
    app: web.Application, client: Client
) -> None:
    await login(client, "producer", DEMO_PASSWORD)
    assert await page_lang(client, "/bookings") == "en"
    csrf = await session_csrf(client)
    resp = await client.post(
        "/language",
        data={"csrf_token": csrf, "language": "az", "next": "/calendar"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/calendar"
    assert await page_lang(client, "/bookings") == "az"

    bad = await client.post(
        "/language",
        data={"csrf_token": csrf, "language": "xx"},
        headers={"Accept": "application/json"},
        allow_redirects=False,
    )
    await assert_error(bad, 422, "invalid", fields=["language"])

    await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    client.session.cookie_jar.clear()  # a new browser: no language cookie
    assert await page_lang(client, "/login") == "en"
    await login(client, "producer", DEMO_PASSWORD)
    assert await page_lang(client, "/bookings") == "az"
    user = await app[ACCOUNTS].user_by_name("producer")
    assert user is not None and user.language == "az"
    # Macros (status pills, the zone picker) are translated too, not only the page around them.
    listing = await (await client.get("/bookings")).text()
    assert "təsdiq gözləyir" in listing and "Vaxt zonası" in listing
    assert ">requested<" not in listing
    # The audit log reads as whole sentences in the reader's language ("X confirmed").
    booking_id = re.search(r'href="/bookings/([0-9a-f]{10})"', listing).group(1)  # type: ignore[union-attr]
    page = await (await client.get(f"/bookings/{booking_id}")).text()
    assert "<strong>operator-trend</strong> təsdiqlədi" in page


async def test_sessions_expire(clocked: ClockedApp) -> None:
    client = clocked.client
    await login(client, "viewer", DEMO_PASSWORD)
    assert (await client.get("/api/me")).status == 200
    hours = clocked.app[SETTINGS].session_hours
    clocked.clock.advance(hours=hours, seconds=-1)
    assert (await client.get("/api/me")).status == 200
    clocked.clock.advance(seconds=1)
    await assert_error(await client.get("/api/me"), 401, "unauthorized")


async def test_pages_show_the_apis_message(client: Client) -> None:
    await login(client, "viewer", DEMO_PASSWORD)
    api = await client.get("/api/bookings/nosuchthing")
    message = (await assert_error(api, 404, "not_found"))["message"]
    page = await client.get("/bookings/nosuchthing")
    assert page.status == 404
    assert page.content_type == "text/html"
    text = (await page.text()).replace("&#34;", '"').replace("&quot;", '"')
    assert message in text
