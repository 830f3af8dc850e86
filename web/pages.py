"""The HTML pages: login, bookings list, week calendar, booking form and page, join page."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from schedules.errors import Conflict, NotFound, ValidationError
from schedules.lifecycle import Action, allowed_actions
from schedules.model import (
    LAYOUTS,
    QUALITY_PRESETS,
    Booking,
    BookingStatus,
    PartnerAnswer,
    Role,
    Studio,
)
from schedules.timeutil import known_zone, rfc3339
from web import i18n
from web.api import actor_of
from web.auth import (
    LANG_COOKIE,
    Principal,
    end_session,
    is_secure,
    principal_of,
    start_session,
)
from web.errors import ApiError
from web.forms import BookingForm, merge_errors
from web.joinlinks import JoinState, calendar_token, join_path, join_state, token_matches, window
from web.links import base_url
from web.live import ice_servers
from web.permissions import can_answer, can_book, can_see, studio_scope, visible_join_studios
from web.security import DUMMY_HASH, verify_password
from web.state import state
from web.templating import page_language, render

routes = web.RouteTableDef()
BOOKING_ID = r"{booking_id:[A-Za-z0-9_-]{1,40}}"


def need_login(request: web.Request) -> Principal:
    """The logged-in caller, or a redirect to the login page that comes back here."""
    p = principal_of(request)
    if p is None:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    return p


def safe_next(value: object) -> str:
    """A local path to go back to after login (never another site)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return "/bookings"


def display_zone(request: web.Request, p: Principal, studios: dict[str, Studio]) -> str:
    """The zone times are shown in: ?tz=, else the operator's studio's, else UTC."""
    wanted = request.query.get("tz", "")
    if wanted and known_zone(wanted):
        return wanted
    if p.studio_id and p.studio_id in studios:
        return studios[p.studio_id].timezone
    return "UTC"


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
    st = state(request)
    form = await request.post()
    name = str(form.get("name", "")).strip()[:100]
    password = str(form.get("password", ""))[:1000]
    next_path = safe_next(form.get("next"))
    keys = (f"user:{name.lower()}", f"addr:{request.remote}")
    wait = st.limiter.retry_after(*keys)
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
    user = await st.accounts.user_by_name(name) if name else None
    # scrypt is CPU work: off the event loop, and as slow for unknown names as for known ones.
    ok = await asyncio.get_running_loop().run_in_executor(
        None, verify_password, password, user.password_hash if user else DUMMY_HASH
    )
    if user is None or not ok:
        st.limiter.fail(*keys)
        return render(
            request,
            "login.html",
            status=401,
            next=next_path,
            name=name,
            error=("Wrong name or password", {}),
        )
    st.limiter.succeed(*keys)
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
        raise ApiError(422, "invalid", "Unknown language", {"language": "must be en, az or tr"})
    p = principal_of(request)
    if p is not None and p.user_id is not None:
        await state(request).accounts.set_language(p.user_id, lang)
    response = web.HTTPSeeOther(safe_next(form.get("next")))
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", secure=is_secure(request), path="/"
    )
    raise response


@routes.get("/bookings")
async def bookings_page(request: web.Request) -> web.Response:
    """Upcoming (or past) bookings the caller may see, with filters."""
    p = need_login(request)
    svc = state(request).bookings
    studios = await svc.studios_by_id()
    zone = display_zone(request, p, studios)
    show_past = request.query.get("when") == "past"
    now = state(request).clock()
    scope = studio_scope(p)
    wanted = request.query.get("studio", "")
    if wanted in studios and (scope is None or wanted in scope):
        scope = [wanted]
    status = request.query.get("status", "")
    statuses = [BookingStatus(status)] if status in BookingStatus._value2member_map_ else None
    if show_past:
        found = await svc.search(
            start=now - timedelta(days=90), end=now, studio_ids=scope, statuses=statuses
        )
        found.reverse()
    else:
        found = await svc.search(start=now, studio_ids=scope, statuses=statuses)
    return render(
        request,
        "bookings.html",
        bookings=found,
        studios=studios,
        zone=zone,
        zones=zone_choices(studios),
        show_past=show_past,
        studio_filter=wanted,
        status_filter=status,
        statuses=[s.value for s in BookingStatus],
        can_book=can_book(p),
        now=now,
    )


