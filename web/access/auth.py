"""Who is asking: sessions and bearer tokens become a Principal; CSRF guards cookie requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web

from schedules.model import Role, User
from schedules.rules.access import Principal, can_direct
from schedules.rules.zones import reading_zone
from web.access import forwarded
from web.access.security import new_token, token_digest
from web.errors import ApiError, Handler
from web.services import ACCOUNTS, CLOCK, OUTAGE, SETTINGS, SIGNER

log = logging.getLogger("telebridge.web.auth")

# The cookies' names over plain HTTP; over HTTPS they carry HOST_PREFIX (see cookie_name).
SESSION_COOKIE = "tb_session"
ANON_COOKIE = "tb_anon"
HOST_PREFIX = "__Host-"
COOKIELESS_PREFIXES = ("/live/", "/static/")
LANG_COOKIE = "tb_lang"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes whose credential is the join token they carry (no cookie, no API token, no CSRF).
OWN_CREDENTIAL_PREFIXES = ("/whip/", "/join/")
# Routes for tools: there an Authorization header that is not a bearer token is a mistake to
# report (401 invalid_token), unless the request also carries our session cookie.
TOOL_PREFIXES = ("/api/", "/metrics")
LOGIN_PATH = "/login"
STATIC_PREFIX = "/static/"


@dataclass(frozen=True)
class Credential:
    """What the caller proved itself with, kept to check it again while a connection that
    outlives its request (the monitor WebSocket) stays open."""

    kind: Literal["session", "token"]
    digest: str
    expires_at: datetime | None  # None: not known (accepted from memory during an outage)


PRINCIPAL = web.RequestKey("principal", Principal)
CSRF_BINDING = web.RequestKey("csrf_binding", str)
CREDENTIAL = web.RequestKey("credential", Credential)


def principal_of(request: web.Request) -> Principal | None:
    """The caller, or None when anonymous."""
    p = request.get(PRINCIPAL)
    return p if isinstance(p, Principal) else None


def require(request: web.Request) -> Principal:
    """The caller, or 401."""
    p = principal_of(request)
    if p is None:
        raise ApiError(401, "unauthorized", "Log in or send an API token to do this")
    return p


def require_role(request: web.Request, *roles: Role) -> Principal:
    """The caller when its role is one of `roles`, else 403 (401 when anonymous)."""
    p = require(request)
    if p.role not in roles:
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not do this")
    return p


def require_director(p: Principal) -> Principal:
    """`p` when it may run shows live and watch master control, else 403."""
    if not can_direct(p):
        raise ApiError(403, "forbidden", f"The {p.role.value} role may not do this")
    return p


def is_secure(request: web.Request) -> bool:
    """Whether cookies should be Secure: HTTPS directly or behind a proxy, or forced."""
    mode = request.app[SETTINGS].secure_cookies
    if mode in ("true", "false"):
        return mode == "true"
    return request.secure or forwarded.scheme(request) == "https"


def cookie_name(request: web.Request, name: str) -> str:
    """The name of our session or CSRF cookie in the mode in force for this request.

    Secure cookies are `__Host-` ones: a browser then takes them only from this very host over
    HTTPS, with Path=/ and no Domain, so a neighbouring subdomain or a plain-HTTP response on
    the way cannot plant one. Reading goes by the same name, so a cookie planted under the plain
    name is never read over HTTPS."""
    return HOST_PREFIX + name if is_secure(request) else name


def csrf_token(request: web.Request) -> str:
    """The CSRF token the pages put in their forms for this visitor."""
    return request.app[SIGNER].csrf_token(str(request.get(CSRF_BINDING, "")))


def _authorization(request: web.Request) -> str | None:
    """The Authorization header when it is meant for us.

    A proxy in front of the app may ask browsers for its own login (Basic), and the browser then
    repeats that header on every request. On a page, or along with our session cookie, such a
    header is the proxy's and the request goes by its cookie; otherwise a login page refusing it
    would send the browser round in circles. A bearer token is always ours, and so is any header
    on a tool's route without a session, which then hears what is wrong with it."""
    header = request.headers.get("Authorization")
    if header is None or request.path.startswith(OWN_CREDENTIAL_PREFIXES):
        return None
    if request.path == LOGIN_PATH or request.path.startswith(STATIC_PREFIX):
        # Where a refused page sends the browser: refusing a header here too (a stale bearer
        # token an extension adds) would send it round in circles.
        return None
    if header.partition(" ")[0].lower() == "bearer":
        return header
    if request.path.startswith(TOOL_PREFIXES) and (
        cookie_name(request, SESSION_COOKIE) not in request.cookies
    ):
        return header
    return None


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the caller from a bearer token or session cookie, and check CSRF."""
    now = request.app[CLOCK]()
    header = _authorization(request)
    new_anon: str | None = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "invalid_token", "Authorization must be 'Bearer <token>'")
        digest = token_digest(token.strip())
        accounts = request.app[ACCOUNTS]
        try:
            info = await accounts.find_token(digest)
        except Exception as exc:
            request[PRINCIPAL] = request.app[OUTAGE].caller(digest, exc)
            request[CREDENTIAL] = Credential("token", digest, None)
        else:
            if info is None or info.token.revoked:
                request.app[OUTAGE].refused(digest)
                raise ApiError(401, "invalid_token", "The API token is not valid")
            record = info.token
            if record.expires_at is not None and record.expires_at <= now:
                raise ApiError(401, "invalid_token", "The API token has expired")
            p = Principal(record.name, record.role, record.studio_id, via_token=True)
            request.app[OUTAGE].accepted(digest, p, record.expires_at)
            request[PRINCIPAL] = p
            request[CREDENTIAL] = Credential("token", digest, record.expires_at)
            try:
                await accounts.record_token_use(info, now)
            except Exception as exc:
                # Bookkeeping: failing to note a use must not refuse a request just accepted.
                log.warning("could not record the use of token %s: %s", record.id, exc)
    else:
        session = request.cookies.get(cookie_name(request, SESSION_COOKIE))
        digest = token_digest(session) if session else ""
        found: Principal | None = None
        expires: datetime | None = None
        if session:
            try:
                live = await request.app[ACCOUNTS].live_session(digest, now)
            except Exception as exc:
                found = request.app[OUTAGE].caller(digest, exc)
            else:
                if live is None:
                    request.app[OUTAGE].refused(digest)
                else:
                    found, expires = _principal(live[0]), live[1]
                    request.app[OUTAGE].accepted(digest, found, expires)
        if found is not None:
            request[PRINCIPAL] = found
            request[CSRF_BINDING] = "session:" + digest
            request[CREDENTIAL] = Credential("session", digest, expires)
        else:
            anon = request.cookies.get(cookie_name(request, ANON_COOKIE))
            if not anon or len(anon) > 100:
                anon = new_anon = secrets.token_urlsafe(24)
            request[CSRF_BINDING] = "anon:" + anon
        # Without a session there is no ambient authority to forge, so an anonymous API call
        # gets the API's 401 ("no credentials"); forms (login, language) keep their check.
        if (
            request.method in UNSAFE_METHODS
            and not request.path.startswith(OWN_CREDENTIAL_PREFIXES)
            and (PRINCIPAL in request or not request.path.startswith("/api/"))
        ):
            await _check_csrf(request)
    response = await handler(request)
    # The CSRF binding goes out with pages only, where a form carrying its token is made. A
    # JSON answer setting it raced the page: a console's state poll answered after the login
    # page had set its own replaced it, and the login form was refused as forged. Media and
    # files for audiences are cached by CDNs and proxies, which keep nothing that sets a cookie.
    if (
        new_anon is not None
        and response.content_type == "text/html"
        and not request.path.startswith(COOKIELESS_PREFIXES)
    ):
        response.set_cookie(
            cookie_name(request, ANON_COOKIE),
            new_anon,
            httponly=True,
            samesite="Lax",
            secure=is_secure(request),
            path="/",
        )
    return response


async def _check_csrf(request: web.Request) -> None:
    binding = str(request[CSRF_BINDING])
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not request.app[SIGNER].check_csrf(binding, token):
        raise ApiError(
            403,
            "csrf_failed",
            "The form has expired or did not come from this site; reload the page and try again",
        )


def _principal(user: User) -> Principal:
    zone = reading_zone(user.time_zone, user.role, user.studio_zone, "")
    return Principal(user.name, user.role, user.studio_id, user.id, user.language, time_zone=zone)


async def start_session(request: web.Request, response: web.StreamResponse, user: User) -> None:
    """Log `user` in: store a session and set its HttpOnly SameSite cookie."""
    now = request.app[CLOCK]()
    session = new_token()
    hours = request.app[SETTINGS].session_hours
    await request.app[ACCOUNTS].add_session(
        token_digest(session), user.id, now, now + timedelta(hours=hours)
    )
    response.set_cookie(
        cookie_name(request, SESSION_COOKIE),
        session,
        max_age=hours * 3600,
        httponly=True,
        samesite="Lax",
        secure=is_secure(request),
        path="/",
    )


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    """Log out: forget the session, close what still runs on it, and clear its cookie."""
    name = cookie_name(request, SESSION_COOKIE)
    session = request.cookies.get(name)
    if session:
        digest = token_digest(session)
        request.app[OUTAGE].refused(digest)
        await request.app[ACCOUNTS].end_session(digest)
        session_ends(request.app).end(digest)
    # A browser deletes a Secure (__Host-) cookie only when told so with Secure too.
    response.del_cookie(name, path="/", secure=is_secure(request))


async def credential_problem(app: web.Application, credential: Credential) -> str | None:
    """Why `credential` no longer stands ("signed out", "session expired", "token revoked",
    "token expired"), or None while it does.

    Asked again and again while a monitor WebSocket stays open. A database that does not answer
    changes nothing before the credential's known expiry (like the outage fallback)."""
    now = app[CLOCK]()
    expired = credential.expires_at is not None and credential.expires_at <= now
    try:
        if credential.kind == "session":
            if await app[ACCOUNTS].live_session(credential.digest, now) is not None:
                return None
            return "session expired" if expired else "signed out"
        token = await app[ACCOUNTS].token_by_hash(credential.digest)
    except Exception as exc:
        log.info("could not check a credential again (%s); checking its expiry only", exc)
        if expired:
            return "session expired" if credential.kind == "session" else "token expired"
        return None
    if token is None or token.revoked:
        return "token revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "token expired"
    return None


class SessionEnds:
    """Wakes whatever holds a session open beyond its request (a monitor WebSocket) the moment
    that session logs out, rather than at its next periodic check."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watch(self, digest: str) -> Iterator[asyncio.Event]:
        """An event set when the session with this digest logs out (while inside)."""
        event = asyncio.Event()
        self._waiting.setdefault(digest, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(digest, set())
            waiting.discard(event)
            if not waiting:
                self._waiting.pop(digest, None)

    def end(self, digest: str) -> None:
        """The session with this digest logged out."""
        for event in self._waiting.get(digest, ()):
            event.set()


# One per app, beside it rather than in it: an app's keys are fixed once it runs, and this only
# lives in this process (another server's logout is seen at the periodic check).
_session_ends: weakref.WeakKeyDictionary[web.Application, SessionEnds] = weakref.WeakKeyDictionary()


def session_ends(app: web.Application) -> SessionEnds:
    """The app's SessionEnds."""
    found = _session_ends.get(app)
    if found is None:
        found = _session_ends[app] = SessionEnds()
    return found
