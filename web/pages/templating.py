"""Jinja2 pages: the environment, time formatting in the reader's language and zone, rendering.

Every time a page shows goes through the filters here. Without a zone they use the reader's
(`reader_zone`: the one they picked, an operator's studio's, else the site's setting), and a
time that stands alone says its zone's short name ("17:00 Baku"), so nobody has to guess.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from babel import Locale
from babel.dates import (
    format_interval,
    format_skeleton,
    get_datetime_format,
    get_timezone_location,
)
from markupsafe import Markup

from web.access.auth import csrf_token, principal_of
from web.pages import i18n
from web.pages.wording import audit_text, cities, numbers
from web.services import CATALOGS, SETTINGS, TEMPLATES

# Zones that are UTC by another name: labelled "UTC", never as a city.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Zulu"})

TEMPLATES_DIR = Path(__file__).parent / "templates"


def make_environment() -> jinja2.Environment:
    """The page templates with the i18n extension and our filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["gettext"] = i18n.gettext
    env.globals["ngettext"] = i18n.ngettext
    env.filters["when"] = when
    env.filters["span"] = span
    env.filters["clock"] = clock
    env.filters["day"] = day
    env.filters["offset"] = offset
    env.filters["zone_label"] = zone_label_filter
    env.filters["week_dates"] = week_dates
    env.filters["duration"] = duration
    env.filters["strong"] = strong
    audit_text.install(env)  # audit_lines, audit_who
    numbers.install(env)  # number, filesize, bitrate, decibels, hms
    cities.install(env)  # city
    env.globals["timedelta"] = timedelta
    return env


def strong(text: str) -> Markup:
    """`text` escaped and set in bold (a name inside a translated sentence)."""
    return Markup("<strong>%s</strong>") % text