def week_start(value: str | None, zone: ZoneInfo, now: datetime) -> date:
    """The Monday of an ISO week ("2026-W49"), or of this week in `zone`."""
    if value:
        try:
            year, week = value.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            pass
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.weekday())


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


@routes.get("/calendar")
async def calendar_page(request: web.Request) -> web.Response:
    """A week of bookings on a 24-hour grid in the chosen zone, setup and teardown shaded."""
    p = need_login(request)
    svc = state(request).bookings
    studios = await svc.studios_by_id()
    zone_name = display_zone(request, p, studios)
    tz = ZoneInfo(zone_name)
    now = state(request).clock()
    monday = week_start(request.query.get("week"), tz, now)
    day_starts = [
        datetime.combine(monday + timedelta(days=i), time(0), tz).astimezone(UTC) for i in range(8)
    ]
    found = await svc.search(start=day_starts[0], end=day_starts[7], studio_ids=studio_scope(p))
    found = [b for b in found if b.status not in (BookingStatus.CANCELLED,)]
    days = []
    tops: list[float] = []  # where each block starts, to open the grid at the first one
    for i in range(7):
        start, end = day_starts[i], day_starts[i + 1]
        span = (end - start).total_seconds()  # 23 or 25 hours on a DST switch day
        blocks = []
        for b in found:
            if b.busy_until <= start or b.busy_from >= end:
                continue

            def pct(moment: datetime, start: datetime = start, span: float = span) -> float:
                clipped = min(max(moment, start), start + timedelta(seconds=span))
                return round((clipped - start).total_seconds() / span * 100, 3)

            tops.append(pct(b.busy_from))
            blocks.append(
                {
                    "booking": b,
                    "top": pct(b.busy_from),
                    "height": max(pct(b.busy_until) - pct(b.busy_from), 1.2),
                    "show_top": pct(b.starts_at) - pct(b.busy_from),
                    "show_height": pct(b.ends_at) - pct(b.starts_at),
                }
            )
        days.append(
            {
                "date": monday + timedelta(days=i),
                "start": start,
                "blocks": blocks,
                "today": start <= now < end,
            }
        )
    return render(
        request,
        "calendar.html",
        days=days,
        zone=zone_name,
        zones=zone_choices(studios),
        studios=studios,
        week=_iso_week(monday),
        prev_week=_iso_week(monday - timedelta(7)),
        next_week=_iso_week(monday + timedelta(7)),
        this_week=_iso_week(week_start(None, tz, now)),
        now_pct=_now_pct(days, now),
        can_book=can_book(p),
        first_pct=min(tops, default=None),
    )


def _now_pct(days: list[dict[str, Any]], now: datetime) -> tuple[int, float] | None:
    for i, d in enumerate(days):
        if d["today"]:
            end = d["start"] + timedelta(days=1)
            return i, round(
                (now - d["start"]).total_seconds() / (end - d["start"]).total_seconds() * 100, 3
            )
    return None


async def _form_page(
    request: web.Request,
    p: Principal,
    form: BookingForm,
    *,
    booking: Booking | None = None,
    errors: dict[str, str] | None = None,
    conflicts: list[Any] | None = None,
    message: str | None = None,
    status: int = 200,
) -> web.Response:
    svc = state(request).bookings
    studios = await svc.studios_by_id()
    t = state(request).catalogs.get(page_language(request))
    return render(
        request,
        "booking_form.html",
        status=status,
        form=form,
        booking=booking,
        studios=sorted(studios.values(), key=lambda s: (s.city, s.organisation)),
        zones=zone_choices(studios),
        layouts=LAYOUTS,
        qualities=QUALITY_PRESETS,
        errors=i18n.translate_fields(t, errors or {}),
        conflicts=conflicts or [],
        message=message,
        studios_by_id=studios,
    )


