"""Numbers as the reader's language writes them: "1,2 GB" in Azerbaijani, Turkish and Russian,
"1.2 GB" in English; one place (Babel's CLDR data) for sizes, bit rates, levels and counts.

The pages call these through the template filters `number`, `filesize`, `bitrate`, `decibels`
and `hms` (installed by `install`); the browser's own figures use `Intl.NumberFormat` with the
page's `lang` (web/static/numbers.js), which reads the same CLDR data.
"""

from __future__ import annotations

from functools import cache

import jinja2
from babel import Locale
from babel.numbers import format_decimal
from babel.units import format_compound_unit, format_unit

from web.pages.i18n import FORMAT_LOCALES

# Decimal steps (1 GB = 1000 MB), as disks, networks and CLDR's unit names count.
_SIZE_UNITS = (
    (10**12, "digital-terabyte"),
    (10**9, "digital-gigabyte"),
    (10**6, "digital-megabyte"),
    (10**3, "digital-kilobyte"),
)
MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash next to a fader's value


@cache
def number_locale(lang: str) -> Locale:
    """The CLDR locale whose numbers `lang` uses (English as written in Europe)."""
    return Locale.parse(FORMAT_LOCALES.get(lang, lang))


def _pattern(digits: int, fixed: bool) -> str:
    if digits <= 0:
        return "#,##0"
    return "#,##0." + ("0" if fixed else "#") * digits


def format_number(value: float, lang: str, digits: int = 0, fixed: bool = False) -> str:
    """`value` with the language's grouping and decimal separator, at most `digits` decimals
    (exactly `digits` when `fixed`)."""
    return format_decimal(value, format=_pattern(digits, fixed), locale=number_locale(lang))


def format_size(n_bytes: float, lang: str) -> str:
    """A file's size in decimal units with one decimal: 1,2 GB, 512,3 MB, 900 B."""
    for step, unit in _SIZE_UNITS:
        if abs(n_bytes) >= step:
            return format_unit(
                n_bytes / step, unit, length="short", format="#,##0.#", locale=number_locale(lang)
            )
    return format_unit(
        n_bytes, "digital-byte", length="short", format="#,##0", locale=number_locale(lang)
    )


def format_bitrate(kbps: float, lang: str) -> str:
    """A bit rate: 850 kb/s below a megabit, else 2,1 Mb/s (CLDR's "per second" pattern)."""
    value, unit, pattern = (kbps, "digital-kilobit", "#,##0")
    if abs(kbps) >= 1000:
        value, unit, pattern = (kbps / 1000, "digital-megabit", "#,##0.#")
    text = format_compound_unit(
        value,
        unit,
        denominator_unit="duration-second",
        length="short",
        format=pattern,
        locale=number_locale(lang),
    )
    return str(text)


def format_decibels(db: float, lang: str) -> str:
    """A level in dB with one decimal and its sign: +2,5 dB, 0,0 dB, −6,0 dB."""
    text = format_number(abs(db), lang, 1, fixed=True)
    sign = "" if round(db, 1) == 0 else ("+" if db > 0 else MINUS)
    return f"{sign}{text} dB"


def format_hms(seconds: float) -> str:
    """A recording's length as h:mm:ss (the same in every language): 1:02:03, 0:00:45."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _lang(ctx: jinja2.runtime.Context) -> str:
    lang = ctx.get("lang")
    return lang if isinstance(lang, str) else "en"


@jinja2.pass_context
def number_filter(ctx: jinja2.runtime.Context, value: float, digits: int = 0) -> str:
    """Template `number`: {{ 12345.6|number(1) }} reads 12 345,6 in Russian."""
    return format_number(value, _lang(ctx), digits)


@jinja2.pass_context
def filesize_filter(ctx: jinja2.runtime.Context, n_bytes: float) -> str:
    """Template `filesize`: {{ f.bytes|filesize }}."""
    return format_size(n_bytes, _lang(ctx))


@jinja2.pass_context
def bitrate_filter(ctx: jinja2.runtime.Context, kbps: float) -> str:
    """Template `bitrate`: {{ o.bitrate_kbps|bitrate }}."""
    return format_bitrate(kbps, _lang(ctx))


@jinja2.pass_context
def decibels_filter(ctx: jinja2.runtime.Context, db: float) -> str:
    """Template `decibels`: {{ gain|decibels }}."""
    return format_decibels(db, _lang(ctx))


def install(env: jinja2.Environment) -> None:
    """Give the page templates the number filters."""
    env.filters["number"] = number_filter
    env.filters["filesize"] = filesize_filter
    env.filters["bitrate"] = bitrate_filter
    env.filters["decibels"] = decibels_filter
    env.filters["hms"] = format_hms
