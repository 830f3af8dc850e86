"""Bad credentials and forged CSRF tokens: 401 or 403 in the one error shape, nothing stored
changed (every case runs through webtools.guarded_table, like tests/web/test_bad_input.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from helpers import DEMO_PASSWORD
from webtools import (
    Client,
    anon_csrf,
    assert_error,
    booking_body,
    check_error,
    create,
    guarded_table,
    login,
    raw_exchange,
    session_csrf,
    stored_state,
)

from web.access.security import new_token, token_digest
from web.services import ACCOUNTS, SIGNER

H = dict[str, dict[str, str]]
STUDIO = {
    "id": "kabar",
    "name": "Kabar",
    "organisation": "Kabar",
    "city": "Bishkek",
    "timezone": "Asia/Bishkek",
}


async def test_bad_credentials(app: web.Application, client: Client, headers: H) -> None:
    b = await create(client, headers["producer"])
    expired = new_token()
    now = datetime.now(UTC)
    await app[ACCOUNTS].add_token(
        token_digest(expired),
        "expired-bot",
        "producer",
        now - timedelta(days=2),
        expires_at=now - timedelta(minutes=1),
    )
    producer_token = headers["producer"]["Authorization"].split()[1]
    authorizations = [
        ("wrong token", "Bearer tb_" + "x" * 43, "invalid_token"),
        ("expired token", f"Bearer {expired}", "invalid_token"),
        ("token with a typo", "Bearer " + producer_token[:-1], "invalid_token"),
        ("scheme only", "Bearer", "invalid_token"),
        ("scheme and blank", "Bearer    ", "invalid_token"),
        ("basic auth", "Basic cHJvZHVjZXI6dGVsZWJyaWRnZS1kZW1v", "invalid_token"),
        ("token without scheme", producer_token, "invalid_token"),
        ("empty header", "", "invalid_token"),
        ("non-ASCII token", "Bearer jetonü", "invalid_token"),
    ]

    def case(method: str, path: str, auth: str, code: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            body = {"title": "Taken over"} if method == "PATCH" else None
            resp = await client.request(method, path, json=body, headers={"Authorization": auth})
            await assert_error(resp, 401, code)

        return run

    targets = [
        ("GET", "/api/bookings"),
        ("POST", "/api/bookings"),
        ("PATCH", f"/api/bookings/{b['id']}"),
        ("POST", f"/api/bookings/{b['id']}/cancel"),
    ]
    await guarded_table(app, client, headers["admin"])(
        (f"{case_id}: {m} {p}", case(m, p, auth, code))
        for case_id, auth, code in authorizations
        for m, p in targets
    )
    # No credentials at all is 401 too, for reading and for writing.
    await guarded_table(app, client, headers["admin"])(
        (f"anonymous {m} {p}", case_no_auth(client, m, p)) for m, p in targets
    )

    # Bytes that are not UTF-8 in the credentials: still 401, never a crash.
    def raw_case(header: bytes) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            request = (
                b"POST /api/bookings HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n" + header + b"\r\n{}"
            )
            status, ctype, text = await raw_exchange(client, request)
            check_error(status, ctype, text, 401, "invalid_token")

        return run

    await guarded_table(app, client, headers["admin"])(
        [
            ("raw bytes in a bearer token", raw_case(b"Authorization: Bearer tb_\xff\xfe\r\n")),
            ("latin-1 bearer token", raw_case(b"Authorization: Bearer caf\xe9\r\n")),
        ]
    )


def case_no_auth(client: Client, method: str, path: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        resp = await client.request(method, path, json={"title": "x"})
        await assert_error(resp, 401, "unauthorized")

    return run


async def test_forged_csrf_on_cookie_requests(
    app: web.Application, client: Client, headers: H
) -> None:
    b = await create(client, headers["producer"])
    await login(client, "producer", DEMO_PASSWORD)
    good = await session_csrf(client)
    anon_token = app[SIGNER].csrf_token("anon:someone-else")
    tokens = [
        ("no token", None),
        ("empty token", ""),
        ("forged token", "A" * len(good)),
        ("token cut short", good[:-1]),
        ("another visitor's token", anon_token),
        ("non-ASCII token", "jetonü"),
    ]
    requests: list[tuple[str, str, Any]] = [
        ("POST", "/api/bookings", booking_body(days=9)),
        ("PATCH", f"/api/bookings/{b['id']}", {"title": "Hijacked"}),
        ("POST", f"/api/bookings/{b['id']}/cancel", None),
        ("POST", "/api/studios", STUDIO),
    ]

    def case(method: str, path: str, body: Any, token: str | None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            h = {} if token is None else {"X-CSRF-Token": token}
            resp = await client.request(method, path, json=body, headers=h)
            await assert_error(resp, 403, "csrf_failed")

        return run

    await guarded_table(app, client, headers["admin"])(
        (f"{token_id}: {m} {p}", case(m, p, body, token))
        for token_id, token in tokens
        for m, p, body in requests
    )

    # A token in the form field of a form post is checked the same way.
    async def form_post() -> None:
        resp = await client.post(
            f"/bookings/{b['id']}/cancel",
            data={"csrf_token": "forged", "reason": "x"},
            headers={"Accept": "application/json"},
            allow_redirects=False,
        )
        await assert_error(resp, 403, "csrf_failed")

    async def raw_bytes() -> None:
        cookies = "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)
        request = (
            f"PATCH /api/bookings/{b['id']} HTTP/1.1\r\nHost: localhost\r\n"
            f"Connection: close\r\nCookie: {cookies}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n"
        ).encode() + b"X-CSRF-Token: \xff\xfe\r\n\r\n{}"
        status, ctype, text = await raw_exchange(client, request)
        check_error(status, ctype, text, 403, "csrf_failed")

    await guarded_table(app, client, headers["admin"])(
        [("form field", form_post), ("raw bytes", raw_bytes)]
    )

    # The right token works (so the refusals above were about the token alone).
    resp = await client.patch(
        f"/api/bookings/{b['id']}", json={"title": "Renamed"}, headers={"X-CSRF-Token": good}
    )
    assert resp.status == 200, await resp.text()


async def test_forged_csrf_on_the_login_form(app: web.Application, client: Client) -> None:
    good = await anon_csrf(client)
    before = await stored_state(app)
    for token in (None, "", "forged", good + "x", app[SIGNER].csrf_token("anon:other")):
        form = {"name": "producer", "password": DEMO_PASSWORD, "next": "/bookings"}
        if token is not None:
            form["csrf_token"] = token
        page = await client.post("/login", data=form, allow_redirects=False)
        assert page.status == 403, token
        assert page.content_type == "text/html"
        assert "tb_session" not in page.cookies
        api = await client.post(
            "/login", data=form, headers={"Accept": "application/json"}, allow_redirects=False
        )
        await assert_error(api, 403, "csrf_failed")
        assert "tb_session" not in api.cookies
    await assert_error(await client.get("/api/me"), 401, "unauthorized")
    assert await stored_state(app) == before