@routes.get("/bookings/new")
async def new_booking_page(request: web.Request) -> web.Response:
    """The booking form, empty."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins book telebridges")
    studios = await state(request).bookings.studios_by_id()
    form = BookingForm(zone=display_zone(request, p, studios))
    return await _form_page(request, p, form)


async def _submit(
    request: web.Request, p: Principal, booking: Booking | None
) -> web.StreamResponse:
    form = BookingForm.from_post(await request.post())
    body, form_errors = form.to_body()
    svc = state(request).bookings
    try:
        if form_errors:
            raise ValidationError("The booking has problems", form_errors)
        if booking is None:
            result = await svc.create(body, actor_of(p))
            target = result.created[0]
            query = {"created": str(len(result.created)), "skipped": str(len(result.skipped))}
        else:
            body.pop("recurrence", None)
            target = await svc.update(booking.id, body, actor_of(p))
            query = {"saved": "1"}
    except ValidationError as exc:
        return await _form_page(
            request,
            p,
            form,
            booking=booking,
            status=422,
            errors=merge_errors(form_errors, exc.fields),
            message=exc.message,
        )
    except Conflict as exc:
        return await _form_page(
            request, p, form, booking=booking, status=409, conflicts=exc.conflicts
        )
    raise web.HTTPSeeOther(f"/bookings/{target.id}?{urlencode(query)}")


@routes.post("/bookings/new")
async def create_booking(request: web.Request) -> web.StreamResponse:
    """Book from the form; errors and conflicts come back inline with what was typed."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins book telebridges")
    return await _submit(request, p, None)


async def _visible(request: web.Request, p: Principal) -> Booking:
    booking = await state(request).bookings.get(request.match_info["booking_id"])
    if not can_see(p, booking):
        raise NotFound("booking", booking.id)
    return booking


@routes.get(f"/bookings/{BOOKING_ID}/edit")
async def edit_booking_page(request: web.Request) -> web.Response:
    """The booking form, filled."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins edit bookings")
    booking = await _visible(request, p)
    studios = await state(request).bookings.studios_by_id()
    form = BookingForm.from_booking(booking, display_zone(request, p, studios))
    return await _form_page(request, p, form, booking=booking)


@routes.post(f"/bookings/{BOOKING_ID}/edit")
async def edit_booking(request: web.Request) -> web.StreamResponse:
    """Save an edit; a new time or studio list asks the partners again."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins edit bookings")
    return await _submit(request, p, await _visible(request, p))


@routes.get(f"/bookings/{BOOKING_ID}")
async def booking_page(request: web.Request) -> web.Response:
    """A booking: studios with local times and answers, join links, calendar, audit log."""
    p = need_login(request)
    st = state(request)
    booking = await _visible(request, p)
    studios = await st.bookings.studios_by_id()
    zone = display_zone(request, p, studios)
    base = base_url(request)
    w = window(booking, st.settings.join_grace_minutes)
    links = [
        {"studio": studios.get(sid), "url": base + join_path(st.signer, booking.id, sid)}
        for sid in visible_join_studios(p, booking)
    ]
    answerable = [
        s.studio_id
        for s in booking.studios
        if can_answer(p, s.studio_id)
        and booking.status in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)
    ]
    feeds = []
    for sid in booking.studio_ids:
        if p.role in (Role.ADMIN, Role.PRODUCER) or p.studio_id == sid:
            token = calendar_token(st.signer, sid)
            feeds.append(
                {
                    "studio": studios.get(sid),
                    "url": f"{base}/calendar/{sid}.ics?{urlencode({'token': token})}",
                }
            )
    actions = allowed_actions(booking.status)
    return render(
        request,
        "booking.html",
        booking=booking,
        studios=studios,
        zone=zone,
        zones=zone_choices(studios),
        links=links,
        window=w,
        answerable=answerable,
        can_edit=can_book(p) and Action.RESCHEDULE in actions,
        can_cancel=can_book(p) and Action.CANCEL in actions,
        audit=await st.bookings.audit(booking.id),
        feeds=feeds,
        PartnerAnswer=PartnerAnswer,
        notice=_notice(request),
        now=state(request).clock(),
        join_state=join_state(
            booking, state(request).clock(), st.settings.join_grace_minutes
        ).value,
    )


def _notice(request: web.Request) -> tuple[str, dict[str, Any]] | None:
    q = request.query
    if "created" in q:
        created, skipped = q.get("created", "1"), q.get("skipped", "0")
        if skipped not in ("", "0"):
            return (
                "Booked %(created)s occurrences; %(skipped)s were skipped because of "
                "conflicts (see the audit log of the series)",
                {"created": created, "skipped": skipped},
            )
        return ("Booked. The partner studios have been asked to confirm.", {})
    if "saved" in q:
        return ("Saved.", {})
    if "answered" in q:
        return ("Your answer has been recorded.", {})
    if "cancelled" in q:
        return ("The booking has been cancelled; its studios are free again.", {})
    return None


