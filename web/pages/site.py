"""The HTML pages' shared pieces and the small pages: login, language, studios."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlencode
from zoneinfo import available_timezones

from aiohttp import web

from schedules.accounts import LANGUAGE_ERROR
from schedules.model import Role, Studio
from schedules.rules.access import Principal, can_see_calendar_feed
from schedules.rules.zones import reading_zone
from schedules.timeutil import known_zone
from web.access import forwarded
from web.access.auth import (
    LANG_COOKIE,
    end_session,
    is_secure,
    principal_of,
    start_session,
)
from web.access.joinlinks import calendar_token
from web.access.security import check_password, dummy_hash, needs_rehash, new_password_hash
from web.errors import ApiError
from web.http.links import base_url
from web.pages import i18n
from web.pages.templating import render
from web.services import ACCOUNTS, BOOKINGS, CLOCK, GRAPHICS, LIMITER, SETTINGS, SIGNER

routes = web.RouteTableDef()
BOOKING_ID = r"{booking_id:[A-Za-z0-9_-]{1,40}}"


def need_login(request: web.Request) -> Principal:
    """The logged-in caller, or a redirect to the login page that comes back here."""
    p = principal_of(request)
    if p is None:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    return p


DEFAULT_PAGE = "/bookings"


def safe_next(value: object) -> str:
    """A path of this site to go back to after login, else the default page.

    Browsers forgive a lot in a Location: they drop tabs and newlines, read a backslash as a
    slash, and take "//host" as another site. So the value must start with one "/" and hold no
    "//", no backslash, no control character and no white space, both as sent and with its
    %-escapes decoded ("/%09/evil.example" is refused like a tab between the two slashes)."""
    if not isinstance(value, str) or len(value) > 2000:
        return DEFAULT_PAGE
    decoded = value
    for _ in range(3):  # "%252F" decodes one layer at a time; three is more than any real use
        previous, decoded = decoded, unquote(decoded)
        if decoded == previous:
            break
    else:
        return DEFAULT_PAGE
    for form in (value, decoded):
        if not form.startswith("/") or "//" in form or "\\" in form:
            return DEFAULT_PAGE
        if any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in form):
            return DEFAULT_PAGE
    return value


def display_zone(request: web.Request, p: Principal, studios: dict[str, Studio]) -> str:
    """The zone a page shows times in: ?tz=, else the reader's own (the one picked from the
    menu, else an operator's studio's, else the site's setting; rules.zones)."""
    wanted = request.query.get("tz", "")
    if wanted and known_zone(wanted):
        return wanted
    studio = studios.get(p.studio_id) if p.studio_id else None
    return reading_zone(
        p.time_zone, p.role, studio.timezone if studio else None, request.app[SETTINGS].timezone
    )


def zone_choices(studios: dict[str, Studio]) -> list[tuple[str, str]]:
    """(zone, label) for the zone pickers: UTC and every studio's zone with its cities."""
    cities: dict[str, list[str]] = {}
    for s in studios.values():
        cities.setdefault(s.timezone, [])
        if s.city not in cities[s.timezone]:
            cities[s.timezone].append(s.city)
    choices = [("UTC", "UTC")]
    choices += [(z, f"{', '.join(c)} ({z})") for z, c in sorted(cities.items())]
    return choices


# The zone list's regions; the rest of the tz database is old aliases (US/Eastern, Turkey).
REGIONS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)


@routes.get("/time-zone")
async def time_zone_page(request: web.Request) -> web.Response:
    """The menu's time zone: the partners' zones first, then every zone this machine knows."""
    p = need_login(request)
    studios = await request.app[BOOKINGS].studios_by_id()
    user = await request.app[ACCOUNTS].user_by_id(p.user_id) if p.user_id is not None else None
    studio = studios.get(p.studio_id) if p.studio_id else None
    default = reading_zone("", p.role, studio.timezone if studio else None, "")
    partners = zone_choices(studios)
    listed = {z for z, _ in partners}
    return render(
        request,
        "time_zone.html",
        own=user.time_zone if user else "",
        default=default or request.app[SETTINGS].timezone,
        studio_default=bool(default),
        partners=partners,
        others=sorted(
            z for z in available_timezones() if z not in listed and z.split("/")[0] in REGIONS
        ),
        can_save=user is not None,
        next=safe_next(request.query.get("next")),
    )


