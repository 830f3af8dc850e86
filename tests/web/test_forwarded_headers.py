"""Behind a reverse proxy: the forwarded scheme and host make the links and the cookies.

With TELEBRIDGE_TRUST_PROXY=true the proxy's X-Forwarded-Proto and X-Forwarded-Host decide the
scheme and host of join links and calendar URLs, and (under secure_cookies=auto) whether the
cookies are Secure. Without it the same headers, which any client can send, change nothing.
"""

from __future__ import annotations

from dataclasses import replace
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from helpers import DEMO_PASSWORD
from webtools import CSRF_INPUT, Client, create

from web.access.security import new_token, token_digest
from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, BOOKINGS, CLOCK
from web.settings import Settings

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bridge.example.org"}
PUBLIC = "https://bridge.example.org"


async def start(
    settings: Settings, aiohttp_client: Any, **changes: Any
) -> tuple[Client, dict[str, str]]:
    """The demo app with `changes` to its settings, and a producer's bearer header."""
    app: web.Application = await make_app(replace(settings, **changes))
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], app[CLOCK]())
    token = new_token()
    await app[ACCOUNTS].add_token(token_digest(token), "producer-bot", "producer", app[CLOCK]())
    return await aiohttp_client(app), {"Authorization": f"Bearer {token}"}


async def join_link_urls(client: Client, auth: dict[str, str], extra: dict[str, str]) -> list[str]:
    """The join links of a new booking, as the producer gets them with `extra` headers."""
    booking = await create(client, auth, days=3 + len(await bookings(client, auth)))
    resp = await client.get(f"/api/bookings/{booking['id']}/join-links", headers={**auth, **extra})
    assert resp.status == 200, await resp.text()
    links = (await resp.json())["links"]
    assert {link["studio"] for link in links} == {"trend", "dha"}
    return [link["url"] for link in links]


async def bookings(client: Client, auth: dict[str, str]) -> list[Any]:
    resp = await client.get("/api/bookings", headers=auth)
    assert resp.status == 200
    found: list[Any] = (await resp.json())["bookings"]
    return found


async def calendar_url(client: Client, auth: dict[str, str], extra: dict[str, str]) -> str:
    """The URL property of a new booking's .ics, unfolded."""
    booking = await create(client, auth, days=3 + len(await bookings(client, auth)))
    resp = await client.get(f"/api/bookings/{booking['id']}.ics", headers={**auth, **extra})
    assert resp.status == 200, await resp.text()
    text = (await resp.text()).replace("\r\n ", "")
    urls = [line[4:] for line in text.splitlines() if line.startswith("URL:")]
    assert len(urls) == 1, text
    return urls[0]


def cookie_header(resp: aiohttp.ClientResponse, name: str) -> str:
    for header in resp.headers.getall("Set-Cookie", []):
        if SimpleCookie(header).get(name) is not None:
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {resp.headers.getall('Set-Cookie', [])}")


def is_secure(header: str) -> bool:
    return "secure" in {part.strip().lower() for part in header.split(";")[1:]}


async def login_through(client: Client, extra: dict[str, str], prefix: str = "") -> tuple[str, str]:
    """Log in as a browser behind the proxy would; (tb_anon, tb_session) Set-Cookie headers,
    their names with `prefix` (`__Host-` for Secure cookies)."""
    form = await client.get("/login", headers=extra)
    assert form.status == 200
    anon = cookie_header(form, prefix + "tb_anon")
    token = CSRF_INPUT.search(await form.text())
    assert token, "no csrf_token field on the login page"
    # The test client speaks plain HTTP and would keep a Secure cookie to itself: a browser
    # talking HTTPS to the proxy sends it back, so send it back by hand.
    client.session.cookie_jar.clear()
    resp = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": "producer", "password": DEMO_PASSWORD},
        headers={
            **extra,
            "Cookie": f"{prefix}tb_anon={SimpleCookie(anon)[prefix + 'tb_anon'].value}",
        },
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    return anon, cookie_header(resp, prefix + "tb_session")


async def test_trusted_proxy_makes_https_links_to_its_host(
    settings: Settings, aiohttp_client: Any
) -> None:
    client, auth = await start(settings, aiohttp_client, trust_proxy="true")
    urls = await join_link_urls(client, auth, PROXY)
    assert all(url.startswith(f"{PUBLIC}/join/") for url in urls), urls
    assert (await calendar_url(client, auth, PROXY)).startswith(f"{PUBLIC}/bookings/")
    # Without the headers (a request that did not come through the proxy) the app's own
    # address is used: the forwarded values are per request, never remembered.
    direct = await join_link_urls(client, auth, {})
    assert all(url.startswith(f"http://{client.host}:{client.port}/join/") for url in direct)


