"""Jinja2 pages: the environment, time formatting in the reader's language and zone, rendering."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from babel import Locale
from babel.dates import format_skeleton, get_datetime_format
from markupsafe import Markup

from web.access.auth import csrf_token, principal_of
from web.pages import i18n
from web.pages.audit_text import audit_phrase
from web.services import CATALOGS, TEMPLATES

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
    env.filters["clock"] = clock
    env.filters["day"] = day
    env.filters["offset"] = offset
    env.filters["duration"] = duration
    env.filters["strong"] = strong
    env.globals["audit_phrase"] = audit_phrase
    env.globals["timedelta"] = timedelta
    return env


def strong(text: str) -> Markup:
    """`text` escaped and set in bold (a name inside a translated sentence)."""
    return Markup("<strong>%s</strong>") % text


def _zoned(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def _date_time(lang: str, moment: datetime, skeleton: str, with_time: bool) -> str:
    """The date as the language's CLDR data writes it (order, abbreviations, separators), with
    the 24-hour time joined the language's way; broadcast people read 24 h everywhere."""
    locale = Locale.parse(i18n.FORMAT_LOCALES.get(lang, lang))
    date = format_skeleton(skeleton, moment, locale=locale)
    if not with_time:
        return date
    pattern = str(get_datetime_format("medium", locale=locale))
    return pattern.replace("{1}", date).replace("{0}", moment.strftime("%H:%M"))


@jinja2.pass_context
def when(ctx: jinja2.runtime.Context, moment: datetime, zone: str = "UTC") -> str:
    """Weekday, date and time as the reader's language writes them, in `zone`."""
    return _date_time(ctx["lang"], _zoned(moment, zone), "yMMMEd", with_time=True)


@jinja2.pass_context
def day(ctx: jinja2.runtime.Context, moment: datetime, zone: str = "UTC") -> str:
    """Weekday and date in the reader's language."""
    return _date_time(ctx["lang"], _zoned(moment, zone), "MMMEd", with_time=False)


def clock(moment: datetime, zone: str = "UTC") -> str:
    """24-hour wall-clock time in `zone` (broadcast people read 24 h)."""
    return _zoned(moment, zone).strftime("%H:%M")


def offset(moment: datetime, zone: str = "UTC") -> str:
    """The zone's UTC offset at that moment, e.g. UTC+04:00."""
    text = _zoned(moment, zone).strftime("%z")
    return f"UTC{text[:3]}:{text[3:]}" if text else "UTC"


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
    }
    html = request.app[TEMPLATES].get_template(template).render(**base, **context)
    return web.Response(text=html, content_type="text/html", status=status, headers=headers)


async def render_error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    """The HTML error page (the same message the API would give)."""
    if status == 401:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    translated = request.app[CATALOGS].get(page_language(request)).gettext(message)
    return render(request, "error.html", status=status, status_code=status, message=translated)