def _zoned(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def _locale(lang: str) -> Locale:
    return Locale.parse(i18n.FORMAT_LOCALES.get(lang, lang))


def _zone_of(ctx: jinja2.runtime.Context, zone: str | None) -> str:
    # An explicit zone (a studio's, the page's picker) wins; else the reader's own.
    return zone or ctx.get("reader_zone") or "UTC"


def _date_time(lang: str, moment: datetime, skeleton: str, with_time: bool) -> str:
    """The date as the language's CLDR data writes it (order, abbreviations, separators), with
    the 24-hour time joined the language's way; broadcast people read 24 h everywhere."""
    locale = _locale(lang)
    date = format_skeleton(skeleton, moment, locale=locale)
    if not with_time:
        return date
    pattern = str(get_datetime_format("medium", locale=locale))
    return pattern.replace("{1}", date).replace("{0}", moment.strftime("%H:%M"))


@functools.lru_cache(maxsize=1024)
def zone_label(zone: str, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
    """A zone's short name for people: its city as the reader's language writes it ("Baku",
    "Баку", "Bakı"), "UTC" for UTC, and the real offset for a fixed-offset zone (whose POSIX
    name reads backwards: Etc/GMT+4 is UTC-4)."""
    if zone in UTC_NAMES:
        return "UTC"
    if zone.startswith("Etc/"):
        shift = ZoneInfo(zone).utcoffset(None) or timedelta(0)
        minutes = int(shift.total_seconds() // 60)
        hours, rest = divmod(abs(minutes), 60)
        return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")
    try:
        city = get_timezone_location(zone, locale=_locale(lang), return_city=True)
    except (LookupError, ValueError):
        city = ""
    return str(city) or zone.rsplit("/", 1)[-1].replace("_", " ")


@jinja2.pass_context
def zone_label_filter(ctx: jinja2.runtime.Context, zone: str | None = None) -> str:
    """The short name of `zone` (the reader's when none) in the reader's language."""
    return zone_label(_zone_of(ctx, zone), ctx["lang"])


@jinja2.pass_context
def when(
    ctx: jinja2.runtime.Context, moment: datetime, zone: str | None = None, label: bool = False
) -> str:
    """Weekday, date and time as the reader's language writes them, in `zone` (the reader's
    when none); with `label`, followed by the zone's short name."""
    name = _zone_of(ctx, zone)
    text = _date_time(ctx["lang"], _zoned(moment, name), "yMMMEd", with_time=True)
    return f"{text} {zone_label(name, ctx['lang'])}" if label else text


@jinja2.pass_context
def span(
    ctx: jinja2.runtime.Context, start: datetime, end: datetime, zone: str | None = None
) -> str:
    """From `start` to `end` on one clock, with its zone's name: "Wed, 2 Dec 2026, 17:00–18:00
    Baku"; an end on another day says its date too."""
    name = _zone_of(ctx, zone)
    lang = ctx["lang"]
    first, last = _zoned(start, name), _zoned(end, name)
    text = _date_time(lang, first, "yMMMEd", with_time=True)
    if last.date() == first.date():
        text += "–" + last.strftime("%H:%M")
    else:
        text += " – " + _date_time(lang, last, "yMMMEd", with_time=True)
    return f"{text} {zone_label(name, lang)}"


@jinja2.pass_context
def day(ctx: jinja2.runtime.Context, moment: datetime, zone: str | None = None) -> str:
    """Weekday and date in the reader's language."""
    return _date_time(ctx["lang"], _zoned(moment, _zone_of(ctx, zone)), "MMMEd", with_time=False)


@jinja2.pass_context
def week_dates(ctx: jinja2.runtime.Context, first: date, last: date) -> str:
    """A run of days as the reader's language writes it: "1–7 Dec 2026", "30 Nov – 6 Dec
    2026", "28 Dec 2026 – 3 Jan 2027" (CLDR's interval formats)."""
    return str(format_interval(first, last, "yMMMd", locale=_locale(ctx["lang"])))


@jinja2.pass_context
def clock(ctx: jinja2.runtime.Context, moment: datetime, zone: str | None = None) -> str:
    """24-hour wall-clock time in `zone` (broadcast people read 24 h)."""
    return _zoned(moment, _zone_of(ctx, zone)).strftime("%H:%M")


def offset(moment: datetime, zone: str = "UTC", short: bool = False) -> str:
    """The zone's UTC offset at that moment, e.g. UTC+04:00 (`short`: UTC+4, UTC+5:30)."""
    text = _zoned(moment, zone).strftime("%z")
    if not text or text == "+0000":
        return "UTC" if short or not text else "UTC+00:00"
    if short:
        hours, minutes = int(text[1:3]), text[3:]
        return f"UTC{text[0]}{hours}" + ("" if minutes == "00" else f":{minutes}")
    return f"UTC{text[:3]}:{text[3:]}"


@jinja2.pass_context
def duration(ctx: jinja2.runtime.Context, start: datetime, end: datetime) -> str:
    """A show's length as broadcast people write it: 1 h, 1 h 30 min, 45 min (translated)."""
    t = ctx.get("translations")
    gettext = t.gettext if t is not None else (lambda m: m)
    seconds = int((end - start).total_seconds())
    if seconds < 60:  # short recordings (a line check, a test) read in seconds
        return str(gettext("%(seconds)s s")) % {"seconds": seconds}
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return str(gettext("%(hours)s h %(minutes)s min")) % {"hours": hours, "minutes": minutes}
    if hours:
        return str(gettext("%(hours)s h")) % {"hours": hours}
    return str(gettext("%(minutes)s min")) % {"minutes": minutes}


def reader_zone(request: web.Request) -> str:
    """The zone the caller's pages show times in: its own or its studio's (resolved with the
    login, rules.zones), else the site's setting."""
    p = principal_of(request)
    if p is not None and p.time_zone:
        return p.time_zone
    return request.app[SETTINGS].timezone


def page_language(request: web.Request) -> str:
    """The reader's language: the user's saved choice, the cookie, then the browser's."""
    p = principal_of(request)
    return i18n.pick_language(
        p.language if p else None,
        request.cookies.get("tb_lang"),
        accept=request.headers.get("Accept-Language", ""),
    )


def render(
    request: web.Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """Render a page with the common context (who, language, CSRF token, translations)."""
    lang = page_language(request)
    base = {
        "request_path": request.path_qs,
        "principal": principal_of(request),
        "csrf_token": csrf_token(request),
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "translations": request.app[CATALOGS].get(lang),
        "reader_zone": reader_zone(request),
    }
    html = request.app[TEMPLATES].get_template(template).render(**base, **context)
    return web.Response(text=html, content_type="text/html", status=status, headers=headers)


async def render_error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    """The HTML error page (the same message the API would give)."""
    if status == 401:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    catalog = request.app[CATALOGS].get(page_language(request))
    translated = catalog.gettext(message)
    head, colon, detail = message.partition(": ")
    if translated == message and colon:  # "A sentence: its detail" (a reason, in its own words)
        translated = f"{catalog.gettext(head)}: {detail}"
    return render(request, "error.html", status=status, status_code=status, message=translated)
