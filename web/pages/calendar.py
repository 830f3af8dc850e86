"""The week calendar: bookings on a 24-hour grid in any studio's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from schedules.model import (
    BookingStatus,
)
from schedules.rules.access import can_book, studio_scope
from schedules.timeutil import EARLIEST, LATEST
from web.pages.site import display_zone, need_login, zone_choices
from web.pages.templating import render
from web.services import BOOKINGS, CLOCK

routes = web.RouteTableDef()
# A show shorter than this has no room on the grid for its lines (time, title, studios).
SHORT_SHOW = timedelta(minutes=45)


def week_start(value: str | None, zone: ZoneInfo, now: datetime) -> date:
    """The Monday of an ISO week ("2026-W49"), or of this week in `zone`."""
    if value:
        try:
            year, week = value.split("-W")
            monday = date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            pass
        else:
            # Weeks the service keeps times for (timeutil's range); the ends of the calendar
            # would overflow the week's arithmetic below.
            if EARLIEST.date() <= monday < (LATEST - timedelta(days=8)).date():
                return monday
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.weekday())


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


@routes.get("/calendar")
async def calendar_page(request: web.Request) -> web.Response:
    """A week of bookings on a 24-hour grid in the chosen zone, setup and teardown shaded."""
    p = need_login(request)
    svc = request.app[BOOKINGS]
    studios = await svc.studios_by_id()
    zone_name = display_zone(request, p, studios)
    tz = ZoneInfo(zone_name)
    now = request.app[CLOCK]()
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
                    # Too short for its lines: one line on a light label, all of it on hover
                    # or focus (app.css), so a 15-minute hit still says what it is.
                    "short": b.ends_at - b.starts_at < SHORT_SHOW,
                    # The phone's list names a booking on the days of its show, not on the
                    # day after a late show whose teardown alone runs past midnight.
                    "listed": b.starts_at < end and b.ends_at > start,
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
        week_first=monday,
        week_last=monday + timedelta(days=6),
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
