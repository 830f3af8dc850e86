"""Who is asking: sessions and bearer tokens become a Principal; CSRF guards cookie requests."""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiohttp import web

from schedules.model import Role, User
from schedules.rules.access import Principal, can_direct
from web.access import forwarded
from web.access.security import new_token, token_digest
from web.errors import ApiError, Handler
from web.services import ACCOUNTS, CLOCK, OUTAGE, SETTINGS, SIGNER

SESSION_COOKIE = "tb_session"
ANON_COOKIE = "tb_anon"
COOKIELESS_PREFIXES = ("/live/", "/static/")
LANG_COOKIE = "tb_lang"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes whose credential is the join token they carry (no cookie, no API token, no CSRF).
OWN_CREDENTIAL_PREFIXES = ("/whip/", "/join/")


PRINCIPAL = web.RequestKey("principal", Principal)
CSRF_BINDING = web.RequestKey("csrf_binding", str)


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


def csrf_token(request: web.Request) -> str:
    """The CSRF token the pages put in their forms for this visitor."""
    return request.app[SIGNER].csrf_token(str(request.get(CSRF_BINDING, "")))


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the caller from a bearer token or session cookie, and check CSRF."""
    now = request.app[CLOCK]()
    header = request.headers.get("Authorization")
    new_anon: str | None = None
    if header is not None and not request.path.startswith(OWN_CREDENTIAL_PREFIXES):
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "invalid_token", "Authorization must be 'Bearer <token>'")
        digest = token_digest(token.strip())
        try:
            record = await request.app[ACCOUNTS].token_by_hash(digest)
        except Exception as exc:
            request[PRINCIPAL] = request.app[OUTAGE].caller(digest, exc)
        else:
            if record is None or record.revoked:
                request.app[OUTAGE].refused(digest)
                raise ApiError(401, "invalid_token", "The API token is not valid")
            if record.expires_at is not None and record.expires_at <= now:
                raise ApiError(401, "invalid_token", "The API token has expired")
            p = Principal(record.name, record.role, record.studio_id, via_token=True)
            request.app[OUTAGE].accepted(digest, p, record.expires_at)
            request[PRINCIPAL] = p
    else:
        session = request.cookies.get(SESSION_COOKIE)
        digest = token_digest(session) if session else ""
        found: Principal | None = None
        if session:
            try:
                live = await request.app[ACCOUNTS].live_session(digest, now)
            except Exception as exc:
                found = request.app[OUTAGE].caller(digest, exc)
            else:
                if live is None:
                    request.app[OUTAGE].refused(digest)
                else:
                    found = _principal(live[0])
                    request.app[OUTAGE].accepted(digest, found, live[1])
        if found is not None:
            request[PRINCIPAL] = found
            request[CSRF_BINDING] = "session:" + digest
        else:
            anon = request.cookies.get(ANON_COOKIE)
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
    # Media and files for audiences are cached by CDNs and proxies, which keep nothing that
    # sets a cookie; they need no CSRF binding either.
    if new_anon is not None and not request.path.startswith(COOKIELESS_PREFIXES):
        response.set_cookie(
            ANON_COOKIE,
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
    return Principal(user.name, user.role, user.studio_id, user.id, user.language)


async def start_session(request: web.Request, response: web.StreamResponse, user: User) -> None:
    """Log `user` in: store a session and set its HttpOnly SameSite cookie."""
    now = request.app[CLOCK]()
    session = new_token()
    hours = request.app[SETTINGS].session_hours
    await request.app[ACCOUNTS].add_session(
        token_digest(session), user.id, now, now + timedelta(hours=hours)
    )
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=hours * 3600,
        httponly=True,
        samesite="Lax",
        secure=is_secure(request),
        path="/",
    )


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    """Log out: forget the session and clear its cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        request.app[OUTAGE].refused(token_digest(session))
        await request.app[ACCOUNTS].end_session(token_digest(session))
    response.del_cookie(SESSION_COOKIE, path="/")
