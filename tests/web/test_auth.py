"""Sessions and logins: the form, the cookie, logout, wrong passwords, the rate limit, languages."""

from __future__ import annotations

import re
import socket
from http.cookies import SimpleCookie

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
    login,
    session_csrf,
)

from web.access.security import hash_password, verify_password
from web.services import ACCOUNTS, BOOKINGS, CLOCK, SETTINGS

OTHER_ADDRESS = "127.0.0.2"
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


@pytest.mark.parametrize(("trust_proxy", "secure"), [("true", True), ("false", False)])
async def test_session_cookie_is_secure_behind_a_trusted_https_proxy(
    settings, aiohttp_client, trust_proxy: str, secure: bool
) -> None:
    from dataclasses import replace

    from web.app import make_app
    from web.demo import seed_demo

    app = await make_app(replace(settings, trust_proxy=trust_proxy))
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], app[CLOCK]())
    client = await aiohttp_client(app)
    token = await anon_csrf(client)
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "name": "viewer", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
    )
    assert resp.status == 303
    # A client cannot make itself "secure" by sending the header: only a trusted proxy can.
    assert ("secure" in attributes(set_cookie(resp, "tb_session"))) is secure


async def test_login_never_redirects_to_another_site(client: Client) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        token = await anon_csrf(client)
        resp = await client.post(
            "/login",
            data={"csrf_token": token, "name": "viewer", "password": DEMO_PASSWORD, "next": target},
            allow_redirects=False,
        )
        assert resp.status == 303
        assert resp.headers["Location"] == "/bookings", target
        client.session.cookie_jar.clear()


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


async def test_login_rate_limit_per_user_name_and_address(
    app: web.Application, client: Client
) -> None:
    limit = app[SETTINGS].login_attempts
    for i in range(limit):
        name = "producer" if i % 2 else "Producer"  # names count case-insensitively
        await login(client, name, f"guess-{i}", expect=401)
    # The right password no longer helps for this name ...
    blocked = await login(client, "producer", DEMO_PASSWORD, expect=429)
    assert "tb_session" not in blocked.cookies
    assert blocked.content_type == "text/html"
    await assert_error(await client.get("/api/me"), 401, "unauthorized")
    # The address has used up its attempts too, for every name.
    await login(client, "viewer", DEMO_PASSWORD, expect=429)

    # From another address the name stays blocked, while other names log in.
    if not can_bind(OTHER_ADDRESS):
        pytest.skip(f"{OTHER_ADDRESS} is not a local address here (Linux has all of 127/8)")
    connector = aiohttp.TCPConnector(local_addr=(OTHER_ADDRESS, 0))
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as other:

        async def attempt(name: str, password: str) -> aiohttp.ClientResponse:
            form = await other.get(client.make_url("/login"))
            token = CSRF_INPUT.search(await form.text())
            assert token
            return await other.post(
                client.make_url("/login"),
                data={"csrf_token": token.group(1), "name": name, "password": password},
                allow_redirects=False,
            )

        assert (await attempt("producer", DEMO_PASSWORD)).status == 429
        assert (await attempt("viewer", DEMO_PASSWORD)).status == 303


def can_bind(address: str) -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


async def test_password_hashes_are_salted_scrypt(app: web.Application) -> None:
    accounts = app[ACCOUNTS]
    user = await accounts.user_by_name("producer")
    assert user is not None
    stored = user.password_hash
    assert stored.startswith("scrypt$")
    assert DEMO_PASSWORD not in stored
    assert verify_password(DEMO_PASSWORD, stored)
    assert not verify_password(DEMO_PASSWORD + "x", stored)
    assert hash_password("same password") != hash_password("same password")  # salted


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