async def test_trusted_proxy_keeps_the_port_of_the_forwarded_host(
    settings: Settings, aiohttp_client: Any
) -> None:
    client, auth = await start(settings, aiohttp_client, trust_proxy="true")
    extra = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bridge.example.org:8443"}
    urls = await join_link_urls(client, auth, extra)
    assert all(url.startswith("https://bridge.example.org:8443/join/") for url in urls), urls
    # A chain of proxies lists one value per hop: the first is the one the browser used.
    chained = {
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "bridge.example.org, internal:8080",
    }
    urls = await join_link_urls(client, auth, chained)
    assert all(url.startswith(f"{PUBLIC}/join/") for url in urls), urls


async def test_untrusted_forwarded_headers_change_nothing(
    settings: Settings, aiohttp_client: Any
) -> None:
    client, auth = await start(settings, aiohttp_client, trust_proxy="false")
    own = f"http://{client.host}:{client.port}"
    urls = await join_link_urls(client, auth, PROXY)
    assert all(url.startswith(f"{own}/join/") for url in urls), urls
    assert (await calendar_url(client, auth, PROXY)).startswith(f"{own}/bookings/")


async def test_public_url_wins_over_forwarded_headers(
    settings: Settings, aiohttp_client: Any
) -> None:
    client, auth = await start(
        settings, aiohttp_client, trust_proxy="true", public_url="https://tv.example.net/"
    )
    evil = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "attacker.example.com"}
    urls = await join_link_urls(client, auth, evil)
    assert all(url.startswith("https://tv.example.net/join/") for url in urls), urls


@pytest.mark.parametrize(
    ("trust_proxy", "secure_cookies", "forwarded", "secure"),
    [
        ("true", "auto", PROXY, True),
        ("true", "auto", {"X-Forwarded-Proto": "https, http"}, True),
        ("true", "auto", {"X-Forwarded-Proto": "HTTPS"}, True),
        ("true", "auto", {"X-Forwarded-Proto": "http"}, False),
        ("true", "auto", {}, False),
        ("false", "auto", PROXY, False),
        ("false", "true", {}, True),
        ("true", "false", PROXY, False),
    ],
    ids=[
        "trusted-https",
        "trusted-chain-of-proxies",
        "trusted-capitals",
        "trusted-http",
        "trusted-no-header",
        "untrusted-https",
        "forced-on",
        "forced-off",
    ],
)
async def test_cookies_are_secure_only_over_https_or_a_trusted_https_proxy(
    settings: Settings,
    aiohttp_client: Any,
    trust_proxy: str,
    secure_cookies: str,
    forwarded: dict[str, str],
    secure: bool,
) -> None:
    client, _ = await start(
        settings, aiohttp_client, trust_proxy=trust_proxy, secure_cookies=secure_cookies
    )
    anon, session = await login_through(client, forwarded, "__Host-" if secure else "")
    assert (is_secure(anon), is_secure(session)) == (secure, secure), (anon, session)


async def failed_login(client: Client, name: str, headers: dict[str, str]) -> int:
    form = await client.get("/login", headers=headers)
    token = CSRF_INPUT.search(await form.text())
    assert token
    resp = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": name, "password": "wrong"},
        headers=headers,
        allow_redirects=False,
    )
    return resp.status


@pytest.mark.parametrize("trust_proxy", ["true", "false"])
async def test_the_login_limit_counts_each_browser_behind_the_proxy_not_the_proxy(
    settings: Settings, aiohttp_client: Any, trust_proxy: str
) -> None:
    client, _ = await start(settings, aiohttp_client, trust_proxy=trust_proxy)
    limit = settings.login_attempts
    # One client fails `limit` times under different names: its address is blocked...
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    statuses = [await failed_login(client, f"guess{i}", attacker) for i in range(limit + 1)]
    assert statuses[-1] == 429
    # ...and a colleague behind the same proxy still logs in, unless the app cannot tell them
    # apart (no trusted proxy: every request seems to come from the proxy's address). A forged
    # first entry does not help the attacker: our proxy appends the address it saw last.
    colleague = {"X-Forwarded-For": "203.0.113.7, 198.51.100.20"}
    form = await client.get("/login", headers=colleague)
    token = CSRF_INPUT.search(await form.text())
    assert token
    resp = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": "producer", "password": DEMO_PASSWORD},
        headers=colleague,
        allow_redirects=False,
    )
    assert resp.status == (303 if trust_proxy == "true" else 429), await resp.text()