@routes.post(f"/bookings/{BOOKING_ID}/answer")
async def answer(request: web.Request) -> web.StreamResponse:
    """A partner studio confirms or declines from the booking page."""
    p = need_login(request)
    booking = await _visible(request, p)
    form = await request.post()
    studio = str(form.get("studio", ""))
    choice = str(form.get("answer", ""))
    if not can_answer(p, studio):
        raise ApiError(403, "forbidden", "Only that studio's operator may answer for it")
    svc = state(request).bookings
    if choice == "confirm":
        await svc.confirm(booking.id, studio, actor_of(p))
    elif choice == "decline":
        await svc.decline(booking.id, studio, actor_of(p), str(form.get("reason", ""))[:1000])
    else:
        raise ApiError(422, "invalid", "Choose confirm or decline", {"answer": "unknown"})
    raise web.HTTPSeeOther(f"/bookings/{booking.id}?answered=1")


@routes.post(f"/bookings/{BOOKING_ID}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    """The producer cancels from the booking page."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins cancel bookings")
    booking = await _visible(request, p)
    form = await request.post()
    await state(request).bookings.cancel(
        booking.id, actor_of(p), str(form.get("reason", ""))[:1000]
    )
    raise web.HTTPSeeOther(f"/bookings/{booking.id}?cancelled=1")


@routes.get("/studios")
async def studios_page(request: web.Request) -> web.Response:
    """The partner studios with their local time now and their calendar feeds."""
    p = need_login(request)
    st = state(request)
    studios = await st.bookings.studios()
    base = base_url(request)
    feeds = {
        s.id: f"{base}/calendar/{s.id}.ics?{urlencode({'token': calendar_token(st.signer, s.id)})}"
        for s in studios
        if p.role in (Role.ADMIN, Role.PRODUCER) or p.studio_id == s.id
    }
    return render(request, "studios.html", studios=studios, feeds=feeds, now=state(request).clock())


@routes.get(r"/join/{booking_id}/{studio_id}")
async def join_page(request: web.Request) -> web.Response:
    """A studio's join link: says when it opens or that it closed; opens the console inside."""
    st = state(request)
    booking_id = request.match_info["booking_id"]
    studio_id = request.match_info["studio_id"]
    if not token_matches(st.signer, request.query.get("token"), booking_id, studio_id):
        raise ApiError(403, "invalid_link", "This join link is not valid")
    booking = await st.bookings.get(booking_id)
    studios = await st.bookings.studios_by_id()
    if studio_id not in booking.studio_ids or studio_id not in studios:
        raise ApiError(403, "invalid_link", "This join link is not valid")
    now = state(request).clock()
    s = join_state(booking, now, st.settings.join_grace_minutes)
    status = {JoinState.OPEN: 200, JoinState.NOT_YET: 200}.get(s, 410)
    w = window(booking, st.settings.join_grace_minutes)
    token = request.query.get("token", "")
    ids = f"{quote(booking.id)}/{quote(studio_id)}"
    console = {
        "booking": booking.id,
        "studio": studio_id,
        "title": booking.title,
        "session_url": f"/join/{ids}/session?{urlencode({'token': token})}",
        "leave_url": f"/join/{ids}/session/{{session}}?{urlencode({'token': token})}",
        "on_air_at": rfc3339(booking.starts_at),
        "off_air_at": rfc3339(booking.ends_at),
        "closes_at": rfc3339(w.valid_until),
        "ice_servers": [
            {
                k: v
                for k, v in (
                    ("urls", i.urls),
                    ("username", i.username),
                    ("credential", i.credential),
                )
                if v
            }
            for i in ice_servers(st.settings)
        ],
        "quality": dataclasses.asdict(QUALITY_PRESETS[booking.quality]),
        "partners": [
            {
                "id": sid,
                "name": studios[sid].name,
                "city": studios[sid].city,
                "timezone": studios[sid].timezone,
            }
            for sid in booking.studio_ids
            if sid != studio_id and sid in studios
        ],
        "self": {
            "id": studio_id,
            "name": studios[studio_id].name,
            "city": studios[studio_id].city,
            "timezone": studios[studio_id].timezone,
        },
    }
    return render(
        request,
        "join.html",
        status=status,
        booking=booking,
        studio=studios[studio_id],
        studios=studios,
        state=s.value,
        window=w,
        now=now,
        console=console,
    )