@routes.post("/time-zone")
async def set_time_zone(request: web.Request) -> web.StreamResponse:
    """Remember the zone the user's pages show times in ("" = back to the default)."""
    p = need_login(request)
    if p.user_id is None:
        raise ApiError(403, "forbidden", "Only a logged-in user has a time zone of its own")
    form = await request.post()
    await request.app[ACCOUNTS].set_time_zone(p.user_id, str(form.get("time_zone", "")))
    raise web.HTTPSeeOther(safe_next(form.get("next")))


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """The start page is the bookings list."""
    raise web.HTTPSeeOther("/bookings" if principal_of(request) else "/login")


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The login form."""
    return render(
        request, "login.html", next=safe_next(request.query.get("next")), error=None, name=""
    )


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    """Check a name and password (rate-limited), then start a session."""
    form = await request.post()
    name = str(form.get("name", "")).strip()[:100]
    password = str(form.get("password", ""))[:1000]
    next_path = safe_next(form.get("next"))
    limiter, who = request.app[LIMITER], name.lower()
    # Behind a proxy request.remote is the proxy: limiting it would lock everyone out.
    address = forwarded.client_address(request)
    wait = limiter.begin(who, address)
    if wait:
        return render(
            request,
            "login.html",
            status=429,
            next=next_path,
            name=name,
            error=("Too many failed logins; try again in %(seconds)s seconds", {"seconds": wait}),
            headers={"Retry-After": str(wait)},
        )
    try:
        user = await request.app[ACCOUNTS].user_by_name(name) if name else None
        # scrypt is CPU work: off the event loop, and as slow for unknown names as for known.
        ok = await check_password(password, user.password_hash if user else dummy_hash())
    except Exception:
        limiter.withdraw(who, address)  # no answer (database down): not a failed guess
        raise
    if user is None or not ok:
        limiter.failed(who, address)
        return render(
            request,
            "login.html",
            status=401,
            next=next_path,
            name=name,
            error=("Wrong name or password", {}),
        )
    limiter.succeeded(who, address)
    if needs_rehash(user.password_hash):
        # Made with weaker parameters than today's: the password is at hand only now.
        stronger = await new_password_hash(password)
        await request.app[ACCOUNTS].replace_password_hash(user.id, user.password_hash, stronger)
    response = web.HTTPSeeOther(next_path)
    await start_session(request, response, user)
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    response = web.HTTPSeeOther("/login")
    await end_session(request, response)
    raise response


@routes.post("/language")
async def set_language(request: web.Request) -> web.StreamResponse:
    """Switch the interface language; remembered for the user (and in a cookie)."""
    form = await request.post()
    lang = str(form.get("language", ""))
    if lang not in i18n.LANGUAGES:
        raise ApiError(422, "invalid", "Unknown language", {"language": LANGUAGE_ERROR})
    p = principal_of(request)
    if p is not None and p.user_id is not None:
        await request.app[ACCOUNTS].set_language(p.user_id, lang)
    response = web.HTTPSeeOther(safe_next(form.get("next")))
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", secure=is_secure(request), path="/"
    )
    raise response


@routes.get("/studios")
async def studios_page(request: web.Request) -> web.Response:
    """The partner studios with their local time now and their calendar feeds; for admins, the
    program logo."""
    p = need_login(request)
    studios = await request.app[BOOKINGS].studios()
    base, signer = base_url(request), request.app[SIGNER]
    feeds = {
        s.id: f"{base}/calendar/{s.id}.ics?{urlencode({'token': calendar_token(signer, s.id)})}"
        for s in studios
        if can_see_calendar_feed(p, s.id)
    }
    # Admins upload the program logo here (PUT /api/graphics/logo); None: not theirs to see.
    has_logo = await request.app[GRAPHICS].has_logo() if p.role is Role.ADMIN else None
    return render(
        request,
        "studios.html",
        studios=studios,
        feeds=feeds,
        now=request.app[CLOCK](),
        has_logo=has_logo,
    )
