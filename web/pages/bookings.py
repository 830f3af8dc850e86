"""Booking pages: the list, the booking form (new and edit), a booking, answers, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bridge.program.layout import LAYOUTS
from schedules.errors import Conflict, NotFound, ValidationError
from schedules.model import (
    QUALITY_PRESETS,
    Booking,
    BookingStatus,
    PartnerAnswer,
)
from schedules.outputs.service import FINAL
from schedules.rules.access import (
    Principal,
    can_answer,
    can_book,
    can_see,
    can_see_calendar_feed,
    can_see_recording,
    studio_scope,
    visible_join_studios,
)
from schedules.rules.lifecycle import Action, allowed_actions
from schedules.rules.timeline import join_state, join_window
from schedules.validation import MAX_REASON
from web.access.joinlinks import calendar_token, join_path, viewing_query
from web.errors import ApiError
from web.http.bookings import actor_of
from web.http.direction import direction_history
from web.http.links import base_url
from web.http.outputs import output_doc
from web.pages import i18n
from web.pages.decisions import DECLINE_DIALOG, decision_context
from web.pages.forms import BookingForm, merge_errors
from web.pages.site import BOOKING_ID, display_zone, need_login, zone_choices
from web.pages.templating import page_language, render
from web.pages.waiting import waiting_for
from web.services import (
    ARCHIVE,
    BOOKINGS,
    CATALOGS,
    CLOCK,
    LIVE,
    OUTAGE,
    OUTPUT_CONTROL,
    OUTPUTS,
    RECORDINGS,
    SETTINGS,
    SIGNER,
)

routes = web.RouteTableDef()


@routes.get("/bookings")
async def bookings_page(request: web.Request) -> web.Response:
    """Upcoming (or past) bookings the caller may see, with filters."""
    p = need_login(request)
    svc = request.app[BOOKINGS]
    studios = await svc.studios_by_id()
    zone = display_zone(request, p, studios)
    show_past = request.query.get("when") == "past"
    now = request.app[CLOCK]()
    scope = studio_scope(p)
    wanted = request.query.get("studio", "")
    if wanted in studios and (scope is None or wanted in scope):
        scope = [wanted]
    status = request.query.get("status", "")
    statuses = [BookingStatus(status)] if status in BookingStatus._value2member_map_ else None
    # Past or upcoming by the clock alone, never by status: a booking is past once its show
    # has ended (a declined one later today is still upcoming, shown as declined).
    if show_past:
        found = await svc.search(
            start=now - timedelta(days=90), end=now, studio_ids=scope, statuses=statuses
        )
        found = sorted(
            (b for b in found if b.ends_at <= now), key=lambda b: (b.starts_at, b.id), reverse=True
        )
    else:
        found = await svc.search(start=now, studio_ids=scope, statuses=statuses)
        found = sorted((b for b in found if b.ends_at > now), key=lambda b: (b.starts_at, b.id))
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
        waiting={b.id: waiting_for(b, p, now) for b in found},
    )


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
    svc = request.app[BOOKINGS]
    studios = await svc.studios_by_id()
    t = request.app[CATALOGS].get(page_language(request))
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
    studios = await request.app[BOOKINGS].studios_by_id()
    form = BookingForm(zone=display_zone(request, p, studios))
    return await _form_page(request, p, form)


async def _submit(
    request: web.Request, p: Principal, booking: Booking | None
) -> web.StreamResponse:
    form = BookingForm.from_post(await request.post())
    body, form_errors = form.to_body()
    svc = request.app[BOOKINGS]
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
    booking = await request.app[BOOKINGS].get(request.match_info["booking_id"])
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
    studios = await request.app[BOOKINGS].studios_by_id()
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
    return await _booking_view(request, p, ask=request.query.get("ask", ""))


async def _booking_view(
    request: web.Request,
    p: Principal,
    *,
    ask: str = "",
    reason: str = "",
    problem: str = "",
    status: int = 200,
) -> web.Response:
    """The booking page; `ask` names a confirmation dialog to show open, with the `reason`
    typed into it and the `problem` the server found with it."""
    # Mid-show with the database away, the producer reloading this page still gets the live
    # controls; its audit log (None) and changes wait.
    booking, stored = await request.app[OUTAGE].booking_now(request.match_info["booking_id"])
    if not can_see(p, booking):
        raise NotFound("booking", booking.id)
    if stored:
        studios = await request.app[BOOKINGS].studios_by_id()
        audit = await request.app[BOOKINGS].audit(booking.id)
        # The chat and cues are part of the booking's record: shown with its audit log.
        direction = await direction_history(request, p, booking)
        recordings = await request.app[ARCHIVE].search(
            booking=booking.id, visible=lambda r: can_see_recording(p, r, studios)
        )
    else:
        studios, audit = await request.app[OUTAGE].studios_now(booking.studio_ids), None
        direction, recordings = None, []
    zone = display_zone(request, p, studios)
    base = base_url(request)
    w = join_window(booking, request.app[SETTINGS].join_grace_minutes)
    now = request.app[CLOCK]()
    decisions = decision_context(booking, p, audit, now, ask=ask)
    # No links into a telebridge that will not happen, nor for a studio that declined it.
    links = [
        {"studio": studios.get(sid), "url": base + join_path(request.app[SIGNER], booking.id, sid)}
        for sid in visible_join_studios(p, booking)
        if not decisions["called_off"] and sid in booking.taking_part
    ]
    feeds = []
    for sid in booking.studio_ids:
        if can_see_calendar_feed(p, sid):
            token = calendar_token(request.app[SIGNER], sid)
            feeds.append(
                {
                    "studio": studios.get(sid),
                    "url": f"{base}/calendar/{sid}.ics?{urlencode({'token': token})}",
                }
            )
    actions = allowed_actions(booking.status)
    room = request.app[LIVE].get(booking.id)
    control = request.app[OUTPUT_CONTROL]
    outputs = (
        await request.app[OUTPUTS].list(booking.id) if stored else control.known.get(booking.id, [])
    )
    shown = control.figures(booking.id, room)
    return render(
        request,
        "booking.html",
        status=status,
        booking=booking,
        studios=studios,
        zone=zone,
        zones=zone_choices(studios),
        links=links,
        window=w,
        **decisions,
        reason=reason,
        problem=problem,
        can_edit=can_book(p) and Action.RESCHEDULE in actions and audit is not None,
        can_cancel=can_book(p) and Action.CANCEL in actions and audit is not None,
        audit=audit or [],
        direction=direction,
        recordings=recordings,
        database_down=audit is None,
        feeds=feeds,
        PartnerAnswer=PartnerAnswer,
        notice=_notice(request),
        now=now,
        join_state=join_state(booking, now, request.app[SETTINGS].join_grace_minutes).value,
        live_control=can_book(p) and room is not None,
        can_direct=can_book(p),
        outputs=[output_doc(o, shown.get(o.id)) for o in outputs],
        can_manage_outputs=can_book(p) and stored and booking.status not in FINAL,
        room_open=room is not None,
        watch_url=f"{base}/watch/{booking.id}"
        + viewing_query(request.app[SIGNER], booking.id, booking.stream),
        recording=request.app[RECORDINGS].is_recording(booking.id),
        layouts=LAYOUTS,
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
    if "declined" in q:
        return ("Declined. The producer sees your reason on this page and in the calendar.", {})
    if "continued" in q:
        return ("The telebridge goes on without the studio that declined.", {})
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
    svc = request.app[BOOKINGS]
    if choice == "confirm":
        await svc.confirm(booking.id, studio, actor_of(p))
    elif choice == "decline":
        reason = str(form.get("reason", ""))
        try:
            # The page's form asks for a reason (API callers may leave it out).
            await svc.decline(booking.id, studio, actor_of(p), reason, reason_required=True)
        except ValidationError as exc:
            if "reason" not in exc.fields:
                raise
            # The dialog again, open, with what was typed and what is wrong with it.
            return await _booking_view(
                request,
                p,
                ask=DECLINE_DIALOG + studio,
                reason=reason[:MAX_REASON],
                problem=exc.fields["reason"],
                status=422,
            )
        raise web.HTTPSeeOther(f"/bookings/{booking.id}?declined=1")
    else:
        raise ApiError(422, "invalid", "Choose confirm or decline", {"answer": "unknown"})
    raise web.HTTPSeeOther(f"/bookings/{booking.id}?answered=1")


@routes.post(f"/bookings/{BOOKING_ID}/continue-without")
async def continue_without(request: web.Request) -> web.StreamResponse:
    """The producer goes on without a studio that declined, from the booking page's banner."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins edit bookings")
    booking = await _visible(request, p)
    form = await request.post()
    studio = str(form.get("studio", ""))
    await request.app[BOOKINGS].continue_without(booking.id, studio, actor_of(p))
    raise web.HTTPSeeOther(f"/bookings/{booking.id}?continued=1")


@routes.post(f"/bookings/{BOOKING_ID}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    """The producer cancels from the booking page."""
    p = need_login(request)
    if not can_book(p):
        raise ApiError(403, "forbidden", "Only producers and admins cancel bookings")
    booking = await _visible(request, p)
    form = await request.post()
    await request.app[BOOKINGS].cancel(booking.id, actor_of(p), str(form.get("reason", ""))[:1000])
    raise web.HTTPSeeOther(f"/bookings/{booking.id}?cancelled=1")
